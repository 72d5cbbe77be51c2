//! Query errors and their mapping to the Prometheus API error types.

use std::fmt;

use pharos_promql_syntax::SyntaxError;

/// Everything that can make a query fail.
///
/// Messages of [`EvalError::Execution`] are the exact texts Prometheus uses, because
/// clients (and the conformance suite) match on them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The query text is not valid PromQL.
    #[error("{0}")]
    Parse(String),
    /// The query text exceeds a structural limit (length, brackets and operators, nesting);
    /// the message names the limit and its value.
    #[error("{0}")]
    Syntax(SyntaxError),
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
    /// The query's subqueries would evaluate more inner steps than allowed.
    #[error(
        "the query's subqueries would evaluate {steps} steps, over the subquery step limit of \
         {limit} per query; use a larger subquery resolution (the step in `[range:step]`) or a \
         shorter range"
    )]
    TooManySubquerySteps {
        /// The steps the subqueries evaluated so far would reach.
        steps: u64,
        /// The configured maximum.
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
            EvalError::Parse(_)
            | EvalError::InvalidQuery(_)
            | EvalError::Syntax(_)
            | EvalError::TooManySubquerySteps { .. } => ErrorType::BadData,
            EvalError::Execution(_)
            | EvalError::TooManySamples { .. }
            | EvalError::TooManySeries { .. } => ErrorType::Execution,
            EvalError::Timeout => ErrorType::Timeout,
            EvalError::Canceled => ErrorType::Canceled,
            EvalError::Storage(_) => ErrorType::Internal,
        }
    }

    /// The `reason` label under which this error counts in `pharos_refusals_total` when a
    /// limit caused it; `None` for errors in the query itself or the storage.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            EvalError::Syntax(error) => Some(error.reason()),
            EvalError::TooManySubquerySteps { .. } => Some("promql_subquery_steps"),
            EvalError::TooManySamples { .. } => Some("query_max_samples"),
            EvalError::TooManySeries { .. } => Some("query_max_series"),
            EvalError::Timeout => Some("query_timeout"),
            EvalError::Parse(_)
            | EvalError::InvalidQuery(_)
            | EvalError::Execution(_)
            | EvalError::Canceled
            | EvalError::Storage(_) => None,
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
    fn limit_refusals_are_bad_data_with_a_reason() {
        let syntax = EvalError::Syntax(SyntaxError::TooDeep { limit: 256 });
        assert_eq!(syntax.error_type(), ErrorType::BadData);
        assert_eq!(syntax.refusal_reason(), Some("promql_too_deep"));
        let steps = EvalError::TooManySubquerySteps {
            steps: 2_000,
            limit: 1_000,
        };
        assert_eq!(steps.error_type().http_status(), 400);
        assert!(steps.to_string().contains("limit of 1000"), "{steps}");
        assert_eq!(EvalError::Timeout.refusal_reason(), Some("query_timeout"));
        assert_eq!(EvalError::Parse("x".into()).refusal_reason(), None);
    }

    #[test]
    fn limit_errors_tell_the_user_what_to_change() {
        let msg = EvalError::TooManySamples { limit: 10 }.to_string();
        assert!(msg.contains("limit 10"), "{msg}");
        assert!(msg.contains("fewer series"), "{msg}");
    }
}
