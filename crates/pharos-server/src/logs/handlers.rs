//! Thin handlers: read the body within `logs.max_body_bytes`, hand it to the intake on a
//! blocking thread, answer. Loki's answers are kept: 204 when every line was taken, 400 with a
//! text message otherwise (the good lines of a partly bad push are kept, as Loki keeps the valid
//! entries of a push with invalid ones). NDJSON answers the report as JSON.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Query, Request},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_logs::{BodyKind, IntakeError, IntakeReport, LogIntake};
use serde::Deserialize;

use crate::{error::ApiError, extract::read_limited_counting};

/// `?source=`.
#[derive(Debug, Deserialize)]
pub(super) struct SourceParam {
    source: Option<String>,
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    let mut message = message.into();
    message.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The HTTP status of an intake error.
fn status_of(error: &IntakeError) -> StatusCode {
    match error {
        IntakeError::UnsupportedMediaType(_) | IntakeError::UnsupportedEncoding(_) => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        IntakeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IntakeError::Decompression { .. }
        | IntakeError::Malformed(_)
        | IntakeError::TooManyLines { .. }
        | IntakeError::UnknownSource(..) => StatusCode::BAD_REQUEST,
    }
}

/// Reads and takes one body; `Err` is the finished error answer.
#[tracing::instrument(
    name = "log intake",
    skip_all,
    fields(
        logs.source = tracing::field::Empty,
        logs.accepted = tracing::field::Empty,
        logs.rejected = tracing::field::Empty,
    )
)]
async fn take(
    intake: Option<Extension<Arc<LogIntake>>>,
    kind_of: impl FnOnce(Option<&str>) -> Result<BodyKind, IntakeError>,
    source: Option<String>,
    request: Request,
) -> Result<IntakeReport, Response> {
    let Some(Extension(intake)) = intake else {
        return Err(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log intake is off in this Pharos (logs.enabled: false, or no embedded metrics store)",
        ));
    };
    let headers = request.headers().clone();
    let content_type = header_text(&headers, header::CONTENT_TYPE);
    let kind = kind_of(content_type.as_deref())
        .map_err(|e| text(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string()))?;
    let limit = intake.settings().max_body_bytes;
    let body = match read_limited_counting(request, limit, "logs_body_size").await {
        Ok(body) => body,
        Err(ApiError::PayloadTooLarge { limit }) => {
            return Err(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is over logs.max_body_bytes = {limit} bytes; send smaller batches"
                ),
            ));
        }
        Err(error) => return Err(text(error.status(), error.to_string())),
    };
    let encoding = header_text(&headers, header::CONTENT_ENCODING);
    let now_ms = chrono::Utc::now().timestamp_millis();
    // Decompressing and parsing up to the limits takes a while: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        intake.push(kind, &body, encoding.as_deref(), source.as_deref(), now_ms)
    })
    .await;
    match outcome {
        Ok(Ok(report)) => {
            // The source as the intake settled it (a known one), not as the client wrote it.
            let span = tracing::Span::current();
            span.record("logs.source", report.source.as_str());
            span.record("logs.accepted", report.accepted);
            span.record("logs.rejected", report.rejected_total());
            super::count(&report);
            Ok(report)
        }
        Ok(Err(error)) => {
            metrics::counter!("pharos_refusals_total", "reason" => "logs_body").increment(1);
            Err(text(status_of(&error), error.to_string()))
        }
        Err(error) => Err(text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
    }
}

/// The media type without parameters, lower case.
fn media(content_type: Option<&str>) -> String {
    content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// `POST /loki/api/v1/push`.
pub(super) async fn loki_push(
    intake: Option<Extension<Arc<LogIntake>>>,
    Query(params): Query<SourceParam>,
    request: Request,
) -> Response {
    let kind_of = |content_type: Option<&str>| match media(content_type).as_str() {
        "application/json" => Ok(BodyKind::LokiJson),
        "application/x-protobuf" => Ok(BodyKind::LokiProtobuf),
        other => Err(IntakeError::UnsupportedMediaType(other.to_owned())),
    };
    match take(intake, kind_of, params.source, request).await {
        Ok(report) if report.rejected_total() == 0 => StatusCode::NO_CONTENT.into_response(),
        Ok(report) => text(StatusCode::BAD_REQUEST, report.describe()),
        Err(response) => response,
    }
}

/// `POST /api/v1/logs/ndjson`.
pub(super) async fn ndjson(
    intake: Option<Extension<Arc<LogIntake>>>,
    Query(params): Query<SourceParam>,
    request: Request,
) -> Response {
    let kind_of = |content_type: Option<&str>| match media(content_type).as_str() {
        "" | "application/x-ndjson" | "application/jsonl" | "application/json" | "text/plain" => {
            Ok(BodyKind::Ndjson)
        }
        other => Err(IntakeError::UnsupportedMediaType(other.to_owned())),
    };
    match take(intake, kind_of, params.source, request).await {
        Ok(report) => Json(report).into_response(),
        Err(response) => response,
    }
}
