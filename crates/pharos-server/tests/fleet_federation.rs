//! Federated PromQL over the fleet: two clusters on the real Prometheus peer and a dead one, a
//! slow cluster that must not slow the answer beyond its timeout, DCGM routing, cluster
//! selectors, bad input, RBAC, labels, and the fleet as a plain Prometheus API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, Uri};
use fleet_support::{closed_port, cluster, refresh, register};
use pharos_server::ServerSettings;
use serde_json::{Value, json};

/// A cluster for federation: answers `fed_metric` (after `delay`) as one series, ranges as one
/// matrix, label names, and discovery (DCGM present when `dcgm`).
struct FedFake {
    url: String,
    dcgm: AtomicBool,
}

async fn fed_fake(delay: Duration, dcgm: bool) -> Arc<FedFake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = Arc::new(FedFake {
        url: format!("http://{}", listener.local_addr().unwrap()),
        dcgm: AtomicBool::new(dcgm),
    });
    let state = Arc::clone(&fake);
    let handler = move |uri: Uri, body: String| {
        let fake = Arc::clone(&state);
        async move {
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .chain(url::form_urlencoded::parse(body.as_bytes()))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            let query = params
                .iter()
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let empty =
                json!({"status": "success", "data": {"resultType": "vector", "result": []}});
            let body = match (uri.path(), query.as_str()) {
                ("/-/ready", _) => {
                    return "Prometheus Server is Ready.\n".to_owned().into_response();
                }
                ("/api/v1/status/buildinfo", _) => {
                    json!({"status": "success", "data": {"version": "2.99.0"}})
                }
                ("/api/v1/label/fake_label/values", _) => {
                    json!({"status": "success", "data": ["a", "b"]})
                }
                ("/api/v1/labels", _) => {
                    json!({"status": "success", "data": ["__name__", "fake_label"]})
                }
                ("/api/v1/query", "vector(1)") => {
                    json!({"status": "success", "data": {"resultType": "vector",
                        "result": [{"metric": {}, "value": [1.0, "1"]}]}})
                }
                ("/api/v1/query", "count(DCGM_FI_DEV_GPU_UTIL)")
                    if fake.dcgm.load(Ordering::SeqCst) =>
                {
                    json!({"status": "success", "data": {"resultType": "vector",
                        "result": [{"metric": {}, "value": [1.0, "4"]}]}})
                }
                ("/api/v1/query", q) if q.starts_with("count(") => empty,
                ("/api/v1/query", _) => {
                    tokio::time::sleep(delay).await;
                    json!({"status": "success", "warnings": ["fake warning"],
                        "data": {"resultType": "vector", "result": [
                        {"metric": {"__name__": "fed_metric", "cluster": "inside"},
                         "value": [1.0, "7"]}]}})
                }
                ("/api/v1/query_range", _) => {
                    tokio::time::sleep(delay).await;
                    json!({"status": "success", "data": {"resultType": "matrix", "result": [
                        {"metric": {"__name__": "fed_metric"}, "values": [[1.0, "7"], [2.0, "8"]]}]}})
                }
                _ => return StatusCode::NOT_FOUND.into_response(),
            };
            axum::Json(body).into_response()
        }
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    fake
}

use axum::response::IntoResponse as _;

async fn app_with_hub_timeout(timeout: Duration) -> common::TestApp {
    let mut settings = ServerSettings::default();
    settings.fleet.hub.timeout = timeout;
    common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap()
}

fn tenant_data_end() -> i64 {
    std::env::var("PHAROS_TEST_TENANT_DATA_END")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_767_225_600)
}

