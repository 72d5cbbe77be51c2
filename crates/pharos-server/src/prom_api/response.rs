//! The Prometheus API envelope: `{"status":"success","data":...,"warnings":[...]}` and
//! `{"status":"error","errorType":"...","error":"..."}` with Prometheus' status codes.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_promql::ErrorType;
use pharos_query::QueryError;
use serde_json::{Value, json};

/// The `errorType` values this API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromErrorType {
    /// Malformed request (400).
    BadData,
    /// The query failed while running (422).
    Execution,
    /// The query timed out (503).
    Timeout,
    /// The query was cancelled (503).
    Canceled,
    /// Server-side failure (500).
    Internal,
    /// The embedded store is not running (503).
    Unavailable,
    /// Too many queries at once (503 `unavailable` with `Retry-After`, in seconds).
    Overloaded {
        /// Seconds the client should wait.
        retry_after_secs: u64,
    },
}

impl PromErrorType {
    fn as_str(self) -> &'static str {
        match self {
            Self::BadData => "bad_data",
            Self::Execution => "execution",
            Self::Timeout => "timeout",
            Self::Canceled => "canceled",
            Self::Internal => "internal",
            Self::Unavailable | Self::Overloaded { .. } => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::BadData => StatusCode::BAD_REQUEST,
            Self::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Timeout | Self::Canceled | Self::Unavailable | Self::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ErrorType> for PromErrorType {
    fn from(error_type: ErrorType) -> Self {
        match error_type {
            ErrorType::BadData => Self::BadData,
            ErrorType::Execution => Self::Execution,
            ErrorType::Timeout => Self::Timeout,
            ErrorType::Canceled => Self::Canceled,
            ErrorType::Internal => Self::Internal,
        }
    }
}

/// A failed Prometheus API call.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PromError {
    /// The `errorType`.
    pub error_type: PromErrorType,
    /// The `error` text.
    pub message: String,
}

impl PromError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            error_type: PromErrorType::BadData,
            message: message.into(),
        }
    }

    /// A parameter that could not be parsed, worded as Prometheus words it.
    pub fn invalid_param(name: &str, reason: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter {name:?}: {reason}"))
    }

    /// The answer when the embedded store is disabled.
    pub fn store_disabled() -> Self {
        Self {
            error_type: PromErrorType::Unavailable,
            message: "the embedded metrics store is disabled in this Pharos; query a Prometheus datasource through /proxy instead".into(),
        }
    }

    /// Maps a query failure; `query` is the PromQL text when the failure concerns one. Refusals
    /// caused by a limit are counted in `pharos_refusals_total` by reason.
    pub fn from_query(error: QueryError, query: Option<&str>) -> Self {
        if let QueryError::Eval(eval) = &error
            && let Some(reason) = eval.refusal_reason()
        {
            metrics::counter!("pharos_refusals_total", "reason" => reason).increment(1);
        }
        match (&error, query) {
            (QueryError::Overloaded { .. }, _) => Self {
                error_type: PromErrorType::Overloaded {
                    retry_after_secs: error.retry_after().map_or(1, |d| d.as_secs()),
                },
                message: error.to_string(),
            },
            (invalid, Some(query)) if invalid.is_invalid_query() => {
                Self::bad_data(invalid.message_for(query))
            }
            _ => Self {
                error_type: error.error_type().into(),
                message: error.to_string(),
            },
        }
    }
}

impl From<QueryError> for PromError {
    fn from(error: QueryError) -> Self {
        Self::from_query(error, None)
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        if self.error_type == PromErrorType::Internal {
            tracing::error!(error = %self.message, "Prometheus API internal error");
        }
        let body = json!({
            "status": "error",
            "errorType": self.error_type.as_str(),
            "error": self.message,
        });
        let mut response = (self.error_type.status(), Json(body)).into_response();
        if let PromErrorType::Overloaded { retry_after_secs } = self.error_type {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// A successful answer: `{"status":"success","data":data}` plus `warnings` when there are any.
pub fn success(data: Value, warnings: &[String]) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), "success".into());
    body.insert("data".into(), data);
    if !warnings.is_empty() {
        body.insert("warnings".into(), warnings.into());
    }
    Json(Value::Object(body)).into_response()
}

/// Truncates a listing to `limit` items, returning Prometheus' warning when it did.
pub fn apply_limit<T>(items: &mut Vec<T>, limit: Option<usize>) -> Vec<String> {
    match limit {
        Some(limit) if items.len() > limit => {
            items.truncate(limit);
            vec!["results truncated due to limit".to_owned()]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use pharos_promql::EvalError;

    use super::*;

    #[test]
    fn query_errors_keep_their_prometheus_types() {
        let timeout = PromError::from_query(QueryError::Eval(EvalError::Timeout), Some("up"));
        assert_eq!(timeout.error_type.status(), StatusCode::SERVICE_UNAVAILABLE);
        let exec = PromError::from(QueryError::Eval(EvalError::TooManySamples { limit: 1 }));
        assert_eq!(exec.error_type.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = PromError::from_query(
            QueryError::Eval(EvalError::InvalidQuery("x".into())),
            Some("up"),
        );
        assert_eq!(bad.message, "invalid parameter \"query\": x");
    }

    #[tokio::test]
    async fn an_overloaded_server_answers_503_unavailable_with_retry_after() {
        let error = PromError::from_query(
            QueryError::Overloaded {
                max_concurrent: 2,
                queue_timeout: std::time::Duration::from_secs(4),
            },
            Some("up"),
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "4");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["errorType"], "unavailable");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains("query.max_concurrent"), "{message}");
    }

    #[test]
    fn limit_refusals_are_bad_data_that_name_the_limit() {
        let too_deep = PromError::from_query(
            QueryError::Eval(EvalError::Syntax(pharos_promql::SyntaxError::TooDeep {
                limit: 256,
            })),
            Some("((up))"),
        );
        assert_eq!(too_deep.error_type.status(), StatusCode::BAD_REQUEST);
        assert!(
            too_deep.message.contains("256 levels"),
            "{}",
            too_deep.message
        );
        let steps = PromError::from_query(
            QueryError::Eval(EvalError::TooManySubquerySteps {
                steps: 31_536_000_000,
                limit: 1_000_000,
            }),
            Some("max_over_time(up[1y:1ms])"),
        );
        assert_eq!(steps.error_type, PromErrorType::BadData);
        assert!(steps.message.contains("1000000"), "{}", steps.message);
    }

    #[test]
    fn limits_truncate_with_a_warning() {
        let mut items = vec![1, 2, 3];
        assert_eq!(
            apply_limit(&mut items, Some(2)),
            ["results truncated due to limit"]
        );
        assert_eq!(items, [1, 2]);
        assert!(apply_limit(&mut items, None).is_empty());
        assert!(apply_limit(&mut items, Some(2)).is_empty());
    }
}
