//! The fleet's cluster registry: CRUD and validation, filters and pages, credentials (sent,
//! encrypted, never answered), RBAC and persistence across a restart. Health, discovery and
//! events are in `fleet_health.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use axum::http::{Method, StatusCode};
use fleet_support::{HEALTHY, closed_port, cluster, fake_prometheus, refresh, register};
use pharos_server::ServerSettings;
use serde_json::{Value, json};

both_backends!(
    crud_with_validation_errors,
    |app: common::TestApp| async move {
        let url = closed_port().await;
        let created = register(
            &app,
            json!({"name": "hub-1", "type": "hub", "prometheus_url": url,
                "labels": {"env": "prod"}, "region": "eu-west"}),
        )
        .await;
        assert_eq!(created["name"], "hub-1");
        assert_eq!(created["type"], "hub");
        assert_eq!(created["labels"]["env"], "prod");
        assert_eq!(created["region"], "eu-west");
        assert_eq!(created["alertmanager_url"], Value::Null);
        assert_eq!(created["status"]["state"], "unknown");
        assert_eq!(created["capabilities"]["dcgm"], false);
        assert_eq!(created["credentials"], json!({"configured": false}));
        assert!(created["created_at"].is_string() && created["updated_at"].is_string());

        for (body, says) in [
            (cluster("Hub_1", "hub", &url), "not a valid cluster id"),
            (cluster(&"x".repeat(64), "hub", &url), "1 to 63"),
            (cluster("a", "moon", &url), "hub, spoke, edge or far_edge"),
            (cluster("a", "hub", "prometheus:9090"), "absolute http"),
            (cluster("a", "hub", "ftp://p"), "absolute http"),
            (
                json!({"name": "a", "type": "hub"}),
                "prometheus_url is required",
            ),
            (
                json!({"name": "a", "type": "hub", "prometheus_url": url, "colour": 1}),
                "unknown field",
            ),
        ] {
            let refused = app.post("/api/v1/clusters", body.clone()).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                refused.text
            );
            assert!(refused.message().contains(says), "{body}: {}", refused.text);
        }
        let duplicate = app
            .post("/api/v1/clusters", cluster("hub-1", "spoke", &url))
            .await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);
        assert!(duplicate.message().contains("already registered"));

        let changed = app
            .put(
                "/api/v1/clusters/hub-1",
                json!({"type": "spoke", "prometheus_url": url, "region": "us-east"}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["type"], "spoke");
        assert_eq!(changed.body["region"], "us-east");
        assert_eq!(
            changed.body["labels"],
            json!({}),
            "PUT replaces the labels too"
        );
        let renamed = app
            .put("/api/v1/clusters/hub-1", cluster("other", "hub", &url))
            .await;
        assert_eq!(renamed.status, StatusCode::BAD_REQUEST, "{}", renamed.text);
        let read = app.get("/api/v1/clusters/hub-1").await;
        assert_eq!(read.body["region"], "us-east");

        for (method, path) in [
            (Method::GET, "/api/v1/clusters/nope"),
            (Method::GET, "/api/v1/clusters/nope/status"),
            (Method::POST, "/api/v1/clusters/nope/refresh"),
            (Method::DELETE, "/api/v1/clusters/nope"),
        ] {
            let missing = app.send(method, path, Some(json!({})), &[]).await;
            assert_eq!(
                missing.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                missing.text
            );
        }
        let missing_put = app
            .put("/api/v1/clusters/nope", cluster("nope", "hub", &url))
            .await;
        assert_eq!(
            missing_put.status,
            StatusCode::NOT_FOUND,
            "{}",
            missing_put.text
        );

        assert_eq!(
            app.delete("/api/v1/clusters/hub-1").await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get("/api/v1/clusters/hub-1").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/api/v1/clusters").await.body["total"], 0);
    }
);

