//! Server settings: everything the HTTP layer needs that is not a listen address or a
//! database URL. Deserialised from the `server:`-level sections of the YAML config file;
//! every field has a default so an empty file (or none) gives a working server.

use std::time::Duration;

use serde::{Deserialize, Serialize};

mod assistant;
mod fleet;
mod logs;
mod logs_forward;
mod providers;
mod query_layer;
mod rules;
mod web;
mod workloads;

pub use web::{CorsSettings, HstsSettings};

pub use assistant::{AssistantSettings, DetectorSettings, LlmSettings};

pub use fleet::{CheckTimingSettings, FleetSettings};
pub use logs::LogsSettings;
pub use logs_forward::{ForwardTarget, LogsForwardSettings, PushgatewayTarget};
pub use providers::{KubernetesSettings, OAuthProvider, OidcProvider, ProviderSettings};
pub use query_layer::QueryLayerSettings;
pub use rules::RulesSettings;
pub use workloads::WorkloadSettings;

/// All settings of the HTTP server.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Request handling limits.
    pub api: ApiSettings,
    /// Tenant enforcement for Prometheus datasources.
    pub tenancy: TenancySettings,
    /// Datasource proxy behaviour.
    pub proxy: ProxySettings,
    /// Dashboard trash.
    pub trash: TrashSettings,
    /// Ephemeral dashboards.
    pub ephemeral_dashboard: EphemeralSettings,
    /// Name handling (Perses `database.case_sensitive`).
    pub database: DatabaseSettings,
    /// Connection limits and timeouts.
    pub http: HttpSettings,
    /// Limits of `POST /api/v1/write`.
    pub remote_write: RemoteWriteSettings,
    /// Logins, sessions and the signing key.
    pub security: SecuritySettings,
    /// Request rate limits and where their counters live.
    pub rate_limit: RateLimitSettings,
    /// Result cache, step planning and limits of proxied Prometheus queries.
    pub query_layer: QueryLayerSettings,
    /// Workload discovery (`GET /api/v1/projects/{project}/workloads`).
    pub workloads: WorkloadSettings,
    /// The fleet's cluster registry, health checks and event bus.
    pub fleet: FleetSettings,
    /// Rule files evaluated by the embedded store and the Alertmanagers their alerts go to.
    pub rules: RulesSettings,
    /// Access-log intake (Loki push, NDJSON) and its latency buckets.
    pub logs: LogsSettings,
    /// Latency SLOs of services: default threshold, breach alerts, declared services.
    pub slo: pharos_slo::SloSettings,
    /// The chat assistant's model, its bounds and the anomaly detector.
    pub assistant: AssistantSettings,
}

impl ServerSettings {
    /// Checks the settings that serde cannot: the tenant label and the trace attribute.
    pub fn validate(&self) -> Result<(), String> {
        pharos_enforce::TenantPolicy::new(
            &self.tenancy.label,
            vec!["x".to_owned()],
            pharos_enforce::ConflictMode::Replace,
        )
        .map_err(|e| format!("tenancy.label: {e}"))?;
        pharos_enforce::validate_trace_attribute(&self.tenancy.trace_attribute)
            .map_err(|e| e.to_string())?;
        let security = &self.security;
        if security.cookie.same_site == SameSite::None && !security.cookie.secure {
            return Err(
                "security.cookie.same_site: none needs security.cookie.secure: true \
                        (browsers drop SameSite=None cookies without Secure)"
                    .to_owned(),
            );
        }
        pharos_auth::rbac::validate_permissions(&security.guest_permissions, true)
            .map_err(|e| format!("security.guest_permissions: {e}"))?;
        if let Some(url) = &self.rate_limit.redis_url {
            redis::Client::open(url.as_str()).map_err(|e| {
                format!("rate_limit.redis_url: {e} (expected redis://host:port/db)")
            })?;
        }
        security.providers.validate()?;
        security.cors.validate()?;
        self.query_layer.validate()?;
        self.fleet.validate()?;
        self.rules.validate()?;
        self.logs.validate()?;
        self.slo.validate()?;
        self.assistant.validate()?;
        if security.auth == AuthMode::Kubernetes && security.kubernetes.api_server_url().is_none() {
            return Err(
                "security.auth: kubernetes needs security.kubernetes.api_server \
                        (or KUBERNETES_SERVICE_HOST, set in a pod)"
                    .to_owned(),
            );
        }
        if security.access_token_ttl.is_zero() || security.refresh_token_ttl.is_zero() {
            return Err(
                "security.access_token_ttl and refresh_token_ttl must be positive".to_owned(),
            );
        }
        Ok(())
    }
}

/// Request handling limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes (resource writes and proxied POSTs).
    pub max_body_bytes: usize,
    /// Most panels (`spec.panels` entries) one dashboard may hold.
    pub max_panels_per_dashboard: usize,
    /// Most queries, summed over all panels, one dashboard may hold.
    pub max_queries_per_dashboard: usize,
    /// Most variables one dashboard may hold.
    pub max_variables_per_dashboard: usize,
}

