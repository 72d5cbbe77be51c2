//! The Prometheus HTTP API of the embedded store, served at the server root exactly as
//! Prometheus serves it (envelope, error types, status codes, parameter formats), plus the
//! remote-write receiver and the `local` datasource that points dashboards at it.

mod listing;
mod local_datasource;
mod params;
mod query;
mod response;
mod rules;
mod write;

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, post},
};
use pharos_query::LocalMetrics;

pub use listing::PROMETHEUS_COMPATIBLE_VERSION;
pub use local_datasource::{
    LOCAL_DATASOURCE, LocalDatasourceOutcome, ensure_local_datasource, local_url,
};
pub use params::{PromParams, now_ms, parse_duration_ms, parse_time, range_params};
pub use response::{PromError, PromErrorType};
pub(crate) use rules::{is_rules_path, tenant_answer as rules_for_tenant};

use crate::state::AppState;

/// The Prometheus API routes (GET and form POST where Prometheus allows both).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(listing::series).post(listing::series))
        .route(
            "/api/v1/labels",
            get(listing::label_names).post(listing::label_names),
        )
        .route("/api/v1/label/{name}/values", get(listing::label_values))
        .route("/api/v1/metadata", get(listing::metadata))
        .route("/api/v1/status/tsdb", get(listing::tsdb_status))
        .route("/api/v1/status/buildinfo", get(listing::build_info))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/write", post(write::remote_write))
        .route_layer(axum::middleware::from_fn(require_metrics_permission))
}

/// The server-wide Prometheus API reads (and remote-write writes) every tenant's series, so it
/// needs a global permission on `Metrics`; project users query through their project's proxy,
/// which keeps the namespace enforcement.
async fn require_metrics_permission(
    caller: crate::identity::Caller,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use pharos_auth::rbac::{Action, Scope};
    let action = if request.uri().path() == "/api/v1/write" {
        Action::Create
    } else {
        Action::Read
    };
    caller.require(action, None, Scope::Metrics)?;
    Ok(next.run(request).await)
}

/// The metrics service, or the Prometheus-style "unavailable" error when it is disabled.
fn metrics_of(state: &AppState) -> Result<Arc<LocalMetrics>, PromError> {
    state.metrics.clone().ok_or_else(PromError::store_disabled)
}
