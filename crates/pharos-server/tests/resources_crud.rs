//! The Perses CRUD contract, for every kind, on SQLite and PostgreSQL: the session
//! `percli apply`/`get`/`delete` runs (POST, 409 → PUT, GET, DELETE).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

fn dashboard_spec(query: &str) -> Value {
    json!({
        "display": {"name": "Node"},
        "duration": "1h",
        "panels": {"up": {"kind": "Panel", "spec": {
            "display": {"name": "Up"},
            "plugin": {"kind": "TimeSeriesChart", "spec": {}},
            "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {"query": query}}}}]
        }}},
        "layouts": [{"kind": "Grid", "spec": {"display": {"title": "Main", "collapse": {"open": true}},
            "items": [{"x": 0, "y": 0, "width": 12, "height": 6, "content": {"$ref": "#/spec/panels/up"}}]}}]
    })
}

fn prometheus_spec(url: &str, default: bool) -> Value {
    json!({"default": default, "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}})
}

/// One sample per kind: (kind, collection path, item name, spec v1, spec v2).
fn samples() -> Vec<(&'static str, &'static str, &'static str, Value, Value)> {
    let mut ephemeral = dashboard_spec("up");
    ephemeral["ttl"] = json!("1h");
    let mut ephemeral2 = dashboard_spec("up == 1");
    ephemeral2["ttl"] = json!("2h");
    vec![
        (
            "Dashboard",
            "/api/v1/projects/demo/dashboards",
            "node",
            dashboard_spec("up"),
            dashboard_spec("up == 0"),
        ),
        (
            "EphemeralDashboard",
            "/api/v1/projects/demo/ephemeraldashboards",
            "preview",
            ephemeral,
            ephemeral2,
        ),
        (
            "Datasource",
            "/api/v1/projects/demo/datasources",
            "prom",
            prometheus_spec("http://127.0.0.1:9090", false),
            prometheus_spec("http://127.0.0.1:9091", false),
        ),
        (
            "GlobalDatasource",
            "/api/v1/globaldatasources",
            "gprom",
            prometheus_spec("http://127.0.0.1:9090", false),
            prometheus_spec("http://127.0.0.1:9092", false),
        ),
        (
            "Variable",
            "/api/v1/projects/demo/variables",
            "env",
            json!({"kind": "TextVariable", "spec": {"value": "prod"}}),
            json!({"kind": "TextVariable", "spec": {"value": "dev"}}),
        ),
        (
            "GlobalVariable",
            "/api/v1/globalvariables",
            "region",
            json!({"kind": "TextVariable", "spec": {"value": "eu"}}),
            json!({"kind": "TextVariable", "spec": {"value": "us"}}),
        ),
        (
            "Secret",
            "/api/v1/projects/demo/secrets",
            "creds",
            json!({"basicAuth": {"username": "u", "password": "p1"}}),
            json!({"basicAuth": {"username": "u2", "password": "p2"}}),
        ),
        (
            "GlobalSecret",
            "/api/v1/globalsecrets",
            "gcreds",
            json!({"authorization": {"type": "Bearer", "credentials": "t1"}}),
            json!({"authorization": {"type": "Bearer", "credentials": "t2"}}),
        ),
        (
            "Folder",
            "/api/v1/projects/demo/folders",
            "ops",
            json!({"items": [{"kind": "Dashboard", "name": "node"}]}),
            json!({"items": []}),
        ),
    ]
}

both_backends!(
    percli_session_for_every_kind,
    |app: common::TestApp| async move {
        app.project("demo", &[]).await;
        for (kind, collection, name, spec1, spec2) in samples() {
            let mut doc = json!({"kind": kind, "metadata": {"name": name}, "spec": spec1});
            if collection.contains("/projects/") {
                doc["metadata"]["project"] = json!("demo");
            }
            let created = app.post(collection, doc.clone()).await;
            assert_eq!(
                created.status,
                StatusCode::OK,
                "{kind} create: {}",
                created.text
            );
            assert_eq!(created.body["metadata"]["version"], 0, "{kind}");
            assert!(created.body["metadata"]["createdAt"].is_string(), "{kind}");

            let again = app.post(collection, doc.clone()).await;
            assert_eq!(again.status, StatusCode::CONFLICT, "{kind} duplicate");
            assert_eq!(again.message(), "document already exists");

            let item = format!("{collection}/{name}");
            doc["spec"] = spec2.clone();
            let updated = app.put(&item, doc.clone()).await;
            assert_eq!(
                updated.status,
                StatusCode::OK,
                "{kind} update: {}",
                updated.text
            );
            assert_eq!(updated.body["metadata"]["version"], 1, "{kind}");
            assert_eq!(
                updated.body["metadata"]["createdAt"], created.body["metadata"]["createdAt"],
                "{kind}"
            );

            let read = app.get(&item).await;
            assert_eq!(read.status, StatusCode::OK, "{kind} get");
            if kind.ends_with("Secret") {
                let text = read.text.clone();
                assert!(
                    !text.contains("p2") && !text.contains("t2"),
                    "{kind} secret leaked: {text}"
                );
                assert!(text.contains("<secret>"), "{kind}: {text}");
            } else {
                assert_eq!(read.body["spec"], spec2, "{kind} spec read back");
            }

            let listed = app.get(collection).await;
            assert_eq!(listed.status, StatusCode::OK);
            assert!(
                listed
                    .body
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["metadata"]["name"] == name),
                "{kind} listed"
            );

            let deleted = app.delete(&item).await;
            assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{kind} delete");
            assert!(deleted.text.is_empty());
            assert_eq!(
                app.get(&item).await.status,
                StatusCode::NOT_FOUND,
                "{kind} gone"
            );
            let put_missing = app.put(&item, doc).await;
            assert_eq!(
                put_missing.status,
                StatusCode::NOT_FOUND,
                "{kind} PUT on missing is not an upsert"
            );
        }
    }
);

both_backends!(
    flat_routes_take_the_project_from_the_body,
    |app: common::TestApp| async move {
        app.project("alpha", &[]).await;
        app.project("beta", &[]).await;
        for project in ["alpha", "beta"] {
            let doc = json!({"kind": "Dashboard", "metadata": {"name": "d", "project": project}, "spec": dashboard_spec("up")});
            assert_eq!(
                app.post("/api/v1/dashboards", doc).await.status,
                StatusCode::OK
            );
        }
        let all = app.get("/api/v1/dashboards").await;
        assert_eq!(all.body.as_array().unwrap().len(), 2);
        let beta = app.get("/api/v1/dashboards?project=beta").await;
        assert_eq!(beta.body.as_array().unwrap().len(), 1);
        assert_eq!(beta.body[0]["metadata"]["project"], "beta");

        let no_project = app
        .post("/api/v1/dashboards", json!({"kind": "Dashboard", "metadata": {"name": "x"}, "spec": dashboard_spec("up")}))
        .await;
        assert_eq!(no_project.status, StatusCode::BAD_REQUEST);
        assert!(
            no_project
                .message()
                .contains("metadata.project cannot be empty"),
            "{}",
            no_project.text
        );
    }
);

both_backends!(
    names_are_case_insensitive_by_default,
    |app: common::TestApp| async move {
        app.project("Team-A", &[]).await;
        let created = app
        .post(
            "/api/v1/projects/TEAM-A/dashboards",
            json!({"kind": "dashboard", "metadata": {"name": "MyDash"}, "spec": dashboard_spec("up")}),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        assert_eq!(created.body["kind"], "Dashboard", "kind normalised");
        assert_eq!(created.body["metadata"]["name"], "mydash");
        assert_eq!(created.body["metadata"]["project"], "team-a");
        assert_eq!(
            app.get("/api/v1/projects/team-a/dashboards/MYDASH")
                .await
                .status,
            StatusCode::OK
        );
    }
);

both_backends!(list_filters, |app: common::TestApp| async move {
    app.project("demo", &[]).await;
    for name in ["cpu-usage", "cpu_load", "memory"] {
        let doc =
            json!({"kind": "Dashboard", "metadata": {"name": name}, "spec": dashboard_spec("up")});
        assert_eq!(
            app.post("/api/v1/projects/demo/dashboards", doc)
                .await
                .status,
            StatusCode::OK
        );
    }
    let cpu = app.get("/api/v1/projects/demo/dashboards?name=cpu").await;
    let names: Vec<_> = cpu
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("cpu-usage"), json!("cpu_load")]);
    // `_` is a literal in the prefix, not a LIKE wildcard.
    let underscore = app.get("/api/v1/projects/demo/dashboards?name=cpu_").await;
    assert_eq!(underscore.body.as_array().unwrap().len(), 1);

    let meta = app
        .get("/api/v1/projects/demo/dashboards?metadata_only=true")
        .await;
    for doc in meta.body.as_array().unwrap() {
        assert_eq!(doc["spec"], json!({}));
        assert!(doc["metadata"]["updatedAt"].is_string());
    }

    for (name, default, url) in [("a", true, "http://a:9090"), ("b", false, "http://b:9090")] {
        let doc = json!({"kind": "Datasource", "metadata": {"name": name}, "spec": prometheus_spec(url, default)});
        assert_eq!(
            app.post("/api/v1/projects/demo/datasources", doc)
                .await
                .status,
            StatusCode::OK
        );
    }
    let defaults = app
        .get("/api/v1/projects/demo/datasources?default=true")
        .await;
    assert_eq!(defaults.body.as_array().unwrap().len(), 1);
    assert_eq!(defaults.body[0]["metadata"]["name"], "a");
    let by_kind = app
        .get("/api/v1/projects/demo/datasources?kind=PrometheusDatasource")
        .await;
    assert_eq!(by_kind.body.as_array().unwrap().len(), 2);
    let other_kind = app
        .get("/api/v1/projects/demo/datasources?kind=TempoDatasource")
        .await;
    assert_eq!(other_kind.body.as_array().unwrap().len(), 0);

    let second_default = app
        .post("/api/v1/projects/demo/datasources", json!({"kind": "Datasource", "metadata": {"name": "c"}, "spec": prometheus_spec("http://c:9090", true)}))
        .await;
    assert_eq!(second_default.status, StatusCode::BAD_REQUEST);
    assert!(
        second_default.message().contains("already a default"),
        "{}",
        second_default.text
    );
});

