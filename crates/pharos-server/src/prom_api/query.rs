//! `/api/v1/query` and `/api/v1/query_range` over the embedded store.

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use pharos_promql::QueryResult;
use pharos_query::MAX_POINTS_PER_SERIES;

use super::metrics_of;
use super::params::{PromParams, now_ms, range_params};
use super::response::{PromError, PromErrorType};
use crate::state::AppState;

/// `GET|POST /api/v1/query`: `query`, `time` (default now), `timeout`.
pub async fn instant(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let query = params.required("query")?;
    let time = params.time_or("time", now_ms())?;
    let timeout = params.duration("timeout")?;
    // The outer error is the query's, the inner one the encoding's.
    metrics
        .instant_then(query, time, timeout, render)
        .await
        .map_err(|e| PromError::from_query(e, Some(query)))?
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`.
pub async fn range(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let query = params.required("query")?;
    let (start, end, step) = range_params(&params)?;
    // The same guard as Prometheus, with its message: at most 11,000 points per series.
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return Err(PromError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let timeout = params.duration("timeout")?;
    metrics
        .range_then(query, start, end, step, timeout, render)
        .await
        .map_err(|e| PromError::from_query(e, Some(query)))?
}

/// The Prometheus JSON of a result. Runs on the query's worker thread: a large result takes
/// long to serialize, and on an async thread it would hold up every other request.
fn render(result: QueryResult) -> Result<Response, PromError> {
    let body = serde_json::to_vec(&result.api_response()).map_err(|error| PromError {
        error_type: PromErrorType::Internal,
        message: format!("cannot encode the result: {error}"),
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
