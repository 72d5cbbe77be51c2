//! Alert thresholds and states on charts, against the real Prometheus of `scripts/peers.sh`,
//! which evaluates one rule, `TenantTargetUp: up{job="tenant-a"} > 0.5`, firing from its first
//! evaluation on team-a's series.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::{Backend, TestApp};
use pharos_server::ServerSettings;
use serde_json::{Value, json};

fn prometheus_url() -> Option<String> {
    common::peer_url("PROMETHEUS")
}

fn panel(query: &str) -> Value {
    json!({"kind": "Panel", "spec": {"display": {"name": query},
        "plugin": {"kind": "TimeSeriesChart", "spec": {}},
        "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
            "spec": {"query": query}}}}]}})
}

async fn project_with_dashboard(app: &TestApp, project: &str, prometheus: &str) {
    app.project(project, &[project]).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": prometheus}}}}}});
    let created = app
        .post(
            &format!("/api/v1/projects/{project}/datasources"),
            datasource,
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "targets"}, "spec": {
    "duration": "15m", "layouts": [],
    "panels": {
        // The rule's expression, spelled differently.
        "up": panel("up{ job = 'tenant-a' }"),
        "other": panel("rate(prometheus_http_requests_total[1m])"),
    }}});
    let created = app
        .post(&format!("/api/v1/projects/{project}/dashboards"), dashboard)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
}

#[tokio::test]
async fn a_rule_on_a_panels_expression_draws_its_threshold_and_firing_interval() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    project_with_dashboard(&app, "team-a", &prometheus).await;
    project_with_dashboard(&app, "team-b", &prometheus).await;
    // The rule fires from its first evaluation, one second after Prometheus started.
    let mut answer = Value::Null;
    for _ in 0..20 {
        answer = app
            .get("/api/v1/projects/team-a/dashboards/targets/alerts?range=15m")
            .await
            .body;
        if answer["overlays"][0]["state"] == "firing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let overlays = answer["overlays"].as_array().expect("overlays");
    assert_eq!(
        overlays.len(),
        1,
        "only the panel on the rule's expression: {answer}"
    );
    let overlay = &overlays[0];
    assert_eq!(overlay["panel"], "up");
    assert_eq!(overlay["rule"], "TenantTargetUp");
    assert_eq!(overlay["op"], ">");
    assert_eq!(overlay["threshold"], 0.5);
    assert_eq!(overlay["state"], "firing", "{answer}");
    let interval = &overlay["intervals"][0];
    assert_eq!(interval["state"], "firing");
    assert!(interval["end"].as_i64().unwrap() >= interval["start"].as_i64().unwrap());
    assert_eq!(
        overlay["annotations"]["summary"]
            .as_str()
            .map(|s| s.contains("tenant-a")),
        Some(true)
    );

    // team-b's chart of the same expression gets the threshold, but none of team-a's alerts.
    let other = app
        .get("/api/v1/projects/team-b/dashboards/targets/alerts?range=15m")
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    let overlay = &other.body["overlays"][0];
    assert_eq!(overlay["rule"], "TenantTargetUp");
    assert_eq!(overlay["intervals"], json!([]), "{}", other.text);
    assert_eq!(overlay["state"], "inactive");

    // A user who cannot read the project learns nothing.
    let stranger = app.user("mallory").await;
    let hidden = app
        .send(
            axum::http::Method::GET,
            "/api/v1/projects/team-a/dashboards/targets/alerts",
            None,
            &[("authorization", &format!("Bearer {stranger}"))],
        )
        .await;
    assert_ne!(hidden.status, StatusCode::OK);
    assert!(!hidden.text.contains("TenantTargetUp"));
}
