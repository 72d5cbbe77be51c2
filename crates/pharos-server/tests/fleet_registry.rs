//! The fleet's cluster registry: CRUD and validation, filters and pages, credentials (sent,
//! encrypted, never answered), health against the real Prometheus peer and against lying fakes
//! (closed port, HTML, 10 MB, no answer, slow), capability discovery and the summary, the event
//! stream, RBAC and persistence across a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU8, Ordering},
};
use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt as _;
use pharos_server::ServerSettings;
use pharos_server::config::CheckTimingSettings;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// How the fake Prometheus behaves.
const HEALTHY: u8 = 0;
const HTML: u8 = 1;
const HUGE: u8 = 2;
const HANG: u8 = 3;
const SLOW: u8 = 4;

/// A fake cluster: a Prometheus (and Alertmanager) API that records the `Authorization`
/// headers it receives and can be switched to misbehave.
struct Fake {
    url: String,
    mode: AtomicU8,
    authorizations: Mutex<Vec<String>>,
}

async fn fake_prometheus(mode: u8) -> Arc<Fake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = Arc::new(Fake {
        url: format!("http://{}", listener.local_addr().unwrap()),
        mode: AtomicU8::new(mode),
        authorizations: Mutex::default(),
    });
    let state = Arc::clone(&fake);
    let handler = move |uri: Uri, headers: HeaderMap| {
        let fake = Arc::clone(&state);
        async move { fake.answer(&uri, &headers).await }
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    fake
}

impl Fake {
    async fn answer(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        if let Some(auth) = headers.get("authorization") {
            self.authorizations
                .lock()
                .unwrap()
                .push(auth.to_str().unwrap_or("").to_owned());
        }
        match self.mode.load(Ordering::SeqCst) {
            HTML => {
                return (
                    [("content-type", "text/html")],
                    "<html><body>Welcome to nginx!</body></html>",
                )
                    .into_response();
            }
            HUGE => {
                // 10 MB without a Content-Length, in 64 KiB chunks.
                let chunks = futures::stream::iter(
                    (0..160).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024])),
                );
                return Response::new(Body::from_stream(chunks));
            }
            HANG => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            SLOW => tokio::time::sleep(Duration::from_millis(700)).await,
            _ => {}
        }
        let query = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "query")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let sample = |value: &str| {
            json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {}, "value": [1.0, value]}]}})
        };
        let body = match (uri.path(), query.as_str()) {
            ("/-/ready", _) => return "Prometheus Server is Ready.\n".into_response(),
            ("/api/v1/status/buildinfo", _) => {
                json!({"status": "success", "data": {"version": "9.9.9-fake"}})
            }
            ("/api/v1/query", "vector(1)") => sample("1"),
            ("/api/v1/query", "count(DCGM_FI_DEV_GPU_UTIL)") => sample("8"),
            ("/api/v1/query", "count(kube_pod_info)") => sample("42"),
            ("/api/v1/query", _) => {
                json!({"status": "success", "data": {"resultType": "vector", "result": []}})
            }
            ("/api/v2/status", _) => json!({"cluster": {"status": "ready"}}),
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
        axum::Json(body).into_response()
    }
}

/// A URL on which nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn cluster(name: &str, kind: &str, url: &str) -> Value {
    json!({"name": name, "type": kind, "prometheus_url": url})
}

/// Settings whose hub checks run every 200 ms with a 1 s timeout.
fn fast_settings() -> ServerSettings {
    let mut settings = ServerSettings::default();
    settings.fleet.hub = CheckTimingSettings {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(1),
    };
    settings
}

