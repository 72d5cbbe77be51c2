//! The fleet tests' fakes and helpers: a Prometheus (and Alertmanager) API that records the
//! credentials it receives and can be told to misbehave, a closed port, and shortcuts for
//! registering, refreshing and reading the event stream.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU8, Ordering},
};
use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt as _;
use pharos_server::ServerSettings;
use pharos_server::config::CheckTimingSettings;
use serde_json::{Value, json};

use crate::common;

/// How the fake Prometheus behaves.
pub const HEALTHY: u8 = 0;
pub const HTML: u8 = 1;
pub const HUGE: u8 = 2;
pub const HANG: u8 = 3;
pub const SLOW: u8 = 4;

/// A fake cluster: a Prometheus (and Alertmanager) API that records the `Authorization`
/// headers it receives and can be switched to misbehave.
pub struct Fake {
    pub url: String,
    pub mode: AtomicU8,
    pub authorizations: Mutex<Vec<String>>,
}

pub async fn fake_prometheus(mode: u8) -> Arc<Fake> {
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
pub async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

pub fn cluster(name: &str, kind: &str, url: &str) -> Value {
    json!({"name": name, "type": kind, "prometheus_url": url})
}

/// Settings whose hub checks run every 200 ms with a 1 s timeout.
pub fn fast_settings() -> ServerSettings {
    let mut settings = ServerSettings::default();
    settings.fleet.hub = CheckTimingSettings {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(1),
    };
    settings
}

pub async fn register(app: &common::TestApp, body: Value) -> Value {
    let answer = app.post("/api/v1/clusters", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body
}

pub async fn refresh(app: &common::TestApp, name: &str) -> Value {
    let answer = app
        .post(&format!("/api/v1/clusters/{name}/refresh"), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Registers a hub cluster at `url`, refreshes it and answers its status and how long it took.
pub async fn health_of(app: &common::TestApp, name: &str, url: &str) -> (Value, Duration) {
    register(app, cluster(name, "hub", url)).await;
    let started = Instant::now();
    let refreshed = refresh(app, name).await;
    (refreshed["status"].clone(), started.elapsed())
}

/// Reads server-sent events until one satisfies `wanted` (or 10 s pass).
pub async fn wait_for_event(
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
