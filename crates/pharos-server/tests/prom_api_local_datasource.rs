//! The `local` global datasource: created once as the default unless another global
//! Prometheus default exists, its URL kept in step with the listen port, user changes left
//! alone, and queries through the project proxy tenant-enforced like any Prometheus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use std::net::SocketAddr;

use axum::http::StatusCode;
use pharos_model::Kind;
use pharos_server::identity::Caller;
use pharos_server::prom_api::{LocalDatasourceOutcome, ensure_local_datasource};
use prom_api_support::PromApp;
use serde_json::{Value, json};

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

async fn local_document(app: &PromApp) -> Value {
    let answer = app.get("/api/v1/globaldatasources/local", &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

fn url_of(document: &Value) -> &str {
    document
        .pointer("/spec/plugin/spec/proxy/spec/url")
        .and_then(Value::as_str)
        .unwrap()
}

#[tokio::test]
async fn created_as_default_then_kept_in_step_with_the_port() {
    let app = PromApp::new().await;
    let state = &app.state;
    let created = ensure_local_datasource(state, addr("0.0.0.0:8080"))
        .await
        .unwrap();
    assert_eq!(created, LocalDatasourceOutcome::Created { default: true });
    let document = local_document(&app).await;
    assert_eq!(url_of(&document), "http://127.0.0.1:8080");
    assert_eq!(document["spec"]["default"], true);
    assert_eq!(document["spec"]["plugin"]["kind"], "PrometheusDatasource");
    // Perses' minimum step: without it a chart's newest point could be a minute old.
    assert_eq!(document["spec"]["plugin"]["spec"]["scrapeInterval"], "15s");

    let again = ensure_local_datasource(state, addr("127.0.0.1:8080"))
        .await
        .unwrap();
    assert_eq!(again, LocalDatasourceOutcome::Unchanged);

    let moved = ensure_local_datasource(state, addr("127.0.0.1:9191"))
        .await
        .unwrap();
    assert_eq!(
        moved,
        LocalDatasourceOutcome::UrlUpdated {
            previous: "http://127.0.0.1:8080".into()
        }
    );
    let document = local_document(&app).await;
    assert_eq!(url_of(&document), "http://127.0.0.1:9191");
    assert_eq!(document["spec"]["default"], true, "other settings are kept");
}

#[tokio::test]
async fn an_existing_global_prometheus_default_keeps_its_place() {
    let app = PromApp::new().await;
    let existing = json!({
        "kind": "GlobalDatasource",
        "metadata": {"name": "prod"},
        "spec": {
            "default": true,
            "plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": "http://prometheus:9090"}}
        }
    });
    app.state
        .resources
        .create(&Caller::system(), Kind::GlobalDatasource, None, existing)
        .await
        .unwrap();
    let outcome = ensure_local_datasource(&app.state, addr("127.0.0.1:8080"))
        .await
        .unwrap();
    assert_eq!(outcome, LocalDatasourceOutcome::Created { default: false });
    assert_eq!(local_document(&app).await["spec"]["default"], false);
}

#[tokio::test]
async fn a_user_repointed_local_datasource_is_left_alone() {
    let app = PromApp::new().await;
    ensure_local_datasource(&app.state, addr("127.0.0.1:8080"))
        .await
        .unwrap();
    let mut document = local_document(&app).await;
    *document
        .pointer_mut("/spec/plugin/spec/proxy/spec/url")
        .unwrap() = json!("http://thanos:9090");
    let updated = app
        .put_json("/api/v1/globaldatasources/local", &document)
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);

    let outcome = ensure_local_datasource(&app.state, addr("127.0.0.1:7000"))
        .await
        .unwrap();
    assert_eq!(outcome, LocalDatasourceOutcome::LeftAsConfigured);
    assert_eq!(url_of(&local_document(&app).await), "http://thanos:9090");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_through_the_project_proxy_see_only_the_tenant_namespaces() {
    let app = PromApp::new().await;
    app.append(&[
        (
            &[("__name__", "up"), ("namespace", "team-a"), ("pod", "a1")],
            1_000,
            1.0,
        ),
        (
            &[("__name__", "up"), ("namespace", "team-a"), ("pod", "a2")],
            1_000,
            1.0,
        ),
        (
            &[("__name__", "up"), ("namespace", "team-b"), ("pod", "b1")],
            1_000,
            1.0,
        ),
    ]);
    let (listen, server) = app.serve().await;
    ensure_local_datasource(&app.state, listen).await.unwrap();
    let project = json!({
        "kind": "Project",
        "metadata": {"name": "alpha"},
        "spec": {"display": {"name": "alpha"}, "namespaces": ["team-a"]}
    });
    app.state
        .resources
        .create(&Caller::system(), Kind::Project, None, project)
        .await
        .unwrap();

    let base = "/proxy/projects/alpha/globaldatasources/local/api/v1";
    let summed = app
        .get(
            &format!("{base}/query"),
            &[("query", "sum by (namespace) (up)"), ("time", "2")],
        )
        .await;
    assert_eq!(summed.status, StatusCode::OK, "{}", summed.text);
    assert_eq!(
        summed.body["data"]["result"],
        json!([{"metric": {"namespace": "team-a"}, "value": [2, "2"]}])
    );
    let asked_for_other_tenant = app
        .post_form(
            &format!("{base}/query"),
            &[("query", r#"count(up{namespace="team-b"})"#), ("time", "2")],
        )
        .await;
    assert_eq!(
        asked_for_other_tenant.body["data"]["result"][0]["value"][1], "2",
        "the matcher is replaced by the tenant's: {}",
        asked_for_other_tenant.text
    );
    let values = app
        .get(&format!("{base}/label/namespace/values"), &[])
        .await;
    assert_eq!(values.body["data"], json!(["team-a"]));
    // Unrestricted global route: everything.
    let everything = app
        .get(
            "/proxy/globaldatasources/local/api/v1/label/namespace/values",
            &[],
        )
        .await;
    assert_eq!(everything.body["data"], json!(["team-a", "team-b"]));
    server.abort();
}
