//! The deterministic analysis API over the embedded store: `POST /api/v1/analysis/anomaly`
//! finds an injected spike with its start and end and nothing in the quiet series, reads only
//! what the caller may (a project member gets their namespace, or 403 without a project), and
//! refuses bad input with what to send; `POST /api/v1/analysis/rca` answers JSON or a
//! Markdown report.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use pharos_query::{LocalMetrics, QueryOptions};
use pharos_server::router;
use pharos_tsdb::{Db, Labels, Options};
use serde_json::{Value, json};

const STEP_MS: i64 = 60_000;
/// The spike: from 40 to 25 minutes ago.
const SPIKE: (i64, i64) = (40, 25);

/// Three hours of a noisy queue depth for two tenants; team-a's spikes for 15 minutes.
fn with_series(mut app: common::TestApp) -> (common::TestApp, tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let now = pharos_query::now_ms();
    let end = now - now.rem_euclid(STEP_MS);
    let mut appender = db.appender();
    for namespace in ["team-a", "team-b"] {
        let labels = Labels::new([("__name__", "queue_depth"), ("namespace", namespace)]).unwrap();
        for i in 0..180 {
            let t = end - (180 - i) * STEP_MS;
            let minutes_ago = (end - t) / STEP_MS;
            // Deterministic noise around 10.
            let noise = ((i * 7919) % 13) as f64 / 6.0 - 1.0;
            let spiking = namespace == "team-a" && minutes_ago <= SPIKE.0 && minutes_ago > SPIKE.1;
            let value = if spiking { 80.0 + noise } else { 10.0 + noise };
            appender.append(&labels, t, value).unwrap();
        }
    }
    appender.commit().unwrap();
    app.state = app
        .state
        .clone()
        .with_metrics(Arc::new(LocalMetrics::new(db, QueryOptions::default())));
    app.app = router(app.state.clone());
    (app, dir, end)
}

