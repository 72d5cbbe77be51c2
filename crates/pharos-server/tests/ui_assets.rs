//! The embedded web UI as a browser sees it: SPA fallback, content types, caching,
//! precompressed variants, CSP, and the JSON 404 kept for the API's own areas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use common::{Backend, TestApp};
use http_body_util::BodyExt as _;
use pharos_server::ServerSettings;
use tower::ServiceExt as _;

struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn app() -> TestApp {
    TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .expect("sqlite app")
}

/// The UI's files are fetched anonymously, as a browser before login does; `/api` and
/// `/proxy` paths as the admin.
async fn fetch(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut builder = Request::builder().method(method).uri(path);
    if path.starts_with("/api") || path.starts_with("/proxy") {
        builder = builder.header("authorization", format!("Bearer {}", app.admin_token));
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = app
        .app
        .clone()
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

fn dist() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/ui-dist"))
}

/// The entry script and the stylesheet that index.html references.
fn referenced_assets() -> Vec<String> {
    let index = std::fs::read_to_string(dist().join("index.html")).unwrap();
    let mut found = Vec::new();
    for attr in ["src=\"/", "href=\"/"] {
        for piece in index.split(attr).skip(1) {
            let path = piece.split('"').next().unwrap();
            if path.starts_with("assets/") {
                found.push(path.to_owned());
            }
        }
    }
    assert!(
        found.iter().any(|p| p.ends_with(".js")),
        "index.html references no script: {index}"
    );
    found
}

#[tokio::test]
async fn root_and_client_routes_serve_index_html_uncached_with_csp() {
    let app = app().await;
    let index = std::fs::read(dist().join("index.html")).unwrap();
    for path in [
        "/",
        "/projects/team-a",
        "/projects/team-a/dashboards/my.dash?start=1h",
        "/import",
    ] {
        let answer = fetch(&app, Method::GET, path, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.body, index, "{path} must get index.html");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(answer.header(header::CACHE_CONTROL), "no-cache");
        let csp = answer.header(header::CONTENT_SECURITY_POLICY);
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(answer.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_typed() {
    let app = app().await;
    for asset in referenced_assets() {
        let answer = fetch(&app, Method::GET, &format!("/{asset}"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            answer.body,
            std::fs::read(dist().join(&asset)).unwrap(),
            "{asset} without Accept-Encoding is the original"
        );
        let expected_type = if asset.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            answer
                .header(header::CONTENT_TYPE)
                .starts_with(expected_type),
            "{asset}: {}",
            answer.header(header::CONTENT_TYPE)
        );
    }
    let font = std::fs::read_dir(dist().join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(".woff2"))
        .expect("the bundle ships its fonts");
    let answer = fetch(&app, Method::GET, &format!("/assets/{font}"), &[]).await;
    assert_eq!(answer.header(header::CONTENT_TYPE), "font/woff2");
}

#[tokio::test]
async fn compressed_variants_follow_accept_encoding() {
    let app = app().await;
    let script = referenced_assets()
        .into_iter()
        .find(|a| a.ends_with(".js"))
        .unwrap();
    let original = std::fs::read(dist().join(&script)).unwrap();
    let cases = [
        ("gzip, deflate, br", "br", ".br"),
        ("gzip", "gzip", ".gz"),
        ("br;q=0, gzip", "gzip", ".gz"),
    ];
    for (accept, coding, suffix) in cases {
        let answer = fetch(
            &app,
            Method::GET,
            &format!("/{script}"),
            &[("accept-encoding", accept)],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header(header::CONTENT_ENCODING), coding, "{accept}");
        assert_eq!(answer.header(header::VARY), "accept-encoding");
        let stored = std::fs::read(dist().join(format!("{script}{suffix}"))).unwrap();
        assert_eq!(answer.body, stored, "{accept}");
        assert!(answer.body.len() < original.len());
        assert_eq!(
            answer.header(header::CONTENT_LENGTH),
            answer.body.len().to_string()
        );
    }
    let plain = fetch(
        &app,
        Method::GET,
        &format!("/{script}"),
        &[("accept-encoding", "identity")],
    )
    .await;
    assert_eq!(plain.header(header::CONTENT_ENCODING), "");
    assert_eq!(plain.body, original);
}

#[tokio::test]
async fn etag_revalidation_answers_304_without_body() {
    let app = app().await;
    let first = fetch(&app, Method::GET, "/", &[]).await;
    let etag = first.header(header::ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    let again = fetch(
        &app,
        Method::GET,
        "/projects/x",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let changed = fetch(
        &app,
        Method::GET,
        "/",
        &[("if-none-match", "\"something-else\"")],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK);
}

#[tokio::test]
async fn head_has_headers_but_no_body() {
    let app = app().await;
    let answer = fetch(&app, Method::HEAD, "/", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.is_empty());
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn server_areas_keep_the_json_404() {
    let app = app().await;
    for path in [
        "/api/v1/nope",
        "/api",
        "/proxy/nope",
        "/metrics/x",
        "/health/x",
        "/ready/x",
        "/live/x",
    ] {
        let answer = fetch(&app, Method::GET, path, &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            answer
                .header(header::CONTENT_TYPE)
                .starts_with("application/json"),
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("no route"),
            "{path}: {body}"
        );
    }
    // Only GET and HEAD reach the UI; a POST to an unknown path is still an API 404.
    let post = fetch(&app, Method::POST, "/projects/x", &[]).await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert!(
        post.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn missing_hashed_asset_is_404_not_html() {
    let app = app().await;
    let answer = fetch(&app, Method::GET, "/assets/index-doesnotexist.js", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(!answer.header(header::CONTENT_TYPE).starts_with("text/html"));
}

#[tokio::test]
async fn api_routes_still_win_over_the_ui() {
    let app = app().await;
    let answer = fetch(&app, Method::GET, "/api/v1/projects", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    assert_eq!(
        answer.header(header::CONTENT_SECURITY_POLICY),
        "",
        "the API keeps its own headers"
    );
}