impl Default for ApiSettings {
    /// Perses' largest sample dashboard (Node Exporter) has 114 panels, 1-4 queries each and
    /// a dozen variables; the defaults leave several times that room while keeping the cost
    /// of validating one document (memory grows with every panel) far from the 15 000-panel
    /// documents that cost hundreds of MiB.
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_panels_per_dashboard: 500,
            max_queries_per_dashboard: 2000,
            max_variables_per_dashboard: 200,
        }
    }
}

/// Connection limits and timeouts of the HTTP listener (`http:`). They bound what a slow,
/// idle or hostile client can hold: sockets, file descriptors, memory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// A request's head (request line and headers) must arrive within this time of its
    /// first byte; otherwise the connection is closed.
    #[serde(with = "duration_text")]
    pub header_read_timeout: Duration,
    /// A request's body must arrive completely within this time of its head; otherwise the
    /// request is answered 408 (when the handler reads the body) and the connection closed.
    #[serde(with = "duration_text")]
    pub body_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this time.
    #[serde(with = "duration_text")]
    pub idle_timeout: Duration,
    /// Most open client connections. Lowered at start to fit the process's open-files limit.
    /// At the cap, the longest-idle connection is closed to make room; when none is idle,
    /// the new connection gets 503 and is closed.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// Limits of one remote-write request (`remote_write:` section). A request over a
/// request-wide limit is refused whole; a series over a label limit is refused alone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteWriteSettings {
    /// Largest body after snappy decompression, in bytes (the compressed body is bounded by it).
    pub max_decompressed_bytes: usize,
    /// Most series in one request.
    pub max_series_per_request: usize,
    /// Most samples in one request.
    pub max_samples_per_request: usize,
    /// Most metric metadata entries in one request.
    pub max_metadata_per_request: usize,
    /// Most labels of one series, `__name__` included.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_length: usize,
    /// Longest label value, in bytes.
    pub max_label_value_length: usize,
}

impl Default for RemoteWriteSettings {
    fn default() -> Self {
        let limits = pharos_ingest::WriteLimits::default();
        Self {
            max_decompressed_bytes: limits.max_decompressed_bytes,
            max_series_per_request: limits.max_series_per_request,
            max_samples_per_request: limits.max_samples_per_request,
            max_metadata_per_request: limits.max_metadata_per_request,
            max_labels_per_series: limits.max_labels_per_series,
            max_label_name_length: limits.max_label_name_length,
            max_label_value_length: limits.max_label_value_length,
        }
    }
}

impl RemoteWriteSettings {
    /// The limits the decoder applies.
    pub fn limits(&self) -> pharos_ingest::WriteLimits {
        pharos_ingest::WriteLimits {
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_series_per_request: self.max_series_per_request,
            max_samples_per_request: self.max_samples_per_request,
            max_metadata_per_request: self.max_metadata_per_request,
            max_labels_per_series: self.max_labels_per_series,
            max_label_name_length: self.max_label_name_length,
            max_label_value_length: self.max_label_value_length,
        }
    }
}

/// What to do when a query names the enforced label with a value the tenant does not own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// Replace the query's matcher (prom-label-proxy default): the query sees only tenant data.
    #[default]
    Replace,
    /// Refuse the query with 400 when its matcher admits none of the tenant's values.
    Error,
}

/// Tenant enforcement for Prometheus datasources.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenancySettings {
    /// The label whose values a project owns (`spec.namespaces`).
    pub label: String,
    /// Conflict handling.
    pub on_conflict: ConflictPolicy,
    /// Capacity of the cache of rewritten queries.
    pub cache_capacity: u64,
    /// The TraceQL attribute that holds the tenant label's value on spans (Tempo searches).
    pub trace_attribute: String,
    /// Longest LogQL query, TraceQL filter or Alertmanager filter accepted from a restricted
    /// project, in bytes.
    pub max_query_bytes: usize,
}

impl Default for TenancySettings {
    fn default() -> Self {
        Self {
            label: "namespace".to_owned(),
            on_conflict: ConflictPolicy::Replace,
            cache_capacity: 10_000,
            // The OpenTelemetry Kubernetes resource attribute for the pod's namespace.
            trace_attribute: "resource.k8s.namespace.name".to_owned(),
            // Loki refuses queries beyond a few KiB itself; this only bounds our own work.
            max_query_bytes: 16 * 1024,
        }
    }
}

/// Datasource proxy behaviour.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxySettings {
    /// Upper bound for one upstream request (connect + response headers).
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Upper bound for connecting to the upstream.
    #[serde(with = "duration_text")]
    pub connect_timeout: Duration,
    /// Longest tenant-enforced query string sent in a URL; longer ones go as a form POST
    /// where the upstream accepts one, else the request is refused with 400.
    pub max_url_query_bytes: usize,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            // The common request-line limit of web servers and proxies (nginx, Envoy).
            max_url_query_bytes: 8 * 1024,
        }
    }
}

/// Dashboard trash.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrashSettings {
    /// How long a deleted dashboard can be restored.
    #[serde(with = "duration_text")]
    pub retention: Duration,
}

