//! The query layer in the proxy: PromQL queries through a Prometheus datasource are answered
//! from the shared result cache (one backend call for many identical questions), with the step
//! planned for long ranges, a series cap, and the last good answer while the backend is down.
//! Against the real Prometheus of `scripts/peers.sh` where its behaviour matters, and against a
//! small Prometheus-speaking upstream that can be switched off for the outage.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::http::{Method, StatusCode};
use common::{Answer, Backend, TestApp};
use pharos_server::ServerSettings;
use serde_json::{Value, json};

/// End of the backfilled data set of the Prometheus peer (2026-01-01T00:00:00Z).
const DATA_END: i64 = 1_767_225_600;

fn prometheus_url() -> Option<String> {
    common::peer_url("PROMETHEUS")
}

async fn app_with_datasource(settings: ServerSettings, url: &str) -> TestApp {
    let app = TestApp::new(Backend::Sqlite, settings).await.unwrap();
    app.project("ml", &[]).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}}});
    let created = app
        .post("/api/v1/projects/ml/datasources", datasource)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    app
}

async fn query_range(app: &TestApp, query: &str, start: i64, end: i64, step: &str) -> Answer {
    let path = format!(
        "/proxy/projects/ml/datasources/prom/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
        url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
    );
    app.get(&path).await
}

