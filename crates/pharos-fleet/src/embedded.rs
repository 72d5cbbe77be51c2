//! Clusters whose metrics live in this Pharos' own embedded store, told apart by one label —
//! as in a central Thanos or Prometheus that receives every cluster's series with an external
//! `cluster` label. Registered with `"prometheus_url": "embedded:cluster=prod-eu-1"`, such a
//! cluster is asked in process (no HTTP hop, no credentials) and every question is restricted
//! to its series by the same enforcer that restricts tenants (`cluster="prod-eu-1"` written into
//! every selector, a conflicting matcher replaced), so one cluster never answers with another's
//! series. The built-in simulator's clusters are registered this way in the demo.
//!
//! Health: the store answers and holds series of the cluster (none: `degraded`, the label or
//! value is probably wrong). Discovery: Pharos' own version, DCGM and kube-state-metrics series
//! of that cluster; no Alertmanager unless one is registered (it is polled as usual).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pharos_enforce::{ConflictMode, Enforcer, TenantPolicy};
use pharos_query::{
    BackendError, InstantQuery, LocalBackend, LocalMetrics, MetricsBackend, QueryAnswer, RangeQuery,
};

use crate::error::FleetError;
use crate::model::{Capabilities, HealthState, PrometheusCapability};
use crate::probe::HealthResult;

/// The scheme of an embedded cluster's `prometheus_url`.
pub const SCHEME: &str = "embedded";

/// Most rewritten queries kept by the enforcer's cache.
const ENFORCER_CACHE: u64 = 4_096;

/// `embedded:<label>=<value>`, checked; `None` when `text` is not an embedded location.
pub(crate) fn parse_location(text: &str) -> Option<Result<(String, String), FleetError>> {
    let rest = text.strip_prefix(SCHEME)?.strip_prefix(':')?;
    let bad = |why: &str| {
        FleetError::Invalid(format!(
            "prometheus_url \"{}\" {why}: an embedded cluster is embedded:<label>=<value>, \
             such as embedded:cluster=prod-eu-1",
            text.chars().take(120).collect::<String>()
        ))
    };
    let Some((label, value)) = rest.split_once('=') else {
        return Some(Err(bad("has no <label>=<value>")));
    };
    let label_ok = !label.is_empty()
        && label.len() <= 128
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !label.starts_with("__");
    if !label_ok {
        return Some(Err(bad("does not name a label")));
    }
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Some(Err(bad("has no usable value")));
    }
    Some(Ok((label.to_owned(), value.to_owned())))
}

fn refused(message: String) -> BackendError {
    BackendError::Refused {
        error_type: "bad_data".to_owned(),
        message,
        status: 400,
    }
}

/// The embedded store, as the fleet reaches it.
#[derive(Clone)]
pub struct EmbeddedStore {
    metrics: Arc<LocalMetrics>,
    enforcer: Arc<Enforcer>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

impl EmbeddedStore {
    /// The fleet's view of `metrics`.
    pub fn new(metrics: Arc<LocalMetrics>) -> Self {
        Self {
            metrics,
            enforcer: Arc::new(Enforcer::new(ENFORCER_CACHE)),
        }
    }
}

/// One embedded cluster: the store and the label that picks its series.
#[derive(Clone)]
pub struct EmbeddedScope {
    store: EmbeddedStore,
    policy: TenantPolicy,
    /// `label="value"`, for messages.
    selector: String,
}

impl std::fmt::Debug for EmbeddedScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmbeddedScope({})", self.selector)
    }
}

