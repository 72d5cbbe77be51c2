//! Self-monitoring: the process-wide metrics recorder, the request metrics middleware and
//! the `/metrics` exposition. Metric names follow `pharos_<area>_<name>_<unit>`.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Handle on the recorder; rendering gives the Prometheus text format.
#[derive(Clone)]
pub struct Telemetry {
    handle: Option<PrometheusHandle>,
}

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

impl Telemetry {
    /// Installs the recorder on first use (the `metrics` facade is process-wide, so every
    /// router in the process, including test ones, shares it).
    pub fn global() -> Self {
        let handle = HANDLE.get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()?
                .install_recorder()
                .ok()
        });
        Self {
            handle: handle.clone(),
        }
    }

    /// The current metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

/// Counts requests and measures their latency by route template (never by raw path, so
/// cardinality stays bounded).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method)];
    metrics::histogram!("pharos_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    let mut with_status = labels.to_vec();
    with_status.push(("status", status));
    metrics::counter!("pharos_http_requests_total", &with_status).increment(1);
    response
}
