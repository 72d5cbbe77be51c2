//! Request extractors shared by the API areas: a JSON body with Perses's content-type rule
//! and our size limit, and the `If-Match` precondition.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, header, request::Parts},
};
use serde_json::Value;

use crate::{error::ApiError, serve::BodyReadTimeout, state::AppState};

/// A JSON request body. Refuses a missing or non-JSON content type (415), bodies over
/// `api.max_body_bytes` (413) and malformed JSON (400, with line and column).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = state.settings.api.max_body_bytes;
        let bytes = read_limited(req, limit).await?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        Ok(Self(value))
    }
}

/// The `reason` of `pharos_refusals_total` for a body over its size limit.
pub const BODY_TOO_LARGE_REASON: &str = "body_too_large";

/// Reads a whole body, refusing more than `limit` bytes: at once when `Content-Length`
/// announces more (nothing is read), or as soon as more arrives. A body that stalls past
/// `http.body_read_timeout` is a 408.
pub async fn read_limited(req: Request, limit: usize) -> Result<bytes::Bytes, ApiError> {
    read_limited_counting(req, limit, BODY_TOO_LARGE_REASON).await
}

/// [`read_limited`], counting a refusal under `reason` (an endpoint with its own limit names
/// it, so one refusal is counted once).
pub async fn read_limited_counting(
    req: Request,
    limit: usize,
    reason: &'static str,
) -> Result<bytes::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        metrics::counter!("pharos_refusals_total", "reason" => reason).increment(1);
        return Err(ApiError::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if is_length_limit(&e) {
                metrics::counter!("pharos_refusals_total", "reason" => reason).increment(1);
                ApiError::PayloadTooLarge { limit }
            } else if let Some(timeout) = find_source::<BodyReadTimeout>(&e) {
                ApiError::RequestTimeout(timeout.to_string())
            } else {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            }
        })
}

fn is_length_limit(err: &axum::Error) -> bool {
    find_source::<http_body_util::LengthLimitError>(err).is_some()
}

/// The first error of type `T` in `err`'s source chain.
fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"))
}

/// The optimistic-concurrency precondition a client sent in `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No header (or `*`): Perses last-write-wins behaviour.
    Any,
    /// The client expects this version to be current.
    Version(u64),
}

impl FromRequestParts<AppState> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self::Any);
        };
        let text = raw
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match must be ASCII"))?
            .trim();
        if text == "*" {
            return Ok(Self::Any);
        }
        crate::resources::parse_etag(text)
            .map(Self::Version)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "If-Match {text:?} is not an ETag of this server; use the ETag header of a GET"
                ))
            })
    }
}

/// Query-string parameters; a malformed query string is a Perses-shaped 400.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| {
                ApiError::bad_request(format!("invalid query parameters: {}", e.body_text()))
            })
    }
}
