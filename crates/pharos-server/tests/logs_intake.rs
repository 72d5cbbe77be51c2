//! The access-log intake over HTTP: Loki pushes in JSON and protobuf + snappy (encoded with
//! prost from `pharos_logs`' message structs), NDJSON, the refusals (gzip bomb, malformed
//! protobuf, media types, no intake), partial acceptance, and the bucket gauges answered by
//! `/api/v1/query`. With `PHAROS_TEST_PYTHON_LOKI=1`, the real `python-logging-loki` client
//! pushes too (see testdata/logs/python_loki_client.py).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use std::io::Write as _;
use std::sync::Arc;

use axum::{body::Body, http::Request, http::StatusCode};
use pharos_logs::{Entry, LogIntake, PushRequest, Stream, Timestamp, encode_push_request};
use pharos_server::config::LogsSettings;
use prom_api_support::{Answer, PromApp};
use serde_json::json;

struct LogsApp {
    prom: PromApp,
    intake: Arc<LogIntake>,
}

impl LogsApp {
    async fn new() -> Self {
        Self::with_settings(LogsSettings::default()).await
    }

    async fn with_settings(settings: LogsSettings) -> Self {
        let mut prom = PromApp::new().await;
        let intake = pharos_server::logs::intake(&settings).unwrap();
        prom.app = pharos_server::logs::attach(prom.app, Arc::clone(&intake));
        Self { prom, intake }
    }

