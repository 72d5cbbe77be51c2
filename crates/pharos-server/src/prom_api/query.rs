//! `/api/v1/query` and `/api/v1/query_range` over the embedded store.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use pharos_query::MAX_POINTS_PER_SERIES;

use super::metrics_of;
use super::params::{PromParams, now_ms, parse_duration_ms};
use super::response::PromError;
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
    let result = metrics
        .instant(query, time, timeout)
        .await
        .map_err(|e| PromError::from_query(e, Some(query)))?;
    Ok(axum::Json(result.to_api_response()).into_response())
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`.
pub async fn range(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let metrics = metrics_of(&state)?;
    let query = params.required("query")?;
    let start = params.time("start")?;
    let end = params.time("end")?;
    if end < start {
        return Err(PromError::bad_data(
            "end timestamp must not be before start time",
        ));
    }
    let step_text = params.get("step").unwrap_or_default();
    let step = parse_duration_ms(step_text).map_err(|e| PromError::invalid_param("step", e))?;
    if step <= 0 {
        return Err(PromError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // The same guard as Prometheus, with its message: at most 11,000 points per series.
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return Err(PromError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let timeout = params.duration("timeout")?;
    let result = metrics
        .range(query, start, end, step, timeout)
        .await
        .map_err(|e| PromError::from_query(e, Some(query)))?;
    Ok(axum::Json(result.to_api_response()).into_response())
}
