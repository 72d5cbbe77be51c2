//! Datasource proxy mechanics against a recording upstream (an HTTP server that answers
//! with what it received): routes, allowed endpoints, header and secret injection, tenant
//! rewrite of query strings and form bodies, and upstream failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use pharos_server::ServerSettings;
use serde_json::{Value, json};

fn datasource(kind: &str, name: &str, proxy_spec: Value) -> Value {
    json!({"kind": kind, "metadata": {"name": name}, "spec": {"plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": proxy_spec}}}}})
}

fn decoded(form: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect()
}

async fn app_with(settings: ServerSettings) -> common::TestApp {
    common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap()
}

#[tokio::test]
async fn headers_and_secrets_are_injected_and_client_credentials_stay_here() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    app.project("demo", &[]).await;
    let secret = json!({"kind": "Secret", "metadata": {"name": "prom-auth"}, "spec": {"basicAuth": {"username": "u", "password": "p"}}});
    assert_eq!(
        app.post("/api/v1/projects/demo/secrets", secret)
            .await
            .status,
        StatusCode::OK
    );
    let spec = json!({"url": format!("{upstream}/prefix"), "secret": "prom-auth",
        "headers": {"X-Scope-OrgID": "tenant-1", "Authorization": "Bearer sneaky"}});
    assert_eq!(
        app.post(
            "/api/v1/projects/demo/datasources",
            datasource("Datasource", "prom", spec)
        )
        .await
        .status,
        StatusCode::OK
    );

    // The caller's own Pharos credentials (bearer token and session cookie) must not travel
    // to the upstream.
    let bearer = format!("Bearer {}", app.admin_token);
    let seen = app
        .send(
            Method::GET,
            "/proxy/projects/demo/datasources/prom/api/v1/query?query=up",
            None,
            &[("cookie", "jwtSignature=abc"), ("authorization", &bearer)],
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert_eq!(
        common::echo(&seen)["path"],
        "/prefix/api/v1/query",
        "the datasource URL path is kept as a prefix"
    );
    assert_eq!(
        common::forwarded_param(&seen, "query").as_deref(),
        Some("up")
    );
    let headers = &common::echo(&seen)["headers"];
    assert_eq!(
        headers["authorization"], "Basic dTpw",
        "secret injected, not the client's or the spec's"
    );
    assert_eq!(headers["x-scope-orgid"], "tenant-1");
    assert!(headers.get("cookie").is_none(), "cookies are not forwarded");
    assert!(
        headers.get("x-pharos-internal").is_none(),
        "the internal credential only goes to this server itself"
    );
}

#[tokio::test]
async fn allowed_endpoints_are_enforced() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    let spec = json!({"url": upstream, "allowedEndpoints": [{"endpointPattern": "/api/v1/(query|query_range)", "method": "POST"}]});
    assert_eq!(
        app.post(
            "/api/v1/globaldatasources",
            datasource("GlobalDatasource", "g", spec)
        )
        .await
        .status,
        StatusCode::OK
    );
    let allowed = app
        .send(
            Method::POST,
            "/proxy/globaldatasources/g/api/v1/query",
            Some(json!({})),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    let wrong_method = app
        .get("/proxy/globaldatasources/g/api/v1/query?query=up")
        .await;
    assert_eq!(wrong_method.status, StatusCode::FORBIDDEN);
    assert_eq!(
        wrong_method.message(),
        "forbidden access: you are not allowed to use this endpoint \"/api/v1/query\" with the HTTP method GET"
    );
    let missing = app.get("/proxy/globaldatasources/nope/api/v1/query").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.message().contains("nope"));
}

