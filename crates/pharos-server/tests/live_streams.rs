//! Live dashboards over Server-Sent Events: the stream announces the dashboard's queries with
//! their variables filled in, pushes every query's window at each tick, costs the backend one
//! query per panel query and tick however many viewers watch (shared polling), and refuses
//! bad parameters, other tenants' dashboards and too many streams.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use common::{Backend, TestApp};
use http_body_util::BodyExt as _;
use pharos_server::ServerSettings;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// A Prometheus-speaking upstream that counts the range queries it answers, by query.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = move |body: axum::body::Bytes| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let form: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let get = |k: &str| {
                form.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let end: f64 = get("end").parse().unwrap_or(0.0);
            json!({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"query": get("query")}, "values": [[end, "1"]]}]}})
            .to_string()
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
    (format!("http://{addr}"), calls)
}

fn panel(query: &str) -> Value {
    json!({"kind": "Panel", "spec": {"display": {"name": query},
        "plugin": {"kind": "TimeSeriesChart", "spec": {}},
        "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
            "spec": {"query": query}}}}]}})
}

async fn app_with_dashboard(settings: ServerSettings, upstream: &str) -> TestApp {
    let app = TestApp::new(Backend::Sqlite, settings).await.unwrap();
    app.project("ml", &["ml-serving"]).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}}}});
    assert_eq!(
        app.post("/api/v1/projects/ml/datasources", datasource)
            .await
            .status,
        StatusCode::OK
    );
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "serving"}, "spec": {
    "duration": "1h", "layouts": [],
    "panels": {
        "latency": panel("histogram_quantile(0.95, sum by (le) (rate(request_duration_seconds_bucket{model=~\"$model\"}[$__rate_interval])))"),
        "errors": panel("sum(rate(request_errors_total[5m]))"),
    }}});
    let created = app.post("/api/v1/projects/ml/dashboards", dashboard).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    app
}

/// An open stream: reads events as they come.
struct EventReader {
    body: Body,
    buffer: String,
}

impl EventReader {
    /// The next `(event, data)`, or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

async fn open(
    app: &TestApp,
    token: &str,
    query: &str,
) -> Result<EventReader, (StatusCode, String)> {
    open_at(
        app,
        token,
        &format!("/api/v1/projects/ml/dashboards/serving/stream?{query}"),
    )
    .await
}

async fn open_at(
    app: &TestApp,
    token: &str,
    path_and_query: &str,
) -> Result<EventReader, (StatusCode, String)> {
    let request = Request::get(path_and_query)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.app.clone().oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        let status = response.status();
        let text =
            String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes())
                .into_owned();
        return Err((status, text));
    }
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    Ok(EventReader {
        body: response.into_body(),
        buffer: String::new(),
    })
}

fn fast_settings() -> ServerSettings {
    let mut settings = ServerSettings::default();
    settings.query_layer.stream_min_refresh = Duration::from_secs(1);
    settings
}

