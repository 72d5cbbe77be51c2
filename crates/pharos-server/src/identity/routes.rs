//! The Perses auth routes: native login, refresh, logout, `whoami` and the permission map.

use axum::{
    Extension, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pharos_auth::rbac::{Action, Scope};
use pharos_model::Kind;
use serde::Deserialize;
use serde_json::json;

use super::{
    AuditEvent, Caller, IssuedTokens,
    layer::{ClientAddress, PAYLOAD_COOKIE, REFRESH_COOKIE, RequestId, SIGNATURE_COOKIE, cookie},
    present_user,
};
use crate::{
    config::SecuritySettings,
    error::{ApiError, ApiResult},
    extract::JsonBody,
    state::AppState,
};

/// The auth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/providers/native/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", get(logout))
        .route("/api/v1/user/whoami", get(whoami))
        .route("/api/v1/users/{name}/permissions", get(permissions))
}

#[derive(Debug, Deserialize)]
struct LoginBody {
    login: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(ClientAddress(client)): Extension<ClientAddress>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    if !state.identity.native_logins() {
        return Err(ApiError::bad_request(if state.identity.enabled() {
            "password logins are off on this server (security.providers.enable_native, or auth: kubernetes); use a configured login provider"
        } else {
            "authentication is disabled on this server (--auth disabled); no login is needed"
        }));
    }
    let body: LoginBody = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"login\": \"...\", \"password\": \"...\"}}: {e}"
        ))
    })?;
    let login = body.login.trim().to_lowercase();
    let outcome = state.identity.login(&login, &body.password, &client).await;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(error) => error.status(),
    };
    AuditEvent {
        action: "login".to_owned(),
        resource: "session".to_owned(),
        project: String::new(),
        name: login.clone(),
        status,
        detail: json!({"provider": "native"}),
    }
    .record(&state, &login, &client, &request_id)
    .await;
    Ok(with_session_cookies(
        &state.settings.security,
        outcome?,
        true,
    ))
}

#[derive(Debug, Default, Deserialize)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let sent: RefreshBody = if body.is_empty() {
        RefreshBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("expected {{\"refresh_token\": \"...\"}}: {e}"))
        })?
    };
    let token = sent
        .refresh_token
        .or_else(|| cookie(&headers, REFRESH_COOKIE))
        .ok_or_else(|| {
            ApiError::bad_request(
                "no refresh token: send {\"refresh_token\": \"...\"} or the jwtRefreshToken cookie",
            )
        })?;
    let tokens = state.identity.refresh(&token).await?;
    Ok(with_session_cookies(
        &state.settings.security,
        tokens,
        false,
    ))
}

/// Ends the session and clears the cookies. Works with an expired access token too (the
/// session is then found through the refresh cookie), so a stale tab can always log out.
async fn logout(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match caller {
        Some(Extension(caller)) => state.identity.logout(&caller).await?,
        None => {
            if let Some(refresh) = cookie(&headers, REFRESH_COOKIE) {
                state.identity.logout_refresh_token(&refresh).await?;
            }
        }
    }
    let mut response = (StatusCode::FOUND, [(header::LOCATION, "/")]).into_response();
    for name in [PAYLOAD_COOKIE, SIGNATURE_COOKIE, REFRESH_COOKIE] {
        append_cookie(&mut response, &format!("{name}=; Path=/; Max-Age=0"));
    }
    Ok(response)
}

async fn whoami(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    if !caller.is_signed_in() {
        return Err(ApiError::Unauthorized(
            "no user is signed in (authentication is disabled)".to_owned(),
        ));
    }
    // Users of `auth: kubernetes` live in the cluster, not in the config store.
    let mut user = match state
        .resources
        .get(&Caller::system(), Kind::User, None, caller.name())
        .await
    {
        Ok(found) => found.document,
        Err(ApiError::NotFound) if state.identity.kubernetes().is_some() => {
            json!({"kind": "User", "metadata": {"name": caller.name()}, "spec": {}})
        }
        Err(error) => return Err(error),
    };
    present_user(&mut user);
    Ok(Json(user).into_response())
}

async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    // Your own map, or anyone's with read on users.
    if name == caller.name() {
        return Ok(Json(caller.grants().permission_map()).into_response());
    }
    caller.require(Action::Read, None, Scope::User)?;
    let grants = state
        .identity
        .grants_for(&name, state.resources.generation())
        .await?;
    Ok(Json(grants.permission_map()).into_response())
}

/// Adds one `Set-Cookie` line.
pub(super) fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The session's `Set-Cookie` lines (Perses' layout: payload readable by the page, signature
/// and refresh token HttpOnly).
pub(super) fn session_cookie_lines(
    security: &SecuritySettings,
    tokens: &IssuedTokens,
    with_refresh: bool,
) -> Vec<String> {
    let attributes = format!(
        "Path=/; SameSite={}{}",
        security.cookie.same_site.as_str(),
        if security.cookie.secure {
            "; Secure"
        } else {
            ""
        }
    );
    let access_age = security
        .access_token_ttl
        .max(security.refresh_token_ttl)
        .as_secs();
    let refresh_age = security.refresh_token_ttl.as_secs();
    let (payload, signature) = tokens
        .access_token
        .rsplit_once('.')
        .map_or((tokens.access_token.as_str(), ""), |(p, s)| (p, s));
    let mut cookies = vec![
        format!("{PAYLOAD_COOKIE}={payload}; Max-Age={access_age}; {attributes}"),
        format!("{SIGNATURE_COOKIE}={signature}; Max-Age={access_age}; HttpOnly; {attributes}"),
    ];
    if with_refresh {
        cookies.push(format!(
            "{REFRESH_COOKIE}={}; Max-Age={refresh_age}; HttpOnly; {attributes}",
            tokens.refresh_token
        ));
    }
    cookies
}

/// The token JSON plus the browser's cookies.
fn with_session_cookies(
    security: &SecuritySettings,
    tokens: IssuedTokens,
    with_refresh: bool,
) -> Response {
    let cookies = session_cookie_lines(security, &tokens, with_refresh);
    let mut response = Json(tokens).into_response();
    for cookie in cookies {
        append_cookie(&mut response, &cookie);
    }
    response
}
