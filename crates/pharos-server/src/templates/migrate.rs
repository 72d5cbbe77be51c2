//! `POST /api/migrate`: Perses' Grafana import, same request and answer, so `percli migrate
//! --online` works. The body is `{"grafanaDashboard": {…}, "input"?: {"DS_PROMETHEUS": "…"},
//! "useDefaultDatasource"?: bool}` and the answer the Perses `Dashboard` (nothing is stored;
//! `metadata.project` is empty). With `?report=true` the answer is `{"dashboard", "losses"}`:
//! every element that could not be carried over, with where and why. Anyone signed in may call it.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::Query,
    response::{IntoResponse, Response},
};
use pharos_migrate::{MigrateRequest, migrate as convert};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    grafana_dashboard: Option<Value>,
    #[serde(default)]
    input: BTreeMap<String, String>,
    #[serde(default)]
    use_default_datasource: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MigrateQuery {
    #[serde(default)]
    report: Option<bool>,
}

pub(super) async fn migrate(
    _caller: Caller,
    Query(query): Query<MigrateQuery>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body: Body = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"grafanaDashboard\": {{...}}, \"input\"?: {{\"NAME\": \"value\"}}, \"useDefaultDatasource\"?: bool}}: {e}"
        ))
    })?;
    let Some(grafana_dashboard) = body.grafana_dashboard else {
        return Err(ApiError::bad_request(
            "grafanaDashboard is required: the Grafana dashboard's JSON model",
        ));
    };
    let request = MigrateRequest {
        grafana_dashboard,
        input: body.input,
        use_default_datasource: body.use_default_datasource,
    };
    // Converting a large dashboard is CPU work: off the async workers.
    let migration = tokio::task::spawn_blocking(move || convert(&request))
        .await
        .map_err(|e| ApiError::Internal(format!("the migration task failed: {e}")))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if query.report == Some(true) {
        Ok(Json(migration).into_response())
    } else {
        Ok(Json(migration.dashboard).into_response())
    }
}