#[tokio::test]
async fn filters_and_pagination() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let url = closed_port().await;
    for (name, kind, region, env) in [
        ("a-hub", "hub", "eu", "prod"),
        ("b-spoke", "spoke", "eu", "prod"),
        ("c-spoke", "spoke", "us", "dev"),
        ("d-edge", "edge", "us", "prod"),
        ("e-far", "far_edge", "ap", "dev"),
    ] {
        register(
            &app,
            json!({"name": name, "type": kind, "prometheus_url": url, "region": region,
                "labels": {"env": env}}),
        )
        .await;
    }
    let names = |answer: &common::Answer| -> Vec<String> {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/clusters").await;
    assert_eq!(
        names(&all),
        ["a-hub", "b-spoke", "c-spoke", "d-edge", "e-far"]
    );
    assert_eq!(
        (all.body["total"].clone(), all.body["limit"].clone()),
        (json!(5), json!(100))
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?type=spoke").await),
        ["b-spoke", "c-spoke"]
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?region=us").await),
        ["c-spoke", "d-edge"]
    );
    assert_eq!(
        names(&app.get("/api/v1/clusters?label=env%3Dprod&region=eu").await),
        ["a-hub", "b-spoke"]
    );
    let healthy = app.get("/api/v1/clusters?status=healthy").await;
    assert_eq!(healthy.body["total"], 0, "{}", healthy.text);
    let page = app.get("/api/v1/clusters?limit=2&offset=1").await;
    assert_eq!(names(&page), ["b-spoke", "c-spoke"]);
    assert_eq!(page.body["total"], 5);
    assert_eq!(page.body["offset"], 1);
    for bad in [
        "limit=0",
        "limit=5000",
        "offset=-1",
        "type=moon",
        "label=env",
        "status=sad",
        "x=1",
    ] {
        let refused = app.get(&format!("/api/v1/clusters?{bad}")).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            refused.text
        );
    }
}

