//! API tokens for automation (remote-write senders, CI, `curl`): long-lived bearer secrets
//! `pht_…`, stored only as digests, limited to projects and actions, revocable, with their
//! last use shown. A token acts as its owner, never beyond the owner's grants.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use chrono::{TimeDelta, Utc};
use pharos_auth::{opaque, rbac::Action};
use pharos_store::{Credential, CredentialKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Caller, IdentityService, caller::TokenLimits};
use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    state::AppState,
};

/// The prefix of API tokens.
pub const PREFIX: &str = "pht";

/// Longest lifetime of an API token: one year.
const MAX_LIFETIME_SECS: i64 = 366 * 24 * 3600;

/// Tokens one user may hold (revoked ones included until purged).
const MAX_TOKENS_PER_USER: usize = 100;

/// How often the last-use time is written (a busy token would otherwise write on every
/// request).
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    #[serde(default)]
    projects: Vec<String>,
    #[serde(default = "all_actions")]
    actions: Vec<Action>,
    /// Seconds; absent = one year.
    #[serde(default)]
    expires_in: Option<i64>,
}

fn all_actions() -> Vec<Action> {
    vec![Action::All]
}

fn describe(credential: &Credential) -> Value {
    json!({
        "token_id": credential.id,
        "name": credential.target,
        "limits": credential.scope,
        "created_at": credential.created_at,
        "expires_at": credential.expires_at,
        "revoked_at": credential.revoked_at,
        "last_used_at": credential.last_used_at,
    })
}

impl IdentityService {
    /// The caller an API token stands for, or 401.
    pub async fn authenticate_api_token(&self, secret: &str, generation: u64) -> ApiResult<Caller> {
        let unauthorized = |why: &str| ApiError::Unauthorized(format!("API token refused: {why}"));
        let credential = self
            .store()
            .credential_by_digest(CredentialKind::ApiToken, &opaque::digest(secret))
            .await?
            .ok_or_else(|| unauthorized("unknown token"))?;
        let now = Utc::now();
        if credential.revoked_at.is_some() {
            return Err(unauthorized("the token was revoked"));
        }
        if credential.expires_at.is_some_and(|at| at <= now) {
            return Err(unauthorized("the token expired; create a new one"));
        }
        let limits: TokenLimits = serde_json::from_value(credential.scope.clone())
            .map_err(|_| unauthorized("the token's limits are unreadable"))?;
        if credential
            .last_used_at
            .is_none_or(|last| now - last >= TOUCH_EVERY)
        {
            self.store().touch_credential(&credential.id, now).await?;
        }
        let grants = self.grants_for(&credential.owner, generation).await?;
        Ok(Caller::api_token(credential.owner, grants, limits))
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let mintable = caller.is_signed_in() && !caller.is_api_token();
    if !mintable {
        return Err(ApiError::Forbidden(
            "API tokens are created from a login session (an API token cannot create another)"
                .to_owned(),
        ));
    }
    let request: NewToken = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"name\", \"projects\"?: [...], \"actions\"?: [\"read\", ...], \"expires_in\"?: seconds}}: {e}"
        ))
    })?;
    let name = request.name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::bad_request("name must have 1 to 128 characters"));
    }
    if request.actions.is_empty() {
        return Err(ApiError::bad_request(
            "actions must name at least one action",
        ));
    }
    let lifetime = request.expires_in.unwrap_or(MAX_LIFETIME_SECS);
    if !(60..=MAX_LIFETIME_SECS).contains(&lifetime) {
        return Err(ApiError::bad_request(format!(
            "expires_in must be between 60 and {MAX_LIFETIME_SECS} seconds"
        )));
    }
    for project in &request.projects {
        if !caller.can_see_project(project) {
            return Err(ApiError::bad_request(format!(
                "metadata.project \"{project}\" doesn't exist"
            )));
        }
    }
    let store = state.resources.store();
    let existing = store
        .list_credentials(CredentialKind::ApiToken, caller.name(), "", "")
        .await?;
    if existing.len() >= MAX_TOKENS_PER_USER {
        return Err(ApiError::bad_request(format!(
            "you hold {MAX_TOKENS_PER_USER} tokens, the most one user may; revoke some first"
        )));
    }
    let limits = TokenLimits {
        projects: request.projects,
        actions: request.actions,
    };
    let now = Utc::now();
    let secret = opaque::issue(PREFIX);
    let credential = Credential {
        id: secret.id.clone(),
        kind: CredentialKind::ApiToken,
        digest: secret.digest.clone(),
        owner: caller.name().to_owned(),
        project: String::new(),
        target: name.to_owned(),
        scope: serde_json::to_value(&limits).unwrap_or_default(),
        created_at: now,
        expires_at: Some(now + TimeDelta::seconds(lifetime)),
        revoked_at: None,
        last_used_at: None,
    };
    store.create_credential(&credential).await?;
    let mut answer = describe(&credential);
    answer["token"] = Value::String(secret.secret);
    Ok(Json(answer))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let tokens = state
        .resources
        .store()
        .list_credentials(CredentialKind::ApiToken, caller.name(), "", "")
        .await?;
    Ok(Json(Value::Array(tokens.iter().map(describe).collect())))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let store = state.resources.store();
    let mine = store
        .list_credentials(CredentialKind::ApiToken, caller.name(), "", "")
        .await?
        .into_iter()
        .any(|t| t.id == id && t.revoked_at.is_none());
    if !mine {
        return Err(ApiError::Missing(format!(
            "you have no active token \"{id}\""
        )));
    }
    store
        .revoke_credential(CredentialKind::ApiToken, &id, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`: the caller's own tokens.
pub fn token_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(revoke))
}

/// Whether a presented bearer value is an API token (not a session JWT).
pub fn is_api_token(token: &str) -> bool {
    opaque::looks_like(PREFIX, token)
}
