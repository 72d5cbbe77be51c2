//! Deterministic analysis over HTTP: `POST /api/v1/analysis/anomaly` and
//! `POST /api/v1/analysis/rca`, and the background detector that emits `ANOMALY_DETECTED`.

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

/// Anomalies of one query over a window, as `caller` may read it.
pub(crate) async fn detect(_state: &AppState, _caller: &Caller, _body: Value) -> ApiResult<Value> {
    Err(ApiError::Unavailable(
        "anomaly detection is being wired".to_owned(),
    ))
}

/// Root causes over a window, as `caller` may read it.
pub(crate) async fn explain(_state: &AppState, _caller: &Caller, _body: Value) -> ApiResult<Value> {
    Err(ApiError::Unavailable(
        "root-cause analysis is being wired".to_owned(),
    ))
}

pub(super) async fn anomaly(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    Ok(Json(detect(&state, &caller, body).await?).into_response())
}

pub(super) async fn rca(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    Ok(Json(explain(&state, &caller, body).await?).into_response())
}

/// Starts the background detector (when enabled and there is an embedded store).
pub fn spawn_detector(_state: AppState) {}
