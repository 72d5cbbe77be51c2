//! The authentication layer in front of every route: gives each request an id, finds out who
//! sent it (bearer token or the two session cookies), refuses anonymous requests to routes that
//! need a caller, refuses cross-site cookie writes, and records mutating requests in the audit
//! log. What the caller may do is decided later, by the services, with the [`Caller`] this
//! layer attaches.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::Rng as _;

use super::{AuditEvent, Caller};
use crate::{error::ApiError, state::AppState};

/// The request id header, echoed on every answer.
pub const REQUEST_ID: &str = "x-request-id";

/// Cookie with `header.payload` of the access token (readable by the page).
pub const PAYLOAD_COOKIE: &str = "jwtPayload";
/// Cookie with the access token's signature (HttpOnly).
pub const SIGNATURE_COOKIE: &str = "jwtSignature";
/// Cookie with the refresh token (HttpOnly).
pub const REFRESH_COOKIE: &str = "jwtRefreshToken";

/// The id of one request: the client's `X-Request-Id` when it is short and printable, else a
/// fresh random one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address as seen by the listener (`unknown` in in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

/// What a route needs from the authentication layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Outside `/api` and `/proxy` (the UI's files, probes, `/metrics`): no caller is looked
    /// up at all, so serving a page's assets costs no token check.
    Open,
    /// Anonymous API routes (config, login, refresh, logout, share links): a caller is used
    /// when one is presented and valid (logout), never required.
    Optional,
    /// Every other API and proxy route: 401 without a caller.
    Required,
}

fn access(method: &Method, path: &str) -> Access {
    let api = path.starts_with("/api/")
        || path == "/api"
        || path.starts_with("/proxy/")
        || path == "/proxy"
        // The fleet's event WebSocket.
        || path == "/ws"
        // Loki's push API (the log intake), at the path Loki clients use.
        || path.starts_with("/loki/")
        // The MCP server (streamable HTTP).
        || path == "/mcp"
        || path.starts_with("/mcp/");
    if !api {
        return Access::Open;
    }
    let anonymous = matches!(
        (method, path),
        (_, "/api/config")
            | (_, "/api/v1/health")
            | (&Method::POST, "/api/auth/providers/native/login")
            | (&Method::POST, "/api/auth/refresh")
            | (&Method::GET, "/api/auth/logout")
    ) || path.starts_with("/api/docs")
        // External logins: the redirect to the provider and its callback.
        || (method == Method::GET
            && path.starts_with("/api/auth/providers/")
            && (path.ends_with("/login") || path.ends_with("/callback")))
        // Alertmanager's webhook has no session: its optional bearer secret
        // (`fleet.alerts.webhook_token`) is checked, in constant time, by the route itself.
        || (method == Method::POST && path == "/api/v1/alerts/webhook")
        // Share links carry their own secret, checked by the share routes.
        || path.starts_with("/api/v1/shared/")
        || path.starts_with("/proxy/shared/");
    if anonymous {
        Access::Optional
    } else {
        Access::Required
    }
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(
            || format!("{:032x}", rand::rng().random::<u128>()),
            str::to_owned,
        )
}

/// The session token of a request: `Authorization: Bearer`, or rebuilt from the two cookies
/// (then `true`: the browser sent it on its own, so cross-site writes must be checked).
fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_owned(), false));
    }
    let payload = cookie(headers, PAYLOAD_COOKIE)?;
    let signature = cookie(headers, SIGNATURE_COOKIE)?;
    Some((format!("{payload}.{signature}"), true))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A cookie-authenticated write must come from our own pages: its `Origin` (or, without one,
/// `Sec-Fetch-Site`) must say so. SameSite=Lax already keeps the cookies off most cross-site
/// writes; this closes the rest (same-site subdomains, old browsers).
fn cross_site_write(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        return Some(origin_host) != host;
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site != "same-origin" && site != "none")
}