fn clusters_of(answer: &Value) -> Vec<String> {
    let mut names: Vec<String> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["cluster"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn two_real_prometheus_clusters_and_a_dead_one() {
    let Some(url) = common::peer_url("PROMETHEUS") else {
        return;
    };
    let app = app_with_hub_timeout(Duration::from_secs(2)).await;
    register(&app, cluster("east", "hub", &url)).await;
    register(&app, cluster("west", "spoke", &url)).await;
    register(&app, cluster("dead", "hub", &closed_port().await)).await;
    let end = tenant_data_end();
    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "pharos_test_queue_depth{namespace=\"team-a\"}", "time": end,
                "clusters": ["east", "west", "dead"]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = &answer.body;
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    // Two pods in team-a, once per cluster, each labelled with its cluster.
    assert_eq!(
        clusters_of(body),
        ["east", "east", "west", "west"],
        "{body}"
    );
    for series in body["data"]["result"].as_array().unwrap() {
        assert_eq!(series["metric"]["namespace"], "team-a");
    }
    assert_eq!(body["clusters"]["east"]["status"], "ok", "{body}");
    assert_eq!(body["clusters"]["west"]["status"], "ok", "{body}");
    assert!(body["clusters"]["east"]["latency_ms"].is_u64());
    assert_eq!(body["clusters"]["dead"]["status"], "error", "{body}");
    let error = body["clusters"]["dead"]["error"].as_str().unwrap();
    assert!(error.contains("cannot reach"), "{error}");
    let warnings = body["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("cluster dead: error:")),
        "{body}"
    );

    // Once the health check has seen it, the default set skips it and says why.
    refresh(&app, "dead").await;
    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "pharos_test_queue_depth{namespace=\"team-a\",pod=\"pod-0\"}", "time": end.to_string()}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(clusters_of(&answer.body), ["east", "west"]);
    assert_eq!(answer.body["clusters"]["dead"]["status"], "skipped");
    assert!(
        answer.body["clusters"]["dead"]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{}",
        answer.text
    );

    // A range over the backfilled counter: rate = (n+1)*(p+1) = 4 for team-b/pod-1.
    let answer = app
        .post(
            "/api/v1/metrics/query_range",
            json!({"query": "rate(pharos_test_requests_total{namespace=\"team-b\",pod=\"pod-1\"}[1m])",
                "start": end - 600, "end": end, "step": "60s", "clusters": ["east", "west"]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["data"]["resultType"], "matrix");
    assert_eq!(clusters_of(&answer.body), ["east", "west"]);
    for series in answer.body["data"]["result"].as_array().unwrap() {
        let values = series["values"].as_array().unwrap();
        assert_eq!(values.len(), 11, "{series}");
        for point in values {
            let rate: f64 = point[1].as_str().unwrap().parse().unwrap();
            assert!((rate - 4.0).abs() < 1e-6, "{point}");
        }
    }

    // The same as a plain Prometheus API, in GET form: per-cluster status in the warnings.
    let path = format!(
        "/api/v1/fleet/prometheus/api/v1/query?query=pharos_test_queue_depth%7Bnamespace%3D%22team-c%22%7D&time={end}&clusters=east,dead"
    );
    let answer = app.get(&path).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.body.get("clusters").is_none(), "{}", answer.text);
    assert_eq!(clusters_of(&answer.body), ["east", "east"]);
    assert!(
        answer.body["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("cluster dead: error:"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_slow_cluster_costs_its_timeout_not_the_sum() {
    let app = app_with_hub_timeout(Duration::from_secs(1)).await;
    let slow = fed_fake(Duration::from_secs(2), false).await;
    let fast = fed_fake(Duration::ZERO, false).await;
    let slower = fed_fake(Duration::from_secs(2), false).await;
    register(&app, cluster("slow", "hub", &slow.url)).await;
    register(&app, cluster("slower", "hub", &slower.url)).await;
    register(&app, cluster("fast", "hub", &fast.url)).await;
    let body = json!({"query": "fed_metric", "clusters": ["slow", "slower", "fast"]});
    let started = Instant::now();
    let answer = app.post("/api/v1/metrics/query", body).await;
    let took = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1_900),
        "took {took:?}"
    );
    let clusters = &answer.body["clusters"];
    assert_eq!(clusters["fast"]["status"], "ok", "{}", answer.text);
    for name in ["slow", "slower"] {
        assert_eq!(clusters[name]["status"], "timeout", "{}", answer.text);
        assert_eq!(clusters[name]["error"], "timeout after 1s");
    }
    let result = answer.body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    // The cluster's own `cluster` label is overwritten with the registered name.
    assert_eq!(
        result[0]["metric"],
        json!({"__name__": "fed_metric", "cluster": "fast"})
    );
    let warnings: Vec<&str> = answer.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.contains(&"cluster fast: fake warning"),
        "{warnings:?}"
    );
    assert!(
        warnings.contains(&"cluster slow: timeout: timeout after 1s"),
        "{warnings:?}"
    );

    // Each cluster's time by outcome, and the requests by kind.
    let metrics = app.get("/metrics").await.text;
    for wanted in [
        "pharos_fleet_queries_total{kind=\"instant\"}",
        "pharos_fleet_query_cluster_seconds",
    ] {
        assert!(metrics.contains(wanted), "{wanted} missing");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pharos_fleet_query_cluster_seconds")
                && l.contains("cluster=\"slow\"")
                && l.contains("status=\"timeout\"")),
        "no timeout time for cluster slow"
    );

    // A shorter client timeout is honoured; a longer one is capped by the type's.
    let started = Instant::now();
    let answer = app
        .post(
            "/api/v1/metrics/query_range",
            json!({"query": "fed_metric", "start": 0, "end": 60, "step": 15,
                "clusters": ["slow"], "timeout": "300ms"}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_millis(900));
    // Every asked cluster failed: 502 with the per-cluster section.
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text);
    assert_eq!(answer.body["status"], "error");
    assert_eq!(
        answer.body["clusters"]["slow"]["error"],
        "timeout after 300ms"
    );
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap()
            .contains("no cluster answered"),
        "{}",
        answer.text
    );
    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "fed_metric", "clusters": ["slow"], "timeout": "10s"}),
        )
        .await;
    assert_eq!(answer.body["clusters"]["slow"]["error"], "timeout after 1s");
}

