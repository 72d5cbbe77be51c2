//! Remote-write 1.0 receiver: bodies encoded with our prost structs and by the reference Python
//! client, media-type and encoding refusals, partial writes with Prometheus-style messages,
//! rejection counters in `/metrics`, and metadata.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use pharos_ingest::{
    Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest, encode_write_request,
};
use prom_api_support::{Answer, PromApp};
use serde_json::json;

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        histograms: vec![],
    }
}

fn request(timeseries: Vec<TimeSeries>) -> WriteRequest {
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

async fn write_body(app: &PromApp, body: Vec<u8>, content_type: &str, encoding: &str) -> Answer {
    let mut builder =
        Request::post("/api/v1/write").header("X-Prometheus-Remote-Write-Version", "0.1.0");
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    if !encoding.is_empty() {
        builder = builder.header("content-encoding", encoding);
    }
    app.request(builder.body(Body::from(body)).unwrap()).await
}

async fn write(app: &PromApp, request: &WriteRequest) -> Answer {
    let body = encode_write_request(request).unwrap();
    write_body(app, body, "application/x-protobuf", "snappy").await
}

async fn values(app: &PromApp, query: &str, time: &str) -> Vec<String> {
    let answer = app
        .get("/api/v1/query", &[("query", query), ("time", time)])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"][1].as_str().unwrap().to_owned())
        .collect()
}

/// The value of one counter line in the `/metrics` text, 0 when absent.
async fn counter(app: &PromApp, line_prefix: &str) -> f64 {
    let text = app.get("/metrics", &[]).await.text;
    text.lines()
        .find(|line| line.starts_with(line_prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn an_encoded_request_is_acknowledged_and_queryable() {
    let app = PromApp::new().await;
    let answer = write(
        &app,
        &request(vec![
            series(
                &[("__name__", "up"), ("job", "api")],
                &[(1_000, 1.0), (16_000, 1.0)],
            ),
            series(&[("job", "web"), ("__name__", "up")], &[(16_000, 0.0)]),
        ]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(answer.text.is_empty());
    assert_eq!(values(&app, "sum(up)", "20").await, ["1"]);
    assert_eq!(values(&app, "count(up)", "20").await, ["2"]);
}

#[tokio::test]
async fn bodies_that_are_not_snappy_protobuf_are_bad_requests() {
    let app = PromApp::new().await;
    let plain =
        prost::Message::encode_to_vec(&request(vec![series(&[("__name__", "up")], &[(1, 1.0)])]));
    let not_snappy = write_body(&app, plain, "application/x-protobuf", "snappy").await;
    assert_eq!(not_snappy.status, StatusCode::BAD_REQUEST);
    assert!(not_snappy.text.contains("snappy"), "{}", not_snappy.text);
    assert!(not_snappy.content_type.starts_with("text/plain"));

    let garbage = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff")
        .unwrap();
    let not_protobuf = write_body(&app, garbage, "application/x-protobuf", "snappy").await;
    assert_eq!(not_protobuf.status, StatusCode::BAD_REQUEST);
    assert!(
        not_protobuf.text.contains("protobuf"),
        "{}",
        not_protobuf.text
    );
}

#[tokio::test]
async fn other_media_types_and_encodings_are_unsupported() {
    let app = PromApp::new().await;
    let body = encode_write_request(&request(vec![])).unwrap();
    let cases = [
        ("application/json", "snappy", "application/json"),
        ("application/x-protobuf", "gzip", "gzip"),
        (
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "snappy",
            "io.prometheus.write.v2.Request",
        ),
    ];
    for (content_type, encoding, named) in cases {
        let answer = write_body(&app, body.clone(), content_type, encoding).await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(answer.text.contains(named), "{}", answer.text);
    }
    // No headers at all: remote-write 1.0 with snappy, as Prometheus assumes.
    let bare = write_body(&app, body, "", "").await;
    assert_eq!(bare.status, StatusCode::NO_CONTENT, "{}", bare.text);
}

#[tokio::test]
async fn bad_labels_are_rejected_and_the_rest_is_stored() {
    let app = PromApp::new().await;
    let answer = write(
        &app,
        &request(vec![
            series(&[("__name__", "ok")], &[(1_000, 1.0)]),
            series(&[("__name__", "bad"), ("0x", "v")], &[(1_000, 1.0)]),
            series(
                &[("__name__", "bad"), ("a", "1"), ("a", "2")],
                &[(1_000, 1.0)],
            ),
            series(&[("__name__", "")], &[(1_000, 1.0)]),
        ]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    for expected in [
        "invalid label name \"0x\"",
        "duplicate label name \"a\"",
        "empty label set",
        "accepted 1 samples, rejected 3 (invalid_labels=3)",
    ] {
        assert!(
            answer.text.contains(expected),
            "{expected}: {}",
            answer.text
        );
    }
    assert_eq!(values(&app, "ok", "2").await, ["1"]);
    assert!(values(&app, r#"{__name__="bad"}"#, "2").await.is_empty());
}

#[tokio::test]
async fn late_samples_within_the_window_are_stored_and_older_ones_are_partial_writes() {
    let app = PromApp::new().await;
    let prefix = "pharos_tsdb_rejected_samples_total{reason=\"out_of_bounds\"}";
    let before = counter(&app, prefix).await;
    let labels = [("__name__", "ooo_series"), ("job", "x")];
    let first = write(&app, &request(vec![series(&labels, &[(10_000_000, 1.0)])])).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    // 5 000 s is within the 2 h out-of-order window behind 10 000 s; 1 000 s is not.
    let second = write(
        &app,
        &request(vec![series(
            &labels,
            &[(5_000_000, 0.5), (20_000_000, 2.0), (1_000_000, 9.0)],
        )]),
    )
    .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert!(second.text.starts_with("out of bounds"), "{}", second.text);
    assert!(second.text.contains("ooo_series"), "{}", second.text);
    // The late sample and the newer one of the same request were stored, in time order.
    let answer = app
        .get(
            "/api/v1/query_range",
            &[
                ("query", "ooo_series"),
                ("start", "0"),
                ("end", "20000"),
                ("step", "2500"),
            ],
        )
        .await;
    let points: Vec<(f64, String)> = answer.body["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        points,
        [
            (5000.0, "0.5".to_owned()),
            (10000.0, "1".to_owned()),
            (20000.0, "2".to_owned())
        ],
        "{}",
        answer.body
    );
    let after = counter(&app, prefix).await;
    assert!(after >= before + 1.0, "{before} -> {after}");
    let zero_reasons = app.get("/metrics", &[]).await.text;
    assert!(
        zero_reasons.contains("pharos_tsdb_rejected_samples_total{reason=\"out_of_order\"}"),
        "every reason is exposed, even at zero"
    );
}

#[tokio::test]
async fn metadata_sent_with_remote_write_is_served() {
    let app = PromApp::new().await;
    let mut with_metadata = request(vec![]);
    with_metadata.metadata = vec![MetricMetadata {
        r#type: MetricType::Counter as i32,
        metric_family_name: "http_requests_total".into(),
        help: "Requests served.".into(),
        unit: String::new(),
    }];
    assert_eq!(
        write(&app, &with_metadata).await.status,
        StatusCode::NO_CONTENT
    );
    let answer = app
        .get("/api/v1/metadata", &[("metric", "http_requests_total")])
        .await;
    assert_eq!(
        answer.body,
        json!({"status": "success", "data": {"http_requests_total": [
            {"type": "counter", "help": "Requests served.", "unit": ""}
        ]}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_python_client_writes_openmetrics_samples() {
    let app = PromApp::new().await;
    let (addr, server) = app.serve().await;
    let shared = format!("{}/../../../shared/scripts", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.om");
    // 0.05 days at 15 s: 288 steps of the reference data set's 100 series.
    let generated = std::process::Command::new("python3")
        .arg(format!("{shared}/gen-openmetrics.py"))
        .args(["--start", "1704067200", "--days", "0.05"])
        .output()
        .unwrap();
    assert!(generated.status.success());
    std::fs::write(&file, &generated.stdout).unwrap();
    let url = format!("http://{addr}/api/v1/write");
    // The reference client sends no credentials; like a Prometheus with `authorization:` in
    // its remote_write section, it gets a bearer header added to every request it makes.
    let with_token = format!(
        "import runpy, sys, urllib.request as r\n\
         plain = r.Request\n\
         class Authorized(plain):\n\
         \x20   def __init__(self, *a, headers=None, **k):\n\
         \x20       super().__init__(*a, headers={{**(headers or {{}}), 'Authorization': 'Bearer {}'}}, **k)\n\
         r.Request = Authorized\n\
         sys.argv = sys.argv[1:]\n\
         runpy.run_path(sys.argv[0], run_name='__main__')\n",
        app.admin_token
    );
    let sent = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", &with_token])
            .arg(format!("{shared}/prom-remote-write.py"))
            .arg(url)
            .arg(&file)
            .args(["--batch", "5000"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert!(sent.status.success(), "{stderr}");
    assert!(stderr.contains("sent 28800 samples"), "{stderr}");
    server.abort();

    let end = "1704071505"; // the last step: 1704067200 + 287 * 15
    assert_eq!(
        values(&app, r#"count({__name__=~"app_.+"})"#, end).await,
        ["100"]
    );
    assert_eq!(
        values(
            &app,
            r#"app_requests_total{namespace="ns-1",pod="pod-2"}"#,
            end
        )
        .await,
        [(287 * 15 * 6).to_string()]
    );
    assert_eq!(
        values(
            &app,
            r#"count_over_time(app_queue_depth{namespace="ns-0",pod="pod-0"}[2h])"#,
            end
        )
        .await,
        ["288"]
    );
}
