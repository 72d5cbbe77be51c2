//! GPU views: `GET /api/v1/gpu/nodes` and `GET /api/v1/gpu/summary`, from dcgm-exporter gauges
//! through the federated fan-out (only clusters with DCGM are asked). Parameters `clusters`
//! (names separated by commas) or `cluster_selector` (`env=prod,region=eu`). Read on the global
//! `Cluster` scope, as for the federated query. Answers carry the per-cluster `clusters`
//! section; 502 when no asked cluster answered.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use pharos_auth::rbac::{Action, Scope};
use pharos_fleet::{FederatedInput, GpuFleet};
use serde_json::Value;

use super::CallerAccess;
use crate::{
    error::{ApiError, ApiResult},
    identity::Caller,
    state::AppState,
};

fn input_of(raw: Option<&str>) -> ApiResult<FederatedInput> {
    let mut input = FederatedInput::default();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "clusters" => input.clusters = Some(Value::String(value.into_owned())),
            "cluster_selector" => {
                let mut selector = BTreeMap::new();
                for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "cluster_selector \"{pair}\" is not label=value: send env=prod,region=eu"
                        ))
                    })?;
                    selector.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                input.cluster_selector = Some(selector);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter \"{other}\": the GPU views take clusters=a,b or cluster_selector=env=prod"
                )));
            }
        }
    }
    Ok(input)
}

async fn fleet(state: &AppState, caller: &Caller, raw: Option<&str>) -> ApiResult<GpuFleet> {
    caller.require(Action::Read, None, Scope::Cluster)?;
    let targets = input_of(raw)?.targets()?;
    Ok(state
        .fleet
        .gpu_fleet(&CallerAccess(caller), &targets, pharos_query::now_ms())
        .await?)
}

fn answer(fleet: &GpuFleet, body: Value) -> Response {
    let status = if fleet.all_failed() {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

pub(super) async fn nodes(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let fleet = fleet(&state, &caller, raw.as_deref()).await?;
    Ok(answer(&fleet, fleet.nodes_json()))
}

pub(super) async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let fleet = fleet(&state, &caller, raw.as_deref()).await?;
    Ok(answer(&fleet, fleet.summary_json()))
}
