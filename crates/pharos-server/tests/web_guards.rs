//! Browser-facing guards: Pharos is never framed, cross-origin calls get CORS headers only for
//! the configured origins, and HSTS is sent behind TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, TestApp};
use pharos_server::ServerSettings;

#[tokio::test]
async fn without_configured_origins_no_cross_origin_call_is_allowed() {
    let app = TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let answer = app
        .send(
            Method::GET,
            "/api/v1/projects",
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    assert_eq!(answer.headers["x-frame-options"], "DENY");
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert!(
        answer.headers.get("strict-transport-security").is_none(),
        "no TLS, no HSTS"
    );
    let preflight = app
        .send(
            Method::OPTIONS,
            "/api/v1/projects",
            None,
            &[
                ("authorization", ""),
                ("origin", "https://evil.example"),
                ("access-control-request-method", "DELETE"),
            ],
        )
        .await;
    assert_eq!(preflight.status, StatusCode::FORBIDDEN);
    assert!(
        preflight
            .headers
            .get("access-control-allow-origin")
            .is_none()
    );
    // The UI's pages carry the same guard.
    let page = app.anonymous(Method::GET, "/", None).await;
    assert_eq!(page.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn a_listed_origin_may_call_with_a_bearer_token_and_tls_brings_hsts() {
    let mut settings = ServerSettings::default();
    settings.security.cors.allowed_origins = vec!["https://portal.example.com".to_owned()];
    settings.security.cookie.secure = true;
    settings.validate().unwrap();
    let app = TestApp::new(Backend::Sqlite, settings).await.unwrap();
    let preflight = app
        .send(
            Method::OPTIONS,
            "/api/v1/projects",
            None,
            &[
                ("authorization", ""),
                ("origin", "https://portal.example.com"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
            ],
        )
        .await;
    assert_eq!(
        preflight.status,
        StatusCode::NO_CONTENT,
        "{}",
        preflight.text
    );
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://portal.example.com"
    );
    assert!(
        preflight.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(
        preflight.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let call = app
        .send(
            Method::GET,
            "/api/v1/projects",
            None,
            &[("origin", "https://portal.example.com")],
        )
        .await;
    assert_eq!(call.status, StatusCode::OK);
    assert_eq!(
        call.headers["access-control-allow-origin"],
        "https://portal.example.com"
    );
    assert!(
        call.headers
            .get("access-control-allow-credentials")
            .is_none(),
        "cookies never cross origins"
    );
    assert_eq!(
        call.headers["strict-transport-security"],
        "max-age=31536000"
    );
    let other = app
        .send(
            Method::GET,
            "/api/v1/projects",
            None,
            &[("origin", "https://portal.example.com.evil.example")],
        )
        .await;
    assert!(other.headers.get("access-control-allow-origin").is_none());

    let mut bad = ServerSettings::default();
    for origin in [
        "*",
        "https://portal.example.com/",
        "portal.example.com",
        "https://x/path",
    ] {
        bad.security.cors.allowed_origins = vec![origin.to_owned()];
        let error = bad.validate().unwrap_err();
        assert!(
            error.contains("security.cors.allowed_origins"),
            "{origin}: {error}"
        );
    }
}
