//! Access-log intake: `POST /loki/api/v1/push` (Loki's push API, so Promtail, Alloy, Fluent Bit,
//! Vector and the Loki client libraries ship here unchanged) and `POST /api/v1/logs/ndjson`.
//! The work is `pharos_logs::LogIntake`'s; the binary creates it, attaches it with [`attach`]
//! and calls [`publish`] on a timer, which writes the bucket gauges into the embedded store.
//! Writing needs the permission remote-write needs (create on `Metrics`).

mod forward;
mod handlers;

pub use forward::Forwarder;

use std::sync::Arc;

use axum::{Extension, Router, routing::post};
use pharos_logs::{LogIntake, Reject, StoreReport};
use pharos_query::LocalMetrics;

use crate::{config::LogsSettings, state::AppState};

/// The intake routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/loki/api/v1/push", post(handlers::loki_push))
        .route("/api/v1/logs/ndjson", post(handlers::ndjson))
        .route_layer(axum::middleware::from_fn(require_write_permission))
}

/// The intake for `settings`, `None` when `logs.enabled` is off.
pub fn intake(settings: &LogsSettings) -> Option<Arc<LogIntake>> {
    settings
        .enabled
        .then(|| Arc::new(LogIntake::new(settings.intake())))
}

/// Makes `intake` the one the routes feed (without it they answer 503).
pub fn attach(app: Router, intake: Arc<LogIntake>) -> Router {
    app.layer(Extension(intake))
}

/// Log lines become series of every service: the same global permission as remote-write.
async fn require_write_permission(
    caller: crate::identity::Caller,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use pharos_auth::rbac::{Action, Scope};
    caller.require(Action::Create, None, Scope::Metrics)?;
    Ok(next.run(request).await)
}

/// Writes the changed buckets at `now_ms` into the store and drops final ones from memory;
/// counts what happened in `pharos_logs_*`.
pub async fn publish(
    intake: &LogIntake,
    metrics: &LocalMetrics,
    now_ms: i64,
) -> Result<StoreReport, String> {
    publish_and_forward(intake, metrics, now_ms, None).await
}

/// [`publish`], then the same samples to the `logs.forward` targets.
pub async fn publish_and_forward(
    intake: &LogIntake,
    metrics: &LocalMetrics,
    now_ms: i64,
    forwarder: Option<&Forwarder>,
) -> Result<StoreReport, String> {
    let published = intake.publish(now_ms);
    if let Some(forwarder) = forwarder {
        forwarder.send(&published.samples).await;
    }
    metrics::counter!("pharos_logs_unwritable_revisions_total")
        .increment(published.unwritable_revisions);
    let (services, buckets) = intake.in_memory();
    metrics::gauge!("pharos_logs_services").set(services as f64);
    metrics::gauge!("pharos_logs_buckets").set(buckets as f64);
    let samples = published.samples;
    let report = metrics
        .append(move |db| pharos_logs::append_samples(db, &samples))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    metrics::counter!("pharos_tsdb_appended_samples_total", "source" => "logs")
        .increment(report.appended as u64);
    if let Some(error) = &report.first_error {
        tracing::warn!(rejected = report.rejected, %error, "the store refused latency samples");
    }
    Ok(report)
}

/// Self-monitoring of one request: lines accepted, and rejected per reason.
fn count(report: &pharos_logs::IntakeReport) {
    metrics::counter!("pharos_logs_lines_total", "source" => report.source.clone())
        .increment(report.accepted);
    for reason in Reject::ALL {
        let n = report.rejected.get(&reason).copied().unwrap_or(0);
        // Incrementing by zero registers the series, so dashboards see 0 instead of nothing.
        metrics::counter!("pharos_logs_rejected_lines_total", "reason" => reason.as_str())
            .increment(n);
    }
}