async fn register(app: &common::TestApp, body: Value) -> Value {
    let answer = app.post("/api/v1/clusters", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body
}

async fn refresh(app: &common::TestApp, name: &str) -> Value {
    let answer = app
        .post(&format!("/api/v1/clusters/{name}/refresh"), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

both_backends!(
    crud_with_validation_errors,
    |app: common::TestApp| async move {
        let url = closed_port().await;
        let created = register(
            &app,
            json!({"name": "hub-1", "type": "hub", "prometheus_url": url,
                "labels": {"env": "prod"}, "region": "eu-west"}),
        )
        .await;
        assert_eq!(created["name"], "hub-1");
        assert_eq!(created["type"], "hub");
        assert_eq!(created["labels"]["env"], "prod");
        assert_eq!(created["region"], "eu-west");
        assert_eq!(created["alertmanager_url"], Value::Null);
        assert_eq!(created["status"]["state"], "unknown");
        assert_eq!(created["capabilities"]["dcgm"], false);
        assert_eq!(created["credentials"], json!({"configured": false}));
        assert!(created["created_at"].is_string() && created["updated_at"].is_string());

        for (body, says) in [
            (cluster("Hub_1", "hub", &url), "not a valid cluster id"),
            (cluster(&"x".repeat(64), "hub", &url), "1 to 63"),
            (cluster("a", "moon", &url), "hub, spoke, edge or far_edge"),
            (cluster("a", "hub", "prometheus:9090"), "absolute http"),
            (cluster("a", "hub", "ftp://p"), "absolute http"),
            (
                json!({"name": "a", "type": "hub"}),
                "prometheus_url is required",
            ),
            (
                json!({"name": "a", "type": "hub", "prometheus_url": url, "colour": 1}),
                "unknown field",
            ),
        ] {
            let refused = app.post("/api/v1/clusters", body.clone()).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                refused.text
            );
            assert!(refused.message().contains(says), "{body}: {}", refused.text);
        }
        let duplicate = app
            .post("/api/v1/clusters", cluster("hub-1", "spoke", &url))
            .await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);
        assert!(duplicate.message().contains("already registered"));

        let changed = app
            .put(
                "/api/v1/clusters/hub-1",
                json!({"type": "spoke", "prometheus_url": url, "region": "us-east"}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["type"], "spoke");
        assert_eq!(changed.body["region"], "us-east");
        assert_eq!(
            changed.body["labels"],
            json!({}),
            "PUT replaces the labels too"
        );
        let renamed = app
            .put("/api/v1/clusters/hub-1", cluster("other", "hub", &url))
            .await;
        assert_eq!(renamed.status, StatusCode::BAD_REQUEST, "{}", renamed.text);
        let read = app.get("/api/v1/clusters/hub-1").await;
        assert_eq!(read.body["region"], "us-east");

        for (method, path) in [
            (Method::GET, "/api/v1/clusters/nope"),
            (Method::GET, "/api/v1/clusters/nope/status"),
            (Method::POST, "/api/v1/clusters/nope/refresh"),
            (Method::DELETE, "/api/v1/clusters/nope"),
        ] {
            let missing = app.send(method, path, Some(json!({})), &[]).await;
            assert_eq!(
                missing.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                missing.text
            );
        }
        let missing_put = app
            .put("/api/v1/clusters/nope", cluster("nope", "hub", &url))
            .await;
        assert_eq!(
            missing_put.status,
            StatusCode::NOT_FOUND,
            "{}",
            missing_put.text
        );

        assert_eq!(
            app.delete("/api/v1/clusters/hub-1").await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get("/api/v1/clusters/hub-1").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/api/v1/clusters").await.body["total"], 0);
    }
);

#[tokio::test]
async fn filters_and_pagination() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let url = closed_port().await;
    for (name, kind, region, env) in [
        ("a-hub", "hub", "eu", "prod"),
        ("b-spoke", "spoke", "eu", "prod"),
        ("c-spoke", "spoke", "us", "dev"),
        ("d-edge", "edge", "us", "prod"),
        ("e-far", "far_edge", "ap", "dev"),
    ] {
        register(
            &app,
            json!({"name": name, "type": kind, "prometheus_url": url, "region": region,
                "labels": {"env": env}}),
        )
        .await;
    }
    let names = |answer: &common::Answer| -> Vec<String> {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/clusters").await;
    assert_eq!(
        names(&all),
        ["a-hub", "b-spoke", "c-spoke", "d-edge", "e-far"]
    );
    assert_eq!(
        (all.body["total"].clone(), all.body["limit"].clone()),
        (json!(5), json!(100))
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?type=spoke").await),
        ["b-spoke", "c-spoke"]
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?region=us").await),
        ["c-spoke", "d-edge"]
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?label=env%3Dprod&region=eu").await),
        ["a-hub", "b-spoke"]
    );
    let healthy = app.get("/api/v1/clusters?status=healthy").await;
    assert_eq!(healthy.body["total"], 0, "{}", healthy.text);
    let page = app.get("/api/v1/clusters?limit=2&offset=1").await;
    assert_eq!(names(&page), ["b-spoke", "c-spoke"]);
    assert_eq!(page.body["total"], 5);
    assert_eq!(page.body["offset"], 1);
    for bad in [
        "limit=0",
        "limit=5000",
        "offset=-1",
        "type=moon",
        "label=env",
        "status=sad",
        "x=1",
    ] {
        let refused = app.get(&format!("/api/v1/clusters?{bad}")).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            refused.text
        );
    }
}

#[tokio::test]
async fn credentials_are_sent_encrypted_and_never_returned() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let fake = fake_prometheus(HEALTHY).await;
    register(&app, cluster("secured", "hub", &fake.url)).await;
    let path = "/api/v1/clusters/secured/credentials";
    for (body, says) in [
        (json!({"token": "x"}), "need a \"type\""),
        (json!({"type": "kerberos"}), "not known"),
        (json!({"type": "bearer"}), "malformed"),
        (json!({"type": "basic", "username": "u"}), "malformed"),
        (
            json!({"type": "mtls", "cert_pem": "x", "key_pem": "y"}),
            "not a PEM",
        ),
    ] {
        let refused = app.post(path, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            refused.text
        );
        assert!(refused.message().contains(says), "{body}: {}", refused.text);
        assert!(
            refused
                .message()
                .contains("{\"type\": \"bearer\", \"token\""),
            "{}",
            refused.text
        );
    }
    let missing = app
        .post(
            "/api/v1/clusters/nope/credentials",
            json!({"type": "bearer", "token": "t"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let set = app
        .post(path, json!({"type": "bearer", "token": "s3cr3t-t0ken"}))
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let refreshed = refresh(&app, "secured").await;
    assert_eq!(refreshed["status"]["state"], "healthy", "{refreshed}");
    assert_eq!(
        refreshed["credentials"],
        json!({"type": "bearer", "configured": true})
    );
    assert!(
        fake.authorizations
            .lock()
            .unwrap()
            .iter()
            .any(|a| a == "Bearer s3cr3t-t0ken"),
        "the token reached the cluster"
    );
    for read in [
        "/api/v1/clusters/secured",
        "/api/v1/clusters",
        "/api/v1/clusters/secured/status",
        "/api/v1/fleet/summary",
    ] {
        let answer = app.get(read).await;
        assert_eq!(answer.status, StatusCode::OK, "{read}");
        assert!(
            !answer.text.contains("s3cr3t"),
            "{read} leaks: {}",
            answer.text
        );
    }
    // Encrypted at rest.
    let raw = pharos_store::testing::raw_spec_column(
        app.state.resources.store(),
        &pharos_store::ResourceKey::global("ClusterCredentials", "secured"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!raw.contains("s3cr3t"), "stored in clear: {raw}");
    // Not served by the Perses resource routes either.
    let perses = app.get("/api/v1/clustercredentials").await;
    assert!(!perses.text.contains("s3cr3t"), "{}", perses.text);

    let basic = app
        .post(
            path,
            json!({"type": "basic", "username": "ops", "password": "pw"}),
        )
        .await;
    assert_eq!(basic.status, StatusCode::NO_CONTENT);
    refresh(&app, "secured").await;
    assert!(
        fake.authorizations
            .lock()
            .unwrap()
            .iter()
            .any(|a| a == "Basic b3BzOnB3"),
        "basic auth reached the cluster"
    );
    assert_eq!(
        app.get("/api/v1/clusters/secured").await.body["credentials"]["type"],
        "basic"
    );
}

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
            "gpus": 8, "firing_alerts": null})
    );
}

/// Registers a hub cluster at `url`, refreshes it and answers its status and how long it took.
async fn health_of(app: &common::TestApp, name: &str, url: &str) -> (Value, Duration) {
    register(app, cluster(name, "hub", url)).await;
    let started = Instant::now();
    let refreshed = refresh(app, name).await;
    (refreshed["status"].clone(), started.elapsed())
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

/// Reads server-sent events until one satisfies `wanted` (or 10 s pass).
async fn wait_for_event(
    body: &mut Body,
    seen: &mut String,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for block in seen.split("\n\n") {
            let data: String = block
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .collect();
            if let Ok(event) = serde_json::from_str::<Value>(&data)
                && wanted(&event)
            {
                let event = event.clone();
                let end = seen.find(block).unwrap() + block.len();
                seen.drain(..end);
                return event;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, body.frame())
            .await
            .unwrap_or_else(|_| panic!("no such event in time; saw: {seen}"))
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
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

#[tokio::test]
async fn permissions_follow_the_cluster_scope() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let url = closed_port().await;
    register(&app, cluster("guarded", "hub", &url)).await;
    let anonymous = app.anonymous(Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.text
    );
    let bob = app.user("bob").await;
    let as_bob = |method: Method, path: &'static str, body: Option<Value>| {
        let (app, bob) = (&app, bob.clone());
        async move { app.send_as(&bob, method, path, body).await }
    };
    for (method, path, body) in [
        (Method::GET, "/api/v1/clusters", None),
        (Method::GET, "/api/v1/clusters/guarded", None),
        (Method::GET, "/api/v1/clusters/guarded/status", None),
        (Method::GET, "/api/v1/fleet/summary", None),
        (Method::GET, "/api/v1/events", None),
        (
            Method::POST,
            "/api/v1/clusters",
            Some(cluster("mine", "hub", "http://x")),
        ),
        (Method::DELETE, "/api/v1/clusters/guarded", None),
    ] {
        let refused = as_bob(method, path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
        assert!(refused.message().contains("Cluster"), "{}", refused.text);
    }
    let role = app
        .post(
            "/api/v1/globalroles",
            json!({"kind": "GlobalRole", "metadata": {"name": "fleet-viewer"},
                "spec": {"permissions": [{"actions": ["read"], "scopes": ["Cluster"]}]}}),
        )
        .await;
    assert_eq!(role.status, StatusCode::OK, "{}", role.text);
    let binding = app
        .post(
            "/api/v1/globalrolebindings",
            json!({"kind": "GlobalRoleBinding", "metadata": {"name": "bob-fleet"},
                "spec": {"role": "fleet-viewer", "subjects": [{"kind": "User", "name": "bob"}]}}),
        )
        .await;
    assert_eq!(binding.status, StatusCode::OK, "{}", binding.text);
    let listed = as_bob(Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["total"], 1);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/clusters",
            Some(cluster("mine", "hub", "http://x")),
        ),
        (
            Method::PUT,
            "/api/v1/clusters/guarded",
            Some(cluster("guarded", "edge", "http://x")),
        ),
        (
            Method::POST,
            "/api/v1/clusters/guarded/credentials",
            Some(json!({"type": "bearer", "token": "t"})),
        ),
        (
            Method::POST,
            "/api/v1/clusters/guarded/refresh",
            Some(json!({})),
        ),
        (Method::DELETE, "/api/v1/clusters/guarded", None),
    ] {
        let refused = as_bob(method, path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
    }
}

both_backends!(
    clusters_survive_a_restart,
    |app: common::TestApp| async move {
        let fake = fake_prometheus(HEALTHY).await;
        register(
            &app,
            json!({"name": "kept", "type": "far_edge", "prometheus_url": fake.url,
                "labels": {"site": "ship-7"}}),
        )
        .await;
        let set = app
            .post(
                "/api/v1/clusters/kept/credentials",
                json!({"type": "bearer", "token": "keep-me"}),
            )
            .await;
        assert_eq!(set.status, StatusCode::NO_CONTENT);
        refresh(&app, "kept").await;
        let restarted = app.replica(ServerSettings::default());
        let kept = restarted.get("/api/v1/clusters/kept").await;
        assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
        assert_eq!(kept.body["type"], "far_edge");
        assert_eq!(kept.body["labels"]["site"], "ship-7");
        assert_eq!(
            kept.body["credentials"],
            json!({"type": "bearer", "configured": true})
        );
        assert_eq!(
            kept.body["capabilities"]["gpu_count"], 8,
            "capabilities are kept"
        );
        assert_eq!(
            kept.body["status"]["state"], "unknown",
            "health is per process"
        );
        fake.authorizations.lock().unwrap().clear();
        let checked = restarted
            .post("/api/v1/clusters/kept/refresh", json!({}))
            .await;
        assert_eq!(
            checked.body["status"]["state"], "healthy",
            "{}",
            checked.text
        );
        assert!(
            fake.authorizations
                .lock()
                .unwrap()
                .iter()
                .any(|a| a == "Bearer keep-me"),
            "the restarted server still decrypts the credentials"
        );
    }
);