impl EmbeddedScope {
    pub(crate) fn new(store: EmbeddedStore, label: &str, value: &str) -> Result<Self, String> {
        let policy = TenantPolicy::new(label, vec![value.to_owned()], ConflictMode::Replace)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            store,
            policy,
            selector: format!("{label}=\"{value}\""),
        })
    }

    fn restrict(&self, query: &str) -> Result<String, BackendError> {
        self.store
            .enforcer
            .enforce_query(&self.policy, query)
            .map(|q| q.to_string())
            .map_err(|e| {
                refused(format!(
                    "cannot restrict the query to {}: {e}",
                    self.selector
                ))
            })
    }

    /// An instant query, restricted to the cluster.
    pub(crate) async fn instant(
        &self,
        mut query: InstantQuery,
    ) -> Result<QueryAnswer, BackendError> {
        query.query = self.restrict(&query.query)?;
        LocalBackend::new(Arc::clone(&self.store.metrics))
            .instant(&query)
            .await
    }

    /// A range query, restricted to the cluster.
    pub(crate) async fn range(&self, mut query: RangeQuery) -> Result<QueryAnswer, BackendError> {
        query.query = self.restrict(&query.query)?;
        LocalBackend::new(Arc::clone(&self.store.metrics))
            .range(&query)
            .await
    }

    /// Label names (`label: None`) or one label's values among the cluster's series.
    pub(crate) async fn list(
        &self,
        label: Option<&str>,
        params: &[(String, String)],
    ) -> Result<Vec<String>, BackendError> {
        let time = |key: &str, default: i64| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| {
                    crate::federate::parse_time(key, &serde_json::Value::String(v.clone())).ok()
                })
                .unwrap_or(default)
        };
        let now = pharos_query::now_ms();
        let (start, end) = (time("start", now - 3_600_000), time("end", now));
        let mut selectors = Vec::new();
        for (_, selector) in params.iter().filter(|(k, _)| k == "match[]") {
            selectors.push(
                self.store
                    .enforcer
                    .enforce_selector(&self.policy, selector)
                    .map_err(|e| refused(e.to_string()))?
                    .to_string(),
            );
        }
        if selectors.is_empty() {
            selectors.push(format!("{{{}}}", self.selector));
        }
        let metrics = &self.store.metrics;
        let listed = match label {
            None => metrics.label_names(&selectors, start, end).await,
            Some(label) => metrics.label_values(label, &selectors, start, end).await,
        };
        listed.map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    async fn count(&self, query: &str, timeout: Duration) -> Result<f64, BackendError> {
        let answer = self
            .instant(InstantQuery {
                query: query.to_owned(),
                time_ms: pharos_query::now_ms(),
                timeout: Some(timeout),
            })
            .await?;
        let value = answer.data.to_value();
        Ok(value["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0))
    }

    /// The health check: the store answers and holds series of this cluster.
    pub(crate) async fn check_health(&self, timeout: Duration) -> HealthResult {
        let started = Instant::now();
        let counted =
            tokio::time::timeout(timeout, self.count("count({__name__=~\".+\"})", timeout)).await;
        let (state, reason) = match counted {
            Err(_) => (
                HealthState::Unreachable,
                format!(
                    "the embedded store gave no answer within {} s",
                    timeout.as_secs_f64()
                ),
            ),
            Ok(Err(e)) => (
                HealthState::Degraded,
                format!("the embedded store failed: {e}"),
            ),
            Ok(Ok(n)) if n < 1.0 => (
                HealthState::Degraded,
                format!(
                    "the embedded store holds no series with {} now",
                    self.selector
                ),
            ),
            Ok(Ok(n)) => (
                HealthState::Healthy,
                format!("embedded store: {n} series with {}", self.selector),
            ),
        };
        HealthResult {
            state,
            reason,
            latency: started.elapsed(),
        }
    }

    /// Discovery: Pharos' version, and the DCGM and kube-state-metrics series of the cluster.
    pub(crate) async fn discover(&self, timeout: Duration) -> Capabilities {
        let (gpus, pods) = tokio::join!(
            self.count("count(DCGM_FI_DEV_GPU_UTIL)", timeout),
            self.count("count(kube_pod_info)", timeout),
        );
        let gpus = gpus.ok().filter(|n| *n > 0.0);
        Capabilities {
            prometheus: PrometheusCapability {
                reachable: true,
                version: Some(format!("pharos {}", env!("CARGO_PKG_VERSION"))),
            },
            dcgm: gpus.is_some(),
            gpu_count: gpus.map(|n| n.round().clamp(0.0, 1e9) as u64),
            alertmanager: false,
            kube_state_metrics: pods.is_ok_and(|n| n > 0.0),
            discovered_at: Some(Utc::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked() {
        assert!(parse_location("http://p:9090").is_none());
        let Some(Ok((label, value))) = parse_location("embedded:cluster=prod-eu-1") else {
            panic!("a good location");
        };
        assert_eq!((label.as_str(), value.as_str()), ("cluster", "prod-eu-1"));
        for bad in [
            "embedded:",
            "embedded:cluster",
            "embedded:=x",
            "embedded:__name__=up",
            "embedded:cluster=",
        ] {
            let error = parse_location(bad).map(|r| r.map(|_| ()));
            assert!(
                matches!(&error, Some(Err(FleetError::Invalid(m))) if m.contains("embedded:cluster=prod-eu-1")),
                "{bad}: {error:?}"
            );
        }
    }
}