#[tokio::test]
async fn credentials_are_sent_encrypted_and_never_returned() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let fake = fake_prometheus(HEALTHY).await;
    register(&app, cluster("secured", "hub", &fake.url)).await;
    let path = "/api/v1/clusters/secured/credentials";
    for (body, says) in [
        (json!({"token": "x"}), "need a \"type\""),
        (json!({"type": "kerberos"}), "not known"),
        (json!({"type": "bearer"}), "malformed"),
        (json!({"type": "basic", "username": "u"}), "malformed"),
        (
            json!({"type": "mtls", "cert_pem": "x", "key_pem": "y"}),
            "not a PEM",
        ),
    ] {
        let refused = app.post(path, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            refused.text
        );
        assert!(refused.message().contains(says), "{body}: {}", refused.text);
        assert!(
            refused
                .message()
                .contains("{\"type\": \"bearer\", \"token\""),
            "{}",
            refused.text
        );
    }
    let missing = app
        .post(
            "/api/v1/clusters/nope/credentials",
            json!({"type": "bearer", "token": "t"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let set = app
        .post(path, json!({"type": "bearer", "token": "s3cr3t-t0ken"}))
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let refreshed = refresh(&app, "secured").await;
    assert_eq!(refreshed["status"]["state"], "healthy", "{refreshed}");
    assert_eq!(
        refreshed["credentials"],
        json!({"type": "bearer", "configured": true})
    );
    assert!(
        fake.authorizations
            .lock()
            .unwrap()
            .iter()
            .any(|a| a == "Bearer s3cr3t-t0ken"),
        "the token reached the cluster"
    );
    for read in [
        "/api/v1/clusters/secured",
        "/api/v1/clusters",
        "/api/v1/clusters/secured/status",
        "/api/v1/fleet/summary",
    ] {
        let answer = app.get(read).await;
        assert_eq!(answer.status, StatusCode::OK, "{read}");
        assert!(
            !answer.text.contains("s3cr3t"),
            "{read} leaks: {}",
            answer.text
        );
    }
    // Encrypted at rest.
    let raw = pharos_store::testing::raw_spec_column(
        app.state.resources.store(),
        &pharos_store::ResourceKey::global("ClusterCredentials", "secured"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!raw.contains("s3cr3t"), "stored in clear: {raw}");
    // Not served by the Perses resource routes either.
    let perses = app.get("/api/v1/clustercredentials").await;
    assert!(!perses.text.contains("s3cr3t"), "{}", perses.text);

    let basic = app
        .post(
            path,
            json!({"type": "basic", "username": "ops", "password": "pw"}),
        )
        .await;
    assert_eq!(basic.status, StatusCode::NO_CONTENT);
    refresh(&app, "secured").await;
    assert!(
        fake.authorizations
            .lock()
            .unwrap()
            .iter()
            .any(|a| a == "Basic b3BzOnB3"),
        "basic auth reached the cluster"
    );
    assert_eq!(
        app.get("/api/v1/clusters/secured").await.body["credentials"]["type"],
        "basic"
    );
}

#[tokio::test]
async fn permissions_follow_the_cluster_scope() {
    let app = common::TestApp::new(common::Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let url = closed_port().await;
    register(&app, cluster("guarded", "hub", &url)).await;
    let anonymous = app.anonymous(Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.text
    );
    let bob = app.user("bob").await;
    let as_bob = |method: Method, path: &'static str, body: Option<Value>| {
        let (app, bob) = (&app, bob.clone());
        async move { app.send_as(&bob, method, path, body).await }
    };
    for (method, path, body) in [
        (Method::GET, "/api/v1/clusters", None),
        (Method::GET, "/api/v1/clusters/guarded", None),
        (Method::GET, "/api/v1/clusters/guarded/status", None),
        (Method::GET, "/api/v1/fleet/summary", None),
        (Method::GET, "/api/v1/events", None),
        (
            Method::POST,
            "/api/v1/clusters",
            Some(cluster("mine", "hub", "http://x")),
        ),
        (Method::DELETE, "/api/v1/clusters/guarded", None),
    ] {
        let refused = as_bob(method, path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
        assert!(refused.message().contains("Cluster"), "{}", refused.text);
    }
    let role = app
        .post(
            "/api/v1/globalroles",
            json!({"kind": "GlobalRole", "metadata": {"name": "fleet-viewer"},
                "spec": {"permissions": [{"actions": ["read"], "scopes": ["Cluster"]}]}}),
        )
        .await;
    assert_eq!(role.status, StatusCode::OK, "{}", role.text);
    let binding = app
        .post(
            "/api/v1/globalrolebindings",
            json!({"kind": "GlobalRoleBinding", "metadata": {"name": "bob-fleet"},
                "spec": {"role": "fleet-viewer", "subjects": [{"kind": "User", "name": "bob"}]}}),
        )
        .await;
    assert_eq!(binding.status, StatusCode::OK, "{}", binding.text);
    let listed = as_bob(Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["total"], 1);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/clusters",
            Some(cluster("mine", "hub", "http://x")),
        ),
        (
            Method::PUT,
            "/api/v1/clusters/guarded",
            Some(cluster("guarded", "edge", "http://x")),
        ),
        (
            Method::POST,
            "/api/v1/clusters/guarded/credentials",
            Some(json!({"type": "bearer", "token": "t"})),
        ),
        (
            Method::POST,
            "/api/v1/clusters/guarded/refresh",
            Some(json!({})),
        ),
        (Method::DELETE, "/api/v1/clusters/guarded", None),
    ] {
        let refused = as_bob(method, path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
    }
}

both_backends!(
    clusters_survive_a_restart,
    |app: common::TestApp| async move {
        let fake = fake_prometheus(HEALTHY).await;
        register(
            &app,
            json!({"name": "kept", "type": "far_edge", "prometheus_url": fake.url,
                "labels": {"site": "ship-7"}}),
        )
        .await;
        let set = app
            .post(
                "/api/v1/clusters/kept/credentials",
                json!({"type": "bearer", "token": "keep-me"}),
            )
            .await;
        assert_eq!(set.status, StatusCode::NO_CONTENT);
        refresh(&app, "kept").await;
        let restarted = app.replica(ServerSettings::default());
        let kept = restarted.get("/api/v1/clusters/kept").await;
        assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
        assert_eq!(kept.body["type"], "far_edge");
        assert_eq!(kept.body["labels"]["site"], "ship-7");
        assert_eq!(
            kept.body["credentials"],
            json!({"type": "bearer", "configured": true})
        );
        assert_eq!(
            kept.body["capabilities"]["gpu_count"], 8,
            "capabilities are kept"
        );
        assert_eq!(
            kept.body["status"]["state"], "unknown",
            "health is per process"
        );
        fake.authorizations.lock().unwrap().clear();
        let checked = restarted
            .post("/api/v1/clusters/kept/refresh", json!({}))
            .await;
        assert_eq!(
            checked.body["status"]["state"], "healthy",
            "{}",
            checked.text
        );
        assert!(
            fake.authorizations
                .lock()
                .unwrap()
                .iter()
                .any(|a| a == "Bearer keep-me"),
            "the restarted server still decrypts the credentials"
        );
    }
);
