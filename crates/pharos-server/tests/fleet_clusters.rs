//! The fleet against three real Prometheus servers playing clusters (`cluster_a`, `cluster_b`,
//! `cluster_c` of scripts/peers.sh, each fed its own DCGM series by remote-write) and the real
//! Alertmanager: discovery, federated queries labelled per cluster, GPU views, one cluster
//! stopped mid-test (unreachable, named in the partial answer, then skipped), and alerts polled
//! from the Alertmanager's v2 API.
//!
//! This test stops and restarts `cluster_c`: no other test may use that peer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use fleet_support::{refresh, register};
use pharos_fleet::{EventType, Received, Topic};
use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};
use serde_json::{Value, json};

/// GPUs per node and model written into each cluster.
const LAYOUT: [(&str, &str, usize); 3] = [
    ("a", "NVIDIA A100-SXM4-80GB", 4),
    ("b", "NVIDIA H100 80GB HBM3", 2),
    ("c", "NVIDIA L4", 1),
];

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// Starts `cluster_c` again when the test ends, also after a failed assertion, so the peer set
/// is whole for the next run.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        let status = std::process::Command::new(scripts_dir().join("peers.sh"))
            .args(["start", "cluster_c"])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not restart cluster_c: {status:?}");
        }
    }
}

fn stop_cluster_c() {
    let status = std::process::Command::new(scripts_dir().join("peers.sh"))
        .args(["stop", "cluster_c"])
        .status()
        .unwrap();
    assert!(status.success(), "peers.sh stop cluster_c: {status}");
}

/// DCGM series of one node with `count` GPUs of `model`, at `now_ms`.
fn dcgm_series(cluster: &str, model: &str, count: usize, now_ms: i64) -> Vec<TimeSeries> {
    let mut series = Vec::new();
    for gpu in 0..count {
        let gauges = [
            ("DCGM_FI_DEV_GPU_UTIL", 10.0 + 20.0 * gpu as f64),
            ("DCGM_FI_DEV_FB_USED", 1024.0 * (gpu as f64 + 1.0)),
            ("DCGM_FI_DEV_FB_FREE", 4096.0),
            ("DCGM_FI_DEV_GPU_TEMP", 50.0 + gpu as f64),
            ("DCGM_FI_DEV_POWER_USAGE", 200.0),
            ("DCGM_FI_DEV_XID_ERRORS", 0.0),
        ];
        for (name, value) in gauges {
            let labels = [
                ("__name__", name.to_owned()),
                ("Hostname", format!("{cluster}-gpu-node-1")),
                ("UUID", format!("GPU-{cluster}-{gpu}")),
                ("gpu", gpu.to_string()),
                ("modelName", model.to_owned()),
                ("job", "dcgm-exporter".to_owned()),
            ];
            series.push(TimeSeries {
                labels: labels.iter().map(|(n, v)| Label::new(*n, v)).collect(),
                samples: vec![Sample {
                    value,
                    timestamp: now_ms,
                }],
                histograms: vec![],
            });
        }
    }
    series
}

