//! Federated PromQL over the fleet: `/api/v1/metrics/query`, `/api/v1/metrics/query_range`
//! (POST JSON, POST form or GET parameters) and `/api/v1/metrics/labels`, answered with the
//! merged result and a `clusters` section; and the same fan-out as a plain Prometheus API under
//! `/api/v1/fleet/prometheus` (per-cluster status in `warnings`/`infos`) for a `fleet` global
//! datasource. Read on the global `Cluster` scope is needed, as for the registry — or, asking as
//! a project member (`project` in the request, or the routes under
//! `/api/v1/projects/{project}/fleet/prometheus`), read on that project's datasources, with its
//! tenant restriction written into the query ([`Asker`]).

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, RawPathParams, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_auth::rbac::{Action, Scope};
use pharos_fleet::{FederatedAnswer, FederatedInput, FleetError};
use serde_json::{Map, Value, json};

use super::tenant::Asker;
use crate::{error::ApiError, identity::Caller, state::AppState};

/// How the answer is shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// With the `clusters` section (`/api/v1/metrics/...`).
    Federated,
    /// The plain Prometheus envelope (`/api/v1/fleet/prometheus/...`).
    Prometheus,
}

fn bad_data(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "error", "errorType": "bad_data", "error": message})),
    )
        .into_response()
}

fn refusal(error: FleetError) -> Response {
    match error {
        FleetError::Invalid(message) => bad_data(&message),
        other => ApiError::from(other).into_response(),
    }
}

/// `cluster_selector` as form text: `env=prod,region=eu`.
fn selector_of(text: &str) -> Result<Value, String> {
    let mut selector = Map::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            format!("cluster_selector \"{pair}\" is not label=value: send env=prod,region=eu")
        })?;
        selector.insert(
            key.trim().to_owned(),
            Value::String(value.trim().to_owned()),
        );
    }
    Ok(Value::Object(selector))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"))
}

/// The request as [`FederatedInput`]: a JSON body, or form parameters (body and URL query;
/// parameters other than the known ones are ignored, as Prometheus clients send extras).
fn input_of(headers: &HeaderMap, raw: Option<&str>, body: &[u8]) -> Result<FederatedInput, String> {
    if is_json(headers) {
        return serde_json::from_slice(body).map_err(|e| {
            format!(
                "the body is not a federated query ({e}); send {{\"query\": \"...\", \"time\"?: ..., \
                 \"start\"?, \"end\"?, \"step\"?, \"clusters\"?: [\"name\"], \"cluster_selector\"?: {{\"label\": \"value\"}}, \"timeout\"?: \"5s\"}}"
            )
        });
    }
    let mut fields = Map::new();
    let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .chain(url::form_urlencoded::parse(body));
    for (key, value) in pairs {
        let value = match key.as_ref() {
            "query" | "time" | "start" | "end" | "step" | "timeout" | "clusters" | "project" => {
                Value::String(value.into_owned())
            }
            "cluster_selector" => selector_of(&value)?,
            _ => continue,
        };
        fields.insert(key.into_owned(), value);
    }
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

fn answer(answer: FederatedAnswer, shape: Shape) -> Response {
    let failed = answer.all_failed();
    let data = if answer.result_type == "labels" {
        Value::Array(answer.result)
    } else {
        json!({"resultType": answer.result_type, "result": answer.result})
    };
    let mut body = Map::new();
    if failed {
        let why: Vec<&str> = answer.warnings.iter().map(String::as_str).collect();
        body.insert("status".into(), "error".into());
        body.insert("errorType".into(), "unavailable".into());
        body.insert(
            "error".into(),
            format!("no cluster answered: {}", why.join("; ")).into(),
        );
    } else {
        body.insert("status".into(), "success".into());
    }
    if shape == Shape::Federated || !failed {
        body.insert("data".into(), data);
    }
    if shape == Shape::Federated {
        body.insert("clusters".into(), json!(answer.clusters));
    }
    if !answer.warnings.is_empty() {
        body.insert("warnings".into(), json!(answer.warnings));
    }
    if !answer.infos.is_empty() {
        body.insert("infos".into(), json!(answer.infos));
    }
    let status = if failed {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    (status, Json(Value::Object(body))).into_response()
}

/// What a federated route receives, whichever of them it is: the caller, the `{project}` and
/// `{name}` (label) path parameters when the route has them, and the form or JSON it sent.
pub(super) struct FleetRequest {
    caller: Caller,
    project: Option<String>,
    label: Option<String>,
    headers: HeaderMap,
    raw: Option<String>,
    body: Bytes,
}

impl FromRequest<AppState> for FleetRequest {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        };
        let (project, label) = (param("project"), param("name"));
        let (headers, raw) = (parts.headers.clone(), parts.uri.query().map(str::to_owned));
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            caller,
            project,
            label,
            headers,
            raw,
            body,
        })
    }
}

