//! Server settings: everything the HTTP layer needs that is not a listen address or a
//! database URL. Deserialised from the `server:`-level sections of the YAML config file;
//! every field has a default so an empty file (or none) gives a working server.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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

/// Name handling.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// When false (the Perses default), names and projects are lower-cased.
    pub case_sensitive: bool,
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
