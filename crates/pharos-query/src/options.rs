//! Limits and defaults of query evaluation (the `query:` section of the configuration).

use std::time::Duration;

use pharos_promql::EngineOptions;

/// Prometheus' API refuses range queries with more than this many steps per series.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// How queries against the embedded store are evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOptions {
    /// Longest a query may run; a request's own `timeout` can only shorten it. Default 2 minutes.
    pub timeout: Duration,
    /// Most samples one query may hold in memory at once. Default 50 million.
    pub max_samples: usize,
    /// Most series one query may load from the store. Default 1 million.
    pub max_series: usize,
    /// How far back an instant selector looks for the latest sample. Default 5 minutes.
    pub lookback_delta: Duration,
    /// Longest PromQL text accepted, in bytes. Default 65 536.
    pub max_length: usize,
    /// Most inner steps the subqueries of one query may evaluate together. Default 1 million.
    pub max_subquery_steps: usize,
    /// Most queries and listings evaluating at once; the others wait in line. Default: the
    /// number of CPUs, at least 2.
    pub max_concurrent: usize,
    /// Longest a query waits in line for a slot before it is refused (503 with
    /// `Retry-After`). Default 30 seconds.
    pub queue_timeout: Duration,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_series: 1_000_000,
            lookback_delta: Duration::from_secs(300),
            max_length: EngineOptions::default().max_query_length,
            max_subquery_steps: EngineOptions::default().max_subquery_steps,
            max_concurrent: default_max_concurrent(),
            queue_timeout: Duration::from_secs(30),
        }
    }
}

/// One evaluation per CPU keeps every core busy without queries slowing each other down;
/// at least 2 so one long query never blocks every other.
fn default_max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

impl QueryOptions {
    /// Engine options for one query; `request_timeout` (the API's `timeout` parameter) wins
    /// when it is shorter than the configured timeout.
    pub fn engine_options(&self, request_timeout: Option<Duration>) -> EngineOptions {
        let timeout = request_timeout.map_or(self.timeout, |t| t.min(self.timeout));
        EngineOptions {
            lookback_delta: self.lookback_delta,
            timeout: Some(timeout),
            max_samples: self.max_samples,
            max_series: self.max_series,
            // The engine refuses `steps >= limit`; Prometheus' API refuses `steps > 11,000`.
            max_points_per_series: MAX_POINTS_PER_SERIES + 1,
            max_query_length: self.max_length,
            max_subquery_steps: self.max_subquery_steps,
            ..EngineOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_timeout_can_only_shorten_the_configured_one() {
        let options = QueryOptions::default();
        let short = options.engine_options(Some(Duration::from_secs(5)));
        assert_eq!(short.timeout, Some(Duration::from_secs(5)));
        let long = options.engine_options(Some(Duration::from_secs(3600)));
        assert_eq!(long.timeout, Some(Duration::from_secs(120)));
        assert_eq!(
            options.engine_options(None).timeout,
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn configured_limits_reach_the_engine() {
        let options = QueryOptions {
            max_samples: 7,
            max_series: 3,
            lookback_delta: Duration::from_secs(60),
            max_length: 100,
            max_subquery_steps: 50,
            ..QueryOptions::default()
        };
        let engine = options.engine_options(None);
        assert_eq!(
            (engine.max_samples, engine.max_series, engine.lookback_delta),
            (7, 3, Duration::from_secs(60))
        );
        assert_eq!(
            (engine.max_query_length, engine.max_subquery_steps),
            (100, 50)
        );
    }

    #[test]
    fn admission_defaults_allow_at_least_two_queries_at_once() {
        let options = QueryOptions::default();
        assert!(options.max_concurrent >= 2);
        assert_eq!(options.queue_timeout, Duration::from_secs(30));
    }
}
