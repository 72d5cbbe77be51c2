//! Dashboard share links (seed 000 FR-020): a random secret (`phs_…`, 256 bits, stored only as a
//! digest) that opens one dashboard read-only, with the variables and time range it was shared
//! with, until it expires (at most 7 days) or is revoked. The link's data comes only through
//! [`proxy_query`], which runs the dashboard's own queries (see [`template`]) through the
//! project's tenant enforcement, and nothing else.

mod networks;
pub(crate) mod template;

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, delete, get},
};
use chrono::{TimeDelta, Utc};
use pharos_auth::{
    opaque,
    rbac::{Action, Scope},
};
use pharos_model::Kind;
use pharos_store::{Credential, CredentialKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use template::SharedValues;
pub use template::TemplateCache;

use crate::{
    error::{ApiError, ApiResult},
    extract::{JsonBody, read_limited},
    identity::{AuditEvent, Caller, layer::ClientAddress},
    proxy::{self, DatasourceRef, Outgoing},
    resources::ListParams,
    state::AppState,
};

/// The prefix of share secrets.
const PREFIX: &str = "phs";
/// Longest lifetime of a link.
const MAX_LIFETIME: TimeDelta = TimeDelta::days(7);
/// New links per dashboard and hour.
const MAX_NEW_PER_HOUR: u64 = 10;
/// Token checks per client address and minute.
pub const CHECKS_PER_MINUTE: u32 = 100;

/// `POST …/share`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewShare {
    /// Seconds, 60 ..= 7 days; default 24 h.
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    ip_restrictions: Vec<String>,
    #[serde(default)]
    variables: Map<String, Value>,
    #[serde(default)]
    time_range: Option<Value>,
}

/// The routes of share links.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/projects/{project}/dashboards/{dashboard}/share",
            get(list).post(create),
        )
        .route(
            "/api/v1/projects/{project}/dashboards/{dashboard}/share/{id}",
            delete(revoke),
        )
        .route("/api/v1/shared/{token}", get(open))
        .route("/proxy/shared/{token}/api/v1/query", any(proxy_query))
        .route("/proxy/shared/{token}/api/v1/query_range", any(proxy_query))
}

fn values_of(variables: &Map<String, Value>) -> ApiResult<SharedValues> {
    variables
        .iter()
        .map(|(name, value)| {
            let values = match value {
                Value::String(one) => vec![one.clone()],
                Value::Array(many) => many
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "variables.{name}: expected a string or a list of strings"
                        ))
                    })?,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "variables.{name}: expected a string or a list of strings"
                    )));
                }
            };
            Ok((name.clone(), values))
        })
        .collect()
}

fn check_time_range(range: &Value) -> ApiResult<()> {
    let valid = match range {
        Value::Object(fields) => match (
            fields.get("pastDuration"),
            fields.get("start"),
            fields.get("end"),
        ) {
            (Some(Value::String(d)), None, None) => pharos_model::parse_duration(d).is_ok(),
            (None, Some(Value::String(s)), Some(Value::String(e))) => {
                chrono::DateTime::parse_from_rfc3339(s).is_ok()
                    && chrono::DateTime::parse_from_rfc3339(e).is_ok()
            }
            _ => false,
        },
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "time_range: expected {\"pastDuration\": \"6h\"} or {\"start\": RFC 3339, \"end\": RFC 3339}",
        ))
    }
}

fn share_url(headers: &HeaderMap, secret: &str) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    match host {
        Some(host) => format!("{scheme}://{host}/shared/{secret}"),
        None => format!("/shared/{secret}"),
    }
}

fn describe(credential: &Credential) -> Value {
    json!({
        "token_id": credential.id,
        "created_by": credential.owner,
        "created_at": credential.created_at,
        "expires_at": credential.expires_at,
        "revoked_at": credential.revoked_at,
        "last_used_at": credential.last_used_at,
        "variables": credential.scope.get("variables"),
        "time_range": credential.scope.get("time_range"),
        "ip_restrictions": credential.scope.get("ip_restrictions"),
    })
}

