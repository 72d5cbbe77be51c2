//! HTTP routes of the Perses resource API (`/api/v1/...`) and our history/trash extension.
//! Handlers only translate between HTTP and [`ResourceService`].

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pharos_model::Kind;

use super::{document::etag_for, service::ListParams, service::Versioned};
use crate::{
    error::{ApiError, ApiResult},
    extract::{IfMatch, JsonBody, Params},
    identity::{Caller, CreatedResource},
    state::AppState,
};

/// The kinds served by the generic CRUD routes.
pub const API_KINDS: [Kind; 17] = [
    Kind::Project,
    Kind::Dashboard,
    Kind::EphemeralDashboard,
    Kind::Datasource,
    Kind::GlobalDatasource,
    Kind::Variable,
    Kind::GlobalVariable,
    Kind::Secret,
    Kind::GlobalSecret,
    Kind::Folder,
    Kind::Role,
    Kind::RoleBinding,
    Kind::GlobalRole,
    Kind::GlobalRoleBinding,
    Kind::User,
    Kind::Template,
    Kind::GlobalTemplate,
];

/// Routes for every kind in [`API_KINDS`] plus dashboard versions and trash.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for kind in API_KINDS {
        if kind == Kind::EphemeralDashboard && !state.settings.ephemeral_dashboard.enable {
            continue;
        }
        router = if kind.is_project_scoped() {
            project_scoped_routes(router, kind)
        } else {
            global_routes(router, kind)
        };
    }
    for kind in [Kind::Dashboard, Kind::Template] {
        router = version_routes(router, kind);
    }
    router
        .route(
            "/api/v1/projects/{project}/trash/dashboards",
            get(list_trash),
        )
        .route(
            "/api/v1/projects/{project}/trash/dashboards/{name}",
            axum::routing::delete(purge_trash),
        )
        .route(
            "/api/v1/projects/{project}/trash/dashboards/{name}/restore",
            post(restore_trash),
        )
}

/// The version history routes of a versioned project kind (dashboards, templates).
fn version_routes(router: Router<AppState>, kind: Kind) -> Router<AppState> {
    let base = format!(
        "/api/v1/projects/{{project}}/{}/{{name}}/versions",
        kind.plural()
    );
    router
        .route(
            &base,
            get(
                move |s: State<AppState>, caller: Caller, path: Path<(String, String)>| {
                    list_versions(s, caller, path, kind)
                },
            ),
        )
        .route(
            &format!("{base}/{{version}}"),
            get(
                move |s: State<AppState>, caller: Caller, path: Path<(String, String, String)>| {
                    get_version(s, caller, path, kind)
                },
            ),
        )
        .route(
            &format!("{base}/{{version}}/restore"),
            post(
                move |s: State<AppState>,
                      caller: Caller,
                      path: Path<(String, String, String)>,
                      if_match: IfMatch| {
                    restore_version(s, caller, path, if_match, kind)
                },
            ),
        )
}

fn project_scoped_routes(router: Router<AppState>, kind: Kind) -> Router<AppState> {
    let plural = kind.plural();
    // `/api/v1/templates` is the template catalogue (system, global and project templates
    // together, `templates::routes`), not the flat list of one kind.
    let router = if kind == Kind::Template {
        router
    } else {
        router.route(
            &format!("/api/v1/{plural}"),
            get(move |State(s): State<AppState>, caller: Caller, Params(p): Params<ListParams>| async move {
                list(&s, &caller, kind, None, &p).await
            })
            .post(move |State(s): State<AppState>, caller: Caller, JsonBody(body)| async move {
                created(s.resources.create(&caller, kind, None, body).await)
            }),
        )
    };
    router
        .route(
            &format!("/api/v1/projects/{{project}}/{plural}"),
            get(
                move |State(s): State<AppState>,
                      caller: Caller,
                      Path(project): Path<String>,
                      Params(p): Params<ListParams>| async move {
                    list(&s, &caller, kind, Some(&project), &p).await
                },
            )
            .post(
                move |State(s): State<AppState>,
                      caller: Caller,
                      Path(project): Path<String>,
                      JsonBody(body)| async move {
                    created(
                        s.resources
                            .create(&caller, kind, Some(&project), body)
                            .await,
                    )
                },
            ),
        )
        .route(
            &format!("/api/v1/projects/{{project}}/{plural}/{{name}}"),
            get(
                move |State(s): State<AppState>,
                      caller: Caller,
                      Path((project, name)): Path<(String, String)>| async move {
                    with_etag(s.resources.get(&caller, kind, Some(&project), &name).await)
                },
            )
            .put(
                move |State(s): State<AppState>,
                      caller: Caller,
                      Path((project, name)): Path<(String, String)>,
                      if_match: IfMatch,
                      JsonBody(body)| async move {
                    with_etag(
                        s.resources
                            .update(&caller, kind, Some(&project), &name, body, if_match)
                            .await,
                    )
                },
            )
            .delete(
                move |State(s): State<AppState>,
                      caller: Caller,
                      Path((project, name)): Path<(String, String)>,
                      if_match: IfMatch| async move {
                    deleted(
                        s.resources
                            .delete(&caller, kind, Some(&project), &name, if_match)
                            .await,
                    )
                },
            ),
        )
}

