//! The one place where failures become HTTP answers. Every error body is Perses-shaped,
//! `{"message": "..."}`, and the message says what to fix.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_model::ValidationErrors;
use pharos_store::StoreError;
use serde_json::json;

/// An API failure, mapped to a status code and a message in [`IntoResponse`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or violates a rule; the text says which.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Validation found one or more problems, each with its JSON path.
    #[error("bad request: {0}")]
    Invalid(ValidationErrors),
    /// The named resource does not exist.
    #[error("document not found")]
    NotFound,
    /// A named thing does not exist; the text says which.
    #[error("{0}")]
    Missing(String),
    /// A resource with that name already exists.
    #[error("document already exists")]
    AlreadyExists,
    /// The request is ambiguous or clashes with the current state; the text says how to resolve it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The client's `metadata.version` is older than the stored one.
    #[error(
        "conflict: {what} was changed by someone else since you loaded it (you sent version {sent}, \
         the current version is {current}); reload it and apply your change again"
    )]
    StaleVersion {
        /// Human name of the resource.
        what: String,
        /// Version the client sent.
        sent: u64,
        /// Version in the store.
        current: u64,
    },
    /// `If-Match` did not match the current `ETag`.
    #[error(
        "precondition failed: {what} has changed (current ETag \"{current}\"); reload it and retry \
         with the new ETag"
    )]
    PreconditionFailed {
        /// Human name of the resource.
        what: String,
        /// Current version.
        current: u64,
    },
    /// Writes need a JSON content type.
    #[error("unsupported media type: send the body with 'Content-Type: application/json'")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit.
    #[error("request body too large: the limit is {limit} bytes (api.max_body_bytes)")]
    PayloadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The request body did not arrive in time; the text names the limit.
    #[error("{0}")]
    RequestTimeout(String),
    /// The datasource proxy refuses this endpoint or method, or the caller lacks a permission.
    #[error("forbidden access: {0}")]
    Forbidden(String),
    /// No valid session or token came with a request that needs one.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Too many attempts (logins, share-link checks); `retry_after` seconds until the next try.
    #[error("too many requests: {message}")]
    TooManyRequests {
        /// What was limited and how to go on.
        message: String,
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// The thing existed but is gone for good (an expired share link).
    #[error("{0}")]
    Gone(String),
    /// The upstream of a datasource could not be reached or answered badly.
    #[error("{0}")]
    BadGateway(String),
    /// The upstream of a datasource did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// The database is not reachable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else; details are logged, not returned.
    #[error("internal server error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::NotFound | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::AlreadyExists | Self::Conflict(_) | Self::StaleVersion { .. } => {
                StatusCode::CONFLICT
            }
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Gone(_) => StatusCode::GONE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Shorthand for a bad request with a message.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            StoreError::AlreadyExists => Self::AlreadyExists,
            StoreError::PreconditionFailed { current } => Self::PreconditionFailed {
                what: "the resource".to_owned(),
                current,
            },
            StoreError::StaleVersion { sent, current } => Self::StaleVersion {
                what: "the resource".to_owned(),
                sent,
                current,
            },
            StoreError::InvalidInput(msg) => Self::BadRequest(msg),
            StoreError::Unavailable(error) => {
                metrics::counter!("pharos_store_unavailable_total").increment(1);
                tracing::warn!(%error, "config store unavailable");
                // The cause stays in the log: a client cannot act on a socket error.
                Self::Unavailable(
                    "the config database cannot be reached right now; retry in a few seconds"
                        .to_owned(),
                )
            }
            other => {
                metrics::counter!("pharos_store_errors_total").increment(1);
                Self::Internal(other.to_string())
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                json!({ "message": self.to_string() })
            }
            Self::Invalid(errors) => json!({
                "message": self.to_string(),
                "errors": errors.0.iter().map(|e| json!({"path": e.path, "message": e.message})).collect::<Vec<_>>(),
            }),
            _ => json!({ "message": self.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::PreconditionFailed { current, .. } = &self
            && let Ok(value) = HeaderValue::from_str(&crate::resources::etag_for(*current))
        {
            response.headers_mut().insert(header::ETAG, value);
        }
        match &self {
            Self::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests { retry_after, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            _ => {}
        }
        response
    }
}

/// Result alias for handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;