#[tokio::test]
async fn dcgm_queries_skip_clusters_without_dcgm_and_selectors_choose_by_label() {
    let app = app_with_hub_timeout(Duration::from_secs(2)).await;
    let gpu = fed_fake(Duration::ZERO, true).await;
    let plain = fed_fake(Duration::ZERO, false).await;
    register(
        &app,
        json!({"name": "gpu", "type": "hub", "prometheus_url": gpu.url, "labels": {"env": "prod"}}),
    )
    .await;
    register(
        &app,
        json!({"name": "plain", "type": "hub", "prometheus_url": plain.url, "labels": {"env": "dev"}}),
    )
    .await;
    assert_eq!(refresh(&app, "gpu").await["capabilities"]["dcgm"], true);
    assert_eq!(refresh(&app, "plain").await["capabilities"]["dcgm"], false);

    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let clusters = &answer.body["clusters"];
    assert_eq!(clusters["gpu"]["status"], "ok", "{}", answer.text);
    assert_eq!(
        clusters["plain"],
        json!({"status": "skipped", "latency_ms": 0, "error": "no DCGM exporter"})
    );
    assert_eq!(
        answer.body["infos"],
        json!(["cluster plain: skipped: no DCGM exporter"])
    );
    // A query mixing DCGM and other metrics goes everywhere.
    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "DCGM_FI_DEV_GPU_UTIL or up"}),
        )
        .await;
    assert_eq!(
        answer.body["clusters"]["plain"]["status"], "ok",
        "{}",
        answer.text
    );

    let answer = app
        .post(
            "/api/v1/metrics/query",
            json!({"query": "fed_metric", "cluster_selector": {"env": "dev"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body["clusters"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["plain"]
    );
    // GET form of the same, and a selector nobody matches: an empty success with a warning.
    let answer = app
        .get("/api/v1/metrics/query?query=fed_metric&cluster_selector=env%3Dstaging")
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["data"]["result"], json!([]));
    assert_eq!(answer.body["clusters"], json!({}));
    assert!(
        answer.body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no cluster matches")
    );

    // Label names across clusters, with `cluster` added.
    let answer = app.get("/api/v1/metrics/labels?clusters=gpu,plain").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body["data"],
        json!(["__name__", "cluster", "fake_label"])
    );
    assert_eq!(answer.body["clusters"]["gpu"]["status"], "ok");
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let app = app_with_hub_timeout(Duration::from_secs(1)).await;
    let fake = fed_fake(Duration::ZERO, false).await;
    register(&app, cluster("one", "hub", &fake.url)).await;
    for (path, body, wanted) in [
        ("query", json!({}), "query is required"),
        (
            "query",
            json!({"query": "sum(rate(x[5m])"}),
            "not valid PromQL",
        ),
        (
            "query",
            json!({"query": "scalar(up)"}),
            "wrap the query in vector()",
        ),
        (
            "query",
            json!({"query": "up", "clusters": ["one", "nope", "nada"]}),
            "unknown clusters: nope, nada",
        ),
        (
            "query",
            json!({"query": "up", "time": "yesterday"}),
            "is not a time",
        ),
        (
            "query",
            json!({"query": "up", "cluster": "one"}),
            "unknown field",
        ),
        (
            "query_range",
            json!({"query": "up", "start": 100, "end": 50, "step": 10}),
            "end is before start",
        ),
        (
            "query_range",
            json!({"query": "up", "start": 0, "end": 50, "step": 0}),
            "step must be more than 0",
        ),
        (
            "query_range",
            json!({"query": "up", "start": 0, "end": 1_000_000, "step": 1}),
            "exceed the limit of 11000",
        ),
        (
            "query_range",
            json!({"query": "up", "start": 0, "end": 50}),
            "step is required",
        ),
    ] {
        let answer = app
            .post(&format!("/api/v1/metrics/{path}"), body.clone())
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.text
        );
        assert_eq!(answer.body["errorType"], "bad_data");
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(wanted), "{body}: {error}");
    }
    let answer = app.get("/api/v1/metrics/labels?clusters=ghost").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
}