async fn remote_write(url: &str, timeseries: Vec<TimeSeries>) {
    let body = encode_write_request(&WriteRequest {
        timeseries,
        metadata: vec![],
    })
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/write"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "remote-write to {url}: {} {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
}

fn clusters_of(answer: &Value) -> Vec<String> {
    let mut names: Vec<String> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["cluster"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

async fn gpu_query(app: &common::TestApp, clusters: Option<&[&str]>) -> Value {
    let mut body = json!({"query": "DCGM_FI_DEV_GPU_UTIL"});
    if let Some(clusters) = clusters {
        body["clusters"] = json!(clusters);
    }
    let answer = app.post("/api/v1/metrics/query", body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

#[tokio::test]
async fn three_real_clusters_one_stopped_mid_test() {
    let (Some(a), Some(b), Some(c)) = (
        common::peer_url("CLUSTER_A"),
        common::peer_url("CLUSTER_B"),
        common::peer_url("CLUSTER_C"),
    ) else {
        return;
    };
    let _restart = RestartOnDrop;
    let now_ms = Utc::now().timestamp_millis();
    for ((name, model, count), url) in LAYOUT.iter().zip([&a, &b, &c]) {
        remote_write(url, dcgm_series(name, model, *count, now_ms)).await;
    }
    let mut settings = fleet_support::fast_settings();
    settings.fleet.edge.timeout = Duration::from_secs(2);
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let mut events = app.state.fleet.bus().subscribe(vec![Topic::Clusters]);
    for ((name, kind), url) in [("a", "hub"), ("b", "spoke"), ("c", "edge")]
        .into_iter()
        .zip([&a, &b, &c])
    {
        register(
            &app,
            json!({"name": name, "type": kind, "prometheus_url": url, "labels": {"env": "test"}}),
        )
        .await;
    }
    for (name, _, count) in LAYOUT {
        let view = refresh(&app, name).await;
        assert_eq!(view["status"]["state"], "healthy", "{view}");
        let capabilities = &view["capabilities"];
        assert_eq!(capabilities["prometheus"]["reachable"], true, "{view}");
        assert!(
            capabilities["prometheus"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with(char::is_numeric)),
            "a real Prometheus says its version: {view}"
        );
        assert_eq!(capabilities["dcgm"], true, "{view}");
        assert_eq!(capabilities["gpu_count"], json!(count), "{view}");
    }

    // Every cluster answers, each series labelled with its cluster.
    let answer = gpu_query(&app, None).await;
    assert_eq!(clusters_of(&answer), ["a", "b", "c"], "{answer}");
    assert_eq!(answer["data"]["result"].as_array().unwrap().len(), 7);
    for name in ["a", "b", "c"] {
        assert_eq!(answer["clusters"][name]["status"], "ok", "{answer}");
    }
    let nodes = app.get("/api/v1/gpu/nodes").await;
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
        [("a".into(), 4), ("b".into(), 2), ("c".into(), 1)],
        "{}",
        nodes.text
    );

    // cluster_c goes away mid-test.
    stop_cluster_c();
    let answer = gpu_query(&app, Some(&["a", "b", "c"])).await;
    assert_eq!(
        clusters_of(&answer),
        ["a", "b"],
        "a partial answer: {answer}"
    );
    assert_eq!(answer["clusters"]["c"]["status"], "error", "{answer}");
    assert!(
        answer["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("cluster c: error:")),
        "the partial answer names the missing cluster: {answer}"
    );
    let view = refresh(&app, "c").await;
    assert_eq!(view["status"]["state"], "unreachable", "{view}");
    let changed = loop {
        let event = match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Received::Event(event)) => event,
            other => panic!("no CLUSTER_STATUS_CHANGED for c: {other:?}"),
        };
        if event.event_type == EventType::ClusterStatusChanged
            && event.cluster == "c"
            && event.data["to"] == "unreachable"
        {
            break event;
        }
    };
    assert_eq!(changed.data["from"], "healthy", "{:?}", changed.data);
    // The default set now skips it and says why; the others still answer.
    let answer = gpu_query(&app, None).await;
    assert_eq!(clusters_of(&answer), ["a", "b"]);
    assert_eq!(answer["clusters"]["c"]["status"], "skipped", "{answer}");
    let summary = app.get("/api/v1/fleet/summary").await.body;
    assert_eq!(
        summary["clusters"]["by_status"]["unreachable"], 1,
        "{summary}"
    );
    assert_eq!(summary["clusters"]["by_status"]["healthy"], 2, "{summary}");
    let history = app.get("/api/v1/clusters/c/status").await.body;
    assert_eq!(history["history"][0]["to"], "unreachable", "{history}");
}

/// Posts an alert straight into the real Alertmanager (as a Prometheus would).
async fn post_to_alertmanager(url: &str, name: &str, ends_in: chrono::Duration) {
    let starts = Utc::now() - chrono::Duration::seconds(30);
    let body = json!([{
        "labels": {"alertname": name, "severity": "critical", "namespace": "ml-serving"},
        "annotations": {"summary": format!("{name} from the cluster's own Prometheus")},
        "startsAt": starts.to_rfc3339(), "endsAt": (Utc::now() + ends_in).to_rfc3339(),
        "generatorURL": "http://127.0.0.1:19101/graph"
    }]);
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn alerts_are_polled_from_the_clusters_alertmanager() {
    let (Some(prometheus), Some(alertmanager)) = (
        common::peer_url("CLUSTER_A"),
        common::peer_url("ALERTMANAGER"),
    ) else {
        return;
    };
    let app = common::TestApp::new(common::Backend::Sqlite, fleet_support::fast_settings())
        .await
        .unwrap();
    register(
        &app,
        json!({"name": "polled", "type": "hub", "prometheus_url": prometheus,
            "alertmanager_url": alertmanager}),
    )
    .await;
    let mut events = app.state.fleet.bus().subscribe(vec![Topic::Alerts]);
    // Unique per run: the Alertmanager peer is shared and keeps alerts until they end.
    let name = format!("PolledAlert{}", std::process::id());
    post_to_alertmanager(&alertmanager, &name, chrono::Duration::minutes(5)).await;
    let view = refresh(&app, "polled").await;
    assert_eq!(view["capabilities"]["alertmanager"], true, "{view}");
    let listed = app
        .get("/api/v1/fleet/alerts?cluster=polled&state=firing&limit=500")
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let ours: Vec<&Value> = listed.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alertname"] == name.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{}", listed.text);
    assert_eq!(ours[0]["receiver"], "alertmanager-api");
    assert_eq!(ours[0]["severity"], "critical");
    assert_eq!(
        ours[0]["annotations"]["summary"],
        format!("{name} from the cluster's own Prometheus")
    );
    let fingerprint = ours[0]["fingerprint"].as_str().unwrap().to_owned();
    let fired = loop {
        match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Received::Event(event)) if event.data["labels"]["alertname"] == name.as_str() => {
                break event;
            }
            Ok(Received::Event(_)) => {}
            other => panic!("no ALERT_FIRED: {other:?}"),
        }
    };
    assert_eq!(fired.event_type, EventType::AlertFired);

    // It ends in the Alertmanager: the next poll resolves it.
    post_to_alertmanager(&alertmanager, &name, chrono::Duration::seconds(-1)).await;
    refresh(&app, "polled").await;
    let listed = app
        .get("/api/v1/fleet/alerts?cluster=polled&limit=500")
        .await;
    let ours = listed.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["fingerprint"] == fingerprint.as_str())
        .cloned()
        .unwrap();
    assert_eq!(ours["state"], "resolved", "{ours}");
    assert!(ours["ends_at"].is_string(), "{ours}");
}
