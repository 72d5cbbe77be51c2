//! Guards shared through a real Redis (`scripts/peers.sh start redis`): two replicas over one
//! config store count the same failed logins and share-link checks, so an attacker cannot
//! multiply their budget by the number of replicas. Skipped without `PHAROS_TEST_REDIS_URL`
//! (fails instead when `PHAROS_REQUIRE_PEERS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt as _;
use pharos_server::{AppState, ServerSettings, router};
use serde_json::json;
use tower::ServiceExt as _;

fn redis_url() -> Option<String> {
    common::peer_url("REDIS")
}

/// A login attempt against one replica's router, from a client address of its own (so the
/// failures counted for it never throttle other tests' logins); returns the status.
async fn login(replica: &axum::Router, login: &str, password: &str) -> StatusCode {
    let mut request = Request::post("/api/auth/providers/native/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"login": login, "password": password}).to_string(),
        ))
        .unwrap();
    let hash = login
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    let client = std::net::SocketAddr::from((
        std::net::Ipv4Addr::from(0x0a00_0000 | (hash & 0x00ff_ffff)),
        40000,
    ));
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(client));
    let response = replica.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let _ = response.into_body().collect().await;
    status
}

fn settings(redis: Option<&str>) -> ServerSettings {
    let mut settings = ServerSettings::default();
    settings.security.max_login_failures = 3;
    settings.rate_limit.redis_url = redis.map(str::to_owned);
    settings
}

#[tokio::test]
async fn replicas_count_failed_logins_together() {
    let Some(url) = redis_url() else { return };
    let first = common::TestApp::new(common::Backend::Sqlite, settings(Some(&url)))
        .await
        .unwrap();
    let store = first.state.resources.store().clone();
    let second = router(AppState::new(store.clone(), settings(Some(&url))).unwrap());
    // A fresh name per run: the counters outlive the test in Redis for their window.
    let name = format!("user{}", rand_suffix());
    first.user(&name).await;
    let other = format!("user{}", rand_suffix());
    first.user(&other).await;

    for _ in 0..2 {
        assert_eq!(
            login(&first.app, &name, "wrong-password").await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        login(&second, &name, "wrong-password").await,
        StatusCode::BAD_REQUEST
    );
    // Three failures in all: both replicas now refuse, even the right password.
    let right = format!("{name}-password");
    assert_eq!(
        login(&first.app, &name, &right).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login(&second, &name, &right).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The control: replicas without Redis count alone, so the same sequence gets through.
    let alone_a = router(AppState::new(store.clone(), settings(None)).unwrap());
    let alone_b = router(AppState::new(store, settings(None)).unwrap());

    for _ in 0..2 {
        assert_eq!(
            login(&alone_a, &other, "wrong-password").await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        login(&alone_b, &other, "wrong-password").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login(&alone_a, &other, &format!("{other}-password")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn request_rates_are_shared_and_an_unreachable_redis_does_not_stop_the_service() {
    let Some(url) = redis_url() else { return };
    let mut limited = settings(Some(&url));
    limited.rate_limit.requests_per_user_per_minute = 5;
    let first = common::TestApp::new(common::Backend::Sqlite, limited.clone())
        .await
        .unwrap();
    let name = format!("user{}", rand_suffix());
    let token = first.user(&name).await;
    let second = first.replica(limited);
    let mut statuses = Vec::new();
    for replica in [&first, &second, &first, &second, &first, &second] {
        statuses.push(
            replica
                .send_as(&token, axum::http::Method::GET, "/api/v1/projects", None)
                .await
                .status,
        );
    }
    assert_eq!(&statuses[..5], &[StatusCode::OK; 5], "{statuses:?}");
    assert_eq!(
        statuses[5],
        StatusCode::TOO_MANY_REQUESTS,
        "the sixth request in a minute, on either replica"
    );

    // Redis down (nothing listens on port 9): the guards count in process; logins still work.
    let down = common::TestApp::new(
        common::Backend::Sqlite,
        settings(Some("redis://127.0.0.1:9/0")),
    )
    .await;
    let down = down.unwrap();
    assert_eq!(down.get("/api/v1/projects").await.status, StatusCode::OK);
}

fn rand_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