/// The input and who asks: a project in the path wins over one in the input. A caller who is
/// neither a fleet operator nor asking as a project is refused before what they sent is read.
async fn input_and_asker<'r>(
    state: &AppState,
    request: &'r FleetRequest,
) -> Result<(FederatedInput, Asker<'r>), Response> {
    let input = input_of(&request.headers, request.raw.as_deref(), &request.body);
    let project = request
        .project
        .clone()
        .or_else(|| input.as_ref().ok().and_then(|i| i.project.clone()));
    if project.is_none() {
        request
            .caller
            .require(Action::Read, None, Scope::Cluster)
            .map_err(IntoResponse::into_response)?;
    }
    let input = input.map_err(|message| bad_data(&message))?;
    let asker = Asker::of(state, &request.caller, project.as_deref())
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((input, asker))
}

async fn run(state: &AppState, request: FleetRequest, range: bool, shape: Shape) -> Response {
    let (input, asker) = match input_and_asker(state, &request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut query = match input.validate(range, pharos_query::now_ms()) {
        Ok(query) => query,
        Err(e) => return refusal(e),
    };
    query.query = match asker.query(state, &query.query) {
        Ok(enforced) => enforced,
        Err(refused) => return refused.into_response(),
    };
    match state.fleet.federated_query(&asker, &query).await {
        Ok(federated) => answer(federated, shape),
        Err(e) => refusal(e),
    }
}

/// What goes to every cluster with a list request: `start`, `end` and `match[]`.
fn list_params(
    input: &FederatedInput,
    raw: Option<&str>,
    body: &[u8],
    json: bool,
) -> Vec<(String, String)> {
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut params: Vec<(String, String)> = [("start", &input.start), ("end", &input.end)]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key.to_owned(), text(v))))
        .collect();
    let form = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .chain(url::form_urlencoded::parse(if json { &[] } else { body }));
    params.extend(
        form.filter(|(k, _)| k == "match[]")
            .map(|(k, v)| (k.into_owned(), v.into_owned())),
    );
    params
}

async fn run_labels(state: &AppState, request: FleetRequest, shape: Shape) -> Response {
    let (input, asker) = match input_and_asker(state, &request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (targets, timeout) = match (input.targets(), input.client_timeout()) {
        (Ok(targets), Ok(timeout)) => (targets, timeout),
        (Err(e), _) | (_, Err(e)) => return refusal(e),
    };
    let json = is_json(&request.headers);
    let params = list_params(&input, request.raw.as_deref(), &request.body, json);
    let params = match asker.list_params(state, params) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    match state
        .fleet
        .federated_labels(&asker, &targets, timeout, request.label.as_deref(), &params)
        .await
    {
        Ok(federated) => answer(federated, shape),
        Err(e) => refusal(e),
    }
}

// The routes. `labels` also answers `label/{name}/values`, and the Prometheus-shaped ones also
// answer under `/api/v1/projects/{project}/fleet/prometheus` (a project datasource's `directUrl`):
// the extractor picks the path parameters up.

pub(super) async fn query(State(state): State<AppState>, request: FleetRequest) -> Response {
    run(&state, request, false, Shape::Federated).await
}

pub(super) async fn query_range(State(state): State<AppState>, request: FleetRequest) -> Response {
    run(&state, request, true, Shape::Federated).await
}

pub(super) async fn labels(State(state): State<AppState>, request: FleetRequest) -> Response {
    run_labels(&state, request, Shape::Federated).await
}

pub(super) async fn prometheus_query(
    State(state): State<AppState>,
    request: FleetRequest,
) -> Response {
    run(&state, request, false, Shape::Prometheus).await
}

pub(super) async fn prometheus_query_range(
    State(state): State<AppState>,
    request: FleetRequest,
) -> Response {
    run(&state, request, true, Shape::Prometheus).await
}

pub(super) async fn prometheus_labels(
    State(state): State<AppState>,
    request: FleetRequest,
) -> Response {
    run_labels(&state, request, Shape::Prometheus).await
}
