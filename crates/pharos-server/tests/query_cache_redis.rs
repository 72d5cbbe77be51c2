//! The query cache shared through the real Redis of `scripts/peers.sh`: an answer one replica
//! computed is found by another, and a replica that never saw a question can still stand in with
//! the last good answer while the backend is down. Skipped without `PHAROS_TEST_REDIS_URL`
//! (fails instead with `PHAROS_REQUIRE_PEERS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::http::StatusCode;
use common::{Answer, Backend, TestApp};
use pharos_server::ServerSettings;
use serde_json::json;

fn redis_url() -> Option<String> {
    common::peer_url("REDIS")
}

/// A Prometheus-speaking upstream that counts calls and can be switched off.
async fn upstream() -> (String, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicBool::new(false));
    let (counter, switch) = (Arc::clone(&calls), Arc::clone(&down));
    let handler = move || {
        let (counter, switch) = (Arc::clone(&counter), Arc::clone(&switch));
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            if switch.load(Ordering::SeqCst) {
                return (StatusCode::SERVICE_UNAVAILABLE, "upstream down".to_owned());
            }
            (
                StatusCode::OK,
                json!({"status": "success", "data": {"resultType": "matrix", "result": [
                    {"metric": {"job": "a"}, "values": [[1, "42"]]}]}})
                .to_string(),
            )
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/api/v1/query_range", axum::routing::post(handler)),
        )
        .await
    });
    (format!("http://{addr}"), calls, down)
}

async fn ask(app: &TestApp) -> Answer {
    let now = pharos_query::now_ms() / 1000;
    app.get(&format!(
        "/proxy/projects/ml/datasources/prom/api/v1/query_range?query=up&start={}&end={now}&step=15",
        now - 600
    ))
    .await
}

fn cache(answer: &Answer) -> &str {
    answer
        .headers
        .get("x-pharos-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn replicas_share_answers_and_stand_ins_through_redis() {
    let Some(redis) = redis_url() else {
        return;
    };
    let (url, calls, down) = upstream().await;
    let mut settings = ServerSettings::default();
    settings.rate_limit.redis_url = Some(redis);
    settings.query_layer.stale_for = std::time::Duration::from_secs(30);
    settings.query_layer.recent_ttl = std::time::Duration::from_millis(800);
    let first = TestApp::new(Backend::Sqlite, settings.clone())
        .await
        .unwrap();
    first.project("ml", &[]).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}}});
    assert_eq!(
        first
            .post("/api/v1/projects/ml/datasources", datasource)
            .await
            .status,
        StatusCode::OK
    );

    let computed = ask(&first).await;
    assert_eq!(computed.status, StatusCode::OK, "{}", computed.text);
    assert_eq!(cache(&computed), "miss");
    // Another replica (its own process memory, the same store and Redis) finds the answer.
    let second = first.replica(settings.clone());
    let shared = ask(&second).await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.text);
    assert_eq!(cache(&shared), "hit");
    assert_eq!(shared.body["data"], computed.body["data"]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one backend query for two replicas"
    );

    // With the backend down and the answer no longer fresh, a third replica that never asked
    // still shows the last good answer, from Redis, with its age.
    down.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let third = first.replica(settings);
    let stale = ask(&third).await;
    assert_eq!(stale.status, StatusCode::OK, "{}", stale.text);
    assert_eq!(cache(&stale), "stale");
    assert_eq!(stale.body["data"], computed.body["data"]);
    assert!(
        stale.body["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("data from "),
        "{}",
        stale.text
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the third replica tried the backend once"
    );
}