both_backends!(
    deleting_a_project_cascades,
    |app: common::TestApp| async move {
        app.project("gone", &[]).await;
        let doc =
            json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": dashboard_spec("up")});
        assert_eq!(
            app.post("/api/v1/projects/gone/dashboards", doc)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.delete("/api/v1/projects/gone").await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get("/api/v1/projects/gone").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/api/v1/dashboards").await.body, json!([]));
        // Recreating the project does not resurrect its old dashboards.
        app.project("gone", &[]).await;
        assert_eq!(
            app.get("/api/v1/projects/gone/dashboards").await.body,
            json!([])
        );
    }
);

both_backends!(
    secrets_stay_secret_across_a_round_trip,
    |app: common::TestApp| async move {
        app.project("demo", &[]).await;
        let doc = json!({"kind": "Secret", "metadata": {"name": "s"}, "spec": {"basicAuth": {"username": "admin", "password": "hunter2"}}});
        let created = app.post("/api/v1/projects/demo/secrets", doc).await;
        assert_eq!(created.body["spec"]["basicAuth"]["password"], "<secret>");
        // A client saving back what it read (with the placeholder) keeps the real password...
        let mut read = app.get("/api/v1/projects/demo/secrets/s").await.body;
        read["spec"]["basicAuth"]["username"] = json!("root");
        assert_eq!(
            app.put("/api/v1/projects/demo/secrets/s", read)
                .await
                .status,
            StatusCode::OK
        );
        let raw = app
            .state
            .resources
            .load_raw(pharos_model::Kind::Secret, Some("demo"), "s")
            .await
            .unwrap()
            .unwrap();
        let spec = raw.spec.unwrap();
        assert_eq!(spec["basicAuth"]["password"], "hunter2");
        assert_eq!(spec["basicAuth"]["username"], "root");
        let listed = app.get("/api/v1/projects/demo/secrets").await;
        assert!(!listed.text.contains("hunter2"), "{}", listed.text);
    }
);

both_backends!(
    ephemeral_dashboards_expire,
    |app: common::TestApp| async move {
        app.project("demo", &[]).await;
        let mut spec = dashboard_spec("up");
        // Long enough that the read right after the create sees it even on a loaded machine.
        spec["ttl"] = json!("2s");
        let doc =
            json!({"kind": "EphemeralDashboard", "metadata": {"name": "short"}, "spec": spec});
        assert_eq!(
            app.post("/api/v1/projects/demo/ephemeraldashboards", doc)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.get("/api/v1/projects/demo/ephemeraldashboards/short")
                .await
                .status,
            StatusCode::OK
        );
        // Expiry is a condition to wait for (with a deadline), not a time to sleep.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let status = app
                .get("/api/v1/projects/demo/ephemeraldashboards/short")
                .await
                .status;
            if status == StatusCode::NOT_FOUND {
                break;
            }
            assert_eq!(status, StatusCode::OK, "before it expires it is readable");
            assert!(
                std::time::Instant::now() < deadline,
                "a 2 s TTL has not expired after 15 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            app.get("/api/v1/projects/demo/ephemeraldashboards")
                .await
                .body,
            json!([])
        );
        let removed = app
            .state
            .resources
            .housekeeping(std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(removed, 1);
    }
);