/// The middleware (see the module documentation).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = request_id(request.headers());
    crate::http_trace::record_request_id(&id);
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        );
    request.extensions_mut().insert(RequestId(id.clone()));
    request
        .extensions_mut()
        .insert(ClientAddress(client.clone()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let access = access(&method, &path);
    if access == Access::Open {
        return finish(next.run(request).await, &id);
    }

    let caller = match resolve(&state, request.headers(), &method, &path).await {
        Ok(Some(caller)) => Some(caller),
        Ok(None) if access == Access::Optional => None,
        Ok(None) => {
            let refusal = ApiError::Unauthorized(
                "log in first: send 'Authorization: Bearer <token>' (POST /api/auth/providers/native/login gives one)".to_owned(),
            );
            return finish(refusal.into_response(), &id);
        }
        Err(_) if access == Access::Optional => None,
        Err(error) => return finish(error.into_response(), &id),
    };
    if let Some(refusal) = over_rate(&state, caller.as_ref(), &client).await {
        return finish(refusal.into_response(), &id);
    }
    let actor = caller
        .as_ref()
        .map_or_else(String::new, |c| c.name().to_owned());
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    let response = next.run(request).await;
    let created = response.extensions().get::<super::CreatedResource>();
    if let Some(event) = AuditEvent::for_request(&method, &path, response.status(), created) {
        event.record(&state, &actor, &client, &id).await;
    }
    finish(response, &id)
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<Option<Caller>, ApiError> {
    if !state.identity.enabled() {
        return Ok(Some(Caller::anonymous_admin()));
    }
    if let Some(presented) = headers
        .get(super::INTERNAL_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return state
            .identity
            .internal_caller(presented)
            .map(Some)
            .ok_or_else(|| ApiError::Unauthorized("invalid internal credential".to_owned()));
    }
    if let Some(kubernetes) = state.identity.kubernetes() {
        return resolve_kubernetes(state, kubernetes, headers, method, path).await;
    }
    let Some((token, from_cookies)) = presented_token(headers) else {
        return Ok(None);
    };
    if from_cookies && cross_site_write(method, headers) {
        return Err(ApiError::Forbidden(
            "cross-site request refused: a write sent with the session cookies must come from a Pharos page (its Origin must be this server)".to_owned(),
        ));
    }
    let generation = state.resources.generation();
    if super::tokens::is_api_token(&token) {
        return state
            .identity
            .authenticate_api_token(&token, generation)
            .await
            .map(Some);
    }
    if let Some(outcome) = state
        .identity
        .authenticate_external(&token, generation)
        .await
    {
        return outcome.map(Some);
    }
    state
        .identity
        .authenticate(&token, generation)
        .await
        .map(Some)
}

/// `auth: kubernetes`: the bearer token (from the client, or from an OpenShift OAuth proxy's
/// `X-Forwarded-Access-Token`) is reviewed by the API server, and the request's projects are
/// checked there too.
async fn resolve_kubernetes(
    state: &AppState,
    kubernetes: &super::KubernetesAuthority,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<Option<Caller>, ApiError> {
    let forwarded = headers
        .get("x-forwarded-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(token) = presented_token(headers)
        .filter(|(_, from_cookies)| !from_cookies)
        .map(|(token, _)| token)
        .or(forwarded)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let user = kubernetes.authenticate(&token).await?;
    let projects = projects_in_question(state, method, path).await?;
    let grants = kubernetes.grants(&user, &projects).await?;
    Ok(Some(super::kubernetes::caller(&user, grants)))
}

/// The projects a request touches: the one in its path, or every project for the routes
/// that list across projects.
async fn projects_in_question(
    state: &AppState,
    method: &Method,
    path: &str,
) -> Result<super::kubernetes::ProjectsInQuestion, ApiError> {
    use super::kubernetes::ProjectsInQuestion;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let in_path = match segments.as_slice() {
        ["api", "v1", "projects", project, ..] | ["proxy", "projects", project, ..] => {
            Some(*project)
        }
        _ => None,
    };
    if let Some(project) = in_path {
        return Ok(ProjectsInQuestion::One(project.to_owned()));
    }
    let lists_across_projects = *method == Method::GET
        && matches!(
            segments.as_slice(),
            ["api", "v1", _] | ["api", "v1", "users", _, "permissions"]
        );
    if !lists_across_projects {
        return Ok(ProjectsInQuestion::None);
    }
    let rows = state
        .resources
        .store()
        .list(&pharos_store::ListQuery {
            kind: pharos_model::Kind::Project.as_str().to_owned(),
            project: None,
            name_prefix: None,
            include_spec: false,
        })
        .await?;
    Ok(ProjectsInQuestion::ReadEach(
        rows.into_iter().map(|row| row.key.name).collect(),
    ))
}

/// The configured request rates (`rate_limit.requests_per_*_per_minute`, off by default) for
/// API and proxy requests, per client address and per signed-in user.
async fn over_rate(state: &AppState, caller: Option<&Caller>, client: &str) -> Option<ApiError> {
    let limits = &state.settings.rate_limit;
    let minute = std::time::Duration::from_secs(60);
    let user = caller.filter(|c| c.is_signed_in()).map(Caller::name);
    for (limit, bucket, key, setting) in [
        (
            limits.requests_per_address_per_minute,
            "requests-address",
            Some(client),
            "requests_per_address_per_minute",
        ),
        (
            limits.requests_per_user_per_minute,
            "requests-user",
            user,
            "requests_per_user_per_minute",
        ),
    ] {
        let Some(key) = key.filter(|_| limit > 0) else {
            continue;
        };
        let seen = state
            .identity
            .limiter()
            .increment(bucket, key, minute)
            .await;
        if seen.count > u64::from(limit) {
            metrics::counter!("pharos_refusals_total", "reason" => bucket.replace('-', "_"))
                .increment(1);
            return Some(ApiError::TooManyRequests {
                message: format!("more than {limit} requests in a minute (rate_limit.{setting})"),
                retry_after: seen.resets_in,
            });
        }
    }
    None
}

fn finish(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_login_routes_config_and_non_api_paths_are_anonymous() {
        let is_anonymous = |method: &Method, path: &str| access(method, path) != Access::Required;
        assert_eq!(access(&Method::GET, "/api/config"), Access::Optional);
        assert!(is_anonymous(
            &Method::POST,
            "/api/auth/providers/native/login"
        ));
        assert_eq!(access(&Method::GET, "/health"), Access::Open);
        assert_eq!(
            access(&Method::GET, "/projects/a/dashboards/b"),
            Access::Open
        );
        assert_eq!(access(&Method::GET, "/metrics"), Access::Open);
        assert!(!is_anonymous(&Method::GET, "/api/v1/projects"));
        assert!(!is_anonymous(&Method::GET, "/api/v1/query"));
        assert!(!is_anonymous(&Method::POST, "/api/v1/write"));
        assert_eq!(access(&Method::POST, "/loki/api/v1/push"), Access::Required);
        assert_eq!(access(&Method::POST, "/mcp"), Access::Required);
        assert!(!is_anonymous(
            &Method::GET,
            "/proxy/globaldatasources/x/api/v1/query"
        ));
        assert!(is_anonymous(&Method::GET, "/api/auth/logout"));
        assert!(is_anonymous(&Method::POST, "/api/v1/alerts/webhook"));
        assert!(!is_anonymous(&Method::GET, "/api/v1/fleet/alerts"));
        assert!(!is_anonymous(&Method::GET, "/api/v1/user/whoami"));
    }

    #[test]
    fn cookies_rebuild_the_token_and_bearer_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; jwtPayload=h.p; jwtSignature=s"),
        );
        assert_eq!(presented_token(&headers), Some(("h.p.s".to_owned(), true)));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer x.y.z"),
        );
        assert_eq!(presented_token(&headers), Some(("x.y.z".to_owned(), false)));
    }

    #[test]
    fn cookie_writes_from_other_origins_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("pharos:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://pharos:8080"),
        );
        assert!(!cross_site_write(&Method::POST, &headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site_write(&Method::POST, &headers));
        assert!(!cross_site_write(&Method::GET, &headers));
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site_write(&Method::DELETE, &headers));
    }
}
