//! Server-level endpoints: config, health probes, metrics, OpenAPI, validation, view.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;

both_backends!(probes_config_and_docs, |app: common::TestApp| async move {
    let health = app.get("/api/v1/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["database"], true);
    assert!(health.body["version"].is_string());
    assert_eq!(
        app.get("/health").await.body["checks"]["database"]["status"],
        "up"
    );
    assert_eq!(app.get("/ready").await.status, StatusCode::OK);
    assert_eq!(app.get("/live").await.status, StatusCode::OK);

    let config = app.get("/api/config").await;
    for pointer in [
        "/security/readonly",
        "/security/authentication/providers/enable_native",
        "/datasource/global/disable",
        "/variable/project/disable",
        "/frontend/explorer/enable",
        "/ephemeral_dashboard/enable",
        "/database/sql/case_sensitive",
    ] {
        assert!(
            config.body.pointer(pointer).is_some(),
            "/api/config lacks {pointer}: {}",
            config.text
        );
    }
    assert_eq!(app.get("/api/v1/plugins").await.body, json!([]));

    let spec = app.get("/api/docs/openapi.json").await;
    assert_eq!(spec.status, StatusCode::OK);
    for path in [
        "/api/v1/projects/{project}/dashboards/{name}",
        "/api/v1/globaldatasources",
        "/proxy/projects/{project}/datasources/{name}/{path}",
        "/api/v1/projects/{project}/dashboards/{name}/versions",
        "/api/v1/query_range",
        "/api/v1/write",
    ] {
        assert!(
            spec.body["paths"].get(path).is_some(),
            "OpenAPI lacks {path}"
        );
    }
    let ui = app.get("/api/docs/").await;
    assert_eq!(ui.status, StatusCode::OK, "swagger UI");
    assert!(ui.text.to_lowercase().contains("swagger"));

    // Traffic shows up in /metrics by route template.
    let metrics = app.get("/metrics").await;
    assert!(
        metrics.text.contains("pharos_http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("route=\"/api/v1/health\""));
});

both_backends!(validate_and_view, |app: common::TestApp| async move {
    app.project("demo", &[]).await;
    let good = json!({"kind": "Dashboard", "metadata": {"name": "d", "project": "demo"}, "spec": {"panels": {}, "layouts": []}});
    let valid = app.post("/api/validate/dashboards", good.clone()).await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.text);
    assert_eq!(
        app.get("/api/v1/dashboards").await.body,
        json!([]),
        "validate stores nothing"
    );
    let bad = json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": {"panels": {}, "layouts": [{"kind": "Grid", "spec": {"items": [{"x": 0, "y": 0, "width": 1, "height": 1, "content": {"$ref": "#/spec/panels/nope"}}]}}]}});
    let invalid = app.post("/api/validate/dashboards", bad).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.message().contains("nope"));
    assert_eq!(
        app.post("/api/validate/widgets", good.clone()).await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        app.post("/api/v1/projects/demo/dashboards", good)
            .await
            .status,
        StatusCode::OK
    );
    let view = app.send(Method::POST, "/api/v1/view", Some(json!({"project": "demo", "dashboard": "d", "render_time": 0.3, "render_errors": 0})), &[]).await;
    assert_eq!(view.status, StatusCode::OK);
    let unknown = app
        .post(
            "/api/v1/view",
            json!({"project": "demo", "dashboard": "zzz"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
});
