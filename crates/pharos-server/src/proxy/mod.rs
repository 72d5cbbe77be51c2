//! The datasource proxy area (`/proxy/...`): Perses's global, project and dashboard-local
//! routes, the `unsaved` variants, and our project-scoped route for global datasources.

mod enforce;
mod forward;
mod query;
pub(crate) mod target;

pub use forward::Outgoing;
pub use target::{DatasourceRef, TargetCache};

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, Request, State},
    http::Method,
    response::Response,
    routing::{any, post},
};
use base64::Engine as _;
use pharos_model::Kind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    extract::{JsonBody, read_limited},
    state::AppState,
};

/// All proxy routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/proxy/globaldatasources/{name}", any(saved))
        .route("/proxy/globaldatasources/{name}/{*path}", any(saved))
        .route(
            "/proxy/projects/{project}/globaldatasources/{name}",
            any(saved),
        )
        .route(
            "/proxy/projects/{project}/globaldatasources/{name}/{*path}",
            any(saved),
        )
        .route("/proxy/projects/{project}/datasources/{name}", any(saved))
        .route(
            "/proxy/projects/{project}/datasources/{name}/{*path}",
            any(saved),
        )
        .route(
            "/proxy/projects/{project}/dashboards/{dashboard}/datasources/{name}",
            any(saved),
        )
        .route(
            "/proxy/projects/{project}/dashboards/{dashboard}/datasources/{name}/{*path}",
            any(saved),
        )
        .route("/proxy/unsaved/globaldatasources", post(unsaved))
        .route("/proxy/unsaved/globaldatasources/{*path}", post(unsaved))
        .route(
            "/proxy/unsaved/projects/{project}/datasources",
            post(unsaved),
        )
        .route(
            "/proxy/unsaved/projects/{project}/datasources/{*path}",
            post(unsaved),
        )
        .route(
            "/proxy/unsaved/projects/{project}/dashboards/{dashboard}/datasources",
            post(unsaved),
        )
        .route(
            "/proxy/unsaved/projects/{project}/dashboards/{dashboard}/datasources/{*path}",
            post(unsaved),
        )
}

/// Proxies through a stored datasource.
async fn saved(
    State(state): State<AppState>,
    caller: crate::identity::Caller,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> ApiResult<Response> {
    let get = |key: &str| params.get(key).cloned();
    let name = get("name").unwrap_or_default();
    let is_global = request.uri().path().contains("/globaldatasources/");
    let reference = match (get("project"), get("dashboard"), is_global) {
        (None, _, _) => DatasourceRef::Global { name },
        (Some(project), _, true) => DatasourceRef::GlobalInProject { project, name },
        (Some(project), Some(dashboard), false) => DatasourceRef::Dashboard {
            project,
            dashboard,
            name,
        },
        (Some(project), None, false) => DatasourceRef::Project { project, name },
    };
    reference.authorize(&caller)?;
    let sub_path = sub_path(get("path"));
    let method = request.method().clone();
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let body = read_limited(request, state.settings.api.max_body_bytes).await?;
    let target = target::resolve_cached(&state, reference).await?;
    record(&target, "saved");
    forward::forward(
        &state,
        &target,
        Outgoing {
            method,
            sub_path,
            query,
            headers,
            body,
        },
    )
    .await
}

/// Body of the `unsaved` routes (Perses's "test connection").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsavedRequest {
    method: String,
    #[serde(default)]
    body: Option<String>,
    spec: Value,
}

/// Proxies through a datasource spec sent in the body.
async fn unsaved(
    State(state): State<AppState>,
    caller: crate::identity::Caller,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> ApiResult<Response> {
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let JsonBody(raw) =
        <JsonBody as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    let body: UnsavedRequest = serde_json::from_value(raw).map_err(|e| {
        ApiError::bad_request(format!("expected {{\"method\", \"body\"?, \"spec\"}}: {e}"))
    })?;
    let method = Method::from_bytes(body.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ApiError::bad_request(format!("unknown HTTP method {:?}", body.method)))?;
    let payload = match body.body.as_deref() {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| ApiError::bad_request(format!("body must be base64: {e}")))?,
        None => Vec::new(),
    };
    let project = params.get("project").cloned();
    // Validate the spec as the datasource it would become, so a broken spec is a 400.
    let (kind, metadata) = match &project {
        Some(project) => (
            Kind::Datasource,
            json!({"name": "unsaved-datasource", "project": project}),
        ),
        None => (
            Kind::GlobalDatasource,
            json!({"name": "unsaved-datasource"}),
        ),
    };
    let envelope = json!({"kind": kind.as_str(), "metadata": metadata, "spec": body.spec});
    let decoded = pharos_model::decode_resource(kind, &envelope)?;
    let reference = DatasourceRef::Unsaved {
        project,
        spec: decoded.spec,
    };
    reference.authorize(&caller)?;
    let target = target::resolve(&state, reference).await?;
    record(&target, "unsaved");
    let outgoing = Outgoing {
        method,
        sub_path: sub_path(params.get("path").cloned()),
        query,
        headers,
        body: payload.into(),
    };
    forward::forward(&state, &target, outgoing).await
}

