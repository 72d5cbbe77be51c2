//! Query errors and their mapping to the Prometheus API error types.

use std::fmt;

/// Everything that can make a query fail.
///
/// Messages of [`EvalError::Execution`] are the exact texts Prometheus uses, because
/// clients (and the conformance suite) match on them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The query text is not valid PromQL.
    #[error("{0}")]
    Parse(String),
    /// The query parses but cannot be run with these parameters (wrong result type for a
    /// range query, bad step, unsupported construct).
    #[error("{0}")]
    InvalidQuery(String),
    /// Evaluation failed at run time (duplicate series, many-to-many matching, ...).
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than the configured timeout.
    #[error(
        "query timed out in expression evaluation; raise the query timeout or narrow the query"
    )]
    Timeout,
    /// The caller cancelled the query.
    #[error("query was canceled in expression evaluation")]
    Canceled,
    /// The query would hold more samples in memory than allowed.
    #[error(
        "query processing would load too many samples into memory in query execution (limit {limit}); select fewer series, a shorter range or a larger step"
    )]
    TooManySamples {
        /// The configured maximum number of samples.
        limit: usize,
    },
    /// The query would load more series from storage than allowed.
    #[error(
        "query would load too many series from storage (limit {limit}); add label matchers to select fewer series"
    )]
    TooManySeries {
        /// The configured maximum number of series.
        limit: usize,
    },
    /// The storage layer failed.
    #[error("storage error: {0}")]
    Storage(String),
}

/// The `errorType` values of the Prometheus HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The request was malformed (HTTP 400).
    BadData,
    /// The query failed while running (HTTP 422).
    Execution,
    /// The query hit its timeout (HTTP 503).
    Timeout,
    /// The query was cancelled (HTTP 503).
    Canceled,
    /// The storage failed (HTTP 500).
    Internal,
}

impl ErrorType {
    /// The string Prometheus puts in the `errorType` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
        }
    }

    /// The HTTP status code Prometheus answers with for this error type.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::BadData => 400,
            ErrorType::Execution => 422,
            ErrorType::Timeout | ErrorType::Canceled => 503,
            ErrorType::Internal => 500,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EvalError {
    /// The Prometheus API error type for this error.
    pub fn error_type(&self) -> ErrorType {
        match self {
            EvalError::Parse(_) | EvalError::InvalidQuery(_) => ErrorType::BadData,
            EvalError::Execution(_)
            | EvalError::TooManySamples { .. }
            | EvalError::TooManySeries { .. } => ErrorType::Execution,
            EvalError::Timeout => ErrorType::Timeout,
            EvalError::Canceled => ErrorType::Canceled,
            EvalError::Storage(_) => ErrorType::Internal,
        }
    }

    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        EvalError::Execution(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_follow_prometheus_api() {
        assert_eq!(
            EvalError::Parse("x".into()).error_type().as_str(),
            "bad_data"
        );
        assert_eq!(EvalError::exec("x").error_type().as_str(), "execution");
        assert_eq!(EvalError::Timeout.error_type().as_str(), "timeout");
        assert_eq!(EvalError::Canceled.error_type().as_str(), "canceled");
        assert_eq!(
            EvalError::TooManySamples { limit: 1 }.error_type(),
            ErrorType::Execution
        );
        assert_eq!(
            EvalError::Storage("disk".into()).error_type().http_status(),
            500
        );
    }

    #[test]
    fn limit_errors_tell_the_user_what_to_change() {
        let msg = EvalError::TooManySamples { limit: 10 }.to_string();
        assert!(msg.contains("limit 10"), "{msg}");
        assert!(msg.contains("fewer series"), "{msg}");
    }
}
