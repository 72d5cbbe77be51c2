//! `POST /api/v1/write`: the remote-write 1.0 receiver. Answers are plain text, as
//! Prometheus' receiver sends them, and 204 is only sent once every sample is durable. The
//! `remote_write:` limits are applied before the body is decompressed or decoded.

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_ingest::{
    DecodeError, Limit, RejectReason, WriteLimits, WriteReport, append_write_request,
};
use pharos_query::MetricMetadataEntry;

use crate::{error::ApiError, extract::read_limited_counting, state::AppState};

/// A plain-text answer.
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

/// Receives one remote-write request.
pub async fn remote_write(State(state): State<AppState>, request: Request) -> Response {
    let Some(metrics) = state.metrics.clone() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the embedded metrics store is disabled in this Pharos; remote-write is unavailable",
        );
    };
    let checked = {
        let header_text = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
        };
        pharos_ingest::check_headers(
            header_text(header::CONTENT_TYPE),
            header_text(header::CONTENT_ENCODING),
        )
    };
    if let Err(error) = checked {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, error.to_string());
    }
    let limits = state.settings.remote_write.limits();
    let body = match read_limited_counting(
        request,
        limits.max_compressed_bytes(),
        Limit::DecompressedBytes.reason(),
    )
    .await
    {
        Ok(body) => body,
        Err(ApiError::PayloadTooLarge { limit }) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                too_large_body(limit, &limits),
            );
        }
        Err(error) => return text(error.status(), error.to_string()),
    };
    // Decompressing and decoding up to the size limit takes a while: off the async workers.
    let decoded =
        tokio::task::spawn_blocking(move || pharos_ingest::decode_write_request(&body, &limits))
            .await;
    let write_request = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(error)) => {
            if let Some(limit) = error.limit() {
                count_refusal(limit, 1);
            }
            return refused(&error);
        }
        Err(error) => return text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    for family in &write_request.request.metadata {
        metrics.record_metadata(
            &family.metric_family_name,
            MetricMetadataEntry {
                metric_type: family.metric_type().api_name().to_owned(),
                help: family.help.clone(),
                unit: family.unit.clone(),
            },
        );
    }
    let outcome = metrics
        .append(move |db| append_write_request(db, &write_request))
        .await;
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => {
            tracing::error!(%error, "remote-write could not store samples");
            // 5xx: the sender keeps the batch and retries.
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not store the samples, retry later: {error}"),
            );
        }
        Err(error) => return text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    count(&report);
    if report.is_complete() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        // 4xx: the sender drops the batch instead of retrying what can never be stored; the
        // good samples of the batch are already stored.
        text(StatusCode::BAD_REQUEST, report.describe())
    }
}

/// A decoding failure or a request-wide limit: 400, nothing stored.
fn refused(error: &DecodeError) -> Response {
    text(StatusCode::BAD_REQUEST, error.to_string())
}

/// The answer for a body longer than any body that decompresses within the limit.
fn too_large_body(read_limit: usize, limits: &WriteLimits) -> String {
    format!(
        "remote-write refused: the body is over {read_limit} bytes, so it cannot decompress within the limit; the limit is {} = {} decompressed bytes; send smaller batches (lower queue_config.max_samples_per_send) or raise the limit",
        Limit::DecompressedBytes,
        limits.max_decompressed_bytes
    )
}

/// `pharos_refusals_total` for a limit.
fn count_refusal(limit: Limit, refusals: usize) {
    metrics::counter!("pharos_refusals_total", "reason" => limit.reason())
        .increment(refusals as u64);
}

/// Self-monitoring: stored samples, rejections by reason, series refused by label limits.
fn count(report: &WriteReport) {
    for (limit, series) in &report.refused_series {
        count_refusal(*limit, *series);
    }
    metrics::counter!("pharos_tsdb_appended_samples_total", "source" => "remote_write")
        .increment(report.accepted as u64);
    for reason in RejectReason::ALL {
        let rejected = report
            .rejected
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n as u64);
        // Incrementing by zero registers the series, so dashboards see 0 instead of nothing.
        metrics::counter!("pharos_tsdb_rejected_samples_total", "reason" => reason.as_str())
            .increment(rejected);
    }
}