    async fn post(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::post(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.prom
            .request(request.body(Body::from(body)).unwrap())
            .await
    }

    async fn push_json(&self, body: &serde_json::Value) -> Answer {
        let body = body.to_string().into_bytes();
        self.post(
            "/loki/api/v1/push",
            body,
            &[("content-type", "application/json")],
        )
        .await
    }

    /// Writes the buckets as the binary's timer does.
    async fn publish(&self, now_ms: i64) {
        let metrics = self.prom.state.metrics.clone().unwrap();
        let report = pharos_server::logs::publish(&self.intake, &metrics, now_ms)
            .await
            .unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
    }

    /// The one value of an instant query at `at_ms`, if any.
    async fn value(&self, query: &str, at_ms: i64) -> Option<f64> {
        let time = format!("{:.3}", at_ms as f64 / 1000.0);
        let answer = self
            .prom
            .get("/api/v1/query", &[("query", query), ("time", &time)])
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let result = answer.body["data"]["result"].as_array().unwrap().clone();
        assert!(result.len() <= 1, "{result:?}");
        result
            .first()
            .map(|r| r["value"][1].as_str().unwrap().parse().unwrap())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ns(ms: i64) -> String {
    (ms * 1_000_000).to_string()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_json_push_becomes_queryable_bucket_gauges() {
    let app = LogsApp::new().await;
    let now = now_ms();
    // 1..=200 ms; every 20th a 503.
    let values: Vec<_> = (1..=200)
        .map(|i| {
            let status = if i % 20 == 0 { 503 } else { 200 };
            json!([
                ns(now),
                format!(r#"{{"latency_ms": {i}, "status": {status}}}"#)
            ])
        })
        .collect();
    let answer = app
        .push_json(&json!({"streams": [{"stream": {"service": "checkout", "env": "prod"}, "values": values}]}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.publish(now).await;
    let query =
        |name: &str| format!(r#"pharos_service_{name}{{service="checkout",source="loki"}}"#);
    assert_eq!(app.value(&query("latency_p95_ms"), now).await, Some(190.0));
    assert_eq!(app.value(&query("latency_p50_ms"), now).await, Some(100.0));
    assert_eq!(app.value(&query("latency_p99_ms"), now).await, Some(198.0));
    assert_eq!(app.value(&query("requests"), now).await, Some(200.0));
    assert_eq!(app.value(&query("errors"), now).await, Some(10.0));
}

#[tokio::test]
async fn a_protobuf_snappy_push_is_taken_like_promtail_sends_it() {
    let app = LogsApp::new().await;
    let now = now_ms();
    let istio = r#"[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default"#;
    let entries = (1..=50)
        .map(|i| Entry {
            timestamp: Some(Timestamp {
                seconds: now / 1000,
                nanos: ((now % 1000) * 1_000_000) as i32,
            }),
            // The sample's duration (4 ms) replaced, and its 2020 time with now.
            line: istio
                .replace(" 0 135 4 4 ", &format!(" 0 135 {i} 1 "))
                .replace(
                    "2020-11-25T21:26:18.409Z",
                    &chrono::DateTime::from_timestamp_millis(now)
                        .unwrap()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ),
            structured_metadata: vec![],
            parsed: vec![],
        })
        .collect();
    let request = PushRequest {
        streams: vec![Stream {
            labels: r#"{app="httpbin", namespace="foo"}"#.to_owned(),
            entries,
            hash: 0,
        }],
        format: String::new(),
    };
    let answer = app
        .post(
            "/loki/api/v1/push",
            encode_push_request(&request),
            &[("content-type", "application/x-protobuf")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.publish(now).await;
    let p95 = app
        .value(r#"pharos_service_latency_p95_ms{service="httpbin"}"#, now)
        .await;
    assert_eq!(p95, Some(48.0));
}

#[tokio::test]
async fn mixed_lines_keep_the_good_ones_and_answer_like_loki() {
    let app = LogsApp::new().await;
    let now = now_ms();
    let mut values: Vec<_> = (1..=20)
        .map(|i| json!([ns(now), format!("status=200 duration_ms={}", i * 10)]))
        .collect();
    values.push(json!([ns(now), "GET / 200 OK"]));
    values.push(json!([ns(now), r#"{"latency_ms": -4}"#]));
    values.push(json!([ns(now), r#"{"latency_ms": 1e12}"#]));
    values.push(json!([ns(now + 3_600_000), r#"{"latency_ms": 4}"#]));
    let body = json!({"streams": [
        {"stream": {"service_name": "search"}, "values": values},
        {"stream": {"job": "nameless"}, "values": [[ns(now), r#"{"latency_ms": 4}"#]]},
    ]});
    let answer = app.push_json(&body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.content_type.starts_with("text/plain"));
    for expected in [
        "accepted 20 lines, rejected 5",
        "unknown_format=1",
        "negative_latency=1",
        "absurd_latency=1",
        "too_far_in_future=1",
        "no_service=1",
        "GET / 200 OK",
    ] {
        assert!(
            answer.text.contains(expected),
            "{expected} in {}",
            answer.text
        );
    }
    app.publish(now).await;
    let p95 = app
        .value(r#"pharos_service_latency_p95_ms{service="search"}"#, now)
        .await;
    assert_eq!(p95, Some(190.0));
    assert_eq!(
        app.value(r#"pharos_service_requests{service="search"}"#, now)
            .await,
        Some(20.0)
    );
    // Counted in self-monitoring.
    let metrics = app.prom.get("/metrics", &[]).await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pharos_logs_rejected_lines_total{reason=\"absurd_latency\"}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn ndjson_answers_its_report() {
    let app = LogsApp::new().await;
    let now = now_ms();
    let body = [
        json!({"service": "billing", "latency_ms": 12, "status": 200}).to_string(),
        json!({"service": "billing", "request_time": 0.030, "status": 500}).to_string(),
        json!({"latency_ms": 3}).to_string(),
        "not json".to_owned(),
    ]
    .join("\n");
    let answer = app
        .post(
            "/api/v1/logs/ndjson",
            gzip(body.as_bytes()),
            &[
                ("content-type", "application/x-ndjson"),
                ("content-encoding", "gzip"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["source"], "ndjson");
    assert_eq!(answer.body["accepted"], 2);
    assert_eq!(
        answer.body["rejected"],
        json!({"unknown_format": 1, "no_service": 1})
    );
    assert_eq!(answer.body["samples"].as_array().unwrap().len(), 2);
    app.publish(now).await;
    assert_eq!(
        app.value(
            r#"pharos_service_errors{service="billing",source="ndjson"}"#,
            now
        )
        .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn bad_bodies_get_a_clear_4xx() {
    let settings = LogsSettings {
        max_decompressed_bytes: 1 << 20,
        ..LogsSettings::default()
    };
    let app = LogsApp::with_settings(settings).await;
    // A gzip bomb: 64 MiB of zeros in about 64 KiB.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    let answer = app
        .post(
            "/loki/api/v1/push",
            bomb,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer
            .text
            .contains("logs.max_decompressed_bytes = 1048576"),
        "{}",
        answer.text
    );
    // Malformed protobuf (valid snappy around garbage).
    let garbage = snap::raw::Encoder::new()
        .compress_vec(&[0x0a, 0xff, 0x01, 0x02])
        .unwrap();
    let answer = app
        .post(
            "/loki/api/v1/push",
            garbage,
            &[("content-type", "application/x-protobuf")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text.contains("PushRequest"), "{}", answer.text);
    // Not snappy at all.
    let answer = app
        .post(
            "/loki/api/v1/push",
            b"plain".to_vec(),
            &[("content-type", "application/x-protobuf")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // Media types and encodings.
    let answer = app
        .post(
            "/loki/api/v1/push",
            b"{}".to_vec(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let answer = app
        .post(
            "/loki/api/v1/push",
            b"{}".to_vec(),
            &[
                ("content-type", "application/json"),
                ("content-encoding", "br"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A numeric timestamp, as Loki refuses it; an unknown source.
    let answer = app
        .push_json(&json!({"streams": [{"stream": {"app": "a"}, "values": [[1, "x"]]}]}))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = app
        .post(
            "/loki/api/v1/push?source=nope",
            b"{\"streams\":[]}".to_vec(),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.text.contains("unknown log source"),
        "{}",
        answer.text
    );
    // No credentials: refused before anything is read.
    let answer = app
        .post(
            "/loki/api/v1/push",
            b"{}".to_vec(),
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer not-a-token"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_an_intake_the_routes_say_so() {
    let app = PromApp::new().await;
    let answer = app
        .request(
            Request::post("/loki/api/v1/push")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The real `python-logging-loki` client (PyPI) pushes over a socket; every bucket value is
/// compared with the exact one. Runs with `PHAROS_TEST_PYTHON_LOKI=1` (interpreter from
/// `PHAROS_TEST_PYTHON`, default `python3`, with the package installed).
#[tokio::test]
async fn the_python_loki_client_pushes_unchanged() {
    if std::env::var("PHAROS_TEST_PYTHON_LOKI").as_deref() != Ok("1") {
        eprintln!("skipped: set PHAROS_TEST_PYTHON_LOKI=1 (needs pip install python-logging-loki)");
        return;
    }
    let app = LogsApp::new().await;
    let (addr, server) = app.prom.serve().await;
    let python = std::env::var("PHAROS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/logs/python_loki_client.py"
    );
    let url = format!("http://{addr}/loki/api/v1/push");
    let token = app.prom.admin_token.clone();
    // The client stamps lines with its own clock: keep all of them in one 5-minute bucket.
    let into_bucket = now_ms().rem_euclid(pharos_logs::BUCKET_MS);
    if into_bucket > pharos_logs::BUCKET_MS - 20_000 {
        let wait = pharos_logs::BUCKET_MS - into_bucket + 1_000;
        tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
    }
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([script, &url, &token, "py-service", "100"])
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let now = now_ms();
    app.publish(now).await;
    let query = |name: &str| format!(r#"pharos_service_{name}{{service="py-service"}}"#);
    // Exact: 100 values 1..=100 ms, nearest rank.
    assert_eq!(app.value(&query("requests"), now).await, Some(100.0));
    assert_eq!(app.value(&query("errors"), now).await, Some(10.0));
    assert_eq!(app.value(&query("latency_p50_ms"), now).await, Some(50.0));
    assert_eq!(app.value(&query("latency_p95_ms"), now).await, Some(95.0));
    assert_eq!(app.value(&query("latency_p99_ms"), now).await, Some(99.0));
    server.abort();
}

/// The real client ships 2,500 lines into each of two 5-minute buckets (more than the 2,048 a
/// bucket keeps exactly, so the sketch answers), and `/api/services/{id}/latency` gives every
/// bucket's count and errors exactly and P50/P95/P99 within 1 % of the exact nearest-rank
/// values the script computed from the same lines.
#[tokio::test]
async fn every_bucket_of_the_python_loki_client_matches_the_exact_quantiles() {
    if std::env::var("PHAROS_TEST_PYTHON_LOKI").as_deref() != Ok("1") {
        eprintln!("skipped: set PHAROS_TEST_PYTHON_LOKI=1 (needs pip install python-logging-loki)");
        return;
    }
    let app = LogsApp::new().await;
    let (addr, server) = app.prom.serve().await;
    let python = std::env::var("PHAROS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/logs/python_loki_client.py"
    );
    let url = format!("http://{addr}/loki/api/v1/push");
    let token = app.prom.admin_token.clone();
    // The older bucket's lines are taken until 5 minutes into the current bucket: start early.
    let into_bucket = now_ms().rem_euclid(pharos_logs::BUCKET_MS);
    if into_bucket > pharos_logs::BUCKET_MS - 90_000 {
        let wait = pharos_logs::BUCKET_MS - into_bucket + 1_000;
        tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
    }
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([script, &url, &token, "py-buckets", "2500", "buckets"])
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exact: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    app.publish(now_ms()).await;
    let answer = app
        .prom
        .get("/api/services/py-buckets/latency", &[("from", "now-20m")])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let buckets = answer.body["buckets"].as_array().unwrap();
    let exact = exact.as_object().unwrap();
    assert_eq!(buckets.len(), exact.len(), "{}", answer.text);
    for bucket in buckets {
        let start = chrono::DateTime::parse_from_rfc3339(bucket["start"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        let want = &exact[&start.to_string()];
        assert_eq!(bucket["count"], want["count"].as_f64().unwrap(), "{bucket}");
        assert_eq!(
            bucket["errors"],
            want["errors"].as_f64().unwrap(),
            "{bucket}"
        );
        for (field, quantile) in [("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")] {
            let (got, wanted) = (
                bucket[field].as_f64().unwrap(),
                want[quantile].as_f64().unwrap(),
            );
            let error = (got - wanted).abs() / wanted;
            eprintln!(
                "bucket {start} {quantile}: {got} ms, exact {wanted} ms, error {:.3} %",
                error * 100.0
            );
            assert!(
                error <= 0.01,
                "bucket {start} {quantile}: {got} against the exact {wanted}"
            );
        }
    }
    server.abort();
}

/// A service's quality report lists its lines the intake refused, per reason.
#[tokio::test]
async fn a_services_quality_report_counts_its_rejected_lines() {
    let app = LogsApp::new().await;
    let now = now_ms();
    let ns = (now * 1_000_000).to_string();
    let body = json!({"streams": [{"stream": {"service": "shaky"}, "values": [
        [ns, r#"{"latency_ms": 12, "status": 200}"#],
        [ns, r#"{"latency_ms": -3, "status": 200}"#],
        [ns, "GET / HTTP/1.1 something no parser knows"],
    ]}]});
    let answer = app.push_json(&body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    app.publish(now + 61_000).await;
    let service = app.prom.get("/api/services/shaky", &[]).await;
    assert_eq!(service.status, StatusCode::OK, "{}", service.text);
    let rejected = &service.body["quality"]["rejected_lines"];
    let total: u64 = rejected
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 2, "{rejected}");
    let latency = app
        .prom
        .get("/api/services/shaky/latency", &[("from", "now-1h")])
        .await;
    assert_eq!(latency.body["quality"]["rejected_lines"], *rejected);
}