#[tokio::test]
async fn the_stream_pushes_each_panels_window_at_every_tick() {
    let (upstream, _) = counting_upstream().await;
    let app = app_with_dashboard(fast_settings(), &upstream).await;
    let token = app.admin_token.clone();
    let mut stream = open(
        &app,
        &token,
        "refresh=1s&range=30m&var-model=llama&var-model=mistral",
    )
    .await
    .unwrap();
    let (name, hello) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(name, "hello");
    assert_eq!(hello["refresh_ms"], 1000);
    assert_eq!(hello["range_ms"], 1_800_000);
    let queries = hello["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 2);
    let latency = queries.iter().find(|q| q["panel"] == "latency").unwrap();
    // Variables as the UI fills them, and the tenant's namespace is enforced on top.
    assert_eq!(
        latency["query"],
        "histogram_quantile(0.95, sum by (le) (rate(request_duration_seconds_bucket{model=~\"(llama|mistral)\"}[4m])))"
    );
    let mut ticks = std::collections::BTreeMap::<i64, usize>::new();
    // The first round comes at once, then one per tick: three rounds of two queries.
    for _ in 0..6 {
        let (name, event) = stream
            .next(Duration::from_secs(5))
            .await
            .expect("a data event");
        assert_eq!(name, "data");
        assert_eq!(event["status"], "success", "{event}");
        let sent_query = event["data"]["result"][0]["metric"]["query"]
            .as_str()
            .unwrap();
        assert!(
            sent_query.contains("namespace=\"ml-serving\""),
            "{sent_query}"
        );
        let at = event["at"].as_i64().unwrap();
        assert_eq!(at % 1000, 0, "ticks are aligned to the refresh interval");
        *ticks.entry(at).or_default() += 1;
    }
    assert_eq!(ticks.len(), 3, "{ticks:?}");
    assert!(
        ticks.values().all(|n| *n == 2),
        "every tick carries both queries: {ticks:?}"
    );
    let at: Vec<i64> = ticks.keys().copied().collect();
    assert_eq!(at[2] - at[1], 1000, "one tick per refresh interval: {at:?}");
}

#[tokio::test]
async fn twenty_viewers_cost_one_backend_query_per_panel_query_and_tick() {
    let (upstream, calls) = counting_upstream().await;
    let app = app_with_dashboard(fast_settings(), &upstream).await;
    let token = app.admin_token.clone();
    let mut viewers = Vec::new();
    for _ in 0..20 {
        viewers.push(
            open(&app, &token, "refresh=2s&var-model=llama")
                .await
                .unwrap(),
        );
    }
    // Every viewer reads concurrently, as twenty browsers would: the first round and two ticks.
    let rounds = futures::future::join_all(viewers.iter_mut().map(|viewer| async move {
        let mut ticks = Vec::new();
        while ticks.len() < 6 {
            let (name, event) = viewer.next(Duration::from_secs(10)).await.expect("event");
            if name == "data" {
                assert_eq!(event["status"], "success", "{event}");
                ticks.push(event["at"].as_i64().unwrap());
            }
        }
        ticks
    }))
    .await;
    let calls = calls.load(Ordering::SeqCst);
    let windows: std::collections::BTreeSet<i64> = rounds.iter().flatten().copied().collect();
    // Two queries per window; without sharing it would be 2 × 3 × 20 = 120.
    assert!(
        calls <= 2 * windows.len(),
        "{calls} backend queries for {} windows",
        windows.len()
    );
    assert!(calls >= 2, "{calls}");
    assert!(
        windows.len() <= 4,
        "the viewers' ticks are aligned: {windows:?}"
    );
}

#[tokio::test]
async fn bad_parameters_other_tenants_and_too_many_streams_are_refused() {
    let (upstream, _) = counting_upstream().await;
    let mut settings = fast_settings();
    settings.query_layer.max_streams_per_user = 2;
    let app = app_with_dashboard(settings, &upstream).await;
    let admin = app.admin_token.clone();
    let (status, text) = open(&app, &admin, "refresh=100ms")
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("between 1s"), "{text}");
    let (status, text) = open(&app, &admin, "panels=all")
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("unknown stream parameter"), "{text}");
    // Another user without access to the project learns nothing.
    let stranger = app.user("mallory").await;
    let (status, text) = open(&app, &stranger, "refresh=1s")
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND),
        "{status} {text}"
    );
    assert!(
        text.contains("doesn't exist") || text.contains("not found"),
        "no hint that the project exists: {text}"
    );
    // Two streams are fine, the third is a 429; closing one frees its place.
    let first = open(&app, &admin, "refresh=1s").await.unwrap();
    let _second = open(&app, &admin, "refresh=1s").await.unwrap();
    let (status, text) = open(&app, &admin, "refresh=1s")
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(text.contains("query_layer.max_streams_per_user"), "{text}");
    drop(first);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(open(&app, &admin, "refresh=1s").await.is_ok());
}

#[tokio::test]
async fn the_seed_form_finds_the_dashboard_by_name_in_the_callers_projects() {
    let (upstream, _) = counting_upstream().await;
    let app = app_with_dashboard(fast_settings(), &upstream).await;
    let admin = app.admin_token.clone();
    let path = "/api/v1/dashboards/serving/stream?refresh=1s&range=30m&var-model=llama";
    let mut stream = open_at(&app, &admin, path).await.unwrap();
    let (name, hello) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(name, "hello");
    assert_eq!(hello["project"], "ml");
    assert_eq!(hello["dashboard"], "serving");
    let (name, event) = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(name, "data");
    assert_eq!(event["status"], "success", "{event}");
    drop(stream);

    // Unknown names, and names only in projects the caller cannot read, are missing alike.
    let (status, _) = open_at(&app, &admin, "/api/v1/dashboards/nothing/stream")
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stranger = app.user("mallory").await;
    let (status, _) = open_at(&app, &stranger, path)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same name in a second project: ambiguous, and the answer says where to go.
    app.project("research", &["research"]).await;
    let twin = json!({"kind": "Dashboard", "metadata": {"name": "serving"}, "spec": {
        "duration": "1h", "layouts": [], "panels": {"up": panel("up")}}});
    let created = app.post("/api/v1/projects/research/dashboards", twin).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let (status, text) = open_at(&app, &admin, path).await.map(|_| ()).unwrap_err();
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(text.contains("ml, research"), "{text}");
    assert!(
        text.contains("/api/v1/projects/{project}/dashboards/serving/stream"),
        "{text}"
    );
}
