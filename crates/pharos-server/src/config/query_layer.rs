//! `query_layer:` — the result cache, step planning and per-panel limits in front of every
//! Prometheus datasource the proxy serves.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `query_layer:`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryLayerSettings {
    /// Keep answers and share concurrent identical queries (off: every request goes to the
    /// backend).
    pub cache: bool,
    /// Share answers between replicas through the Redis of `rate_limit.redis_url` (when set).
    pub shared_cache: bool,
    /// Memory for cached answers, bytes (estimated).
    pub cache_max_bytes: u64,
    /// How long an answer that reaches "now" is reused (the freshness bound of live charts).
    #[serde(with = "duration_text")]
    pub recent_ttl: Duration,
    /// How long an answer about the past is reused.
    #[serde(with = "duration_text")]
    pub historical_ttl: Duration,
    /// How long the last good answer is kept to stand in while a backend is down (0: never).
    #[serde(with = "duration_text")]
    pub stale_for: Duration,
    /// Points per series a range query may ask for before Pharos raises its step.
    pub max_points_per_series: i64,
    /// Series a range query through the proxy may return (a chart cannot show more).
    pub max_series: usize,
    /// Live streams (`…/dashboards/{d}/stream`) one user may hold open.
    pub max_streams_per_user: usize,
    /// Live streams one client address may hold open.
    pub max_streams_per_address: usize,
    /// The shortest refresh interval a live stream may ask for.
    #[serde(with = "duration_text")]
    pub stream_min_refresh: Duration,
}

impl Default for QueryLayerSettings {
    fn default() -> Self {
        Self {
            cache: true,
            shared_cache: true,
            cache_max_bytes: 256 * 1024 * 1024,
            recent_ttl: Duration::from_secs(15),
            historical_ttl: Duration::from_secs(300),
            stale_for: Duration::from_secs(3600),
            max_points_per_series: 2500,
            max_series: 500,
            max_streams_per_user: 20,
            max_streams_per_address: 100,
            stream_min_refresh: Duration::from_secs(5),
        }
    }
}

impl QueryLayerSettings {
    /// The cache's part.
    pub fn cache_settings(&self) -> pharos_query::CacheSettings {
        pharos_query::CacheSettings {
            max_bytes: self.cache_max_bytes,
            recent_ttl: self.recent_ttl,
            historical_ttl: self.historical_ttl,
            stale_for: self.stale_for,
        }
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_points_per_series < 2 || self.max_points_per_series > 11_000 {
            return Err(format!(
                "query_layer.max_points_per_series must be between 2 and 11000 (Prometheus' limit), not {}",
                self.max_points_per_series
            ));
        }
        if self.max_series == 0 {
            return Err("query_layer.max_series must be at least 1".to_owned());
        }
        Ok(())
    }
}