#[tokio::test]
async fn tenant_queries_are_rewritten_in_query_strings_and_form_bodies() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    app.project("team-a", &["team-a"]).await;
    assert_eq!(
        app.post(
            "/api/v1/projects/team-a/datasources",
            datasource("Datasource", "prom", json!({"url": upstream}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let base = "/proxy/projects/team-a/datasources/prom";

    let get = app
        .get(&format!(
            "{base}/api/v1/query?query=sum(rate(x%7Bnamespace%3D%22team-b%22%7D%5B5m%5D))&time=1"
        ))
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text);
    assert_eq!(
        common::forwarded_param(&get, "query").as_deref(),
        Some("sum(rate(x{namespace=\"team-a\"}[5m]))")
    );
    assert_eq!(common::forwarded_param(&get, "time").as_deref(), Some("1"));

    // An empty POST is refused as Prometheus refuses it: no query.
    let post = app
        .send(
            Method::POST,
            &format!("{base}/api/v1/query_range"),
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(post.status, StatusCode::BAD_REQUEST, "{}", post.text);
    assert_eq!(post.body["errorType"], "bad_data");
    let form = axum::http::Request::post(format!("{base}/api/v1/query_range"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("query=up&start=1&end=2&step=1"))
        .unwrap();
    let post = app.send_raw(form).await;
    assert_eq!(
        common::forwarded_param(&post, "query").as_deref(),
        Some("up{namespace=\"team-a\"}")
    );

    let series = app.get(&format!("{base}/api/v1/series?start=1")).await;
    let params = decoded(series.body["query"].as_str().unwrap());
    assert!(
        params.contains(&("match[]".to_owned(), "{namespace=\"team-a\"}".to_owned())),
        "{params:?}"
    );
    let values = app
        .get(&format!("{base}/api/v1/label/job/values?match%5B%5D=up"))
        .await;
    let params = decoded(values.body["query"].as_str().unwrap());
    assert_eq!(
        params,
        vec![("match[]".to_owned(), "up{namespace=\"team-a\"}".to_owned())]
    );

    let refused = app.get(&format!("{base}/api/v1/status/config")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unparsable = app.get(&format!("{base}/api/v1/query?query=sum(")).await;
    assert_eq!(unparsable.status, StatusCode::BAD_REQUEST);
    assert!(unparsable.message().contains("tenant enforcement"));
    let negative_at = app
        .get(&format!("{base}/api/v1/query?query=up%20%40%20-100"))
        .await;
    assert_eq!(
        negative_at.status,
        StatusCode::BAD_REQUEST,
        "{}",
        negative_at.text
    );
    let json_post = app
        .send(
            Method::POST,
            &format!("{base}/api/v1/query"),
            Some(json!({"query": "up"})),
            &[],
        )
        .await;
    assert_eq!(json_post.status, StatusCode::BAD_REQUEST);
    assert!(json_post.message().contains("x-www-form-urlencoded"));

    // The same global datasource used through the project is enforced too.
    assert_eq!(
        app.post(
            "/api/v1/globaldatasources",
            datasource("GlobalDatasource", "shared", json!({"url": upstream}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let via_project = app
        .get("/proxy/projects/team-a/globaldatasources/shared/api/v1/query?query=up")
        .await;
    assert_eq!(
        common::forwarded_param(&via_project, "query").as_deref(),
        Some("up{namespace=\"team-a\"}")
    );
}

#[tokio::test]
async fn dashboard_local_and_unsaved_datasources() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    app.project("team-a", &["team-a"]).await;
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": {
        "panels": {}, "layouts": [],
        "datasources": {"local": {"default": true, "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}}}}
    }});
    assert_eq!(
        app.post("/api/v1/projects/team-a/dashboards", dashboard)
            .await
            .status,
        StatusCode::OK
    );
    let local = app
        .get("/proxy/projects/team-a/dashboards/d/datasources/local/api/v1/query?query=up")
        .await;
    assert_eq!(local.status, StatusCode::OK, "{}", local.text);
    assert_eq!(
        common::forwarded_param(&local, "query").as_deref(),
        Some("up{namespace=\"team-a\"}")
    );

    let unsaved = json!({"method": "GET", "spec": {"plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}}}});
    let test_connection = app
        .post(
            "/proxy/unsaved/projects/team-a/datasources/api/v1/labels",
            unsaved,
        )
        .await;
    assert_eq!(
        test_connection.status,
        StatusCode::OK,
        "{}",
        test_connection.text
    );
    assert_eq!(test_connection.body["method"], "GET");
    assert!(
        test_connection.body["query"]
            .as_str()
            .unwrap()
            .contains("team-a"),
        "unsaved routes are enforced too"
    );
    let bad = app.post("/proxy/unsaved/globaldatasources/api/v1/labels", json!({"method": "GET", "spec": {"plugin": {"kind": "PrometheusDatasource", "spec": {}}}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn upstream_failures_become_502_and_504() {
    let upstream = common::recording_upstream().await;
    let mut settings = ServerSettings::default();
    settings.proxy.timeout = Duration::from_millis(300);
    let app = app_with(settings).await;
    let dead = datasource(
        "GlobalDatasource",
        "dead",
        json!({"url": "http://127.0.0.1:9"}),
    );
    assert_eq!(
        app.post("/api/v1/globaldatasources", dead).await.status,
        StatusCode::OK
    );
    let unreachable = app
        .get("/proxy/globaldatasources/dead/api/v1/query?query=up")
        .await;
    assert_eq!(unreachable.status, StatusCode::BAD_GATEWAY);
    // A PromQL query is answered by the query layer, in Prometheus' error format.
    assert!(
        unreachable.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{}",
        unreachable.text
    );

    let slow = datasource("GlobalDatasource", "slow", json!({"url": upstream}));
    assert_eq!(
        app.post("/api/v1/globaldatasources", slow).await.status,
        StatusCode::OK
    );
    let timeout = app.get("/proxy/globaldatasources/slow/slow").await;
    assert_eq!(timeout.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(timeout.message().contains("did not answer in time"));

    let direct = json!({"kind": "GlobalDatasource", "metadata": {"name": "direct"}, "spec": {"plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": "http://127.0.0.1:9090"}}}});
    assert_eq!(
        app.post("/api/v1/globaldatasources", direct).await.status,
        StatusCode::OK
    );
    let no_proxy = app
        .get("/proxy/globaldatasources/direct/api/v1/query")
        .await;
    assert_eq!(no_proxy.status, StatusCode::BAD_GATEWAY);
    assert!(
        no_proxy
            .message()
            .contains("unable to build or find the config")
    );
}

#[tokio::test]
async fn a_changed_datasource_takes_effect_on_the_next_request() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    let dead = datasource(
        "GlobalDatasource",
        "moving",
        json!({"url": "http://127.0.0.1:9"}),
    );
    assert_eq!(
        app.post("/api/v1/globaldatasources", dead).await.status,
        StatusCode::OK
    );
    let path = "/proxy/globaldatasources/moving/api/v1/query?query=up";
    assert_eq!(app.get(path).await.status, StatusCode::BAD_GATEWAY);
    // The resolved target is cached; the update must invalidate it at once.
    let moved = datasource("GlobalDatasource", "moving", json!({"url": upstream}));
    assert_eq!(
        app.put("/api/v1/globaldatasources/moving", moved)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(app.get(path).await.status, StatusCode::OK);
    assert_eq!(
        app.delete("/api/v1/globaldatasources/moving").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND);
}

/// A restricted project may not reach any upstream through a datasource kind Pharos cannot
/// enforce: whatever the route (project, dashboard-local, unsaved), the upstream never sees the
/// request and the answer is 403 with the reason.
#[tokio::test]
async fn unenforceable_kinds_fail_closed_in_restricted_projects() {
    let upstream = common::recording_upstream().await;
    let app = app_with(ServerSettings::default()).await;
    app.project("team-a", &["team-a"]).await;
    // Loki, Tempo and Alertmanager have their own enforcement (tests/proxy_kinds.rs); every
    // other kind the model accepts is refused.
    for kind in [
        "PyroscopeDatasource",
        "ClickHouseDatasource",
        "JaegerDatasource",
    ] {
        let plugin = json!({"kind": kind, "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}});
        let name = kind.to_ascii_lowercase();
        let created = app
            .post(
                "/api/v1/projects/team-a/datasources",
                json!({"kind": "Datasource", "metadata": {"name": name}, "spec": {"plugin": plugin}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{kind}: {}", created.text);
        let project_route = app
            .get(&format!(
                "/proxy/projects/team-a/datasources/{name}/api/v1/query?query=up"
            ))
            .await;
        assert_eq!(project_route.status, StatusCode::FORBIDDEN, "{kind}");
        assert!(
            project_route.text.contains(kind) && project_route.text.contains("namespaces"),
            "{}",
            project_route.text
        );
        let dashboard = format!("d-{name}");
        let created = app
            .post(
                "/api/v1/projects/team-a/dashboards",
                json!({"kind": "Dashboard", "metadata": {"name": dashboard}, "spec": {
                    "panels": {}, "layouts": [], "datasources": {"own": {"default": false, "plugin": plugin}}}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{kind}: {}", created.text);
        let local = app
            .get(&format!(
                "/proxy/projects/team-a/dashboards/{dashboard}/datasources/own/api/v1/series?match[]=up"
            ))
            .await;
        assert_eq!(
            local.status,
            StatusCode::FORBIDDEN,
            "{kind}: {}",
            local.text
        );
        let unsaved = app
            .post(
                "/proxy/unsaved/projects/team-a/datasources/loki/api/v1/query_range",
                json!({"method": "GET", "spec": {"plugin": plugin}}),
            )
            .await;
        assert_eq!(
            unsaved.status,
            StatusCode::FORBIDDEN,
            "{kind}: {}",
            unsaved.text
        );
    }
    // An unrestricted project still reaches such an upstream unchanged.
    app.project("open", &[]).await;
    let plugin = json!({"kind": "LokiDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}});
    app.post(
        "/api/v1/projects/open/datasources",
        json!({"kind": "Datasource", "metadata": {"name": "logs"}, "spec": {"plugin": plugin}}),
    )
    .await;
    let open = app
        .get("/proxy/projects/open/datasources/logs/loki/api/v1/labels")
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    assert_eq!(open.body["path"], "/loki/api/v1/labels");
}
