//! Tenant enforcement per datasource kind (issue 7 item 2), against a recording upstream:
//! Loki, Tempo and Alertmanager requests reach the upstream only with the tenant restriction,
//! unknown kinds and unenforceable endpoints are refused with 403 on every route, and long
//! rewritten queries become form POSTs (item 8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use pharos_server::ServerSettings;
use serde_json::{Value, json};

fn spec(plugin_kind: &str, url: &str) -> Value {
    json!({"plugin": {"kind": plugin_kind, "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}})
}

fn params(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

fn param(answer: &common::Answer, field: &str, key: &str) -> Vec<String> {
    params(answer.body[field].as_str().unwrap_or(""))
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// An app with projects `team-a` (restricted to namespace team-a) and `admin` (unrestricted),
/// each with one datasource per kind named after the kind.
async fn app(upstream: &str, settings: ServerSettings) -> common::TestApp {
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    app.project("team-a", &["team-a"]).await;
    app.project("admin", &[]).await;
    for project in ["team-a", "admin"] {
        for (name, kind) in [
            ("loki", "LokiDatasource"),
            ("tempo", "TempoDatasource"),
            ("am", "AlertManagerDatasource"),
            ("pyroscope", "PyroscopeDatasource"),
            ("prom", "PrometheusDatasource"),
        ] {
            let created = app
                .post(
                    &format!("/api/v1/projects/{project}/datasources"),
                    json!({"kind": "Datasource", "metadata": {"name": name}, "spec": spec(kind, upstream)}),
                )
                .await;
            assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        }
    }
    app
}

const LOKI: &str = "/proxy/projects/team-a/datasources/loki";

#[tokio::test]
async fn loki_queries_reach_the_upstream_with_the_tenant_matcher() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    let query = r#"sum by (app) (rate({app="api", namespace="team-b"} |= "}" [5m]))"#;
    let answer = app
        .get(&format!(
            "{LOKI}/loki/api/v1/query_range?query={}&start=1&end=2",
            urlencode(query)
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["path"], "/loki/api/v1/query_range");
    assert_eq!(
        param(&answer, "query", "query"),
        vec![r#"sum by (app) (rate({app="api", namespace="team-a"} |= "}" [5m]))"#]
    );
    assert_eq!(param(&answer, "query", "start"), vec!["1"]);

    // Label listings get the tenant selector when the client sent none.
    for path in ["labels", "label/app/values", "index/volume"] {
        let answer = app.get(&format!("{LOKI}/loki/api/v1/{path}?start=1")).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        assert_eq!(
            param(&answer, "query", "query"),
            vec![r#"{namespace="team-a"}"#],
            "{path}"
        );
    }
    let series = app
        .get(&format!(
            "{LOKI}/loki/api/v1/series?match%5B%5D={}&match={}",
            urlencode(r#"{app="a"}"#),
            urlencode(r#"{app="b"}"#)
        ))
        .await;
    assert_eq!(
        param(&series, "query", "match[]"),
        vec![r#"{app="a", namespace="team-a"}"#]
    );
    assert_eq!(
        param(&series, "query", "match"),
        vec![r#"{app="b", namespace="team-a"}"#]
    );

    // A form POST body is enforced like a query string.
    let form = axum::http::Request::post(format!("{LOKI}/loki/api/v1/query"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "query={}",
            urlencode(r#"{app="x"}"#)
        )))
        .unwrap();
    let posted = app.send_raw(form).await;
    assert_eq!(
        param(&posted, "body", "query"),
        vec![r#"{app="x", namespace="team-a"}"#]
    );
}

#[tokio::test]
async fn loki_refuses_what_it_cannot_restrict() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    for path in [
        "/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D",
        "/loki/api/v1/delete",
        "/config",
        "/api/v1/query?query=up",
    ] {
        let answer = app.get(&format!("{LOKI}{path}")).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text
        );
        assert!(
            answer.message().contains("LokiDatasource"),
            "{}",
            answer.text
        );
    }
    let push = app
        .post(&format!("{LOKI}/loki/api/v1/push"), json!({"streams": []}))
        .await;
    assert_eq!(push.status, StatusCode::FORBIDDEN, "{}", push.text);
    let bad = app.get(&format!("{LOKI}/loki/api/v1/query?query=up")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.message().contains("tenant enforcement"), "{}", bad.text);
    // The unrestricted project is a plain proxy, as before.
    let admin = app
        .get("/proxy/projects/admin/datasources/loki/loki/api/v1/tail?query=x")
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    assert_eq!(admin.body["query"], "query=x");
}

#[tokio::test]
async fn tempo_searches_carry_the_tenant_condition_and_trace_ids_are_refused() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    let base = "/proxy/projects/team-a/datasources/tempo";
    let search = app
        .get(&format!(
            "{base}/api/search?q={}&limit=20",
            urlencode("{ span.http.status_code >= 500 }")
        ))
        .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text);
    assert_eq!(
        param(&search, "query", "q"),
        vec![r#"{ resource.k8s.namespace.name = "team-a" && (span.http.status_code >= 500) }"#]
    );
    let recent = app.get(&format!("{base}/api/search")).await;
    assert_eq!(
        param(&recent, "query", "q"),
        vec![r#"{ resource.k8s.namespace.name = "team-a" }"#]
    );
    let by_id = app
        .get(&format!(
            "{base}/api/traces/0af7651916cd43dd8448eb211c80319c"
        ))
        .await;
    assert_eq!(by_id.status, StatusCode::FORBIDDEN);
    assert!(
        by_id.message().contains("trace id") && by_id.message().contains("TempoDatasource"),
        "{}",
        by_id.text
    );
    let structural = app
        .get(&format!(
            "{base}/api/search?q={}",
            urlencode("{ .a = 1 } >> { .b = 2 }")
        ))
        .await;
    assert_eq!(
        structural.status,
        StatusCode::BAD_REQUEST,
        "{}",
        structural.text
    );
    let tags = app
        .get(&format!("{base}/api/search?tags=service.name%3Dapi"))
        .await;
    assert_eq!(tags.status, StatusCode::BAD_REQUEST, "{}", tags.text);
}

#[tokio::test]
async fn alertmanager_reads_get_the_tenant_filter_and_the_rest_is_refused() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    let base = "/proxy/projects/team-a/datasources/am";
    let alerts = app
        .get(&format!(
            "{base}/api/v2/alerts?active=true&filter={}&filter={}",
            urlencode(r#"namespace="team-b""#),
            urlencode(r#"severity="page""#)
        ))
        .await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.text);
    assert_eq!(
        param(&alerts, "query", "filter"),
        vec![r#"severity="page""#, r#"namespace="team-a""#],
        "the client's filter on the tenant label is replaced"
    );
    assert_eq!(param(&alerts, "query", "active"), vec!["true"]);
    let groups = app.get(&format!("{base}/api/v2/alerts/groups")).await;
    assert_eq!(
        param(&groups, "query", "filter"),
        vec![r#"namespace="team-a""#]
    );
    for path in ["/api/v2/status", "/api/v2/receivers", "/api/v2/silence/x"] {
        let answer = app.get(&format!("{base}{path}")).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text
        );
    }
    assert!(
        app.get(&format!("{base}/api/v2/status"))
            .await
            .message()
            .contains("credentials")
    );
    let silence = app
        .post(&format!("{base}/api/v2/silences"), json!({"matchers": []}))
        .await;
    assert_eq!(silence.status, StatusCode::FORBIDDEN, "{}", silence.text);
}

#[tokio::test]
async fn unknown_kinds_are_refused_on_every_route() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": {
        "panels": {}, "layouts": [],
        "datasources": {"local": spec("PyroscopeDatasource", &upstream)}}});
    let created = app
        .post("/api/v1/projects/team-a/dashboards", dashboard)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let global = app
        .post(
            "/api/v1/globaldatasources",
            json!({"kind": "GlobalDatasource", "metadata": {"name": "pyro"}, "spec": spec("PyroscopeDatasource", &upstream)}),
        )
        .await;
    assert_eq!(global.status, StatusCode::OK, "{}", global.text);

    let routes = [
        app.get("/proxy/projects/team-a/datasources/pyroscope/api/v1/query?query=up")
            .await,
        app.get("/proxy/projects/team-a/dashboards/d/datasources/local/api/v1/query?query=up")
            .await,
        app.get("/proxy/projects/team-a/globaldatasources/pyro/api/v1/query?query=up")
            .await,
        app.post(
            "/proxy/unsaved/projects/team-a/datasources/api/v1/query?query=up",
            json!({"method": "GET", "spec": spec("PyroscopeDatasource", &upstream)}),
        )
        .await,
    ];
    for answer in routes {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
        assert!(
            answer.message().contains("PyroscopeDatasource")
                && answer.message().contains("restricted to namespaces"),
            "{}",
            answer.text
        );
    }
    // Without namespaces the datasource works as before.
    let admin = app
        .get("/proxy/projects/admin/datasources/pyroscope/anything")
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
}

#[tokio::test]
async fn long_enforced_selectors_become_form_posts() {
    let upstream = common::recording_upstream().await;
    let mut settings = ServerSettings::default();
    settings.proxy.max_url_query_bytes = 1024;
    let app = app(&upstream, settings).await;
    let base = "/proxy/projects/team-a/datasources/prom";
    let alternatives: Vec<String> = (0..200).map(|i| format!("job_{i}")).collect();
    let selector = format!(r#"{{job=~"{}"}}"#, alternatives.join("|"));
    let series = app
        .get(&format!(
            "{base}/api/v1/series?match%5B%5D={}&start=1",
            urlencode(&selector)
        ))
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text);
    assert_eq!(series.body["method"], "POST");
    assert_eq!(series.body["query"], "");
    let sent = param(&series, "body", "match[]");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].ends_with(r#"namespace="team-a"}"#), "{}", sent[0]);
    assert_eq!(param(&series, "body", "start"), vec!["1"]);

    let values = app
        .get(&format!(
            "{base}/api/v1/label/job/values?match%5B%5D={}",
            urlencode(&selector)
        ))
        .await;
    assert_eq!(values.status, StatusCode::BAD_REQUEST, "{}", values.text);
    assert!(
        values
            .message()
            .contains("proxy.max_url_query_bytes (1024)"),
        "{}",
        values.text
    );
}

#[tokio::test]
async fn datasource_headers_are_validated_when_written() {
    let upstream = common::recording_upstream().await;
    let app = app(&upstream, ServerSettings::default()).await;
    for headers in [
        json!({"X\r\nY": "z"}),
        json!({"": "v"}),
        json!({"X-Ok": "a\u{0}b"}),
        json!({"X-Ok": "a\r\nInjected: 1"}),
        json!({"Content-Length": "5"}),
    ] {
        let mut body = json!({"kind": "Datasource", "metadata": {"name": "h"}, "spec": spec("PrometheusDatasource", &upstream)});
        body["spec"]["plugin"]["spec"]["proxy"]["spec"]["headers"] = headers.clone();
        let answer = app
            .post("/api/v1/projects/admin/datasources", body.clone())
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{headers}: {}",
            answer.text
        );
        assert!(answer.text.contains("headers["), "{}", answer.text);
        let mut global = body;
        global["kind"] = json!("GlobalDatasource");
        let answer = app.post("/api/v1/globaldatasources", global).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{headers}: {}",
            answer.text
        );
    }
}

#[tokio::test]
async fn dashboards_over_the_limits_are_refused_with_the_limit() {
    let mut settings = ServerSettings::default();
    settings.api.max_panels_per_dashboard = 3;
    settings.api.max_variables_per_dashboard = 1;
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    app.project("p", &[]).await;
    let panels: serde_json::Map<String, Value> = (0..4)
        .map(|i| (format!("p{i}"), json!({"kind": "Panel", "spec": {"plugin": {"kind": "Markdown", "spec": {"text": "x"}}}})))
        .collect();
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "big"}, "spec": {"panels": panels, "layouts": []}});
    for path in [
        "/api/v1/projects/p/dashboards",
        "/api/validate/dashboards",
        "/api/v1/projects/p/ephemeraldashboards",
    ] {
        let mut body = dashboard.clone();
        if path.contains("ephemeral") {
            body["kind"] = json!("EphemeralDashboard");
            body["spec"]["ttl"] = json!("1h");
        }
        body["metadata"]["project"] = json!("p");
        let answer = app.post(path, body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.text
        );
        assert!(
            answer.message().contains("4 panels")
                && answer.message().contains("api.max_panels_per_dashboard")
                && answer.message().contains("limit of 3"),
            "{}",
            answer.text
        );
    }
    let mut small = dashboard.clone();
    small["spec"]["panels"] = json!({});
    small["spec"]["variables"] = json!([
        {"kind": "TextVariable", "spec": {"name": "a", "value": ""}},
        {"kind": "TextVariable", "spec": {"name": "b", "value": ""}}
    ]);
    let created = app
        .post("/api/v1/projects/p/dashboards", small.clone())
        .await;
    assert_eq!(created.status, StatusCode::BAD_REQUEST, "{}", created.text);
    assert!(
        created
            .message()
            .contains("api.max_variables_per_dashboard")
    );
    small["spec"]["variables"] = json!([]);
    let created = app
        .post("/api/v1/projects/p/dashboards", small.clone())
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    // An update is checked too.
    let updated = app
        .put("/api/v1/projects/p/dashboards/big", dashboard)
        .await;
    assert_eq!(updated.status, StatusCode::BAD_REQUEST, "{}", updated.text);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