#[tokio::test]
async fn federation_needs_read_on_the_cluster_scope() {
    let app = app_with_hub_timeout(Duration::from_secs(1)).await;
    let fake = fed_fake(Duration::ZERO, false).await;
    register(&app, cluster("one", "hub", &fake.url)).await;
    let bob = app.user("bob").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/metrics/query",
            Some(json!({"query": "up"})),
        ),
        (
            Method::POST,
            "/api/v1/metrics/query_range",
            Some(json!({"query": "up", "start": 0, "end": 60, "step": 15})),
        ),
        (Method::GET, "/api/v1/metrics/labels", None),
        (
            Method::GET,
            "/api/v1/fleet/prometheus/api/v1/query?query=up",
            None,
        ),
    ] {
        let refused = app.send_as(&bob, method, path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
        assert!(refused.message().contains("Cluster"), "{}", refused.text);
    }
    let anonymous = app
        .anonymous(
            Method::POST,
            "/api/v1/metrics/query",
            Some(json!({"query": "up"})),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
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
    let allowed = app
        .send_as(
            &bob,
            Method::POST,
            "/api/v1/metrics/query",
            Some(json!({"query": "fed_metric"})),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    assert_eq!(clusters_of(&allowed.body), ["one"]);
}

#[tokio::test]
async fn the_fleet_as_a_prometheus_datasource() {
    let app = app_with_hub_timeout(Duration::from_secs(1)).await;
    let fake = fed_fake(Duration::ZERO, false).await;
    register(&app, cluster("ok", "hub", &fake.url)).await;
    register(&app, cluster("dead", "hub", &closed_port().await)).await;
    let datasource = app
        .post(
            "/api/v1/globaldatasources",
            json!({"kind": "GlobalDatasource", "metadata": {"name": "fleet"},
                "spec": {"default": false, "plugin": {"kind": "PrometheusDatasource",
                    "spec": {"directUrl": "http://127.0.0.1:8080/api/v1/fleet/prometheus",
                        "queryParams": {"clusters": "ok,dead"}}}}}),
        )
        .await;
    assert_eq!(datasource.status, StatusCode::OK, "{}", datasource.text);

    // As the Perses Prometheus plugin sends it: a form POST with the datasource's queryParams.
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/fleet/prometheus/api/v1/query_range?clusters=ok,dead")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(
            "query=fed_metric&start=0&end=60&step=15",
        ))
        .unwrap();
    let answer = app.send_raw(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["status"], "success");
    assert!(answer.body.get("clusters").is_none(), "{}", answer.text);
    assert_eq!(answer.body["data"]["resultType"], "matrix");
    assert_eq!(clusters_of(&answer.body), ["ok"]);
    let warnings = answer.body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{}", answer.text);
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("cluster dead: error:"),
        "{}",
        answer.text
    );

    // Variables: the values of `cluster` are the clusters that answer; other labels merge.
    let answer = app
        .get("/api/v1/fleet/prometheus/api/v1/label/cluster/values?clusters=ok,dead")
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["data"], json!(["ok"]));
    let answer = app
        .get("/api/v1/fleet/prometheus/api/v1/label/fake_label/values?clusters=ok&match[]=fed_metric")
        .await;
    assert_eq!(answer.body["data"], json!(["a", "b"]), "{}", answer.text);
    let answer = app
        .get("/api/v1/fleet/prometheus/api/v1/label/bad-name/values")
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);

    // Nobody answers: a Prometheus error envelope naming every cluster.
    let answer = app
        .get("/api/v1/fleet/prometheus/api/v1/query?query=fed_metric&clusters=dead")
        .await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text);
    assert_eq!(answer.body["status"], "error");
    assert_eq!(answer.body["errorType"], "unavailable");
    assert!(answer.body.get("data").is_none(), "{}", answer.text);
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap()
            .contains("cluster dead"),
        "{}",
        answer.text
    );
}