fn global_routes(router: Router<AppState>, kind: Kind) -> Router<AppState> {
    let plural = kind.plural();
    // The project's own name sits where project routes have `{project}`; the router
    // needs one parameter name per position.
    let param = if kind == Kind::Project {
        "project"
    } else {
        "name"
    };
    router
        .route(
            &format!("/api/v1/{plural}"),
            get(move |State(s): State<AppState>, caller: Caller, Params(p): Params<ListParams>| async move {
                list(&s, &caller, kind, None, &p).await
            })
            .post(move |State(s): State<AppState>, caller: Caller, JsonBody(body)| async move {
                created(s.resources.create(&caller, kind, None, body).await)
            }),
        )
        .route(
            &format!("/api/v1/{plural}/{{{param}}}"),
            get(move |State(s): State<AppState>, caller: Caller, Path(name): Path<String>| async move {
                with_etag(s.resources.get(&caller, kind, None, &name).await)
            })
            .put(
                move |State(s): State<AppState>, caller: Caller, Path(name): Path<String>, if_match: IfMatch, JsonBody(body)| async move {
                    with_etag(s.resources.update(&caller, kind, None, &name, body, if_match).await)
                },
            )
            .delete(
                move |State(s): State<AppState>, caller: Caller, Path(name): Path<String>, if_match: IfMatch| async move {
                    deleted(s.resources.delete(&caller, kind, None, &name, if_match).await)
                },
            ),
        )
}

async fn list(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    project: Option<&str>,
    params: &ListParams,
) -> ApiResult<Response> {
    let items = state.resources.list(caller, kind, project, params).await?;
    Ok(Json(items).into_response())
}

fn created(result: ApiResult<serde_json::Value>) -> ApiResult<Response> {
    let document = result?;
    let field = |name: &str| {
        document
            .pointer(&format!("/metadata/{name}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let made = CreatedResource {
        project: field("project"),
        name: field("name"),
    };
    let version = document
        .pointer("/metadata/version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let mut response = with_etag_header(Json(document).into_response(), version);
    response.extensions_mut().insert(made);
    Ok(response)
}

fn with_etag(result: ApiResult<Versioned>) -> ApiResult<Response> {
    let Versioned { document, version } = result?;
    Ok(with_etag_header(Json(document).into_response(), version))
}

fn with_etag_header(mut response: Response, version: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&etag_for(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn deleted(result: ApiResult<()>) -> ApiResult<StatusCode> {
    result.map(|()| StatusCode::NO_CONTENT)
}

fn parse_version(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!("version {text:?} is not a non-negative integer"))
    })
}

async fn list_versions(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, name)): Path<(String, String)>,
    kind: Kind,
) -> ApiResult<Response> {
    let versions = s
        .resources
        .list_versions(&caller, kind, &project, &name)
        .await?;
    Ok(Json(versions).into_response())
}

async fn get_version(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, name, version)): Path<(String, String, String)>,
    kind: Kind,
) -> ApiResult<Response> {
    let version = parse_version(&version)?;
    with_etag(
        s.resources
            .get_version(&caller, kind, &project, &name, version)
            .await,
    )
}

async fn restore_version(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, name, version)): Path<(String, String, String)>,
    if_match: IfMatch,
    kind: Kind,
) -> ApiResult<Response> {
    let version = parse_version(&version)?;
    with_etag(
        s.resources
            .restore_version(&caller, kind, &project, &name, version, if_match)
            .await,
    )
}

async fn list_trash(
    State(s): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> ApiResult<Response> {
    let items = s
        .resources
        .list_trash(
            &caller,
            Kind::Dashboard,
            &project,
            s.settings.trash.retention,
        )
        .await?;
    Ok(Json(items).into_response())
}

async fn restore_trash(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    with_etag(
        s.resources
            .restore_from_trash(&caller, Kind::Dashboard, &project, &name)
            .await,
    )
}

async fn purge_trash(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    deleted(
        s.resources
            .purge_from_trash(&caller, Kind::Dashboard, &project, &name)
            .await,
    )
}
