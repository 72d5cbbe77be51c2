//! Bad input gets a clear 4xx and leaves nothing behind; optimistic concurrency, version
//! history and the trash (our additions to the Perses contract).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::{Value, json};

fn dashboard(name: &str, query: &str) -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": name}, "spec": {
        "duration": "1h",
        "panels": {"p": {"kind": "Panel", "spec": {"display": {"name": "P"}, "plugin": {"kind": "TimeSeriesChart", "spec": {}},
            "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {"query": query}}}}]}}},
        "layouts": [{"kind": "Grid", "spec": {"items": [{"x": 0, "y": 0, "width": 6, "height": 4, "content": {"$ref": "#/spec/panels/p"}}]}}]
    }})
}

/// How many dashboards the list shows; a failed list call fails the test (it is not "0").
async fn count_dashboards(app: &common::TestApp) -> usize {
    let listed = app.get("/api/v1/dashboards").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed
        .body
        .as_array()
        .unwrap_or_else(|| panic!("the list is a JSON array: {}", listed.text))
        .len()
}

both_backends!(
    bad_input_is_refused_clearly_and_nothing_is_stored,
    |app: common::TestApp| async move {
        app.project("demo", &[]).await;
        let path = "/api/v1/projects/demo/dashboards";

        let no_json = app
            .send(
                Method::POST,
                path,
                Some(dashboard("a", "up")),
                &[("content-type", "text/plain")],
            )
            .await;
        assert_eq!(no_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(no_json.message().contains("application/json"));

        let malformed = app
            .send_raw(
                Request::post(path)
                    .header("content-type", "application/json")
                    .body(Body::from("{\"kind\": "))
                    .unwrap(),
            )
            .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(
            malformed.message().contains("not valid JSON"),
            "{}",
            malformed.text
        );

        let unknown_project = app
            .post("/api/v1/projects/nope/dashboards", dashboard("a", "up"))
            .await;
        assert_eq!(unknown_project.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            unknown_project.message(),
            "bad request: metadata.project \"nope\" doesn't exist"
        );
        let list_unknown = app.get("/api/v1/projects/nope/dashboards").await;
        assert_eq!(list_unknown.status, StatusCode::BAD_REQUEST);

        let bad_name = app.post(path, dashboard("f o o", "up")).await;
        assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
        assert!(
            bad_name.message().contains("is not a correct name"),
            "{}",
            bad_name.text
        );

        let wrong_kind = app
            .post(
                path,
                json!({"kind": "Datasource", "metadata": {"name": "x"}, "spec": {}}),
            )
            .await;
        assert_eq!(
            wrong_kind.status,
            StatusCode::BAD_REQUEST,
            "{}",
            wrong_kind.text
        );

        let mut broken = dashboard("broken", "up");
        broken["spec"]["panels"]["p"]["spec"]["plugin"]["kind"] = json!("FooChart");
        broken["spec"]["layouts"][0]["spec"]["items"][0]["content"]["$ref"] =
            json!("#/spec/panels/missing");
        broken["spec"]["duration"] = json!("an hour");
        let invalid = app.post(path, broken).await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        let paths: Vec<&str> = invalid.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(
            paths.len() >= 3,
            "every problem is reported: {}",
            invalid.text
        );
        assert!(invalid.message().contains("FooChart"), "{}", invalid.text);
        assert!(invalid.message().contains("missing"), "{}", invalid.text);

        let mut unknown_field = dashboard("extra", "up");
        unknown_field["metadata"]["colour"] = json!("red");
        let extra = app.post(path, unknown_field).await;
        assert_eq!(extra.status, StatusCode::BAD_REQUEST);
        assert!(extra.message().contains("colour"), "{}", extra.text);

        let huge = "x".repeat(5 * 1024 * 1024);
        let too_big = app.post(path, json!({"kind": "Dashboard", "metadata": {"name": "big"}, "spec": {"display": {"name": huge}}})).await;
        assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(too_big.message().contains("max_body_bytes"));

        assert_eq!(
            count_dashboards(&app).await,
            0,
            "no failed request left anything behind"
        );

        assert_eq!(
            app.post(path, dashboard("ok", "up")).await.status,
            StatusCode::OK
        );
        let mismatch = app
            .put(&format!("{path}/other"), dashboard("ok", "up"))
            .await;
        assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
        assert!(mismatch.message().contains("don't match"));
        let mut invalid_update = dashboard("ok", "up");
        invalid_update["spec"]["layouts"] = json!("not an array");
        assert_eq!(
            app.put(&format!("{path}/ok"), invalid_update).await.status,
            StatusCode::BAD_REQUEST
        );
        let stored = app.get(&format!("{path}/ok")).await;
        assert_eq!(
            stored.body["metadata"]["version"], 0,
            "a refused update changes nothing"
        );

        let unknown_route = app.get("/api/v1/widgets").await;
        assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
        assert!(unknown_route.message().contains("/api/v1/widgets"));
    }
);

both_backends!(optimistic_concurrency, |app: common::TestApp| async move {
    app.project("demo", &[]).await;
    let path = "/api/v1/projects/demo/dashboards";
    let item = format!("{path}/d");
    assert_eq!(
        app.post(path, dashboard("d", "up")).await.status,
        StatusCode::OK
    );

    let first = app.get(&item).await;
    let etag = first
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let ok = app
        .send(
            Method::PUT,
            &item,
            Some(dashboard("d", "up == 1")),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let new_etag = ok.headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);

    // A second tab still holding the old ETag is refused and nothing is overwritten.
    let stale = app
        .send(
            Method::PUT,
            &item,
            Some(dashboard("d", "up == 2")),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(stale.message().contains("reload"), "{}", stale.text);
    assert_eq!(
        stale.headers.get("etag").unwrap().to_str().unwrap(),
        new_etag
    );
    let stale_delete = app
        .send(Method::DELETE, &item, None, &[("if-match", &etag)])
        .await;
    assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);

    // The Perses UI sends back metadata.version: an older one is a 409.
    let mut old = first.body.clone();
    old["spec"]["duration"] = json!("6h");
    let conflict = app.put(&item, old).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(
        conflict.message().contains("changed by someone else"),
        "{}",
        conflict.text
    );
    assert_eq!(
        app.get(&item).await.body["spec"]["panels"]["p"]["spec"]["queries"][0]["spec"]["plugin"]["spec"]
            ["query"],
        "up == 1"
    );

    // Clients that send neither keep Perses's last-write-wins.
    let blind = app.put(&item, dashboard("d", "up == 3")).await;
    assert_eq!(blind.status, StatusCode::OK);
    assert_eq!(blind.body["metadata"]["version"], 2);

    let bad_header = app
        .send(
            Method::PUT,
            &item,
            Some(dashboard("d", "up")),
            &[("if-match", "banana")],
        )
        .await;
    assert_eq!(bad_header.status, StatusCode::BAD_REQUEST);
});

both_backends!(
    version_history_and_restore,
    |app: common::TestApp| async move {
        app.project("demo", &[]).await;
        let path = "/api/v1/projects/demo/dashboards";
        assert_eq!(
            app.post(path, dashboard("d", "q0")).await.status,
            StatusCode::OK
        );
        for i in 1..=3 {
            assert_eq!(
                app.put(&format!("{path}/d"), dashboard("d", &format!("q{i}")))
                    .await
                    .status,
                StatusCode::OK
            );
        }
        let versions = app.get(&format!("{path}/d/versions")).await;
        assert_eq!(versions.status, StatusCode::OK, "{}", versions.text);
        let numbers: Vec<u64> = versions
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, vec![3, 2, 1, 0]);
        assert_eq!(versions.body[0]["current"], true);

        let v1 = app.get(&format!("{path}/d/versions/1")).await;
        assert_eq!(
            v1.body["spec"]["panels"]["p"]["spec"]["queries"][0]["spec"]["plugin"]["spec"]["query"],
            "q1"
        );
        assert_eq!(
            app.get(&format!("{path}/d/versions/42")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("{path}/d/versions/x")).await.status,
            StatusCode::BAD_REQUEST
        );

        let restored = app
            .send(
                Method::POST,
                &format!("{path}/d/versions/1/restore"),
                None,
                &[],
            )
            .await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
        assert_eq!(
            restored.body["metadata"]["version"], 4,
            "restoring makes a new version"
        );
        let current = app.get(&format!("{path}/d")).await;
        assert_eq!(
            current.body["spec"]["panels"]["p"]["spec"]["queries"][0]["spec"]["plugin"]["spec"]["query"],
            "q1"
        );
    }
);

