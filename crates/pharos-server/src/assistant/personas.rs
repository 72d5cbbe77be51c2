//! `GET /api/v1/personas` (every signed-in user: the personas and whether a model is
//! configured), `GET /api/v1/personas/{id}`, and for administrators `POST /api/v1/personas`,
//! `PUT|DELETE /api/v1/personas/{id}`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use pharos_assistant::personas::{self, Persona, PersonaError};
use pharos_auth::rbac::{Action, Scope};
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

impl From<PersonaError> for ApiError {
    fn from(error: PersonaError) -> Self {
        match error {
            PersonaError::Invalid(message) => Self::BadRequest(message),
            PersonaError::Builtin(_) => Self::Conflict(error.to_string()),
            PersonaError::NotFound(_) => Self::Missing(error.to_string()),
            PersonaError::Store(store) => Self::from(store),
        }
    }
}

/// A persona as the API answers it (the system prompt included: users may read who the
/// assistant is told to be).
fn view(persona: &Persona) -> Value {
    json!({
        "id": persona.id,
        "name": persona.name,
        "description": persona.description,
        "system_prompt": persona.system_prompt,
        "tools": if persona.tools.is_empty() {
            personas::ALL_TOOLS.iter().map(|t| (*t).to_owned()).collect()
        } else {
            persona.tools.clone()
        },
        "model": persona.model,
        "endpoint": persona.endpoint,
        "temperature": persona.temperature,
        "builtin": persona.builtin,
    })
}

pub(super) fn signed_in(caller: &Caller) -> ApiResult<()> {
    if caller.is_signed_in() || caller.allows(Action::All, None, Scope::All) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "sign in to use the assistant".to_owned(),
        ))
    }
}

fn require_admin(caller: &Caller) -> ApiResult<()> {
    caller.require(Action::All, None, Scope::All).map_err(|_| {
        ApiError::Forbidden("only administrators may add, change or remove personas".to_owned())
    })
}

pub(super) async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    signed_in(&caller)?;
    let all = personas::list(state.resources.store()).await?;
    let llm = state.settings.assistant.llm.as_ref();
    Ok(Json(json!({
        "personas": all.iter().map(view).collect::<Vec<_>>(),
        "llm": {"configured": llm.is_some(), "model": llm.map(|l| l.model.clone())},
    }))
    .into_response())
}

pub(super) async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    signed_in(&caller)?;
    let persona = personas::find(state.resources.store(), &id)
        .await?
        .ok_or_else(|| ApiError::Missing(format!("there is no persona \"{id}\"")))?;
    Ok(Json(view(&persona)).into_response())
}

fn parse(body: Value) -> ApiResult<Persona> {
    serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a persona ({e}); send {{\"id\", \"name\", \"description\"?, \"system_prompt\", \
             \"tools\"?: [names], \"model\"?, \"endpoint\"?, \"temperature\"?}}"
        ))
    })
}

pub(super) async fn save(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let persona = parse(body)?;
    if personas::find(state.resources.store(), &persona.id)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "a persona \"{}\" exists: PUT /api/v1/personas/{} to change it",
            persona.id, persona.id
        )));
    }
    let saved = personas::save(state.resources.store(), persona).await?;
    Ok((StatusCode::CREATED, Json(view(&saved))).into_response())
}

pub(super) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let persona = parse(body)?;
    if persona.id != id {
        return Err(ApiError::bad_request(format!(
            "the body's id \"{}\" differs from the path's \"{id}\"",
            persona.id
        )));
    }
    let saved = personas::save(state.resources.store(), persona).await?;
    Ok(Json(view(&saved)).into_response())
}

pub(super) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    personas::remove(state.resources.store(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
