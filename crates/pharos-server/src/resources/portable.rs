//! Dashboards that leave their place: `GET …/dashboards/{d}/export?format=json|yaml` gives a
//! standalone Perses dashboard (no server-managed metadata, loadable by `percli apply` into any
//! Perses), and `POST …/dashboards/{d}/clone` `{"name", "project"?}` copies one, into the same
//! project or another the caller may create dashboards in.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pharos_model::Kind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::{Caller, CreatedResource},
    state::AppState,
};

/// Longest display name a clone may be given.
const MAX_CLONE_NAME_CHARS: usize = 128;

/// The export and clone routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/projects/{project}/dashboards/{name}/export",
            get(export),
        )
        .route(
            "/api/v1/projects/{project}/dashboards/{name}/clone",
            post(clone),
        )
}

#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

/// The document without what the server manages (created/updated times, version).
fn portable(mut document: Value) -> Value {
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, _| key == "name" || key == "project");
    }
    document
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, name)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = query.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "yaml") {
        return Err(ApiError::bad_request(format!(
            "format={format:?}: use json or yaml"
        )));
    }
    let document = portable(
        state
            .resources
            .get(&caller, Kind::Dashboard, Some(&project), &name)
            .await?
            .document,
    );
    let (body, content_type) = if format == "yaml" {
        let text = serde_saphyr::to_string(&document)
            .map_err(|e| ApiError::Internal(format!("cannot write YAML: {e}")))?;
        (text, "application/yaml")
    } else {
        let text = serde_json::to_string_pretty(&document)
            .map_err(|e| ApiError::Internal(format!("cannot write JSON: {e}")))?;
        (text, "application/json")
    };
    let disposition = format!("attachment; filename=\"{project}-{name}.{format}\"");
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloneBody {
    name: String,
    #[serde(default)]
    project: Option<String>,
}

/// A resource name for `wanted`: itself when it is one, else lower-case letters, digits and
/// dashes of it, at most 75 characters.
pub(crate) fn resource_name(wanted: &str) -> ApiResult<String> {
    if pharos_model::validate_name(wanted).is_ok() {
        return Ok(wanted.to_owned());
    }
    let mut slug = String::new();
    for c in wanted.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug
        .trim_matches('-')
        .chars()
        .take(pharos_model::MAX_NAME_LENGTH)
        .collect();
    let slug = slug.trim_matches('-').to_owned();
    pharos_model::validate_name(&slug).map_err(|_| {
        ApiError::bad_request(format!(
            "name {wanted:?} has no letters or digits to make a dashboard name from"
        ))
    })?;
    Ok(slug)
}

async fn clone(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, name)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body: CloneBody = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"name\": \"...\", \"project\"?: \"...\"}}: {e}"
        ))
    })?;
    let chars = body.name.trim().chars().count();
    if chars == 0 || chars > MAX_CLONE_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "name must have 1 to {MAX_CLONE_NAME_CHARS} characters, not {chars}"
        )));
    }
    let source = state
        .resources
        .get(&caller, Kind::Dashboard, Some(&project), &name)
        .await?
        .document;
    let target = body.project.unwrap_or_else(|| project.clone());
    let new_name = resource_name(body.name.trim())?;
    let mut spec = source.get("spec").cloned().unwrap_or_else(|| json!({}));
    // The given name is what people see; the resource name may be its slug.
    spec["display"]["name"] = json!(body.name.trim());
    let document = json!({
        "kind": "Dashboard",
        "metadata": {"name": new_name, "project": target},
        "spec": spec,
    });
    let created = state
        .resources
        .create(&caller, Kind::Dashboard, Some(&target), document)
        .await?;
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    response.extensions_mut().insert(CreatedResource {
        project: target,
        name: new_name,
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_become_resource_names() {
        assert_eq!(
            resource_name("gpu-fleet").ok().as_deref(),
            Some("gpu-fleet")
        );
        assert_eq!(
            resource_name("GPU fleet (copy)").ok().as_deref(),
            Some("gpu-fleet-copy")
        );
        assert!(resource_name("!!!").is_err());
        let long = "a".repeat(120);
        assert_eq!(resource_name(&long).map(|n| n.len()).ok(), Some(75));
        let exported = portable(
            json!({"kind": "Dashboard", "metadata": {"name": "d", "project": "p",
            "createdAt": "x", "updatedAt": "y", "version": 3}, "spec": {}}),
        );
        assert_eq!(exported["metadata"], json!({"name": "d", "project": "p"}));
    }
}
