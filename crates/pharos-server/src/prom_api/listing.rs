//! Listings and status: `series`, `labels`, `label/{name}/values`, `metadata`, `status/tsdb`
//! and `status/buildinfo`.

use axum::{
    extract::{Path, State},
    response::Response,
};
use serde_json::{Map, Value, json};

use super::metrics_of;
use super::params::{MAX_TIME_MS, MIN_TIME_MS, PromParams};
use super::response::{PromError, PromErrorType, apply_limit, success};
use crate::state::AppState;

/// The Prometheus release whose API (and PromQL) we implement; clients such as Grafana pick
/// features by this version, so it is reported as `version`.
pub const PROMETHEUS_COMPATIBLE_VERSION: &str = "3.0.0";

/// Default number of entries per list in `status/tsdb`.
const DEFAULT_STATUS_LIMIT: usize = 10;

/// `match[]`, `start` and `end` (defaulting to all time) of the listing endpoints.
fn listing_range(params: &PromParams) -> Result<(Vec<String>, i64, i64), PromError> {
    Ok((
        params.all("match[]"),
        params.time_or("start", MIN_TIME_MS)?,
        params.time_or("end", MAX_TIME_MS)?,
    ))
}

/// `GET|POST /api/v1/series`: label sets of the series matching `match[]`.
pub async fn series(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let (selectors, start, end) = listing_range(&params)?;
    let limit = params.limit("limit")?;
    let mut series = metrics.series(&selectors, start, end).await?;
    let warnings = apply_limit(&mut series, limit);
    // A listing of many series takes long to encode; off the async threads it delays no one.
    tokio::task::spawn_blocking(move || {
        let data: Vec<Value> = series
            .iter()
            .map(|labels| {
                let object: Map<String, Value> = labels
                    .iter()
                    .map(|l| (l.name.clone(), Value::from(l.value.as_str())))
                    .collect();
                Value::Object(object)
            })
            .collect();
        success(Value::Array(data), &warnings)
    })
    .await
    .map_err(|error| PromError {
        error_type: PromErrorType::Internal,
        message: format!("encoding the series listing failed: {error}"),
    })
}

/// `GET|POST /api/v1/labels`: label names, optionally restricted by `match[]`.
pub async fn label_names(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let (selectors, start, end) = listing_range(&params)?;
    let limit = params.limit("limit")?;
    let mut names = metrics.label_names(&selectors, start, end).await?;
    let warnings = apply_limit(&mut names, limit);
    Ok(success(json!(names), &warnings))
}

/// `GET /api/v1/label/{name}/values`: values of one label.
pub async fn label_values(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    if !pharos_tsdb::is_valid_label_name(&name) {
        return Err(PromError::bad_data(format!("invalid label name: {name:?}")));
    }
    let (selectors, start, end) = listing_range(&params)?;
    let limit = params.limit("limit")?;
    let mut values = metrics.label_values(&name, &selectors, start, end).await?;
    let warnings = apply_limit(&mut values, limit);
    Ok(success(json!(values), &warnings))
}

/// `GET /api/v1/metadata`: type, help and unit per metric family, as senders reported them.
pub async fn metadata(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let families = metrics.metadata(
        params.get("metric"),
        params.limit("limit")?,
        params.limit("limit_per_metric")?,
    );
    let data: Map<String, Value> = families
        .into_iter()
        .map(|(name, entries)| {
            let entries: Vec<Value> = entries
                .into_iter()
                .map(|e| json!({"type": e.metric_type, "help": e.help, "unit": e.unit}))
                .collect();
            (name, Value::Array(entries))
        })
        .collect();
    Ok(success(Value::Object(data), &[]))
}

/// `GET /api/v1/status/tsdb`: head statistics and cardinality top lists (`limit`, default 10).
pub async fn tsdb_status(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let limit = params.limit("limit")?.unwrap_or(DEFAULT_STATUS_LIMIT);
    let status = metrics.tsdb_status(limit).await?;
    Ok(success(status.to_json(), &[]))
}

/// `GET /api/v1/status/buildinfo`: Prometheus' build information shape, naming Pharos.
pub async fn build_info(State(state): State<AppState>) -> Response {
    success(
        json!({
            "version": PROMETHEUS_COMPATIBLE_VERSION,
            "revision": state.build.commit,
            "branch": "pharos",
            "buildUser": "pharos",
            "buildDate": state.build.build_time,
            "goVersion": "none (Pharos is written in Rust)",
            "application": format!("Pharos {}", state.build.version),
        }),
        &[],
    )
}