both_backends!(trash_restore_and_purge, |app: common::TestApp| async move {
    app.project("demo", &[]).await;
    let path = "/api/v1/projects/demo/dashboards";
    assert_eq!(
        app.post(path, dashboard("d", "up")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.put(&format!("{path}/d"), dashboard("d", "up == 1"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("{path}/d")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("{path}/d")).await.status,
        StatusCode::NOT_FOUND
    );

    let trash = app.get("/api/v1/projects/demo/trash/dashboards").await;
    assert_eq!(trash.status, StatusCode::OK, "{}", trash.text);
    assert_eq!(trash.body.as_array().unwrap().len(), 1);
    assert_eq!(trash.body[0]["metadata"]["name"], "d");
    assert!(trash.body[0]["trash"]["purgeAt"].is_string());

    let restored = app
        .send(
            Method::POST,
            "/api/v1/projects/demo/trash/dashboards/d/restore",
            None,
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    let back = app.get(&format!("{path}/d")).await;
    assert_eq!(
        back.body["spec"]["panels"]["p"]["spec"]["queries"][0]["spec"]["plugin"]["spec"]["query"],
        "up == 1"
    );
    assert_eq!(
        app.get("/api/v1/projects/demo/trash/dashboards").await.body,
        json!([])
    );

    // Restoring onto a live name is a conflict; purging removes it for good.
    assert_eq!(
        app.delete(&format!("{path}/d")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(path, dashboard("d", "new")).await.status,
        StatusCode::OK
    );
    let clash = app
        .send(
            Method::POST,
            "/api/v1/projects/demo/trash/dashboards/d/restore",
            None,
            &[],
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(
        app.delete("/api/v1/projects/demo/trash/dashboards/d")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/projects/demo/trash/dashboards").await.body,
        json!([])
    );
    assert_eq!(
        app.delete("/api/v1/projects/demo/trash/dashboards/d")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
});
