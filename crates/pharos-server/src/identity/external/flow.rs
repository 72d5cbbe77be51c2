//! The browser login with an external provider (Perses' routes):
//! `GET /api/auth/providers/{oidc|oauth}/{slug}/login?rd=<path>` sends the browser to the
//! provider with a fresh `state`, `nonce` and PKCE challenge (kept in a sealed HttpOnly
//! cookie); `GET …/callback?code=&state=` checks them, trades the code for tokens, verifies
//! the ID token (or asks the user-info endpoint), syncs the user and opens a session with the
//! usual cookies. A failed login returns to `/login?error=<why>` and is audited.

use axum::{
    Extension, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use pharos_auth::login_flow::{FLOW_LIFETIME_SECS, FlowState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ExternalIdentity, Provider, ProviderKind, fetch_json, identity_from_claims};
use crate::{
    error::{ApiError, ApiResult},
    identity::{
        AuditEvent,
        layer::{ClientAddress, RequestId, cookie},
        routes::{append_cookie, session_cookie_lines},
    },
    state::AppState,
};

/// The cookie holding one login attempt.
const FLOW_COOKIE: &str = "pharosLoginFlow";
/// The cookie is only sent back to the provider routes.
const FLOW_COOKIE_PATH: &str = "/api/auth/providers/";

/// The login and callback routes of every provider.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/providers/{kind}/{slug}/login", get(login))
        .route("/api/auth/providers/{kind}/{slug}/callback", get(callback))
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    rd: Option<String>,
}

