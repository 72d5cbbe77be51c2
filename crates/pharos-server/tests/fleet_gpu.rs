//! GPU views: two fake clusters answering dcgm-exporter gauges in Prometheus' instant-query
//! envelope (one with the old `Hostname` label, one with the new `hostname`), one cluster that
//! goes down after discovery, a cluster without DCGM (skipped), RBAC and bad parameters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse as _;
use fleet_support::{cluster, refresh, register};
use serde_json::{Value, json};

/// One GPU as a fake exporter reports it: host, index, model and the six gauges
/// (util %, FB used MiB, FB free MiB, temp °C, power W, last XID).
struct FakeGpu {
    host: &'static str,
    index: u32,
    model: &'static str,
    values: [f64; 6],
}

struct DcgmFake {
    url: String,
    down: AtomicBool,
}

const METRICS: [&str; 6] = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
];

async fn dcgm_fake(host_label: &'static str, gpus: Vec<FakeGpu>) -> Arc<DcgmFake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = Arc::new(DcgmFake {
        url: format!("http://{}", listener.local_addr().unwrap()),
        down: AtomicBool::new(false),
    });
    let state = Arc::clone(&fake);
    let gpus = Arc::new(gpus);
    let handler = move |uri: Uri, body: String| {
        let fake = Arc::clone(&state);
        let gpus = Arc::clone(&gpus);
        async move {
            if fake.down.load(Ordering::SeqCst) {
                return (
                    StatusCode::BAD_GATEWAY,
                    [("content-type", "text/html")],
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                )
                    .into_response();
            }
            let query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .chain(url::form_urlencoded::parse(body.as_bytes()))
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let vector = |result: Vec<Value>| json!({"status": "success", "data": {"resultType": "vector", "result": result}});
            let answer = match (uri.path(), query.as_str()) {
                ("/-/ready", _) => return "Prometheus Server is Ready.\n".into_response(),
                ("/api/v1/status/buildinfo", _) => {
                    json!({"status": "success", "data": {"version": "2.53.0"}})
                }
                ("/api/v1/query", "vector(1)") => {
                    vector(vec![json!({"metric": {}, "value": [1_767_225_600.0, "1"]})])
                }
                ("/api/v1/query", "count(DCGM_FI_DEV_GPU_UTIL)") => vector(vec![
                    json!({"metric": {}, "value": [1_767_225_600.0, gpus.len().to_string()]}),
                ]),
                ("/api/v1/query", name) if METRICS.contains(&name) => {
                    let field = METRICS.iter().position(|m| *m == name).unwrap();
                    vector(
                        gpus.iter()
                            .map(|gpu| {
                                // Exactly dcgm-exporter's label set (with Prometheus' instance/job
                                // and the Kubernetes pod mapping left empty).
                                json!({"metric": {
                                    "__name__": name,
                                    "DCGM_FI_DRIVER_VERSION": "550.54.15",
                                    "Hostname": null,
                                    host_label: gpu.host,
                                    "UUID": format!("GPU-{}-{}-4e1f-9b0a-{:012}", gpu.host, gpu.index, gpu.index),
                                    "container": "",
                                    "device": format!("nvidia{}", gpu.index),
                                    "gpu": gpu.index.to_string(),
                                    "instance": format!("{}:9400", gpu.host),
                                    "job": "dcgm-exporter",
                                    "modelName": gpu.model,
                                    "namespace": "",
                                    "pci_bus_id": format!("00000000:{:02X}:00.0", 0x18 + gpu.index),
                                    "pod": ""
                                }, "value": [1_767_225_600.123, gpu.values[field].to_string()]})
                            })
                            .map(|mut series| {
                                // The placeholder above keeps the object literal simple.
                                let metric = series["metric"].as_object_mut().unwrap();
                                if metric["Hostname"].is_null() {
                                    metric.remove("Hostname");
                                }
                                series
                            })
                            .collect(),
                    )
                }
                ("/api/v1/query", _) => vector(vec![]),
                _ => return StatusCode::NOT_FOUND.into_response(),
            };
            axum::Json(answer).into_response()
        }
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    fake
}

const H100: &str = "NVIDIA H100 80GB HBM3";
const A100: &str = "NVIDIA A100-SXM4-40GB";
const MIB: u64 = 1024 * 1024;

async fn fleet() -> (common::TestApp, Arc<DcgmFake>) {
    let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
        .await
        .unwrap();
    let east = dcgm_fake(
        "Hostname",
        vec![
            FakeGpu {
                host: "gpu-node-1",
                index: 0,
                model: H100,
                values: [90.0, 60_000.0, 21_559.0, 71.0, 612.5, 0.0],
            },
            FakeGpu {
                host: "gpu-node-1",
                index: 1,
                model: H100,
                values: [70.0, 40_000.0, 41_559.0, 64.0, 500.0, 79.0],
            },
            FakeGpu {
                host: "gpu-node-2",
                index: 0,
                model: H100,
                values: [10.0, 1_000.0, 80_559.0, 40.0, 90.0, 0.0],
            },
        ],
    )
    .await;
    let west = dcgm_fake(
        "hostname",
        vec![FakeGpu {
            host: "edge-gpu",
            index: 0,
            model: A100,
            values: [50.0, 20_000.0, 20_960.0, 58.0, 250.0, 0.0],
        }],
    )
    .await;
    let broken = dcgm_fake(
        "Hostname",
        vec![FakeGpu {
            host: "lost",
            index: 0,
            model: H100,
            values: [1.0; 6],
        }],
    )
    .await;
    for (name, url) in [
        ("east", &east.url),
        ("west", &west.url),
        ("broken", &broken.url),
    ] {
        register(&app, cluster(name, "hub", url)).await;
        refresh(&app, name).await;
    }
    broken.down.store(true, Ordering::SeqCst);
    (app, east)
}

