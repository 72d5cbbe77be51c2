//! Headers every answer carries for browsers: `X-Frame-Options` and `X-Content-Type-Options`
//! (Pharos is never framed, nothing is sniffed), `Strict-Transport-Security` behind TLS, and
//! CORS for the origins `security.cors.allowed_origins` lists — and for no other.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// Methods and headers a listed origin may use.
const CORS_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const CORS_HEADERS: &str = "authorization, content-type, if-match, x-request-id";

fn allowed_origin(state: &AppState, request: &Request) -> Option<HeaderValue> {
    let origin = request.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .settings
        .security
        .cors
        .allows(text)
        .then(|| origin.clone())
}

/// The middleware.
pub async fn web_guards(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = allowed_origin(&state, &request);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        // A preflight from a listed origin is answered here; from any other, refused without
        // CORS headers (the browser then blocks the call).
        if origin.is_some() {
            StatusCode::NO_CONTENT.into_response()
        } else {
            StatusCode::FORBIDDEN.into_response()
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let security = &state.settings.security;
    if security.hsts.enabled.unwrap_or(security.cookie.secure) {
        let value = format!(
            "max-age={}{}",
            security.hsts.max_age.as_secs(),
            if security.hsts.include_subdomains {
                "; includeSubDomains"
            } else {
                ""
            }
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
        }
    }
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("etag, x-request-id, x-pharos-cache, retry-after"),
        );
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(CORS_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(CORS_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}
