//! Shared application state handed to every handler.

use std::sync::Arc;

use pharos_enforce::Enforcer;
use pharos_store::Store;

use crate::{
    config::ServerSettings, identity::IdentityService, resources::ResourceService,
    telemetry::Telemetry,
};

/// Build information reported by the health endpoints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git commit, when known at build time.
    pub commit: &'static str,
    /// Build time, when known.
    #[serde(rename = "buildTime")]
    pub build_time: &'static str,
}

impl Default for BuildInfo {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            commit: option_env!("PHAROS_GIT_COMMIT").unwrap_or("unknown"),
            build_time: option_env!("PHAROS_BUILD_TIME").unwrap_or("unknown"),
        }
    }
}

/// Cheap to clone: everything is behind `Arc`s or is itself a handle.
#[derive(Clone)]
pub struct AppState {
    /// Server settings.
    pub settings: Arc<ServerSettings>,
    /// Resource CRUD.
    pub resources: ResourceService,
    /// Logins, sessions and grants.
    pub identity: IdentityService,
    /// Tenant enforcement with its rewrite cache.
    pub enforcer: Arc<Enforcer>,
    /// Resolved datasource proxy targets.
    pub proxy_targets: Arc<crate::proxy::TargetCache>,
    /// Client for datasource upstreams (pooled).
    pub http_client: reqwest::Client,
    /// Self-monitoring.
    pub telemetry: Telemetry,
    /// Version information.
    pub build: BuildInfo,
    /// Compiled query templates of shared dashboards.
    pub share_templates: Arc<crate::shares::TemplateCache>,
    /// Open live streams per user and address.
    pub live: Arc<crate::live::LiveStreams>,
    /// Answers of proxied Prometheus queries, shared by every request (`query_layer`).
    pub query_cache: Arc<pharos_query::QueryCache>,
    /// The embedded metrics store behind the Prometheus API; `None` when it is disabled.
    pub metrics: Option<Arc<pharos_query::LocalMetrics>>,
    /// The fleet: cluster registry, health, capabilities and the event bus.
    pub fleet: pharos_fleet::FleetService,
    /// Rule evaluation over the embedded store (`/api/v1/rules`, `/api/v1/alerts`); `None`
    /// when no rules are loaded.
    pub rules: Option<Arc<pharos_rules::RuleManager>>,
    /// Latency SLOs of services (`/api/services`).
    pub slo: pharos_slo::SloService,
    /// The shutdown notice of event streams and WebSockets.
    pub drain: crate::drain::Drain,
}

impl AppState {
    /// Wires the state from a store and settings.
    pub fn new(store: Store, settings: ServerSettings) -> Result<Self, reqwest::Error> {
        let settings = Arc::new(settings);
        let http_client = reqwest::Client::builder()
            .connect_timeout(settings.proxy.connect_timeout)
            .pool_max_idle_per_host(64)
            .build()?;
        let identity = IdentityService::new(store.clone(), Arc::clone(&settings));
        let layer = &settings.query_layer;
        let redis_url = settings
            .rate_limit
            .redis_url
            .as_deref()
            .filter(|_| layer.shared_cache);
        // The URL was checked by `ServerSettings::validate`; an unusable one caches in process.
        let query_cache = Arc::new(
            pharos_query::QueryCache::with_redis(layer.cache_settings(), redis_url)
                .unwrap_or_else(|_| pharos_query::QueryCache::new(layer.cache_settings())),
        );
        let fleet_options = settings.fleet.options();
        // With Redis, fleet events reach the subscribers of every replica.
        let fleet_bus = settings
            .rate_limit
            .redis_url
            .as_deref()
            .and_then(|url| {
                crate::fleet::bus_with_redis(fleet_options.event_capacity, url)
                    .map_err(|error| tracing::warn!(%error, "fleet events stay on this replica: rate_limit.redis_url is unusable"))
                    .ok()
            })
            .unwrap_or_else(|| pharos_fleet::EventBus::new(fleet_options.event_capacity));
        let fleet = pharos_fleet::FleetService::with_bus(
            store.clone(),
            fleet_options,
            http_client.clone(),
            fleet_bus,
        );
        let slo = pharos_slo::SloService::new(store.clone(), None, settings.slo.clone());
        Ok(Self {
            slo,
            fleet,
            resources: ResourceService::new(store, Arc::clone(&settings), identity.clone()),
            identity,
            enforcer: Arc::new(Enforcer::new(settings.tenancy.cache_capacity)),
            proxy_targets: Arc::default(),
            query_cache,
            live: Arc::default(),
            http_client,
            telemetry: Telemetry::global(),
            build: BuildInfo::default(),
            metrics: None,
            rules: None,
            share_templates: Arc::default(),
            drain: crate::drain::Drain::default(),
            settings,
        })
    }

    /// Serves the Prometheus API (`/api/v1/query`, remote-write, ...) from `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<pharos_query::LocalMetrics>) -> Self {
        self.fleet
            .attach_embedded(pharos_fleet::EmbeddedStore::new(Arc::clone(&metrics)));
        let backend: Arc<dyn pharos_query::MetricsBackend> =
            Arc::new(pharos_query::LocalBackend::new(Arc::clone(&metrics)));
        self.slo = self.slo.with_metrics(backend);
        self.metrics = Some(metrics);
        self
    }

    /// Serves `/api/v1/rules` and `/api/v1/alerts` from `rules`.
    #[must_use]
    pub fn with_rules(mut self, rules: Arc<pharos_rules::RuleManager>) -> Self {
        self.rules = Some(rules);
        self
    }
}