impl Default for TrashSettings {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Ephemeral dashboards.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EphemeralSettings {
    /// Whether the `ephemeraldashboards` routes exist.
    pub enable: bool,
    /// How often expired ephemeral dashboards (and expired trash) are removed.
    #[serde(with = "duration_text")]
    pub cleanup_interval: Duration,
}

impl Default for EphemeralSettings {
    fn default() -> Self {
        Self {
            enable: true,
            cleanup_interval: Duration::from_secs(60),
        }
    }
}

/// Name handling and the config database's connection pool (`database:`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// When false (the Perses default), names and projects are lower-cased.
    pub case_sensitive: bool,
    /// Connections of the pool (per replica: N replicas open up to N times this many).
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503: short, so that
    /// while PostgreSQL restarts requests fail fast instead of piling up behind the pool.
    #[serde(with = "duration_text")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            case_sensitive: false,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// The `rate_limit:` section.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// `redis://host:port/db`: count failed logins, share-link checks and request rates in
    /// Redis so every replica shares them (flag `--redis-url`, env `PHAROS_REDIS_URL`).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub redis_url: Option<String>,
    /// Requests per signed-in user and minute; 0 (the default) means unlimited.
    pub requests_per_user_per_minute: u32,
    /// Requests per client address and minute; 0 (the default) means unlimited.
    pub requests_per_address_per_minute: u32,
}

/// How callers prove who they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Users with passwords in the config store (the default).
    #[default]
    Native,
    /// Bearer tokens checked by the Kubernetes API server (TokenReview), access by
    /// SubjectAccessReview in the project's namespace (OpenShift).
    Kubernetes,
    /// No login: every caller may do everything. Local development only.
    Disabled,
}

/// The `security:` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// `native`, `kubernetes` or `disabled` (flag `--auth`).
    pub auth: AuthMode,
    /// Password logins and external login providers (OIDC, OAuth 2.0).
    pub providers: ProviderSettings,
    /// The API server of `auth: kubernetes`.
    pub kubernetes: KubernetesSettings,
    /// Base64 of 32 bytes: encrypts secrets at rest and roots the session signing key. When
    /// absent a key file in the data dir is used (created once); replicas need the same key.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub encryption_key: Option<String>,
    /// Lifetime of an access token.
    #[serde(with = "duration_text")]
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (and so of a browser session without activity).
    #[serde(with = "duration_text")]
    pub refresh_token_ttl: Duration,
    /// Session cookie attributes.
    pub cookie: CookieSettings,
    /// Cross-origin API calls (off unless origins are listed).
    pub cors: CorsSettings,
    /// `Strict-Transport-Security`.
    pub hsts: HstsSettings,
    /// Failed logins allowed per login name and per client address within
    /// `login_failure_window` before further attempts are refused with 429.
    pub max_login_failures: u32,
    /// The window of [`SecuritySettings::max_login_failures`].
    #[serde(with = "duration_text")]
    pub login_failure_window: Duration,
    /// How long audit entries are kept.
    #[serde(with = "duration_text")]
    pub audit_retention: Duration,
    /// Permissions every signed-in user has (Perses' `guest_permissions`). By default: read the
    /// global datasources, variables and templates, so project dashboards can name them (queries through
    /// them still go through the project's proxy and its namespace restriction).
    pub guest_permissions: Vec<pharos_auth::rbac::Permission>,
    /// The first administrator's password, from `--admin-password` / `PHAROS_ADMIN_PASSWORD`
    /// only (never from the file, never serialised).
    #[serde(skip)]
    pub admin_password: Option<String>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            auth: AuthMode::Native,
            providers: ProviderSettings::default(),
            kubernetes: KubernetesSettings::default(),
            encryption_key: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(24 * 3600),
            cookie: CookieSettings::default(),
            cors: CorsSettings::default(),
            hsts: HstsSettings::default(),
            max_login_failures: 10,
            login_failure_window: Duration::from_secs(5 * 60),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            guest_permissions: vec![pharos_auth::rbac::Permission::new(
                [pharos_auth::rbac::Action::Read],
                [
                    pharos_auth::rbac::Scope::GlobalDatasource,
                    pharos_auth::rbac::Scope::GlobalVariable,
                    pharos_auth::rbac::Scope::GlobalTemplate,
                ],
            )],
            admin_password: None,
        }
    }
}

/// Session cookie attributes (Perses `security.cookie`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieSettings {
    /// `lax` (default), `strict` or `none` (`none` needs `secure`).
    pub same_site: SameSite,
    /// Send cookies over HTTPS only; turn on behind TLS.
    pub secure: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            same_site: SameSite::Lax,
            secure: false,
        }
    }
}

/// The cookies' `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their sub-requests.
    Lax,
    /// Never sent from other sites.
    Strict,
    /// Always sent (requires `secure`).
    None,
}

impl SameSite {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

fn redact<S: serde::Serializer>(_: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<secret>")
}

fn redact_text<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<secret>")
}

/// Durations written as Perses/Prometheus duration strings (`30s`, `1h30m`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&pharos_model::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        pharos_model::parse_duration(&text).map_err(D::Error::custom)
    }
}
