//! System templates (list, read, create a dashboard from one with its variables) and Perses'
//! `POST /api/migrate` for Grafana dashboards, as `percli migrate --online` sends it, on SQLite
//! and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const GRAFANA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/grafana"
);

fn grafana(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{GRAFANA}/{file}")).unwrap()).unwrap()
}

both_backends!(
    templates_are_listed_read_and_instantiated,
    |app: common::TestApp| async move {
        app.project("ml", &["ml-serving"]).await;
        let listed = app.get("/api/v1/templates").await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        let ids: Vec<&str> = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        for id in [
            "model-serving-kserve",
            "llm-serving-vllm",
            "training-job",
            "gpu-fleet",
        ] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        let vllm = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "llm-serving-vllm")
            .unwrap();
        assert_eq!(vllm["category"], "llm-serving");
        assert_eq!(vllm["source"], "system");
        assert!(vllm.get("dashboard").is_none(), "lists carry no dashboards");
        assert!(vllm["panels"].as_array().unwrap().len() >= 6);

        let gpus = app.get("/api/v1/templates?category=gpu").await;
        assert_eq!(gpus.status, StatusCode::OK);
        assert!(
            gpus.body
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["category"] == "gpu")
        );
        assert!(!gpus.body.as_array().unwrap().is_empty());
        let bad = app.get("/api/v1/templates?category=gpus").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.message().contains("model-serving"), "{}", bad.text);

        let one = app.get("/api/v1/templates/llm-serving-vllm").await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(one.body["dashboard"]["kind"], "Dashboard");
        let missing = app.get("/api/v1/templates/no-such-template").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            missing.text.contains("llm-serving-vllm"),
            "{}",
            missing.text
        );

        let path = "/api/v1/projects/ml/dashboards/from-template";
        let created = app
            .post(
                path,
                json!({"template_id": "llm-serving-vllm", "name": "chat-serving",
                "variables": {"namespace": "ml-serving", "model": "llama-3-8b"}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.body["metadata"]["name"], "chat-serving");
        assert_eq!(created.body["metadata"]["project"], "ml");
        let stored = app.get("/api/v1/projects/ml/dashboards/chat-serving").await;
        assert_eq!(stored.status, StatusCode::OK);
        let model = stored.body["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["spec"]["name"] == "model")
            .unwrap();
        assert_eq!(model["spec"]["defaultValue"], "llama-3-8b");
        // Saved like any dashboard: it has a history.
        let history = app
            .get("/api/v1/projects/ml/dashboards/chat-serving/versions")
            .await;
        assert_eq!(history.status, StatusCode::OK, "{}", history.text);

        let again = app
            .post(
                path,
                json!({"template_id": "llm-serving-vllm", "name": "chat-serving",
                "variables": {"namespace": "ml-serving", "model": "x"}}),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
        let display = app
            .post(
                path,
                json!({"template_id": "gpu-fleet", "name": "Our GPUs"}),
            )
            .await;
        assert_eq!(display.status, StatusCode::CREATED, "{}", display.text);
        assert_eq!(display.body["metadata"]["name"], "our-gpus");
        assert_eq!(display.body["spec"]["display"]["name"], "Our GPUs");

        for (body, says) in [
            (
                json!({"template_id": "training-job", "name": "t1", "variables": {"namespace": "ml"}}),
                "\"job\" is required",
            ),
            (
                json!({"template_id": "training-job", "name": "t2", "variables": {"namespace": "ml", "job": 3}}),
                "must be",
            ),
            (
                json!({"template_id": "training-job", "name": "t3", "variables": {"namespace": "ml", "job": "j", "pod": "p"}}),
                "no variable \"pod\"",
            ),
            (json!({"template_id": "nope", "name": "t4"}), "no template"),
            (json!({"template_id": "gpu-fleet", "name": ""}), "1 to 128"),
            (
                json!({"template_id": "gpu-fleet", "name": "x".repeat(129)}),
                "1 to 128",
            ),
            (json!({"template": "gpu-fleet", "name": "t5"}), "expected"),
        ] {
            let refused = app.post(path, body.clone()).await;
            assert!(
                matches!(
                    refused.status,
                    StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                ),
                "{body}: {} {}",
                refused.status,
                refused.text
            );
            assert!(refused.message().contains(says), "{body}: {}", refused.text);
        }
        // Nothing half-stored.
        for name in ["t1", "t2", "t3", "t4", "t5"] {
            let gone = app
                .get(&format!("/api/v1/projects/ml/dashboards/{name}"))
                .await;
            assert_eq!(gone.status, StatusCode::NOT_FOUND, "{name}");
        }

        // Creating from a template needs the right to create a dashboard there.
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
        let refused = app
            .send_as(
                &vera,
                Method::POST,
                path,
                Some(json!({"template_id": "gpu-fleet", "name": "vera-gpus"})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let listed = app
            .send_as(&vera, Method::GET, "/api/v1/templates", None)
            .await;
        assert_eq!(
            listed.status,
            StatusCode::OK,
            "anyone signed in sees the templates"
        );
        let anonymous = app.anonymous(Method::GET, "/api/v1/templates", None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    grafana_dashboards_migrate_as_percli_asks,
    |app: common::TestApp| async move {
        app.project("ml", &[]).await;
        // `percli migrate -f dcgm.json --online`: the body Perses' client sends.
        let answer = app
            .post(
                "/api/migrate",
                json!({"input": {}, "grafanaDashboard": grafana("nvidia-dcgm-exporter.json"),
                "useDefaultDatasource": false}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["kind"], "Dashboard");
        assert_eq!(answer.body["metadata"]["project"], "");
        let panels = answer.body["spec"]["panels"].as_object().unwrap();
        assert_eq!(panels.len(), 8);
        assert!(answer.text.contains("DCGM_FI_DEV_GPU_TEMP"));
        // Nothing was stored.
        let listed = app.get("/api/v1/projects/ml/dashboards").await;
        assert_eq!(listed.body.as_array().unwrap().len(), 0);

        // The UI asks for the loss report, then saves the dashboard like `percli apply`.
        let reported = app
            .post(
                "/api/migrate?report=true",
                json!({"grafanaDashboard": grafana("kuberay-operator.json")}),
            )
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
        let losses = reported.body["losses"].as_array().unwrap();
        assert!(!losses.is_empty());
        assert!(
            losses.iter().all(|l| l["location"].is_string()
                && l["what"].is_string()
                && l["why"].is_string())
        );
        let mut dashboard = reported.body["dashboard"].clone();
        dashboard["metadata"]["project"] = json!("ml");
        let name = dashboard["metadata"]["name"].as_str().unwrap().to_owned();
        let saved = app
            .post("/api/v1/projects/ml/dashboards", dashboard.clone())
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        // `percli apply` again: 409, then PUT.
        let again = app
            .post("/api/v1/projects/ml/dashboards", dashboard.clone())
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let put = app
            .put(&format!("/api/v1/projects/ml/dashboards/{name}"), dashboard)
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);

        for (body, says) in [
            (json!({}), "grafanaDashboard is required"),
            (
                json!({"grafanaDashboard": {"title": "x", "rows": [], "schemaVersion": 3}}),
                "schema",
            ),
            (json!({"grafanaDashboard": [1, 2]}), "dashboard"),
            (
                json!({"grafanaDashboard": {"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
                "spec": {"elements": {}}}}),
                "v2",
            ),
            (
                json!({"grafanaDashboard": {}, "input": {"A": 1}}),
                "expected",
            ),
        ] {
            let refused = app.post("/api/migrate", body.clone()).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                refused.text
            );
            assert!(refused.message().contains(says), "{body}: {}", refused.text);
        }
        let anonymous = app
            .anonymous(
                Method::POST,
                "/api/migrate",
                Some(json!({"grafanaDashboard": {}})),
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
);

fn saved_template(name: &str, category: &str) -> Value {
    json!({"kind": "Template", "metadata": {"name": name}, "spec": {
        "display": {"name": "Our model server", "description": "Latency and errors of our KServe models"},
        "category": category, "workloadKinds": ["InferenceService"],
        "dashboard": {"display": {"name": "Serving"}, "duration": "1h", "layouts": [],
            "variables": [{"kind": "TextVariable", "spec": {"name": "model", "value": "llm-chat"}}],
            "panels": {"p95": {"kind": "Panel", "spec": {"display": {"name": "p95"},
                "plugin": {"kind": "TimeSeriesChart", "spec": {}},
                "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
                    "spec": {"query": "histogram_quantile(0.95, sum by (le) (rate(request_predict_seconds_bucket{model_name=\"$model\"}[5m])))"}}}}]}}}}}})
}

both_backends!(
    saved_templates_have_dashboard_rules_permissions_and_history,
    |app: common::TestApp| async move {
        app.project("ml", &["ml-serving"]).await;
        app.project("research", &[]).await;
        let created = app
            .post(
                "/api/v1/projects/ml/templates",
                saved_template("our-serving", "model-serving"),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);

        // Validated like a dashboard, inside `spec.dashboard`.
        let mut broken = saved_template("broken", "model-serving");
        broken["spec"]["dashboard"]["panels"]["p95"]["spec"]["plugin"]["kind"] =
            json!("NoSuchChart");
        let refused = app.post("/api/v1/projects/ml/templates", broken).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert!(
            refused.text.contains("spec.dashboard.panels.p95"),
            "{}",
            refused.text
        );
        let refused = app
            .post(
                "/api/v1/projects/ml/templates",
                saved_template("bad-category", "gpus"),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        let mut empty = saved_template("no-dashboard", "custom");
        empty["spec"].as_object_mut().unwrap().remove("dashboard");
        let refused = app.post("/api/v1/projects/ml/templates", empty).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        for name in ["broken", "bad-category", "no-dashboard"] {
            let gone = app
                .get(&format!("/api/v1/projects/ml/templates/{name}"))
                .await;
            assert_eq!(gone.status, StatusCode::NOT_FOUND, "{name}");
        }

        // In the catalogue with the system ones, filtered by category.
        let listed = app.get("/api/v1/templates?category=model-serving").await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        let ours = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "our-serving")
            .expect("the project template is listed")
            .clone();
        assert_eq!(ours["source"], "project");
        assert_eq!(ours["project"], "ml");
        assert_eq!(ours["title"], "Our model server");
        assert_eq!(ours["variables"][0]["name"], "model");
        assert_eq!(ours["panels"][0]["title"], "p95");
        assert!(
            listed
                .body
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["source"] == "system")
        );

        // Edits keep a history, as for dashboards.
        let mut edited = saved_template("our-serving", "model-serving");
        edited["spec"]["display"]["name"] = json!("Our model server v2");
        let put = app
            .put("/api/v1/projects/ml/templates/our-serving", edited)
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
        let versions = app
            .get("/api/v1/projects/ml/templates/our-serving/versions")
            .await;
        assert_eq!(versions.status, StatusCode::OK, "{}", versions.text);
        assert_eq!(
            versions.body.as_array().unwrap().len(),
            2,
            "{}",
            versions.text
        );
        let first = app
            .get("/api/v1/projects/ml/templates/our-serving/versions/0")
            .await;
        assert_eq!(first.body["spec"]["display"]["name"], "Our model server");

        let read = app.get("/api/v1/templates/our-serving?project=ml").await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.body["source"], "project");
        assert_eq!(
            read.body["dashboard"]["spec"]["panels"]["p95"]["spec"]["display"]["name"],
            "p95"
        );
        // Without the project it is neither a system nor a global template.
        assert_eq!(
            app.get("/api/v1/templates/our-serving").await.status,
            StatusCode::NOT_FOUND
        );

        // A dashboard from it, in another project.
        let made = app
            .post("/api/v1/projects/research/dashboards/from-template",
                json!({"template_id": "our-serving", "template_project": "ml", "name": "serving-copy",
                    "variables": {"model": "reranker"}}))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert_eq!(
            made.body["spec"]["variables"][0]["spec"]["value"],
            "reranker"
        );

        // A global template: created by an administrator, seen by every signed-in user.
        let mut global = saved_template("fleet-serving", "model-serving");
        global["kind"] = json!("GlobalTemplate");
        let created = app.post("/api/v1/globaltemplates", global.clone()).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
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
        let seen = app
            .send_as(&vera, Method::GET, "/api/v1/templates", None)
            .await;
        let ids: Vec<&str> = seen
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"fleet-serving") && ids.contains(&"our-serving"),
            "{ids:?}"
        );
        let one = app
            .send_as(&vera, Method::GET, "/api/v1/templates/fleet-serving", None)
            .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.text);
        assert_eq!(one.body["source"], "global");
        assert_eq!(one.body["dashboard"]["spec"]["display"]["name"], "Serving");
        // A viewer may not save templates, here or globally.
        global["metadata"]["name"] = json!("vera-global");
        let refused = app
            .send_as(&vera, Method::POST, "/api/v1/globaltemplates", Some(global))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let refused = app
            .send_as(
                &vera,
                Method::POST,
                "/api/v1/projects/ml/templates",
                Some(saved_template("vera-t", "custom")),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        // Someone without a role in ml does not see its templates.
        let mallory = app.user("mallory").await;
        let seen = app
            .send_as(&mallory, Method::GET, "/api/v1/templates", None)
            .await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
        assert!(
            seen.body
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != "our-serving"),
            "{}",
            seen.text
        );
        let hidden = app
            .send_as(
                &mallory,
                Method::POST,
                "/api/v1/projects/research/dashboards/from-template",
                Some(json!({"template_id": "our-serving", "template_project": "ml", "name": "x"})),
            )
            .await;
        assert_ne!(hidden.status, StatusCode::CREATED, "{}", hidden.text);

        let deleted = app
            .delete("/api/v1/projects/ml/templates/our-serving")
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        let listed = app.get("/api/v1/templates").await;
        assert!(
            listed
                .body
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != "our-serving")
        );
    }
);