/// A path of this site to return to; anything else (another host, `//host`, `/\host`)
/// returns to the start page.
pub fn safe_return_path(rd: Option<&str>) -> String {
    match rd {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn provider(state: &AppState, kind: &str, slug: &str) -> ApiResult<std::sync::Arc<Provider>> {
    state.identity.external().find(kind, slug).ok_or_else(|| {
        ApiError::Missing(format!(
            "no login provider {kind}/{slug} is configured (security.providers.{kind})"
        ))
    })
}

/// Where the provider sends the browser back: the configured URI, else this server's callback
/// route on the host the browser used.
fn redirect_uri(provider: &Provider, headers: &HeaderMap) -> String {
    if let Some(uri) = &provider.redirect_uri {
        return uri.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!(
        "{scheme}://{host}/api/auth/providers/{}/{}/callback",
        provider.kind.as_str(),
        provider.slug
    )
}

async fn login(
    State(state): State<AppState>,
    Path((kind, slug)): Path<(String, String)>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let provider = provider(&state, &kind, &slug)?;
    let endpoints = provider
        .endpoints(state.identity.external().client())
        .await?;
    let flow = FlowState::new(
        &provider.label(),
        &safe_return_path(query.rd.as_deref()),
        chrono::Utc::now().timestamp(),
    );
    let mut target = url::Url::parse(&endpoints.authorization_endpoint).map_err(|e| {
        ApiError::BadGateway(format!(
            "login provider {}: its authorization endpoint is not a URL: {e}",
            provider.label()
        ))
    })?;
    {
        let mut params = target.query_pairs_mut();
        params
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &redirect_uri(&provider, &headers))
            .append_pair("state", &flow.state);
        if !provider.scopes.is_empty() {
            params.append_pair("scope", &provider.scopes.join(" "));
        }
        if provider.kind == ProviderKind::Oidc {
            params.append_pair("nonce", &flow.nonce);
        }
        if provider.pkce {
            params
                .append_pair("code_challenge", &flow.code_challenge())
                .append_pair("code_challenge_method", "S256");
        }
        for (key, value) in &provider.url_params {
            params.append_pair(key, value);
        }
    }
    let sealed = flow.seal(&state.identity.flow_key());
    let mut response =
        (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response();
    append_cookie(
        &mut response,
        &format!(
            "{FLOW_COOKIE}={sealed}; Path={FLOW_COOKIE_PATH}; Max-Age={FLOW_LIFETIME_SECS}; HttpOnly; SameSite=Lax{}",
            secure_suffix(&state)
        ),
    );
    Ok(response)
}

fn secure_suffix(state: &AppState) -> &'static str {
    if state.settings.security.cookie.secure {
        "; Secure"
    } else {
        ""
    }
}

#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path((kind, slug)): Path<(String, String)>,
    Query(query): Query<CallbackQuery>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(ClientAddress(client)): Extension<ClientAddress>,
    headers: HeaderMap,
) -> Response {
    let outcome = finish_login(&state, &kind, &slug, &query, &headers).await;
    let (user, status, detail) = match &outcome {
        Ok((identity, _, _)) => (identity.login.clone(), StatusCode::OK, Value::Null),
        Err(error) => (String::new(), error.status(), json!(error.to_string())),
    };
    AuditEvent {
        action: "login".to_owned(),
        resource: "session".to_owned(),
        project: String::new(),
        name: user.clone(),
        status,
        detail: json!({"provider": format!("{kind}/{slug}"), "error": detail}),
    }
    .record(&state, &user, &client, &request_id)
    .await;
    let clear_flow = format!("{FLOW_COOKIE}=; Path={FLOW_COOKIE_PATH}; Max-Age=0");
    let mut response = match outcome {
        Ok((_, tokens, return_to)) => {
            let mut response = (StatusCode::FOUND, [(header::LOCATION, return_to)]).into_response();
            for line in session_cookie_lines(&state.settings.security, &tokens, true) {
                append_cookie(&mut response, &line);
            }
            response
        }
        Err(error) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", &error.to_string())
                .finish();
            let location = format!("/login?{query}");
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
    };
    append_cookie(&mut response, &clear_flow);
    response
}

async fn finish_login(
    state: &AppState,
    kind: &str,
    slug: &str,
    query: &CallbackQuery,
    headers: &HeaderMap,
) -> ApiResult<(ExternalIdentity, crate::identity::IssuedTokens, String)> {
    let provider = provider(state, kind, slug)?;
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or_default();
        return Err(ApiError::Unauthorized(format!(
            "the provider {} refused the login: {error} {description}",
            provider.label()
        )));
    }
    let sealed = cookie(headers, FLOW_COOKIE).ok_or_else(|| {
        ApiError::bad_request(
            "no login attempt is in progress in this browser (its cookie is missing); start again",
        )
    })?;
    let flow = FlowState::open(
        &sealed,
        &state.identity.flow_key(),
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if flow.provider != provider.label()
        || !flow.state_matches(query.state.as_deref().unwrap_or_default())
    {
        return Err(ApiError::bad_request(
            "the callback does not belong to this browser's login attempt (state mismatch); start again",
        ));
    }
    let code = query
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("the callback carries no code"))?;
    let external = state.identity.external();
    let client = external.client();
    let endpoints = provider.endpoints(client).await?;
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", redirect_uri(&provider, headers)),
        ("client_id", provider.client_id.clone()),
    ];
    if provider.pkce {
        form.push(("code_verifier", flow.verifier.clone()));
    }
    let answer = fetch_json(
        client
            .post(&endpoints.token_endpoint)
            .basic_auth(&provider.client_id, Some(&provider.client_secret))
            .form(&form),
    )
    .await?;
    let identity = match provider.kind {
        ProviderKind::Oidc => {
            let id_token = answer["id_token"].as_str().ok_or_else(|| {
                ApiError::BadGateway(format!(
                    "login provider {}: the token answer has no id_token (is \"openid\" in scopes?)",
                    provider.label()
                ))
            })?;
            let claims = provider.verify(client, id_token).await?;
            if claims.nonce.as_deref() != Some(flow.nonce.as_str()) {
                return Err(ApiError::Unauthorized(
                    "the ID token was not issued for this login attempt (nonce mismatch)"
                        .to_owned(),
                ));
            }
            identity_from_claims(&provider, &claims)?
        }
        ProviderKind::OAuth => {
            let access = answer["access_token"].as_str().ok_or_else(|| {
                ApiError::BadGateway(format!(
                    "login provider {}: the token answer has no access_token",
                    provider.label()
                ))
            })?;
            let userinfo_url = endpoints.userinfo_endpoint.clone().unwrap_or_default();
            let info = fetch_json(client.get(&userinfo_url).bearer_auth(access)).await?;
            oauth_identity(&provider, &info)?
        }
    };
    let login = state.identity.sync_external_user(&identity).await?;
    let tokens = state
        .identity
        .open_external_session(&login, &provider, &identity.groups)
        .await?;
    let identity = ExternalIdentity { login, ..identity };
    Ok((identity, tokens, flow.return_to))
}

/// Who an OAuth user-info answer describes (`id` may be a number, as GitHub's is).
fn oauth_identity(provider: &Provider, info: &Value) -> ApiResult<ExternalIdentity> {
    let subject = match info.get("sub").or_else(|| info.get("id")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let login = provider.login_from(info);
    let (Some(login), false) = (login, subject.is_empty()) else {
        return Err(ApiError::BadGateway(format!(
            "login provider {}: its user info names no user (expected a login field and an id)",
            provider.label()
        )));
    };
    Ok(ExternalIdentity {
        issuer: provider.issuer.clone(),
        subject,
        login,
        email: info["email"].as_str().map(str::to_owned),
        display_name: info["name"].as_str().map(str::to_owned),
        groups: provider.groups_from(info),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_returned_to() {
        assert_eq!(safe_return_path(Some("/projects/a?x=1")), "/projects/a?x=1");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
        ] {
            assert_eq!(safe_return_path(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