fn node<'a>(body: &'a Value, cluster: &str, node: &str) -> &'a Value {
    body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["cluster"] == cluster && n["node"] == node)
        .unwrap_or_else(|| panic!("no node {cluster}/{node} in {body}"))
}

#[tokio::test]
async fn nodes_of_the_answering_clusters_and_the_failed_one_named() {
    let (app, _east) = fleet().await;
    let answer = app.get("/api/v1/gpu/nodes").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = &answer.body;
    assert_eq!(body["nodes"].as_array().unwrap().len(), 3, "{body}");

    let one = node(body, "east", "gpu-node-1");
    assert_eq!(one["gpu_model"], H100);
    assert_eq!(one["gpu_count"], 2);
    assert_eq!(one["utilisation_pct"], 80.0);
    assert_eq!(one["memory_used_bytes"], 100_000 * MIB);
    assert_eq!(
        one["memory_total_bytes"],
        (60_000 + 21_559 + 40_000 + 41_559) * MIB
    );
    assert_eq!(one["temperature_c"], 71.0);
    assert_eq!(one["power_w"], 1112.5);
    assert_eq!(one["xid_errors"], 1);
    let gpus = one["gpus"].as_array().unwrap();
    assert_eq!(gpus[0]["gpu"], "0");
    assert_eq!(gpus[1]["xid"], 79);
    assert_eq!(gpus[1]["uuid"], "GPU-gpu-node-1-1-4e1f-9b0a-000000000001");
    assert_eq!(gpus[1]["memory_total_bytes"], 81_559 * MIB);

    // The newer exporters' `hostname` label.
    let edge = node(body, "west", "edge-gpu");
    assert_eq!(edge["gpu_model"], A100);
    assert_eq!(edge["memory_total_bytes"], 40_960 * MIB);

    let clusters = &body["clusters"];
    assert_eq!(clusters["east"]["status"], "ok", "{clusters}");
    assert_eq!(clusters["west"]["status"], "ok");
    assert_eq!(clusters["broken"]["status"], "error", "{clusters}");
    assert!(
        clusters["broken"]["error"].as_str().unwrap().len() > 3,
        "{clusters}"
    );
    assert!(
        body["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("broken")),
        "{body}"
    );

    // Only the named clusters are asked.
    let answer = app.get("/api/v1/gpu/nodes?clusters=west").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer.body["clusters"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["west"]
    );
}

#[tokio::test]
async fn the_summary_groups_by_cluster_and_model() {
    let (app, _east) = fleet().await;
    let answer = app.get("/api/v1/gpu/summary").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let groups = answer.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{}", answer.text);
    let east = &groups[0];
    assert_eq!(
        (east["cluster"].as_str(), east["gpu_model"].as_str()),
        (Some("east"), Some(H100))
    );
    assert_eq!(east["gpus"], 3);
    assert_eq!(east["nodes"], 2);
    assert_eq!(east["avg_utilisation_pct"], 170.0 / 3.0);
    assert_eq!(east["max_temperature_c"], 71.0);
    assert_eq!(east["power_w"], 1202.5);
    assert_eq!(east["memory_used_bytes"], 101_000 * MIB);
    let totals = &answer.body["totals"];
    assert_eq!(totals["gpus"], 4);
    assert_eq!(totals["nodes"], 3);
    assert_eq!(totals["clusters"], 2);
    assert_eq!(totals["power_w"], 1452.5);
    assert_eq!(totals["xid_errors"], 1);
    assert_eq!(answer.body["clusters"]["broken"]["status"], "error");
}

#[tokio::test]
async fn bad_parameters_and_missing_permissions_are_refused() {
    let (app, _east) = fleet().await;
    for path in [
        "/api/v1/gpu/nodes?cluster=east",
        "/api/v1/gpu/nodes?clusters=nowhere",
        "/api/v1/gpu/nodes?clusters=east&cluster_selector=env=prod",
        "/api/v1/gpu/summary?cluster_selector=env",
        "/api/v1/gpu/summary?clusters=",
    ] {
        let answer = app.get(path).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.text
        );
        assert!(!answer.message().is_empty(), "{path}");
    }
    let bob = app.user("bob").await;
    for path in ["/api/v1/gpu/nodes", "/api/v1/gpu/summary"] {
        let refused = app.send_as(&bob, Method::GET, path, None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let anonymous = app.anonymous(Method::GET, path, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn no_cluster_answering_is_a_502_that_names_them() {
    let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
        .await
        .unwrap();
    let gone = dcgm_fake(
        "Hostname",
        vec![FakeGpu {
            host: "n",
            index: 0,
            model: H100,
            values: [1.0; 6],
        }],
    )
    .await;
    register(&app, cluster("gone", "hub", &gone.url)).await;
    refresh(&app, "gone").await;
    gone.down.store(true, Ordering::SeqCst);
    let answer = app.get("/api/v1/gpu/summary").await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text);
    assert_eq!(answer.body["clusters"]["gone"]["status"], "error");
    assert_eq!(answer.body["totals"]["gpus"], 0);
    assert_eq!(answer.body["totals"]["power_w"], 0.0);
    // A cluster whose discovery found no DCGM exporter is not asked.
    let plain = dcgm_fake("Hostname", vec![]).await;
    register(&app, cluster("plain", "hub", &plain.url)).await;
    refresh(&app, "plain").await;
    let answer = app.get("/api/v1/gpu/nodes?clusters=plain").await;
    assert_eq!(
        answer.body["clusters"]["plain"]["status"], "skipped",
        "{}",
        answer.text
    );
    assert_eq!(
        answer.body["clusters"]["plain"]["error"],
        "no DCGM exporter"
    );
}
