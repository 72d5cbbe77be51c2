//! Export (a standalone Perses document in JSON or YAML that can be applied again) and clone
//! (into the same or another project, with the caller's permissions), on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn dashboard() -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": "gpus"}, "spec": {
        "display": {"name": "GPUs"}, "duration": "1h", "layouts": [],
        "variables": [{"kind": "TextVariable", "spec": {"name": "ns", "value": "ml"}}],
        "panels": {"util": {"kind": "Panel", "spec": {"display": {"name": "Utilisation"},
            "plugin": {"kind": "TimeSeriesChart", "spec": {}},
            "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
                "spec": {"query": "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"$ns\"})"}}}}]}}}}})
}

async fn setup(app: &common::TestApp) {
    app.project("ml", &[]).await;
    app.project("research", &[]).await;
    let created = app
        .post("/api/v1/projects/ml/dashboards", dashboard())
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
}

both_backends!(
    exports_are_standalone_and_apply_again,
    |app: common::TestApp| async move {
        setup(&app).await;
        let json_export = app
            .get("/api/v1/projects/ml/dashboards/gpus/export?format=json")
            .await;
        assert_eq!(json_export.status, StatusCode::OK, "{}", json_export.text);
        assert!(
            json_export.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("ml-gpus.json")
        );
        let document = json_export.body.clone();
        assert_eq!(
            document["metadata"],
            json!({"name": "gpus", "project": "ml"})
        );
        assert_eq!(document["spec"], dashboard()["spec"]);

        let yaml_export = app
            .get("/api/v1/projects/ml/dashboards/gpus/export?format=yaml")
            .await;
        assert_eq!(yaml_export.status, StatusCode::OK);
        assert_eq!(yaml_export.headers["content-type"], "application/yaml");
        let from_yaml: Value = serde_saphyr::from_str(&yaml_export.text).unwrap();
        assert_eq!(from_yaml, document);

        // What `percli apply -f export.json` does on another server: delete here, then create it.
        assert_eq!(
            app.delete("/api/v1/projects/ml/dashboards/gpus")
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let applied = app.post("/api/v1/projects/ml/dashboards", document).await;
        assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
        assert_eq!(applied.body["spec"], dashboard()["spec"]);

        let bad = app
            .get("/api/v1/projects/ml/dashboards/gpus/export?format=xml")
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.message().contains("json or yaml"));
    }
);

both_backends!(
    clones_follow_the_name_rules_and_permissions,
    |app: common::TestApp| async move {
        setup(&app).await;
        let clone = |body: Value| {
            let app = &app;
            async move {
                app.post("/api/v1/projects/ml/dashboards/gpus/clone", body)
                    .await
            }
        };
        let copy = clone(json!({"name": "GPUs (copy for tuning)"})).await;
        assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.text);
        assert_eq!(copy.body["metadata"]["name"], "gpus-copy-for-tuning");
        assert_eq!(
            copy.body["spec"]["display"]["name"],
            "GPUs (copy for tuning)"
        );
        assert_eq!(copy.body["spec"]["panels"], dashboard()["spec"]["panels"]);
        let again = clone(json!({"name": "GPUs (copy for tuning)"})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

        let elsewhere = clone(json!({"name": "gpus", "project": "research"})).await;
        assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);
        assert_eq!(
            app.get("/api/v1/projects/research/dashboards/gpus")
                .await
                .status,
            StatusCode::OK
        );

        for (body, says) in [
            (json!({"name": ""}), "1 to 128 characters"),
            (json!({"name": "x".repeat(129)}), "1 to 128 characters"),
            (json!({"name": "ok", "folder": "f"}), "expected"),
            (json!({"name": "%%%"}), "no letters or digits"),
        ] {
            let refused = clone(body).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
            assert!(refused.message().contains(says), "{}", refused.text);
        }

        // A viewer of ml may not clone into research (no role there) nor into ml (no create).
        let _ = app.user("vera").await;
        let bound = app
            .post(
                "/api/v1/projects/ml/rolebindings",
                json!({"kind": "RoleBinding", "metadata": {"name": "vera-viewer"},
                   "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "vera"}]}}),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        let vera = app.login("vera", "vera-password").await;
        let as_vera = |body: Value| {
            let (app, vera) = (&app, vera.clone());
            async move {
                app.send(
                    Method::POST,
                    "/api/v1/projects/ml/dashboards/gpus/clone",
                    Some(body),
                    &[("authorization", &format!("Bearer {vera}"))],
                )
                .await
            }
        };
        let here = as_vera(json!({"name": "mine"})).await;
        assert_eq!(here.status, StatusCode::FORBIDDEN, "{}", here.text);
        let there = as_vera(json!({"name": "mine", "project": "research"})).await;
        assert_ne!(there.status, StatusCode::CREATED, "{}", there.text);
        // Export needs only read.
        let exported = app
            .send(
                Method::GET,
                "/api/v1/projects/ml/dashboards/gpus/export",
                None,
                &[("authorization", &format!("Bearer {vera}"))],
            )
            .await;
        assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    }
);
