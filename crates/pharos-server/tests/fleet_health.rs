//! The fleet's health checks and discovery against the real Prometheus peer and against lying
//! fakes (closed port, HTML, 10 MB, no answer, slow), the fleet summary, and status changes on
//! the event stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use fleet_support::{
    HANG, HEALTHY, HTML, HUGE, SLOW, closed_port, cluster, fake_prometheus, fast_settings,
    health_of, refresh, register, wait_for_event,
};
use pharos_server::ServerSettings;
use serde_json::json;
use tower::ServiceExt as _;

#[tokio::test]
async fn health_and_capabilities_against_the_real_prometheus() {
    let Some(url) = common::peer_url("PROMETHEUS") else {
        return;
    };
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    register(&app, cluster("real", "hub", &url)).await;
    let cluster = refresh(&app, "real").await;
    assert_eq!(cluster["status"]["state"], "healthy", "{cluster}");
    assert!(cluster["status"]["latency_ms"].is_u64());
    let capabilities = &cluster["capabilities"];
    assert_eq!(capabilities["prometheus"]["reachable"], true, "{cluster}");
    assert!(
        capabilities["prometheus"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with(char::is_numeric)),
        "{cluster}"
    );
    assert_eq!(capabilities["dcgm"], false, "the peer has no DCGM series");
    let status = app.get("/api/v1/clusters/real/status").await;
    assert_eq!(
        status.body["history"][0]["from"], "unknown",
        "{}",
        status.text
    );
    assert_eq!(
        status.body["history"][0]["to"], "healthy",
        "{}",
        status.text
    );
}

#[tokio::test]
async fn discovery_finds_gpus_and_the_summary_counts_them() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let fake = fake_prometheus(HEALTHY).await;
    register(
        &app,
        json!({"name": "gpu", "type": "spoke", "prometheus_url": fake.url,
            "alertmanager_url": fake.url}),
    )
    .await;
    register(&app, cluster("gone", "edge", &closed_port().await)).await;
    let gpu = refresh(&app, "gpu").await;
    let capabilities = &gpu["capabilities"];
    assert_eq!(
        capabilities["prometheus"],
        json!({"reachable": true, "version": "9.9.9-fake"})
    );
    assert_eq!(
        (
            capabilities["dcgm"].clone(),
            capabilities["gpu_count"].clone()
        ),
        (json!(true), json!(8))
    );
    assert_eq!(capabilities["kube_state_metrics"], true);
    assert_eq!(capabilities["alertmanager"], true);
    let gone = refresh(&app, "gone").await;
    assert_eq!(gone["status"]["state"], "unreachable", "{gone}");
    assert_eq!(gone["capabilities"]["prometheus"]["reachable"], false);
    let summary = app.get("/api/v1/fleet/summary").await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(
        summary.body,
        json!({"clusters": {"total": 2,
            "by_status": {"degraded": 0, "healthy": 1, "unknown": 0, "unreachable": 1},
            "by_type": {"edge": 1, "far_edge": 0, "hub": 0, "spoke": 1}},
            "gpus": 8, "firing_alerts": 0})
    );
}

#[tokio::test]
async fn lying_clusters_are_caught_within_the_timeout() {
    let app = common::TestApp::new(common::Backend::Sqlite, fast_settings())
        .await
        .unwrap();
    let (closed, _) = health_of(&app, "closed", &closed_port().await).await;
    assert_eq!(closed["state"], "unreachable", "{closed}");
    assert!(
        closed["reason"].as_str().unwrap().contains("cannot reach"),
        "{closed}"
    );

    let html = fake_prometheus(HTML).await;
    let (status, _) = health_of(&app, "html", &html.url).await;
    assert_eq!(status["state"], "unreachable", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("not a Prometheus API"),
        "{status}"
    );

    let huge = fake_prometheus(HUGE).await;
    let (status, took) = health_of(&app, "huge", &huge.url).await;
    assert_eq!(status["state"], "unreachable", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("larger than"),
        "{status}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");

    let hang = fake_prometheus(HANG).await;
    let (status, took) = health_of(&app, "hang", &hang.url).await;
    assert_eq!(status["state"], "unreachable", "{status}");
    // Check and discovery run side by side, each bounded by the 1 s timeout.
    assert!(took < Duration::from_millis(2500), "{took:?}");

    let slow = fake_prometheus(SLOW).await;
    let (status, _) = health_of(&app, "slow", &slow.url).await;
    assert_eq!(status["state"], "degraded", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("slow"),
        "{status}"
    );
}

#[tokio::test]
async fn a_status_change_reaches_the_event_stream() {
    let app = common::TestApp::new(common::Backend::Sqlite, fast_settings())
        .await
        .unwrap();
    let checker = app.state.fleet.spawn_health_checks();
    let request = Request::get("/api/v1/events?topics=clusters")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(Body::empty())
        .unwrap();
    let response = app.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut seen = String::new();

    let fake = fake_prometheus(HEALTHY).await;
    register(&app, cluster("live", "hub", &fake.url)).await;
    let registered =
        wait_for_event(&mut body, &mut seen, |e| e["type"] == "CLUSTER_REGISTERED").await;
    assert_eq!(registered["cluster"], "live");
    assert!(registered["at"].is_string());
    let up = wait_for_event(&mut body, &mut seen, |e| {
        e["type"] == "CLUSTER_STATUS_CHANGED"
    })
    .await;
    assert_eq!(up["data"]["to"], "healthy", "{up}");

    fake.mode.store(HTML, Ordering::SeqCst);
    let down = wait_for_event(&mut body, &mut seen, |e| {
        e["type"] == "CLUSTER_STATUS_CHANGED" && e["data"]["to"] == "unreachable"
    })
    .await;
    assert_eq!(down["data"]["from"], "healthy");
    assert!(
        down["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("not a Prometheus"),
        "{down}"
    );

    let status = app.get("/api/v1/clusters/live/status").await;
    let history = status.body["history"].as_array().unwrap();
    assert_eq!(history[0]["to"], "unreachable", "{}", status.text);
    assert_eq!(history[1]["to"], "healthy", "{}", status.text);

    let creds = app
        .post(
            "/api/v1/clusters/live/credentials",
            json!({"type": "bearer", "token": "t"}),
        )
        .await;
    assert_eq!(creds.status, StatusCode::NO_CONTENT);
    let updated = wait_for_event(&mut body, &mut seen, |e| {
        e["type"] == "CLUSTER_CREDENTIALS_UPDATED"
    })
    .await;
    assert_eq!(updated["data"], json!({"type": "bearer"}));
    assert_eq!(
        app.delete("/api/v1/clusters/live").await.status,
        StatusCode::NO_CONTENT
    );
    wait_for_event(&mut body, &mut seen, |e| e["type"] == "CLUSTER_DELETED").await;
    checker.abort();

    let unknown = app.get("/api/v1/events?topics=gossip").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
}