fn anomaly_request(query: &str, extra: Value) -> Value {
    let mut body = json!({"query": query, "start": "now-150m", "step": "60s"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

both_backends!(
    anomalies_are_found_where_they_are_and_only_for_who_may_see_them,
    |app: common::TestApp| async move {
        let (app, _dir, end) = with_series(app);
        let answer = app
            .post(
                "/api/v1/analysis/anomaly",
                anomaly_request("queue_depth", json!({})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let anomalies = answer.body["anomalies"].as_array().unwrap();
        assert!(!anomalies.is_empty(), "{}", answer.text);
        for anomaly in anomalies {
            assert_eq!(
                anomaly["labels"]["namespace"], "team-a",
                "team-b is quiet: {anomaly}"
            );
            for field in ["start", "end", "score", "method", "summary"] {
                assert!(!anomaly[field].is_null(), "{field} missing: {anomaly}");
            }
        }
        // The strongest one covers the spike: it starts within two steps of it.
        let strongest = &anomalies[0];
        let spike_start = (end - SPIKE.0 * STEP_MS) as f64 / 1000.0;
        let start = strongest["start"].as_f64().unwrap();
        assert!(
            (start - spike_start).abs() <= 120.0,
            "started at {start}, the spike at {spike_start}: {strongest}"
        );
        assert_eq!(answer.body["series"], 2);

        // Bad input says what to send.
        let bad = app
            .post(
                "/api/v1/analysis/anomaly",
                anomaly_request("sum(", json!({})),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
        assert!(
            bad.message().contains("parse error") || bad.message().contains("PromQL"),
            "{}",
            bad.text
        );
        let shape = app
            .post("/api/v1/analysis/anomaly", json!({"promql": "up"}))
            .await;
        assert_eq!(shape.status, StatusCode::BAD_REQUEST);
        assert!(shape.message().contains("\"query\""), "{}", shape.text);
        let reversed = app
            .post(
                "/api/v1/analysis/anomaly",
                json!({"query": "queue_depth", "start": "now", "end": "now-1h"}),
            )
            .await;
        assert_eq!(reversed.status, StatusCode::BAD_REQUEST);

        // A member of team-a: 403 without the project, team-a only with it.
        app.project("team-a", &["team-a"]).await;
        let bob = app.user("bob").await;
        let bound = app
            .post(
                "/api/v1/projects/team-a/rolebindings",
                json!({"kind": "RoleBinding", "metadata": {"name": "bob-viewer"},
                    "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "bob"}]}}),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        let refused = app
            .send_as(
                &bob,
                Method::POST,
                "/api/v1/analysis/anomaly",
                Some(anomaly_request(
                    "queue_depth{namespace=\"team-b\"}",
                    json!({}),
                )),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let own = app
            .send_as(
                &bob,
                Method::POST,
                "/api/v1/analysis/anomaly",
                Some(anomaly_request(
                    "queue_depth{namespace=\"team-b\"}",
                    json!({"project": "team-a"}),
                )),
            )
            .await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        assert_eq!(own.body["series"], 1, "enforced to team-a: {}", own.text);
        assert!(
            own.body["anomalies"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["labels"]["namespace"] == "team-a")
        );
    }
);

#[tokio::test]
async fn root_cause_reports_come_as_json_or_markdown() {
    let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
        .await
        .unwrap();
    let (app, _dir, _end) = with_series(app);
    let json_report = app
        .post("/api/v1/analysis/rca", json!({"start": "now-2h"}))
        .await;
    assert_eq!(json_report.status, StatusCode::OK, "{}", json_report.text);
    for field in ["window", "suspects", "incidents", "report_markdown"] {
        assert!(
            !json_report.body[field].is_null(),
            "{field}: {}",
            json_report.text
        );
    }
    let markdown = app
        .post(
            "/api/v1/analysis/rca",
            json!({"start": "now-2h", "format": "markdown"}),
        )
        .await;
    assert_eq!(markdown.status, StatusCode::OK);
    assert!(
        markdown.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    assert!(
        markdown.text.starts_with("# Root-cause analysis"),
        "{}",
        markdown.text
    );
    let pdf = app
        .post("/api/v1/analysis/rca", json!({"format": "pdf"}))
        .await;
    assert_eq!(pdf.status, StatusCode::BAD_REQUEST);
    assert!(pdf.message().contains("markdown"), "{}", pdf.text);
    let long = app
        .post("/api/v1/analysis/rca", json!({"start": "now-20d"}))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST, "{}", long.text);
}

#[tokio::test]
async fn the_background_detector_publishes_new_anomalies_of_its_watch_list() {
    let mut settings = pharos_server::ServerSettings::default();
    // A watch list of one signal: the spiking tenant's queue depth.
    settings.assistant.detector.watch = Some(
        serde_json::from_value(json!({
            "signals": [{
                "name": "queue_depth",
                "query": "queue_depth",
                "entity": "other",
                "entity_labels": ["namespace"],
                "methods": ["seasonal_zscore", "level_shift"],
            }]
        }))
        .unwrap(),
    );
    settings.assistant.detector.interval = std::time::Duration::from_secs(10);
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let (app, _dir, _end) = with_series(app);
    let mut events = app
        .state
        .fleet
        .bus()
        .subscribe(vec![pharos_fleet::Topic::Anomalies]);
    let (_ready_tx, ready) = tokio::sync::watch::channel(true);
    let detector = pharos_server::assistant::spawn_detector(app.state.clone(), ready)
        .expect("enabled with an embedded store");
    // Two scans (at once and 10 s later): every anomaly is published once.
    let mut published = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let pharos_fleet::Received::Event(event) = events.next().await {
                published.push(serde_json::to_value(&*event).unwrap());
            }
        }
    })
    .await;
    assert!(
        !published.is_empty(),
        "no ANOMALY_DETECTED event within 15 s"
    );
    for body in &published {
        assert_eq!(body["type"], "ANOMALY_DETECTED", "{body}");
        assert_eq!(body["data"]["labels"]["namespace"], "team-a", "{body}");
        assert_eq!(body["data"]["signal"], "queue_depth", "{body}");
    }
    let mut keys: Vec<String> = published
        .iter()
        .map(|b| format!("{}", b["data"]["method"]))
        .collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(
        keys.len(),
        before,
        "an anomaly was published twice: {published:?}"
    );
    detector.abort();
}