async fn require_share(
    state: &AppState,
    caller: &Caller,
    project: &str,
    dashboard: &str,
) -> ApiResult<()> {
    // The dashboard must exist and be readable (404 for projects the caller cannot see).
    state
        .resources
        .get(caller, Kind::Dashboard, Some(project), dashboard)
        .await?;
    caller.require(Action::Share, Some(project), Scope::Dashboard)
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, dashboard)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let (project, dashboard) = (
        state.resources.normalize(&project),
        state.resources.normalize(&dashboard),
    );
    require_share(&state, &caller, &project, &dashboard).await?;
    let request: NewShare = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"expires_in\"?: seconds, \"ip_restrictions\"?: [CIDR], \"variables\"?: {{...}}, \"time_range\"?: {{...}}}}: {e}"
        ))
    })?;
    let lifetime = TimeDelta::seconds(request.expires_in.unwrap_or(24 * 3600));
    if lifetime < TimeDelta::minutes(1) || lifetime > MAX_LIFETIME {
        return Err(ApiError::bad_request(format!(
            "expires_in must be between 60 and {} seconds (7 days)",
            MAX_LIFETIME.num_seconds()
        )));
    }
    networks::parse_cidrs(&request.ip_restrictions)?;
    values_of(&request.variables)?;
    if let Some(range) = &request.time_range {
        check_time_range(range)?;
    }
    let store = state.resources.store();
    let now = Utc::now();
    let recent = store
        .count_credentials_since(
            CredentialKind::Share,
            &project,
            &dashboard,
            now - TimeDelta::hours(1),
        )
        .await?;
    if recent >= MAX_NEW_PER_HOUR {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "{MAX_NEW_PER_HOUR} share links were made for this dashboard in the last hour, the most allowed; try again later"
            ),
            retry_after: 3600,
        });
    }
    let secret = opaque::issue(PREFIX);
    let credential = Credential {
        id: secret.id.clone(),
        kind: CredentialKind::Share,
        digest: secret.digest.clone(),
        owner: caller.name().to_owned(),
        project,
        target: dashboard,
        scope: json!({
            "variables": request.variables,
            "time_range": request.time_range,
            "ip_restrictions": request.ip_restrictions,
        }),
        created_at: now,
        expires_at: Some(now + lifetime),
        revoked_at: None,
        last_used_at: None,
    };
    store.create_credential(&credential).await?;
    Ok(Json(json!({
        "token_id": credential.id,
        "share_url": share_url(&headers, &secret.secret),
        "expires_at": credential.expires_at,
    }))
    .into_response())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, dashboard)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (project, dashboard) = (
        state.resources.normalize(&project),
        state.resources.normalize(&dashboard),
    );
    require_share(&state, &caller, &project, &dashboard).await?;
    let links = state
        .resources
        .store()
        .list_credentials(CredentialKind::Share, "", &project, &dashboard)
        .await?;
    Ok(Json(Value::Array(links.iter().map(describe).collect())))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, dashboard, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (project, dashboard) = (
        state.resources.normalize(&project),
        state.resources.normalize(&dashboard),
    );
    require_share(&state, &caller, &project, &dashboard).await?;
    let store = state.resources.store();
    let exists = store
        .list_credentials(CredentialKind::Share, "", &project, &dashboard)
        .await?
        .iter()
        .any(|c| c.id == id && c.revoked_at.is_none());
    if !exists {
        return Err(ApiError::Missing(format!(
            "this dashboard has no active share link \"{id}\""
        )));
    }
    store
        .revoke_credential(CredentialKind::Share, &id, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An opened link: its row, the dashboard and the values its queries may use.
struct OpenShare {
    credential: Credential,
    dashboard: Value,
    values: SharedValues,
}

/// Checks a presented secret: rate, existence, revocation (404), expiry (410), client
/// address (403); then loads the dashboard.
async fn check(state: &AppState, secret: &str, client: &str) -> ApiResult<OpenShare> {
    let seen = state
        .identity
        .limiter()
        .increment("share-checks", client, Duration::from_secs(60))
        .await;
    if seen.count > u64::from(CHECKS_PER_MINUTE) {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "more than {CHECKS_PER_MINUTE} share link checks in a minute from this address"
            ),
            retry_after: seen.resets_in,
        });
    }
    let not_found =
        || ApiError::Missing("share link not found: it does not exist or was revoked".to_owned());
    if !opaque::looks_like(PREFIX, secret) {
        return Err(not_found());
    }
    let credential = state
        .resources
        .store()
        .credential_by_digest(CredentialKind::Share, &opaque::digest(secret))
        .await?
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(not_found)?;
    let now = Utc::now();
    if credential.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Gone(
            "this share link has expired; ask for a new one".to_owned(),
        ));
    }
    let restrictions: Vec<String> = credential
        .scope
        .get("ip_restrictions")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if !networks::client_allowed(&networks::parse_cidrs(&restrictions)?, client) {
        return Err(ApiError::Forbidden(
            "this share link cannot be used from your network address".to_owned(),
        ));
    }
    let dashboard = state
        .resources
        .get(
            &Caller::system(),
            Kind::Dashboard,
            Some(&credential.project),
            &credential.target,
        )
        .await
        .map_err(|_| not_found())?
        .document;
    let shared = credential
        .scope
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut values = values_of(&shared)?;
    // Variables not shared keep the dashboard's defaults.
    for variable in dashboard
        .pointer("/spec/variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let spec = &variable["spec"];
        let Some(name) = spec.get("name").and_then(Value::as_str) else {
            continue;
        };
        let default = spec.get("defaultValue").or_else(|| spec.get("value"));
        if values.contains_key(name) {
            continue;
        }
        let default = match default {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => continue,
        };
        values.insert(name.to_owned(), default);
    }
    if credential
        .last_used_at
        .is_none_or(|last| now - last >= TimeDelta::minutes(1))
    {
        state
            .resources
            .store()
            .touch_credential(&credential.id, now)
            .await?;
    }
    Ok(OpenShare {
        credential,
        dashboard,
        values,
    })
}

