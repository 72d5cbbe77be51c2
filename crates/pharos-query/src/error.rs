//! Failures of the local metrics service, each with its Prometheus API error type.

use std::time::Duration;

use pharos_promql::{ErrorType, EvalError};
use pharos_tsdb::DbError;
use thiserror::Error;

/// Why a query, listing or write against the embedded store failed.
#[derive(Debug, Error)]
pub enum QueryError {
    /// The PromQL engine refused or failed the query (parse error, limits, timeout, ...).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A `match[]` selector or another parameter is unusable; the text says why.
    #[error("{0}")]
    BadSelector(String),
    /// The store failed to read or write.
    #[error("storage error: {0}")]
    Storage(#[from] DbError),
    /// The worker thread running the request died (a bug; details are in the log).
    #[error("the query worker stopped unexpectedly: {0}")]
    Worker(String),
    /// Every evaluation slot stayed busy for as long as a query may wait for one.
    #[error(
        "too many concurrent queries: {max_concurrent} run at once (query.max_concurrent) and none \
         finished within query.queue_timeout {}; retry later",
        duration_text(*queue_timeout)
    )]
    Overloaded {
        /// The configured number of slots.
        max_concurrent: usize,
        /// How long the query waited.
        queue_timeout: Duration,
    },
}

impl QueryError {
    /// The Prometheus API `errorType` (and through it the HTTP status).
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Eval(error) => error.error_type(),
            Self::BadSelector(_) => ErrorType::BadData,
            Self::Storage(_) | Self::Worker(_) => ErrorType::Internal,
            // The engine's error types have no "unavailable"; HTTP layers map this variant to
            // their own overload answer (see `retry_after`), 503 either way.
            Self::Overloaded { .. } => ErrorType::Timeout,
        }
    }

    /// Whether the query text itself is at fault (unparsable, invalid, too deep): Prometheus
    /// answers these as `bad_data` on the `query` parameter.
    pub fn is_invalid_query(&self) -> bool {
        matches!(
            self,
            Self::Eval(
                EvalError::Parse(_)
                    | EvalError::InvalidQuery(_)
                    | EvalError::Syntax(_)
                    | EvalError::TooManySubquerySteps { .. }
            )
        )
    }

    /// Prometheus' message for this failure of `query`: an invalid query names the parameter,
    /// and parse errors carry their position (`1:10: parse error: ...`).
    pub fn message_for(&self, query: &str) -> String {
        match self {
            Self::Eval(EvalError::Parse(reason)) => format!(
                "invalid parameter \"query\": {}",
                parse_error_text(query, reason)
            ),
            Self::Eval(EvalError::InvalidQuery(reason)) => {
                format!("invalid parameter \"query\": {reason}")
            }
            invalid if invalid.is_invalid_query() => {
                format!("invalid parameter \"query\": {invalid}")
            }
            other => other.to_string(),
        }
    }

    /// For a refusal because the server is busy: how long a client should wait before trying
    /// again (the queue timeout, rounded up to whole seconds, 1 to 30 s). `None` otherwise.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Overloaded { queue_timeout, .. } => {
                let seconds = queue_timeout.as_secs() + u64::from(queue_timeout.subsec_nanos() > 0);
                Some(Duration::from_secs(seconds.clamp(1, 30)))
            }
            _ => None,
        }
    }
}

/// Prometheus prefixes parse errors with `line:column: parse error:`. The parser we use gives
/// no positions, except that errors found at the end of the input are reported there.
fn parse_error_text(query: &str, reason: &str) -> String {
    const AT_END_OF_INPUT: [&str; 4] = [
        "unclosed left parenthesis",
        "unclosed left bracket",
        "unclosed left brace",
        "unexpected end of input",
    ];
    if AT_END_OF_INPUT.iter().any(|r| reason.starts_with(r)) {
        let line = query.matches('\n').count() + 1;
        let column = query.len() - query.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{line}:{column}: parse error: {reason}")
    } else {
        format!("parse error: {reason}")
    }
}

/// A duration as written in the config file: `30s`, `2m`, `1h`, `1500ms`.
fn duration_text(duration: Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        m if m % 3_600_000 == 0 && m > 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 && m > 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_at_the_end_carry_prometheus_positions() {
        let message = |query: &str, reason: &str| {
            QueryError::Eval(EvalError::Parse(reason.to_owned())).message_for(query)
        };
        assert_eq!(
            message("sum(", "unclosed left parenthesis"),
            "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            message("a +\nsum(", "unclosed left parenthesis"),
            "invalid parameter \"query\": 2:5: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            message("up)", "unexpected right parenthesis ')'"),
            "invalid parameter \"query\": parse error: unexpected right parenthesis ')'"
        );
        assert!(!QueryError::Worker("x".into()).is_invalid_query());
    }

    #[test]
    fn error_types_follow_the_prometheus_api() {
        assert_eq!(
            QueryError::from(EvalError::Timeout)
                .error_type()
                .http_status(),
            503
        );
        assert_eq!(
            QueryError::BadSelector("x".into()).error_type().as_str(),
            "bad_data"
        );
        assert_eq!(
            QueryError::Worker("panic".into())
                .error_type()
                .http_status(),
            500
        );
    }

    #[test]
    fn overload_is_a_503_that_names_both_limits_and_suggests_a_wait() {
        let error = QueryError::Overloaded {
            max_concurrent: 4,
            queue_timeout: Duration::from_millis(1500),
        };
        assert_eq!(error.error_type().http_status(), 503);
        assert_eq!(
            error.to_string(),
            "too many concurrent queries: 4 run at once (query.max_concurrent) and none finished \
             within query.queue_timeout 1500ms; retry later"
        );
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(QueryError::Worker("x".into()).retry_after(), None);
        assert_eq!(duration_text(Duration::from_secs(120)), "2m");
        assert_eq!(duration_text(Duration::from_secs(30)), "30s");
    }
}
