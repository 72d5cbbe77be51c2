//! The web UI: the bundle built from `ui/` (committed in `ui-dist/`, see
//! `docs/decisions/0006-ui-bundle.md`) embedded in the binary and served as a single-page app.
//!
//! GET/HEAD requests that no API route matched land here. Paths under the server's own areas
//! (`/api`, `/proxy`, `/metrics`, `/health`, `/ready`, `/live`) keep the JSON 404; a missing
//! hashed asset is a 404 too (so a stale page fails loudly instead of parsing HTML as
//! JavaScript); every other path gets `index.html`, and the client-side router takes over.

mod assets;
mod headers;

use axum::{
    body::Body,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use assets::{Asset, Bundle};

/// First path segments that belong to the API, never to the UI.
const SERVER_AREAS: [&str; 6] = ["api", "proxy", "metrics", "health", "ready", "live"];

/// The router's fallback: a UI file, the SPA's `index.html`, or the JSON 404.
pub(crate) async fn serve(method: Method, uri: Uri, request_headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return crate::not_found(uri).await.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let first_segment = path.split('/').next().unwrap_or_default();
    if SERVER_AREAS.contains(&first_segment) {
        return crate::not_found(uri).await.into_response();
    }
    let accept_encoding = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let asset = match Bundle::find(path, accept_encoding) {
        Some(asset) => asset,
        // Hashed files are referenced by exact name; answering with HTML would hide the problem.
        None if path.starts_with(assets::HASHED_DIR) => {
            return crate::not_found(uri).await.into_response();
        }
        None => match Bundle::find(assets::INDEX, accept_encoding) {
            Some(index) => index,
            None => return missing_bundle(),
        },
    };
    respond(&method, &request_headers, asset)
}

fn respond(method: &Method, request_headers: &HeaderMap, asset: Asset) -> Response {
    let mut response_headers = headers::for_asset(&asset);
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| headers::etag_matches(tags, &asset.etag));
    if not_modified {
        response_headers.remove(header::CONTENT_LENGTH);
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(asset.data)
    };
    (StatusCode::OK, response_headers, body).into_response()
}

/// A binary built without `ui-dist/index.html` still serves the API; say how to get the UI.
fn missing_bundle() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "message": "the web UI is not part of this build: crates/pharos-server/ui-dist/index.html \
                        is missing; run `npm ci && npm run build` in ui/ and rebuild"
        })),
    )
        .into_response()
}
