//! Clusters of the embedded store (`"prometheus_url": "embedded:cluster=<name>"`): health and
//! discovery from the store, federated queries restricted to each cluster's series (a matcher
//! naming another cluster is replaced, never obeyed), listings, GPU views, and refusals of bad
//! locations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use prom_api_support::{Answer, PromApp};
use serde_json::{Value, json};

async fn send(app: &PromApp, method: Method, path: &str, body: Value) -> Answer {
    let builder = Request::builder().method(method).uri(path);
    let request = if body.is_null() {
        builder.body(Body::empty())
    } else {
        builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
    }
    .unwrap();
    app.request(request).await
}

/// Two clusters' GPUs in one store: `a` has 2, `b` has 1, told apart by `cluster`.
fn load(app: &PromApp, now_ms: i64) {
    let gpu = |cluster: &'static str, uuid: &'static str, util: f64| {
        (
            [
                ("__name__", "DCGM_FI_DEV_GPU_UTIL"),
                ("cluster", cluster),
                ("Hostname", "gpu-node-1"),
                ("UUID", uuid),
                ("gpu", "0"),
                ("modelName", "NVIDIA L4"),
            ],
            util,
        )
    };
    let series = [
        gpu("a", "GPU-a-0", 40.0),
        gpu("a", "GPU-a-1", 60.0),
        gpu("b", "GPU-b-0", 90.0),
    ];
    let samples: Vec<_> = series
        .iter()
        .map(|(labels, value)| (&labels[..], now_ms, *value))
        .collect();
    app.append(&samples);
}

fn values_by_cluster(answer: &Answer) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = answer.body["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("a result: {}", answer.text))
        .iter()
        .map(|s| {
            (
                s["metric"]["cluster"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn embedded_clusters_answer_only_their_own_series() {
    let app = PromApp::new().await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    load(&app, now_ms);
    for (name, kind) in [("a", "hub"), ("b", "spoke")] {
        let created = send(
            &app,
            Method::POST,
            "/api/v1/clusters",
            json!({"name": name, "type": kind, "prometheus_url": format!("embedded:cluster={name}")}),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    for (name, gpus) in [("a", 2), ("b", 1)] {
        let view = send(
            &app,
            Method::POST,
            &format!("/api/v1/clusters/{name}/refresh"),
            json!({}),
        )
        .await;
        assert_eq!(view.status, StatusCode::OK, "{}", view.text);
        assert_eq!(view.body["status"]["state"], "healthy", "{}", view.text);
        let capabilities = &view.body["capabilities"];
        assert_eq!(capabilities["dcgm"], true, "{}", view.text);
        assert_eq!(capabilities["gpu_count"], gpus, "{}", view.text);
        assert!(
            capabilities["prometheus"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("pharos ")),
            "{}",
            view.text
        );
    }

    // After the samples (a whole second: they may sit up to 999 ms past now_ms / 1000).
    let time = (now_ms / 1000 + 1).to_string();
    let answer = send(
        &app,
        Method::POST,
        "/api/v1/metrics/query",
        json!({"query": "DCGM_FI_DEV_GPU_UTIL", "time": time}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        values_by_cluster(&answer),
        [
            ("a".to_owned(), "40".to_owned()),
            ("a".to_owned(), "60".to_owned()),
            ("b".to_owned(), "90".to_owned())
        ],
        "each cluster answers its own series once: {}",
        answer.text
    );
    // Asking cluster a for b's series gets a's: the scope replaces the matcher.
    let answer = send(
        &app,
        Method::POST,
        "/api/v1/metrics/query",
        json!({"query": "sum(DCGM_FI_DEV_GPU_UTIL{cluster=\"b\"})", "time": time, "clusters": ["a"]}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body["data"]["result"][0]["value"][1], "100",
        "{}",
        answer.text
    );

    let values = send(
        &app,
        Method::GET,
        "/api/v1/metrics/label/UUID/values?clusters=b",
        Value::Null,
    )
    .await;
    assert_eq!(values.status, StatusCode::OK, "{}", values.text);
    assert_eq!(values.body["data"], json!(["GPU-b-0"]), "{}", values.text);

    let nodes = send(&app, Method::GET, "/api/v1/gpu/nodes", Value::Null).await;
    assert_eq!(nodes.status, StatusCode::OK, "{}", nodes.text);
    let counts: Vec<(String, u64)> = nodes.body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["cluster"].as_str().unwrap().to_owned(),
                n["gpu_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("a".to_owned(), 2), ("b".to_owned(), 1)],
        "{}",
        nodes.text
    );
}

#[tokio::test]
async fn a_label_value_with_no_series_is_degraded_and_bad_locations_are_refused() {
    let app = PromApp::new().await;
    load(&app, chrono::Utc::now().timestamp_millis());
    let created = send(
        &app,
        Method::POST,
        "/api/v1/clusters",
        json!({"name": "typo", "type": "edge", "prometheus_url": "embedded:cluster=prod-eu-l"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let view = send(
        &app,
        Method::POST,
        "/api/v1/clusters/typo/refresh",
        json!({}),
    )
    .await;
    assert_eq!(view.body["status"]["state"], "degraded", "{}", view.text);
    assert!(
        view.body["status"]["reason"]
            .as_str()
            .unwrap()
            .contains("no series with cluster=\"prod-eu-l\""),
        "{}",
        view.text
    );
    for bad in [
        "embedded:",
        "embedded:cluster",
        "embedded:__name__=up",
        "embedded:9x=y",
    ] {
        let refused = send(
            &app,
            Method::POST,
            "/api/v1/clusters",
            json!({"name": "bad", "type": "edge", "prometheus_url": bad}),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            refused.text
        );
        assert!(
            refused.text.contains("embedded:cluster=prod-eu-1"),
            "{bad}: {}",
            refused.text
        );
    }
}

#[tokio::test]
async fn gpu_updates_carry_each_clusters_totals() {
    let app = PromApp::new().await;
    load(&app, chrono::Utc::now().timestamp_millis() - 1_000);
    for name in ["a", "b"] {
        let created = send(
            &app,
            Method::POST,
            "/api/v1/clusters",
            json!({"name": name, "type": "hub", "prometheus_url": format!("embedded:cluster={name}")}),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        send(
            &app,
            Method::POST,
            &format!("/api/v1/clusters/{name}/refresh"),
            json!({}),
        )
        .await;
    }
    let mut gpu = app
        .state
        .fleet
        .bus()
        .subscribe(vec![pharos_fleet::Topic::Gpu]);
    assert_eq!(app.state.fleet.publish_gpu_updates().await, 2);
    let mut seen = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(std::time::Duration::from_secs(2), gpu.next()).await {
            Ok(pharos_fleet::Received::Event(event)) => {
                assert_eq!(event.event_type, pharos_fleet::EventType::GpuUpdate);
                seen.push((
                    event.cluster.clone(),
                    event.data["gpus"].as_f64().unwrap(),
                    event.data["avg_utilisation_pct"].as_f64().unwrap(),
                ));
            }
            other => panic!("no GPU_UPDATE: {other:?}"),
        }
    }
    seen.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        seen,
        [("a".to_owned(), 2.0, 50.0), ("b".to_owned(), 1.0, 90.0)]
    );
}
