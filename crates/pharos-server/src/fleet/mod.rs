//! The fleet API: the cluster registry (`/api/v1/clusters…`), the fleet summary and the event
//! stream (`/api/v1/events`, Server-Sent Events, and `/ws`, WebSocket), federated PromQL (`/api/v1/metrics/…`) and the
//! fleet as a Prometheus API (`/api/v1/fleet/prometheus/api/v1/…`). Handlers are thin: `pharos_fleet::FleetService`
//! does the work and asks the caller's RBAC (scope `Cluster`, global) through [`CallerAccess`].

mod alerts;
mod events;
mod federate;
mod gpu;
mod relay;
mod tenant;
mod ws;

use axum::{
    Json, Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pharos_auth::rbac::{Action, Scope};
use pharos_fleet::{Access, ClusterInput, FleetAction, FleetError, ListFilter};

pub(crate) use relay::bus_with_redis;
pub(crate) use tenant::Asker;

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

/// The fleet routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clusters", get(list).post(register))
        .route(
            "/api/v1/clusters/{id}",
            get(one).put(replace).delete(remove),
        )
        .route("/api/v1/clusters/{id}/status", get(status))
        .route("/api/v1/clusters/{id}/credentials", post(credentials))
        .route("/api/v1/clusters/{id}/refresh", post(refresh))
        .route("/api/v1/fleet/summary", get(summary))
        .route("/api/v1/events", get(events::stream))
        .route("/ws", get(ws::socket))
        .route("/api/v1/gpu/nodes", get(gpu::nodes))
        .route("/api/v1/gpu/summary", get(gpu::summary))
        .route("/api/v1/alerts/webhook", post(alerts::webhook))
        .route("/api/v1/fleet/alerts", get(alerts::list))
        .route(
            "/api/v1/metrics/query",
            get(federate::query).post(federate::query),
        )
        .route(
            "/api/v1/metrics/query_range",
            get(federate::query_range).post(federate::query_range),
        )
        .route(
            "/api/v1/metrics/labels",
            get(federate::labels).post(federate::labels),
        )
        .route(
            "/api/v1/metrics/label/{name}/values",
            get(federate::labels).post(federate::labels),
        )
        .route(
            "/api/v1/fleet/prometheus/api/v1/query",
            get(federate::prometheus_query).post(federate::prometheus_query),
        )
        .route(
            "/api/v1/fleet/prometheus/api/v1/query_range",
            get(federate::prometheus_query_range).post(federate::prometheus_query_range),
        )
        .route(
            "/api/v1/fleet/prometheus/api/v1/labels",
            get(federate::prometheus_labels).post(federate::prometheus_labels),
        )
        .route(
            "/api/v1/fleet/prometheus/api/v1/label/{name}/values",
            get(federate::prometheus_labels).post(federate::prometheus_labels),
        )
        .route(
            "/api/v1/projects/{project}/fleet/prometheus/api/v1/query",
            get(federate::prometheus_query).post(federate::prometheus_query),
        )
        .route(
            "/api/v1/projects/{project}/fleet/prometheus/api/v1/query_range",
            get(federate::prometheus_query_range).post(federate::prometheus_query_range),
        )
        .route(
            "/api/v1/projects/{project}/fleet/prometheus/api/v1/labels",
            get(federate::prometheus_labels).post(federate::prometheus_labels),
        )
        .route(
            "/api/v1/projects/{project}/fleet/prometheus/api/v1/label/{name}/values",
            get(federate::prometheus_labels).post(federate::prometheus_labels),
        )
}

/// The caller's permissions on the registry: `read`/`create`/`update`/`delete` on the global
/// `Cluster` scope.
pub(crate) struct CallerAccess<'a>(pub(crate) &'a Caller);

impl Access for CallerAccess<'_> {
    fn check(&self, action: FleetAction) -> Result<(), String> {
        let action = match action {
            FleetAction::Read => Action::Read,
            FleetAction::Create => Action::Create,
            FleetAction::Update => Action::Update,
            FleetAction::Delete => Action::Delete,
        };
        match self.0.require(action, None, Scope::Cluster) {
            Ok(()) => Ok(()),
            Err(ApiError::Forbidden(message)) => Err(message),
            Err(other) => Err(other.to_string()),
        }
    }
}

impl From<FleetError> for ApiError {
    fn from(error: FleetError) -> Self {
        match error {
            FleetError::Invalid(message) => Self::BadRequest(message),
            FleetError::NotFound(_) => Self::Missing(error.to_string()),
            FleetError::AlreadyExists(_) => Self::Conflict(error.to_string()),
            FleetError::Forbidden(message) => Self::Forbidden(message),
            FleetError::Store(store) => Self::from(store),
            FleetError::Corrupt { .. } => Self::Internal(error.to_string()),
        }
    }
}

const CLUSTER_SHAPE: &str = "send {\"name\": \"...\", \"type\": \"hub\"|\"spoke\"|\"edge\"|\"far_edge\", \
     \"prometheus_url\": \"http://...\", \"alertmanager_url\"?: \"http://...\", \"labels\"?: {\"key\": \"value\"}, \
     \"region\"?: \"...\"}";

fn cluster_input(body: serde_json::Value) -> ApiResult<ClusterInput> {
    serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!("the body is not a cluster ({e}); {CLUSTER_SHAPE}"))
    })
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let input = cluster_input(body)?;
    let view = state.fleet.register(&CallerAccess(&caller), input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let filter = ListFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let page = state.fleet.list(&CallerAccess(&caller), &filter).await?;
    Ok(Json(page).into_response())
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let view = state.fleet.get(&CallerAccess(&caller), &id).await?;
    Ok(Json(view).into_response())
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let input = cluster_input(body)?;
    let view = state
        .fleet
        .update(&CallerAccess(&caller), &id, input)
        .await?;
    Ok(Json(view).into_response())
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.fleet.delete(&CallerAccess(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let report = state.fleet.status(&CallerAccess(&caller), &id).await?;
    Ok(Json(report).into_response())
}

async fn credentials(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    state
        .fleet
        .set_credentials(&CallerAccess(&caller), &id, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let view = state.fleet.refresh(&CallerAccess(&caller), &id).await?;
    Ok(Json(view).into_response())
}

async fn summary(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let summary = state.fleet.summary(&CallerAccess(&caller)).await?;
    Ok(Json(summary).into_response())
}