async fn open(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    axum::Extension(ClientAddress(client)): axum::Extension<ClientAddress>,
    axum::Extension(request_id): axum::Extension<crate::identity::layer::RequestId>,
) -> ApiResult<Json<Value>> {
    let outcome = check(&state, &secret, &client).await;
    let (project, name, status) = match &outcome {
        Ok(open) => (
            open.credential.project.clone(),
            open.credential.target.clone(),
            StatusCode::OK,
        ),
        Err(error) => (String::new(), String::new(), error.status()),
    };
    AuditEvent {
        action: "use".to_owned(),
        resource: "share".to_owned(),
        project,
        name,
        status,
        detail: json!({"token_id": outcome.as_ref().map(|o| o.credential.id.clone()).ok()}),
    }
    .record(&state, "share-link", &client, &request_id.0)
    .await;
    let open = outcome?;
    Ok(Json(json!({
        "dashboard": open.dashboard,
        "variables": open.credential.scope.get("variables"),
        "time_range": open.credential.scope.get("time_range"),
        "expires_at": open.credential.expires_at,
    })))
}

/// Where a dashboard query's datasource lives: the dashboard's own, the project's, or a global
/// one used through the project (so its tenant enforcement applies).
pub(crate) async fn datasource_for(
    state: &AppState,
    project: &str,
    dashboard: &Value,
    name: Option<String>,
) -> ApiResult<DatasourceRef> {
    let local = dashboard
        .pointer("/spec/datasources")
        .and_then(Value::as_object);
    let dashboard_name = dashboard
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let system = Caller::system();
    match name {
        Some(name) => {
            if local.is_some_and(|l| l.contains_key(&name)) {
                return Ok(DatasourceRef::Dashboard {
                    project: project.to_owned(),
                    dashboard: dashboard_name,
                    name,
                });
            }
            if state
                .resources
                .load_raw(Kind::Datasource, Some(project), &name)
                .await?
                .is_some()
            {
                return Ok(DatasourceRef::Project {
                    project: project.to_owned(),
                    name,
                });
            }
            Ok(DatasourceRef::GlobalInProject {
                project: project.to_owned(),
                name,
            })
        }
        None => {
            if let Some((name, _)) = local
                .into_iter()
                .flatten()
                .find(|(_, spec)| spec.get("default").and_then(Value::as_bool) == Some(true))
            {
                return Ok(DatasourceRef::Dashboard {
                    project: project.to_owned(),
                    dashboard: dashboard_name,
                    name: name.clone(),
                });
            }
            let defaults = ListParams {
                default: Some(true),
                kind: Some("PrometheusDatasource".to_owned()),
                ..ListParams::default()
            };
            let first_name = |items: Vec<Value>| {
                items
                    .first()
                    .and_then(|d| d.pointer("/metadata/name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            if let Some(name) = first_name(
                state
                    .resources
                    .list(&system, Kind::Datasource, Some(project), &defaults)
                    .await?,
            ) {
                return Ok(DatasourceRef::Project {
                    project: project.to_owned(),
                    name,
                });
            }
            let name = first_name(
                state
                    .resources
                    .list(&system, Kind::GlobalDatasource, None, &defaults)
                    .await?,
            )
            .ok_or_else(|| {
                ApiError::Missing("the dashboard's queries have no default datasource".to_owned())
            })?;
            Ok(DatasourceRef::GlobalInProject {
                project: project.to_owned(),
                name,
            })
        }
    }
}

/// Query parameters a link may pass on (the query itself is checked).
const PASSED_PARAMS: [&str; 5] = ["time", "start", "end", "step", "timeout"];

async fn proxy_query(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    axum::Extension(ClientAddress(client)): axum::Extension<ClientAddress>,
    request: Request,
) -> ApiResult<Response> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::bad_request("use GET or POST"));
    }
    let sub_path = if request.uri().path().ends_with("/query_range") {
        "/api/v1/query_range"
    } else {
        "/api/v1/query"
    };
    let mut pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if method == Method::POST {
        let body = read_limited(request, state.settings.api.max_body_bytes).await?;
        pairs.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let open = check(&state, &secret, &client).await?;
    let queries: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "query")
        .map(|(_, v)| v.as_str())
        .collect();
    let [query] = queries.as_slice() else {
        return Err(ApiError::bad_request("send exactly one query parameter"));
    };
    let version = open
        .dashboard
        .pointer("/metadata/version")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let templates = state.share_templates.get_or_compile(
        &open.credential.id,
        version,
        &open.dashboard,
        &open.values,
    );
    let Some(datasource) = templates.datasource_of(query) else {
        metrics::counter!("pharos_refusals_total", "reason" => "share_query_not_on_dashboard")
            .increment(1);
        return Err(ApiError::Forbidden(
            "a share link only runs the shared dashboard's own queries with the shared variables"
                .to_owned(),
        ));
    };
    let reference = datasource_for(
        &state,
        &open.credential.project,
        &open.dashboard,
        datasource,
    )
    .await?;
    let forwarded = {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.append_pair("query", query);
        for (key, value) in pairs
            .iter()
            .filter(|(k, _)| PASSED_PARAMS.contains(&k.as_str()))
        {
            serializer.append_pair(key, value);
        }
        serializer.finish()
    };
    let outgoing = Outgoing {
        method: Method::GET,
        sub_path: sub_path.to_owned(),
        query: Some(forwarded),
        headers: HeaderMap::new(),
        body: bytes::Bytes::new(),
    };
    proxy::forward_to(&state, reference, outgoing).await
}

/// How long share-link rows are kept after they expire or are revoked.
pub const KEEP_ENDED_LINKS: Duration = Duration::from_secs(30 * 24 * 3600);
