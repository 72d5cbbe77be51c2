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
    match std::env::var("PHAROS_TEST_PROMETHEUS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PHAROS_REQUIRE_PEERS").as_deref() != Ok("1"),
                "PHAROS_REQUIRE_PEERS=1 but PHAROS_TEST_PROMETHEUS_URL is not set: start the peers with scripts/peers.sh"
            );
            eprintln!("PHAROS_TEST_PROMETHEUS_URL not set: real-Prometheus test skipped");
            None
        }
    }
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

    let labels = app.get(&format!("{base}/api/v1/labels")).await;
    assert_eq!(labels.status, StatusCode::OK, "{}", labels.text);
    assert!(
        labels.body["data"]
            .as_array()
            .unwrap()
            .contains(&json!("namespace"))
    );
}
