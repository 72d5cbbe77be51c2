//! Tenant enforcement against a REAL Prometheus (started by `scripts/peers.sh`) that holds
//! `team-a`, `team-b` and `team-c` data. Needs `PHAROS_TEST_PROMETHEUS_URL`; fails instead
//! of skipping when `PHAROS_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use pharos_server::{ServerSettings, config::ConflictPolicy};
use serde_json::{Value, json};

/// End of the backfilled data set (2026-01-01T00:00:00Z), see `testdata/peers/`.
const DATA_END: i64 = 1_767_225_600;

fn prometheus_url() -> Option<String> {
    common::peer_url("PROMETHEUS")
}

async fn app(prometheus: &str, on_conflict: ConflictPolicy) -> common::TestApp {
    let mut settings = ServerSettings::default();
    settings.tenancy.on_conflict = on_conflict;
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    app.project("team-a", &["team-a"]).await;
    app.project("platform", &["team-a", "team-b"]).await;
    app.project("admin", &[]).await;
    let datasource = json!({"kind": "GlobalDatasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": prometheus}}}}}});
    assert_eq!(
        app.post("/api/v1/globaldatasources", datasource.clone())
            .await
            .status,
        StatusCode::OK
    );
    for project in ["team-a", "platform", "admin"] {
        let mut local = datasource.clone();
        local["kind"] = json!("Datasource");
        let created = app
            .post(&format!("/api/v1/projects/{project}/datasources"), local)
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    }
    app
}

fn namespaces(answer: &common::Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["status"], "success", "{}", answer.text);
    let mut out: Vec<String> = answer.body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["metric"]["namespace"]
                .as_str()
                .unwrap_or("<none>")
                .to_owned()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn up_through_team_a_returns_only_team_a_series() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app(&prometheus, ConflictPolicy::Replace).await;

    let direct = app
        .get("/proxy/projects/admin/datasources/prom/api/v1/query?query=up")
        .await;
    let all = namespaces(&direct);
    assert!(
        all.contains(&"team-a".to_owned()) && all.contains(&"team-b".to_owned()),
        "Prometheus holds both: {all:?}"
    );

    let team_a = app
        .get("/proxy/projects/team-a/datasources/prom/api/v1/query?query=up")
        .await;
    assert_eq!(namespaces(&team_a), vec!["team-a"]);
    let via_global = app
        .get("/proxy/projects/team-a/globaldatasources/prom/api/v1/query?query=up")
        .await;
    assert_eq!(namespaces(&via_global), vec!["team-a"]);

    let other = app.get("/proxy/projects/team-a/datasources/prom/api/v1/query?query=up%7Bnamespace%3D%22team-b%22%7D").await;
    assert_eq!(
        namespaces(&other),
        vec!["team-a"],
        "the conflicting matcher is replaced: never team-b data"
    );

    let platform = app
        .get("/proxy/projects/platform/datasources/prom/api/v1/query?query=up")
        .await;
    assert_eq!(namespaces(&platform), vec!["team-a", "team-b"]);
    let platform_b = app.get("/proxy/projects/platform/datasources/prom/api/v1/query?query=up%7Bnamespace%3D%22team-b%22%7D").await;
    assert_eq!(
        namespaces(&platform_b),
        vec!["team-b"],
        "multi-value policies AND the query's own matcher"
    );
}

#[tokio::test]
async fn conflicting_matchers_are_refused_in_error_mode() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app(&prometheus, ConflictPolicy::Error).await;
    let refused = app.get("/proxy/projects/team-a/datasources/prom/api/v1/query?query=up%7Bnamespace%3D%22team-b%22%7D").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.message().contains("team-b"), "{}", refused.text);
    let compatible = app.get("/proxy/projects/team-a/datasources/prom/api/v1/query?query=up%7Bnamespace%3D~%22team-.*%22%7D").await;
    assert_eq!(namespaces(&compatible), vec!["team-a"]);
}