/// Forwards `outgoing` through the datasource `reference` names, with the same resolution,
/// tenant enforcement and limits as the proxy routes (share links use it; the caller has
/// already decided that the request is allowed).
pub(crate) async fn forward_to(
    state: &AppState,
    reference: DatasourceRef,
    outgoing: Outgoing,
) -> ApiResult<Response> {
    let target = target::resolve_cached(state, reference).await?;
    record(&target, "shared");
    forward::forward(state, &target, outgoing).await
}

/// Runs a range query through the datasource `reference` names with the same resolution,
/// allow-list, tenant enforcement and query layer as the proxy routes, for consumers inside
/// the server (live streams). The caller has already decided that the request is allowed.
pub(crate) async fn range_through(
    state: &AppState,
    reference: DatasourceRef,
    query: pharos_query::RangeQuery,
) -> Result<pharos_query::QueryAnswer, QueryFailure> {
    let target = target::resolve_cached(state, reference)
        .await
        .map_err(|e| QueryFailure::from_api(&e))?;
    let seconds = |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", &query.query)
        .append_pair("start", &seconds(query.start_ms))
        .append_pair("end", &seconds(query.end_ms))
        .append_pair("step", &seconds(query.step_ms))
        .finish();
    let mut outgoing = Outgoing {
        method: Method::GET,
        sub_path: "/api/v1/query_range".to_owned(),
        query: Some(encoded),
        headers: axum::http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    };
    forward::prepare(state, &target, &mut outgoing).map_err(|e| QueryFailure::from_api(&e))?;
    let question = match query::question(&target, &outgoing) {
        Some(Ok(question)) => question,
        _ => {
            return Err(QueryFailure {
                error_type: "bad_data".to_owned(),
                message: format!("{} cannot run PromQL range queries", target.label),
            });
        }
    };
    record(&target, "live");
    query::ask(state, &target, question, false)
        .await
        .map_err(|e| QueryFailure {
            error_type: e.error_type().to_owned(),
            message: e.to_string(),
        })
}

/// The alerting rules (`/api/v1/rules?type=alert`, the `groups` array) of the Prometheus the
/// datasource `reference` names; for the embedded store, those of its rule manager. Read by
/// the server itself, past the tenant allow-list: callers only pass on what matches a query
/// the requester may run.
pub(crate) async fn alerting_rules_of(
    state: &AppState,
    reference: DatasourceRef,
) -> Result<serde_json::Value, QueryFailure> {
    let target = target::resolve_cached(state, reference)
        .await
        .map_err(|e| QueryFailure::from_api(&e))?;
    if target.plugin_kind != "PrometheusDatasource" {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    if query::embedded_of(state, &target).is_some() {
        let groups = state.rules.as_ref().map(|rules| {
            rules
                .rules_data(pharos_rules::RuleTypeFilter::Alerting, None)
                .groups
        });
        return Ok(serde_json::to_value(groups.unwrap_or_default()).unwrap_or_default());
    }
    let (remote, _) = query::remote_of(state, &target);
    remote
        .get_data("/api/v1/rules", &[("type", "alert")])
        .await
        .map(|data| data["groups"].clone())
        .map_err(|e| QueryFailure {
            error_type: e.error_type().to_owned(),
            message: e.to_string(),
        })
}

/// Why [`range_through`] gave no answer, in the Prometheus error vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryFailure {
    /// `bad_data`, `execution`, `timeout`, `unavailable`, `forbidden`, ...
    pub error_type: String,
    /// What went wrong.
    pub message: String,
}

impl QueryFailure {
    fn from_api(error: &ApiError) -> Self {
        let error_type = match error.status().as_u16() {
            403 => "forbidden",
            404 => "not_found",
            400 => "bad_data",
            502..=504 => "unavailable",
            _ => "internal",
        };
        Self {
            error_type: error_type.to_owned(),
            message: error.to_string(),
        }
    }
}

pub(crate) use query::cache_word;

fn sub_path(path: Option<String>) -> String {
    match path {
        Some(p) if p.starts_with('/') => p,
        Some(p) => format!("/{p}"),
        None => String::new(),
    }
}

fn record(target: &target::ProxyTarget, route: &'static str) {
    let enforced = if target.policy.is_some() {
        "true"
    } else {
        "false"
    };
    metrics::counter!("pharos_proxy_requests_total", "route" => route, "enforced" => enforced)
        .increment(1);
}