fn cache_header(answer: &Answer) -> &str {
    answer
        .headers
        .get("x-pharos-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Prometheus' own count of the range queries it served.
async fn prometheus_range_queries(prometheus: &str) -> f64 {
    let text = reqwest::get(format!("{prometheus}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && l.contains("handler=\"/api/v1/query_range\"")
                && l.contains("code=\"200\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn identical_panel_queries_cost_prometheus_one_query() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app_with_datasource(ServerSettings::default(), &prometheus).await;
    let question = "sum by (namespace) (rate(pharos_test_requests_total[5m]))";
    let before = prometheus_range_queries(&prometheus).await;
    let answers = futures::future::join_all(
        (0..20).map(|_| query_range(&app, question, DATA_END - 3600, DATA_END, "60")),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["data"], answers[0].body["data"]);
    }
    assert!(
        !answers[0].body["data"]["result"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        answers[0].text
    );
    assert_eq!(
        answers.iter().filter(|a| cache_header(a) == "miss").count(),
        1,
        "one of the 20 reached Prometheus"
    );
    let again = query_range(&app, question, DATA_END - 3600, DATA_END, "60").await;
    assert_eq!(cache_header(&again), "hit");
    assert_eq!(prometheus_range_queries(&prometheus).await - before, 1.0);
    // The same answer as Prometheus gives directly.
    let direct: Value = reqwest::Client::new()
        .post(format!("{prometheus}/api/v1/query_range"))
        .form(&[
            ("query", question.to_owned()),
            ("start", (DATA_END - 3600).to_string()),
            ("end", DATA_END.to_string()),
            ("step", "60".to_owned()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again.body["data"], direct["data"]);
    // A client that asks for a fresh answer gets one.
    let fresh = app
        .send(
            Method::GET,
            &format!(
                "/proxy/projects/ml/datasources/prom/api/v1/query_range?query=up&start={}&end={DATA_END}&step=60",
                DATA_END - 600
            ),
            None,
            &[("cache-control", "no-cache")],
        )
        .await;
    assert_eq!(cache_header(&fresh), "miss");
}

#[tokio::test]
async fn through_prometheus_a_week_at_fifteen_seconds_is_answered_at_five_minutes() {
    let Some(prometheus) = prometheus_url() else {
        return;
    };
    let app = app_with_datasource(ServerSettings::default(), &prometheus).await;
    let answer = query_range(&app, "up", DATA_END - 7 * 86_400, DATA_END, "15").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let infos = answer.body["infos"].to_string();
    assert!(infos.contains("raised the step from 15s to 5m"), "{infos}");
    for series in answer.body["data"]["result"].as_array().unwrap() {
        let values = series["values"].as_array().unwrap();
        for pair in values.windows(2) {
            let gap = pair[1][0].as_f64().unwrap() - pair[0][0].as_f64().unwrap();
            assert_eq!(gap % 300.0, 0.0, "points are 5 minutes apart: {gap}");
        }
    }
    // Prometheus itself refuses this question (more than 11,000 points).
    let direct = reqwest::get(format!(
        "{prometheus}/api/v1/query_range?query=up&start={}&end={DATA_END}&step=15",
        DATA_END - 7 * 86_400
    ))
    .await
    .unwrap();
    assert_eq!(direct.status(), 400);
}

/// A Prometheus-speaking upstream with a switch: answers `series` series per query, or fails
/// like a dead backend (connection kept, 502 from a load balancer) when down.
#[derive(Clone, Default)]
struct Switchable {
    down: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    series: Arc<AtomicUsize>,
}

async fn switchable_upstream() -> (String, Switchable) {
    let switch = Switchable::default();
    switch.series.store(2, Ordering::SeqCst);
    let state = switch.clone();
    let handler = move |body: axum::body::Bytes| {
        let state = state.clone();
        async move {
            state.calls.fetch_add(1, Ordering::SeqCst);
            if state.down.load(Ordering::SeqCst) {
                return (
                    StatusCode::BAD_GATEWAY,
                    "<html>502 Bad Gateway</html>".to_owned(),
                );
            }
            let form: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let start: f64 = form
                .iter()
                .find(|(k, _)| k == "start")
                .map_or(0.0, |(_, v)| v.parse().unwrap_or(0.0));
            let result: Vec<Value> = (0..state.series.load(Ordering::SeqCst))
                .map(|i| json!({"metric": {"__name__": "up", "instance": format!("i{i}")}, "values": [[start, "1"]]}))
                .collect();
            (
                StatusCode::OK,
                json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
                    .to_string(),
            )
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/api/v1/query_range", axum::routing::post(handler)),
        )
        .await
    });
    (format!("http://{addr}"), switch)
}

#[tokio::test]
async fn a_dead_backend_leaves_the_last_answer_on_the_chart_with_its_age() {
    let (url, upstream) = switchable_upstream().await;
    let mut settings = ServerSettings::default();
    settings.query_layer.recent_ttl = std::time::Duration::from_millis(200);
    let app = app_with_datasource(settings, &url).await;
    let now = pharos_query::now_ms() / 1000;
    let live = query_range(&app, "up", now - 600, now, "15").await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);
    assert_eq!(cache_header(&live), "miss");
    upstream.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stale = query_range(&app, "up", now - 600, now, "15").await;
    assert_eq!(stale.status, StatusCode::OK, "{}", stale.text);
    assert_eq!(cache_header(&stale), "stale");
    assert_eq!(stale.body["data"], live.body["data"]);
    let warning = stale.body["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.starts_with("data from 20"), "{warning}");
    assert!(warning.contains("502"), "{warning}");
    // A question never answered before has no stand-in: a clear 502, not an empty chart.
    let unseen = query_range(&app, "other_metric", now - 600, now, "15").await;
    assert_eq!(unseen.status, StatusCode::BAD_GATEWAY, "{}", unseen.text);
    assert_eq!(unseen.body["status"], "error");
    assert!(
        unseen.body["error"]
            .as_str()
            .unwrap()
            .contains("not a Prometheus JSON body")
            || unseen.text.contains("502"),
        "{}",
        unseen.text
    );
}

#[tokio::test]
async fn more_series_than_a_chart_can_show_is_a_clear_422() {
    let (url, upstream) = switchable_upstream().await;
    let mut settings = ServerSettings::default();
    settings.query_layer.max_series = 3;
    let app = app_with_datasource(settings, &url).await;
    upstream.series.store(4, Ordering::SeqCst);
    let answer = query_range(&app, "up", 1_000, 2_000, "15").await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert_eq!(answer.body["errorType"], "execution");
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap()
            .contains("4 series, more than a chart can show"),
        "{}",
        answer.text
    );
    // Bad parameters are Prometheus' own bad_data answers, before any backend call.
    let calls = upstream.calls.load(Ordering::SeqCst);
    let bad = app
        .get("/proxy/projects/ml/datasources/prom/api/v1/query_range?query=up&start=10&end=5&step=15")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errorType"], "bad_data");
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap()
            .contains("end timestamp must not be before start time")
    );
    let no_step = app
        .get("/proxy/projects/ml/datasources/prom/api/v1/query_range?query=up&start=1&end=5")
        .await;
    assert_eq!(no_step.status, StatusCode::BAD_REQUEST, "{}", no_step.text);
    assert_eq!(upstream.calls.load(Ordering::SeqCst), calls);
}