#[tokio::test]
async fn range_queries_series_and_label_values_stay_inside_the_tenant() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app(&prometheus, ConflictPolicy::Replace).await;
    let base = "/proxy/projects/team-a/datasources/prom";

    // The Perses Prometheus plugin POSTs form-encoded range queries.
    let form = format!(
        "query={}&start={}&end={DATA_END}&step=60",
        url::form_urlencoded::byte_serialize(
            b"sum by (namespace) (rate(pharos_test_requests_total[5m]))"
        )
        .collect::<String>(),
        DATA_END - 3600
    );
    let request = axum::http::Request::post(format!("{base}/api/v1/query_range"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .unwrap();
    let range = app.send_raw(request).await;
    assert_eq!(namespaces(&range), vec!["team-a"]);
    let values = range.body["data"]["result"][0]["values"]
        .as_array()
        .unwrap();
    assert_eq!(values.len(), 61);
    // team-a has index 0: its two pods grow at 1/s and 2/s.
    let rate: f64 = values[30][1].as_str().unwrap().parse().unwrap();
    assert!((rate - 3.0).abs() < 1e-6, "rate {rate}");

    let label_values = app
        .get(&format!("{base}/api/v1/label/namespace/values"))
        .await;
    assert_eq!(label_values.status, StatusCode::OK, "{}", label_values.text);
    assert_eq!(label_values.body["data"], json!(["team-a"]));

    let series = app
        .get(&format!(
            "{base}/api/v1/series?match%5B%5D=pharos_test_queue_depth&start={}&end={DATA_END}",
            DATA_END - 600
        ))
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text);
    let found: Vec<&Value> = series.body["data"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 2, "two team-a pods: {}", series.text);
    assert!(found.iter().all(|s| s["namespace"] == "team-a"));
}

/// Writes one sample `pharos_tenancy_probe{namespace, <label_name>="x"}` (now) into the peer.
async fn write_probe(prometheus: &str, namespace: &str, label_name: &str) {
    use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label::new("__name__", "pharos_tenancy_probe"),
                Label::new(label_name, "x"),
                Label::new("namespace", namespace),
            ],
            samples: vec![Sample {
                value: 1.0,
                timestamp: now_ms,
            }],
            histograms: vec![],
        }],
        metadata: vec![],
    };
    let response = reqwest::Client::new()
        .post(format!("{prometheus}/api/v1/write"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(encode_write_request(&request).unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "remote write into the peer: {}",
        response.status()
    );
}

fn label_names(answer: &common::Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of label names: {}", answer.text))
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn label_names_stay_inside_the_tenant() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app(&prometheus, ConflictPolicy::Replace).await;
    // A label name that only a team-b series carries (unique per run: the peer is shared).
    let only_team_b = format!(
        "only_team_b_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    write_probe(&prometheus, "team-b", &only_team_b).await;
    let labels = |project: &'static str| {
        let app = &app;
        async move {
            let path = format!("/proxy/projects/{project}/datasources/prom/api/v1/labels");
            label_names(&app.get(&path).await)
        }
    };

    // Without a tenant filter the name is listed: the probe is there to be leaked.
    let all = labels("admin").await;
    assert!(all.contains(&only_team_b), "unfiltered: {all:?}");
    let platform = labels("platform").await;
    assert!(
        platform.contains(&only_team_b),
        "team-a + team-b: {platform:?}"
    );

    let team_a = labels("team-a").await;
    assert!(
        team_a.contains(&"namespace".to_owned()),
        "team-a still sees its own label names: {team_a:?}"
    );
    assert!(
        !team_a.contains(&only_team_b),
        "team-a must not see a label name only team-b has: {team_a:?}"
    );
    let values = app
        .get(&format!(
            "/proxy/projects/team-a/datasources/prom/api/v1/label/{only_team_b}/values"
        ))
        .await;
    assert_eq!(values.status, StatusCode::OK, "{}", values.text);
    assert_eq!(values.body["data"], json!([]), "{}", values.text);
}
