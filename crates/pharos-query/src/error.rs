//! Failures of the local metrics service, each with its Prometheus API error type.

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
}

impl QueryError {
    /// The Prometheus API `errorType` (and through it the HTTP status).
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Eval(error) => error.error_type(),
            Self::BadSelector(_) => ErrorType::BadData,
            Self::Storage(_) | Self::Worker(_) => ErrorType::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
