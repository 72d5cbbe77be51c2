//! The system templates: listed and read by anyone signed in (they hold no data), and turned
//! into a project's dashboard with the caller's own permission to create one there.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use pharos_model::Kind;
use pharos_templates::{Category, Template};
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

/// A template as listed: everything but the dashboard, plus what its gallery card shows.
fn summary(template: &Template) -> Value {
    let panels: Vec<Value> = template
        .dashboard
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
        .collect();
    json!({
        "id": template.id,
        "source": "system",
        "version": template.version,
        "category": template.category,
        "title": template.title,
        "description": template.description,
        "workload_kinds": template.workload_kinds,
        "variables": template.variables,
        "panels": panels,
    })
}

pub(super) async fn list(
    _caller: Caller,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    let category = match query.category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<Category>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
    };
    Ok(Json(
        pharos_templates::system_templates()
            .iter()
            .filter(|t| category.is_none_or(|c| t.category == c))
            .map(summary)
            .collect(),
    ))
}

fn find(id: &str) -> ApiResult<&'static Template> {
    pharos_templates::find(id).ok_or_else(|| {
        let known: Vec<&str> = pharos_templates::system_templates()
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        ApiError::Missing(format!(
            "no template {id:?}; the templates are {}",
            known.join(", ")
        ))
    })
}

pub(super) async fn get_one(_caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let template = find(&id)?;
    let mut answer = summary(template);
    answer["dashboard"] = template.dashboard.clone();
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FromTemplate {
    template_id: String,
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
            "expected {{\"template_id\": \"...\", \"name\": \"...\", \"variables\"?: {{\"<name>\": \"<value>\" | [\"<value>\", ...]}}}}: {e}"
        ))
    })?;
    let template = find(&body.template_id)?;
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
