//! The template catalogue: the system templates (read by anyone signed in: they hold no data),
//! the global templates (`GlobalTemplate`, readable by every signed-in user by default) and the
//! project templates (`Template`, readable like the project's dashboards), listed together, and
//! turned into a project's dashboard with the caller's own permission to create one there.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use pharos_model::Kind;
use pharos_templates::{Template, TemplateVariable};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::{Caller, CreatedResource},
    resources::resource_name,
    state::AppState,
};

/// Longest dashboard name `from-template` accepts (as for clones).
const MAX_NAME_CHARS: usize = 128;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    category: Option<String>,
}

/// The panels of a dashboard as a gallery card previews them.
fn panel_previews(dashboard: &Value) -> Vec<Value> {
    dashboard
        .pointer("/spec/panels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, panel)| {
            json!({
                "key": key,
                "title": panel.pointer("/spec/display/name").and_then(Value::as_str).unwrap_or(key),
                "kind": panel.pointer("/spec/plugin/kind").and_then(Value::as_str).unwrap_or_default(),
            })
        })
        .collect()
}

/// A system template as listed: everything but the dashboard.
fn summary(template: &Template) -> Value {
    json!({
        "id": template.id,
        "source": "system",
        "version": template.version,
        "category": template.category,
        "title": template.title,
        "description": template.description,
        "workload_kinds": template.workload_kinds,
        "variables": template.variables,
        "panels": panel_previews(&template.dashboard),
    })
}

/// A saved template's dashboard as a `Dashboard` document (what instantiation copies).
fn dashboard_of(resource: &Value) -> Value {
    json!({
        "kind": "Dashboard",
        "metadata": {"name": resource.pointer("/metadata/name").cloned().unwrap_or(Value::Null)},
        "spec": resource.pointer("/spec/dashboard").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A saved (`Template` / `GlobalTemplate`) template in the catalogue's shape.
fn saved_summary(resource: &Value) -> Value {
    let dashboard = dashboard_of(resource);
    let name = resource
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let project = resource
        .pointer("/metadata/project")
        .and_then(Value::as_str);
    let text = |pointer: &str| resource.pointer(pointer).and_then(Value::as_str);
    json!({
        "id": name,
        "source": if project.is_some() { "project" } else { "global" },
        "project": project,
        "version": resource.pointer("/metadata/version").cloned().unwrap_or(Value::Null),
        "category": text("/spec/category").unwrap_or("custom"),
        "title": text("/spec/display/name").unwrap_or(name),
        "description": text("/spec/display/description").unwrap_or_default(),
        "workload_kinds": resource.pointer("/spec/workloadKinds").cloned().unwrap_or_else(|| json!([])),
        "variables": pharos_templates::variables_of(&dashboard),
        "panels": panel_previews(&dashboard),
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    let category = query.category.as_deref().filter(|c| !c.is_empty());
    if let Some(category) = category
        && !pharos_model::TEMPLATE_CATEGORIES.contains(&category)
    {
        return Err(ApiError::bad_request(format!(
            "unknown template category {category:?}: use one of {}",
            pharos_model::TEMPLATE_CATEGORIES.join(", ")
        )));
    }
    let mut listed: Vec<Value> = pharos_templates::system_templates()
        .iter()
        .map(summary)
        .collect();
    let every = crate::resources::ListParams::default();
    for kind in [Kind::GlobalTemplate, Kind::Template] {
        // What the caller may not read is simply not listed.
        let saved = match state.resources.list(&caller, kind, None, &every).await {
            Ok(saved) => saved,
            Err(ApiError::Forbidden(_)) => Vec::new(),
            Err(other) => return Err(other),
        };
        listed.extend(saved.iter().map(saved_summary));
    }
    listed.retain(|t| category.is_none_or(|c| t["category"] == c));
    Ok(Json(listed))
}

/// Neither a system nor a global template is called `id`.
fn unknown_template(id: &str) -> ApiError {
    let known: Vec<&str> = pharos_templates::system_templates()
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    ApiError::Missing(format!(
        "no template {id:?}; the system templates are {} (GET /api/v1/templates lists every one you can use)",
        known.join(", ")
    ))
}

/// A template to instantiate: its dashboard and variables.
struct Found {
    dashboard: Value,
    variables: Vec<TemplateVariable>,
    summary: Value,
}

/// The template `id`: of `project` when given, else a system template, else a global one.
async fn resolve(
    state: &AppState,
    caller: &Caller,
    id: &str,
    project: Option<&str>,
) -> ApiResult<Found> {
    if project.is_none()
        && let Some(template) = pharos_templates::find(id)
    {
        return Ok(Found {
            dashboard: template.dashboard.clone(),
            variables: template.variables.clone(),
            summary: summary(template),
        });
    }
    let kind = if project.is_some() {
        Kind::Template
    } else {
        Kind::GlobalTemplate
    };
    match state.resources.get(caller, kind, project, id).await {
        Ok(saved) => {
            let dashboard = dashboard_of(&saved.document);
            Ok(Found {
                variables: pharos_templates::variables_of(&dashboard),
                summary: saved_summary(&saved.document),
                dashboard,
            })
        }
        Err(ApiError::NotFound) if project.is_none() => Err(unknown_template(id)),
        Err(other) => Err(other),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct GetQuery {
    /// A project template of this project (else a system, then a global template).
    #[serde(default)]
    project: Option<String>,
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<GetQuery>,
) -> ApiResult<Json<Value>> {
    let project = query.project.as_deref().filter(|p| !p.is_empty());
    let found = resolve(&state, &caller, &id, project).await?;
    let mut answer = found.summary;
    answer["dashboard"] = found.dashboard;
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FromTemplate {
    template_id: String,
    /// For a project template: its project (else system, then global templates are searched).
    #[serde(default)]
    template_project: Option<String>,
    name: String,
    #[serde(default)]
    variables: BTreeMap<String, Value>,
}

pub(super) async fn from_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body: FromTemplate = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"template_id\": \"...\", \"template_project\"?: \"...\", \"name\": \"...\", \"variables\"?: {{\"<name>\": \"<value>\" | [\"<value>\", ...]}}}}: {e}"
        ))
    })?;
    let template = resolve(
        &state,
        &caller,
        &body.template_id,
        body.template_project.as_deref(),
    )
    .await?;
    let wanted = body.name.trim();
    let chars = wanted.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "name must have 1 to {MAX_NAME_CHARS} characters, not {chars}"
        )));
    }
    let name = resource_name(wanted)?;
    let mut dashboard = pharos_templates::instantiate(
        &template.dashboard,
        &template.variables,
        &project,
        &name,
        &body.variables,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // A display name was given (it is not a resource name): that is what people see.
    if name != wanted {
        dashboard["spec"]["display"]["name"] = json!(wanted);
    }
    let created = state
        .resources
        .create(&caller, Kind::Dashboard, Some(&project), dashboard)
        .await?;
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    response
        .extensions_mut()
        .insert(CreatedResource { project, name });
    Ok(response)
}
