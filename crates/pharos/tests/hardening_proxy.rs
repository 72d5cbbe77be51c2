//! Regression tests for issue 7 items 2, 8 and 9 against the real binary. Pharos holds
//! team-a and team-b series (remote write); team-a's datasources of every kind point at
//! Pharos itself, and none of them may hand out team-b's data. A fake Loki proves the LogQL
//! rewrite reaches the upstream. Bad datasource headers, long selectors and oversized
//! dashboards get 4xx (or work), never 5xx, and the process stays up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Pharos, free_port, remote_write, write_body};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, String) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn create(&self, path: &str, body: &Value) {
        let (status, text) = self.post(path, body).await;
        assert_eq!(status, 200, "POST {path}: {text}");
    }
}

fn datasource_spec(kind: &str, url: &str) -> Value {
    json!({"plugin": {"kind": kind, "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}})
}

fn message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Pharos with team-a/team-b series and projects; returns the process and an API client.
async fn pharos_with_two_tenants(dir: &std::path::Path) -> (Pharos, Api) {
    let pharos = Pharos::start(dir, free_port()).await;
    let api = Api {
        client: pharos.client(),
        base: pharos.base_url(),
    };
    let now = now_ms();
    let samples: Vec<_> = ["team-a", "team-b"]
        .iter()
        .map(|ns| {
            (
                vec![
                    ("__name__", "up".to_owned()),
                    ("job", format!("job-{ns}")),
                    ("namespace", (*ns).to_owned()),
                ],
                now,
                1.0,
            )
        })
        .collect();
    let status = remote_write(
        &api.client,
        &pharos.url("/api/v1/write"),
        write_body(&samples),
    )
    .await;
    assert_eq!(status, Some(204));
    let (status, direct) = api.get("/api/v1/series?match%5B%5D=up").await;
    assert_eq!(status, 200, "{direct}");
    assert!(
        direct.contains("team-b"),
        "Pharos itself holds team-b: {direct}"
    );
    for ns in ["team-a", "team-b"] {
        api.create(
            "/api/v1/projects",
            &json!({"kind": "Project", "metadata": {"name": ns}, "spec": {"namespaces": [ns]}}),
        )
        .await;
    }
    (pharos, api)
}

/// Requests that return team-b's series when sent to Pharos unfiltered.
const LEAKY_PATHS: [&str; 4] = [
    "/api/v1/query?query=up",
    "/api/v1/series?match%5B%5D=up",
    "/api/v1/label/namespace/values",
    "/loki/api/v1/query_range?query=%7Bnamespace%3D%22team-b%22%7D",
];

fn assert_no_leak(what: &str, status: u16, text: &str) {
    assert!(
        !text.contains("team-b") || (400..500).contains(&status),
        "{what} leaked team-b data ({status}): {text}"
    );
    assert!(
        status < 500 || status == 502 || status == 404,
        "{what}: {status} {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_prometheus_kinds_pointing_at_pharos_never_return_another_tenants_series() {
    let dir = tempfile::tempdir().unwrap();
    let (_pharos, api) = pharos_with_two_tenants(dir.path()).await;
    let kinds = [
        "LokiDatasource",
        "TempoDatasource",
        "AlertManagerDatasource",
        "PyroscopeDatasource",
    ];
    for kind in kinds {
        let name = kind.to_lowercase();
        api.create(
            "/api/v1/projects/team-a/datasources",
            &json!({"kind": "Datasource", "metadata": {"name": name}, "spec": datasource_spec(kind, &api.base)}),
        )
        .await;
    }
    let local: serde_json::Map<String, Value> = kinds
        .iter()
        .map(|kind| (kind.to_lowercase(), datasource_spec(kind, &api.base)))
        .collect();
    api.create(
        "/api/v1/projects/team-a/dashboards",
        &json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": {"panels": {}, "layouts": [], "datasources": local}}),
    )
    .await;

    for kind in kinds {
        let name = kind.to_lowercase();
        for path in LEAKY_PATHS {
            for route in [
                format!("/proxy/projects/team-a/datasources/{name}{path}"),
                format!("/proxy/projects/team-a/dashboards/d/datasources/{name}{path}"),
            ] {
                let (status, text) = api.get(&route).await;
                assert_no_leak(&route, status, &text);
            }
            let unsaved = format!("/proxy/unsaved/projects/team-a/datasources{path}");
            let (status, text) = api
                .post(
                    &unsaved,
                    &json!({"method": "GET", "spec": datasource_spec(kind, &api.base)}),
                )
                .await;
            assert_no_leak(&unsaved, status, &text);
        }
        // The Prometheus API is not this kind's API: refused outright.
        let (status, text) = api
            .get(&format!(
                "/proxy/projects/team-a/datasources/{name}/api/v1/query?query=up"
            ))
            .await;
        assert_eq!(status, 403, "{kind}: {text}");
        assert!(message(&text).contains(kind), "{text}");
    }

    // Prometheus-kind datasources still leak nothing and still work.
    let (status, text) = api
        .get("/proxy/projects/team-a/globaldatasources/local/api/v1/series?match%5B%5D=up")
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("team-a") && !text.contains("team-b"),
        "{text}"
    );
    let metrics = reqwest::get(format!("{}/metrics", api.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("reason=\"tenancy_unsupported_kind\""),
        "refusals are counted"
    );
}

/// A Loki that records the `query` of every `GET /loki/api/v1/query_range` and answers like
/// Loki does (plain tokio: this crate does not depend on axum).
async fn fake_loki() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split(' ').nth(1).unwrap_or_default();
                let url = reqwest::Url::parse(&format!("http://loki{target}")).unwrap();
                let (status, body) = if head.starts_with("GET ")
                    && url.path() == "/loki/api/v1/query_range"
                {
                    let query = url
                        .query_pairs()
                        .find(|(k, _)| k == "query")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    recorded.lock().unwrap().push(query);
                    let answer = json!({"status": "success", "data": {"resultType": "streams", "result": [
                            {"stream": {"app": "api", "namespace": "team-a"}, "values": [["1569266497240578000", "hello"]]}
                        ], "stats": {}}});
                    ("200 OK", answer.to_string())
                } else {
                    ("404 Not Found", String::new())
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logql_reaches_a_loki_with_the_tenant_matcher() {
    let dir = tempfile::tempdir().unwrap();
    let (_pharos, api) = pharos_with_two_tenants(dir.path()).await;
    let (loki, seen) = fake_loki().await;
    api.create(
        "/api/v1/projects/team-a/datasources",
        &json!({"kind": "Datasource", "metadata": {"name": "loki"}, "spec": datasource_spec("LokiDatasource", &loki)}),
    )
    .await;
    let query = r#"sum by (app) (count_over_time({app="api", namespace="team-b"} |= "}" | label_format x=`{{.app}}` [5m]))"#;
    let url = reqwest::Url::parse_with_params(
        &format!(
            "{}/proxy/projects/team-a/datasources/loki/loki/api/v1/query_range",
            api.base
        ),
        &[("query", query), ("start", "1"), ("end", "2")],
    )
    .unwrap();
    let response = api.client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["data"]["resultType"], "streams",
        "Loki's answer comes back"
    );
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [
            r#"sum by (app) (count_over_time({app="api", namespace="team-a"} |= "}" | label_format x=`{{.app}}` [5m]))"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_datasource_headers_are_refused_when_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pharos, api) = pharos_with_two_tenants(dir.path()).await;
    for (i, headers) in [
        json!({"X\r\nY": "z"}),
        json!({"": "v"}),
        json!({"X-A": "nul\u{0}byte"}),
        json!({"X-A": "line\r\nbreak"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut spec = datasource_spec("PrometheusDatasource", &api.base);
        spec["plugin"]["spec"]["proxy"]["spec"]["headers"] = headers.clone();
        let (status, text) = api
            .post(
                "/api/v1/projects/team-a/datasources",
                &json!({"kind": "Datasource", "metadata": {"name": format!("h{i}")}, "spec": spec}),
            )
            .await;
        assert_eq!(status, 400, "{headers}: {text}");
        assert!(text.contains("headers["), "names the JSON path: {text}");
        let (status, text) = api
            .post(
                "/api/v1/globaldatasources",
                &json!({"kind": "GlobalDatasource", "metadata": {"name": format!("h{i}")}, "spec": spec}),
            )
            .await;
        assert_eq!(status, 400, "{headers}: {text}");
        // Nothing was stored, so nothing can answer 502 later.
        let (status, _) = api
            .get(&format!(
                "/proxy/projects/team-a/datasources/h{i}/api/v1/query?query=up"
            ))
            .await;
        assert_eq!(status, 404);
    }
    assert!(
        pharos.child.try_wait().unwrap().is_none(),
        "pharos is still running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_series_selector_is_sent_as_a_form_post() {
    let dir = tempfile::tempdir().unwrap();
    let (_pharos, api) = pharos_with_two_tenants(dir.path()).await;
    // 9 000 alternatives: about 53 KB as the client sends it (`|` unencoded), over 64 KiB
    // once the rewrite percent-encodes every `|`, which the HTTP client cannot put in a URL
    // (before the fix: 502 "Parsed Url is not a valid Uri").
    let mut alternatives: Vec<String> = (0..9_000).map(|i| format!("j{i}")).collect();
    alternatives.push("job-team-a".to_owned());
    alternatives.push("job-team-b".to_owned());
    let selector = format!("{{job=~\"{}\"}}", alternatives.join("|"));
    let url = format!(
        "{}/proxy/projects/team-a/globaldatasources/local/api/v1/series?match[]={selector}",
        api.base
    );
    let response = api.client.get(&url).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{}", &text[..text.len().min(500)]);
    assert!(
        text.contains("job-team-a") && !text.contains("team-b"),
        "{text}"
    );
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_with_15000_panels_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pharos, api) = pharos_with_two_tenants(dir.path()).await;
    let panels: serde_json::Map<String, Value> = (0..15_000)
        .map(|i| {
            (
                format!("panel_{i}"),
                json!({"kind": "Panel", "spec": {
                    "display": {"name": format!("Panel number {i}")},
                    "plugin": {"kind": "TimeSeriesChart", "spec": {}},
                    "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {"query": "up"}}}}]}}),
            )
        })
        .collect();
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "huge"}, "spec": {"panels": panels, "layouts": []}});
    let size = dashboard.to_string().len();
    assert!(size > 3_000_000 && size < 4 * 1024 * 1024, "{size} bytes");
    let pid = pharos.child.id();
    let before = rss_kib(pid, "VmRSS:");
    let started = Instant::now();
    let (status, text) = api
        .post("/api/v1/projects/team-a/dashboards", &dashboard)
        .await;
    let took = started.elapsed();
    assert_eq!(status, 400, "{}", &text[..text.len().min(300)]);
    let message = message(&text);
    assert!(
        message.contains("15000 panels")
            && message.contains("api.max_panels_per_dashboard")
            && message.contains("500"),
        "{message}"
    );
    let peak = rss_kib(pid, "VmHWM:");
    eprintln!(
        "15000-panel dashboard ({size} bytes): refused in {took:?}, RSS {before} KiB before, peak {peak} KiB"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (status, _) = api.get("/ready").await;
    assert_eq!(status, 200);
    assert!(
        pharos.child.try_wait().unwrap().is_none(),
        "pharos is still running"
    );
    let metrics = reqwest::get(format!("{}/metrics", api.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("reason=\"dashboard_panels\""),
        "refusal counted"
    );
}