/// Sorted distinct values of `label` in a vector answer.
fn label_values_of(answer: &Value, label: &str) -> Vec<String> {
    let mut values: Vec<String> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"][label].as_str().unwrap_or("").to_owned())
        .collect();
    values.sort();
    values.dedup();
    values
}

#[tokio::test]
async fn a_project_member_asks_the_fleet_only_for_its_own_namespaces() {
    let Some(url) = common::peer_url("PROMETHEUS") else {
        return;
    };
    let app = app_with_hub_timeout(Duration::from_secs(2)).await;
    register(&app, cluster("east", "hub", &url)).await;
    register(&app, cluster("west", "spoke", &url)).await;
    app.project("team-a", &["team-a"]).await;
    app.project("team-b", &["team-b"]).await;
    let _ = app.user("vera").await;
    let bound = app
        .post(
            "/api/v1/projects/team-a/rolebindings",
            json!({"kind": "RoleBinding", "metadata": {"name": "vera-viewer"},
               "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "vera"}]}}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
    let vera = app.login("vera", "vera-password").await;
    let end = tenant_data_end();
    let ask = |body: Value| {
        let (app, vera) = (&app, vera.clone());
        async move {
            app.send_as(&vera, Method::POST, "/api/v1/metrics/query", Some(body))
                .await
        }
    };

    // As the project: every cluster answers, and only team-a's series come back — also when
    // the query names another namespace or none.
    for query in [
        "pharos_test_queue_depth",
        "pharos_test_queue_depth{namespace=\"team-b\"}",
        "sum by (namespace) (pharos_test_queue_depth{namespace=~\".+\"})",
    ] {
        let answer = ask(json!({"query": query, "time": end, "project": "team-a"})).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(
            label_values_of(&answer.body, "namespace"),
            ["team-a"],
            "{query}: {}",
            answer.text
        );
        assert_eq!(clusters_of(&answer.body).len() % 2, 0, "{}", answer.text);
        assert_eq!(answer.body["clusters"]["east"]["status"], "ok");
        assert_eq!(answer.body["clusters"]["west"]["status"], "ok");
    }
    // Not as a project, and not as a project she has no role in.
    let refused = ask(json!({"query": "up", "time": end})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let refused = ask(json!({"query": "up", "time": end, "project": "team-b"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // The project's Prometheus API (a project datasource's directUrl): queries and listings
    // are restricted the same way.
    let path = format!(
        "/api/v1/projects/team-a/fleet/prometheus/api/v1/query?query=pharos_test_queue_depth&time={end}"
    );
    let answer = app.send_as(&vera, Method::GET, &path, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(label_values_of(&answer.body, "namespace"), ["team-a"]);
    let path = format!(
        "/api/v1/projects/team-a/fleet/prometheus/api/v1/label/namespace/values?start={}&end={end}",
        end - 3600
    );
    let answer = app.send_as(&vera, Method::GET, &path, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["data"], json!(["team-a"]), "{}", answer.text);
    // Nor through the path of a project she has no role in.
    let answer = app
        .send_as(
            &vera,
            Method::GET,
            "/api/v1/projects/team-b/fleet/prometheus/api/v1/query?query=up",
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
}
