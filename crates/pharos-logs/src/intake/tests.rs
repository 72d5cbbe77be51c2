#![allow(clippy::unwrap_used)]

use std::io::Write as _;

use super::loki::{Entry, PushRequest, Stream, Timestamp, encode_push_request, parse_labels};
use super::*;

/// A bucket start well after the epoch, and "now" a minute into it.
const S: i64 = 1_765_000_200_000;
const NOW: i64 = S + 60_000;

fn ns(ms: i64) -> String {
    (ms * 1_000_000).to_string()
}

fn intake() -> LogIntake {
    LogIntake::new(IntakeSettings::default())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn the_loki_doc_sample_is_read_and_its_line_rejected_for_what_it_is() {
    let body = include_str!("../../../../testdata/logs/samples/loki-push.json");
    let report = intake()
        .push(BodyKind::LokiJson, body.as_bytes(), None, None, NOW)
        .unwrap();
    // `{foo="bar2"}` names no service; `fizzbuzz` has no latency either.
    assert_eq!(report.accepted, 0);
    assert_eq!(report.rejected, BTreeMap::from([(Reject::NoService, 1)]));
    assert_eq!(report.samples[0].line, "fizzbuzz");
}

#[test]
fn mixed_lines_keep_the_good_ones_and_count_the_rest() {
    let intake = intake();
    let nginx =
        r#"10.0.0.1 - - [01/Jan/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" 0.120"#;
    let body = serde_json::json!({"streams": [
        {"stream": {"service": "api"}, "values": [
            [ns(NOW), r#"{"latency_ms": 10, "status": 200}"#],
            [ns(NOW), r#"{"latency_ms": 30, "status": 502}"#],
            [ns(NOW), "not a log line"],
            [ns(NOW), r#"{"latency_ms": -5}"#],
            [ns(NOW), r#"{"latency_ms": 1e12}"#],
            [ns(NOW + 3_600_000), r#"{"latency_ms": 1}"#],
            [ns(NOW), nginx],
        ]},
        {"stream": {"app": "web"}, "values": [[ns(NOW), r#"{"duration": 0.5}"#]]},
    ]});
    let report = intake
        .push(
            BodyKind::LokiJson,
            body.to_string().as_bytes(),
            None,
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(report.accepted, 3);
    assert_eq!(
        report.rejected,
        BTreeMap::from([
            (Reject::UnknownFormat, 1),
            (Reject::NegativeLatency, 1),
            (Reject::AbsurdLatency, 1),
            (Reject::TooOld, 1),
            (Reject::TooFarInFuture, 1),
        ])
    );
    assert_eq!(report.samples.len(), MAX_SAMPLED_REJECTS);
    assert!(report.describe().contains("accepted 3 lines, rejected 5"));
    let published = intake.publish(NOW);
    let p95 = |service: &str| {
        published
            .samples
            .iter()
            .find(|s| s.name == "pharos_service_latency_p95_ms" && s.service == service)
            .map(|s| s.value)
    };
    assert_eq!(p95("api"), Some(30.0));
    assert_eq!(p95("web"), Some(500.0));
    assert!(published.samples.iter().all(|s| s.source == "loki"));
}

#[test]
fn protobuf_snappy_pushes_are_read_with_stream_labels() {
    let request = PushRequest {
        streams: vec![Stream {
            labels: r#"{service_name="checkout", env="prod"}"#.to_owned(),
            entries: (1..=100)
                .map(|i| Entry {
                    timestamp: Some(Timestamp {
                        seconds: NOW / 1000,
                        nanos: 5_000_000,
                    }),
                    line: format!("status=200 duration_ms={i}"),
                    structured_metadata: vec![],
                    parsed: vec![],
                })
                .collect(),
            hash: 0,
        }],
        format: String::new(),
    };
    let intake = intake();
    let body = encode_push_request(&request);
    let report = intake
        .push(BodyKind::LokiProtobuf, &body, None, None, NOW)
        .unwrap();
    assert_eq!((report.accepted, report.rejected_total()), (100, 0));
    // `Content-Encoding: snappy` changes nothing; gzip around the snappy block is undone first.
    let report = intake
        .push(
            BodyKind::LokiProtobuf,
            &gzip(&body),
            Some("gzip"),
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(report.accepted, 100);
    let report = intake
        .push(BodyKind::LokiProtobuf, &body, Some("snappy"), None, NOW)
        .unwrap();
    assert_eq!(report.accepted, 100);
    let published = intake.publish(NOW);
    let requests = published
        .samples
        .iter()
        .find(|s| s.name == "pharos_service_requests")
        .unwrap();
    assert_eq!(
        (requests.service.as_str(), requests.value),
        ("checkout", 300.0)
    );
}

#[test]
fn broken_bodies_are_refused_whole() {
    let intake = intake();
    let push = |kind, body: &[u8], encoding| intake.push(kind, body, encoding, None, NOW);
    // Not snappy; snappy of garbage; a truncated protobuf.
    assert!(matches!(
        push(BodyKind::LokiProtobuf, b"hello", None),
        Err(IntakeError::Decompression { .. })
    ));
    let garbage = snap::raw::Encoder::new().compress_vec(&[0xff; 64]).unwrap();
    assert!(matches!(
        push(BodyKind::LokiProtobuf, &garbage, None),
        Err(IntakeError::Malformed(_))
    ));
    let request = PushRequest {
        streams: vec![Stream {
            labels: "{app=\"a\"}".into(),
            entries: vec![],
            hash: 0,
        }],
        format: String::new(),
    };
    let mut raw = prost::Message::encode_to_vec(&request);
    raw.truncate(raw.len() - 3);
    let truncated = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    assert!(matches!(
        push(BodyKind::LokiProtobuf, &truncated, None),
        Err(IntakeError::Malformed(_))
    ));
    // JSON: not a push request; a numeric timestamp (Loki answers 400 too).
    assert!(matches!(
        push(BodyKind::LokiJson, b"[1,2]", None),
        Err(IntakeError::Malformed(_))
    ));
    let numeric = br#"{"streams":[{"stream":{"app":"a"},"values":[[1570818238000000000,"x"]]}]}"#;
    assert!(matches!(
        push(BodyKind::LokiJson, numeric, None),
        Err(IntakeError::Malformed(_))
    ));
    assert!(matches!(
        push(BodyKind::LokiJson, b"{}", Some("br")),
        Err(IntakeError::UnsupportedEncoding(_))
    ));
    assert!(matches!(
        push(BodyKind::LokiJson, b"{}", Some("gzip")),
        Err(IntakeError::Decompression { .. })
    ));
    assert!(matches!(
        intake.push(BodyKind::LokiJson, b"{}", None, Some("nope"), NOW),
        Err(IntakeError::UnknownSource(..))
    ));
}

#[test]
fn gzip_bombs_stop_at_the_decompression_limit() {
    let settings = IntakeSettings {
        max_decompressed_bytes: 1 << 20,
        ..IntakeSettings::default()
    };
    let intake = LogIntake::new(settings);
    // 64 MiB of zeros: about 64 KiB compressed.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100 << 10);
    for kind in [BodyKind::LokiJson, BodyKind::LokiProtobuf, BodyKind::Ndjson] {
        assert_eq!(
            intake.push(kind, &bomb, Some("gzip"), None, NOW),
            Err(IntakeError::TooLarge { limit: 1 << 20 })
        );
    }
    // A snappy block announcing more than the limit is refused before decompressing.
    let big = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 2 << 20])
        .unwrap();
    assert_eq!(
        intake.push(BodyKind::LokiProtobuf, &big, None, None, NOW),
        Err(IntakeError::TooLarge { limit: 1 << 20 })
    );
}

#[test]
fn line_limits() {
    let settings = IntakeSettings {
        max_lines_per_request: 3,
        max_line_bytes: 64,
        ..IntakeSettings::default()
    };
    let intake = LogIntake::new(settings);
    let line = |ms: u32| format!(r#"{{"service":"a","latency_ms":{ms}}}"#);
    let body = [line(1), line(2), line(3), line(4)].join("\n");
    assert_eq!(
        intake.push(BodyKind::Ndjson, body.as_bytes(), None, None, NOW),
        Err(IntakeError::TooManyLines { lines: 4, limit: 3 })
    );
    let long = format!(
        r#"{{"service":"a","latency_ms":1,"pad":"{}"}}"#,
        "x".repeat(100)
    );
    let body = [line(1), long, String::new(), line(3)].join("\n");
    let report = intake
        .push(BodyKind::Ndjson, body.as_bytes(), None, None, NOW)
        .unwrap();
    assert_eq!(report.accepted, 2);
    assert_eq!(report.rejected, BTreeMap::from([(Reject::LineTooLong, 1)]));
    // Protobuf: counted on the wire before decoding.
    let request = PushRequest {
        streams: vec![Stream {
            labels: "{app=\"a\"}".into(),
            entries: vec![Entry::default(); 4],
            hash: 0,
        }],
        format: String::new(),
    };
    assert_eq!(
        intake.push(
            BodyKind::LokiProtobuf,
            &encode_push_request(&request),
            None,
            None,
            NOW
        ),
        Err(IntakeError::TooManyLines { lines: 4, limit: 3 })
    );
}

#[test]
fn ndjson_objects_name_their_service() {
    let intake = intake();
    let body = [
        r#"{"service": "search", "latency_ms": 12, "status": 200}"#,
        r#"{"service": "search", "request_time": 0.2, "status": 500, "time": "2025-12-06T05:51:00Z"}"#,
        r#"{"latency_ms": 5}"#,
        r#"[1, 2]"#,
    ]
    .join("\n");
    let report = intake
        .push(BodyKind::Ndjson, body.as_bytes(), None, None, NOW)
        .unwrap();
    assert_eq!(report.source, "ndjson");
    assert_eq!(report.accepted, 2);
    assert_eq!(
        report.rejected,
        BTreeMap::from([(Reject::UnknownFormat, 1), (Reject::NoService, 1)])
    );
}

#[test]
fn configured_sources_choose_format_and_labels() {
    let settings = IntakeSettings {
        sources: vec![SourceSettings {
            name: "edge".into(),
            format: Format::Nginx,
            service_labels: vec!["job".into()],
            ..SourceSettings::default()
        }],
        ..IntakeSettings::default()
    };
    let intake = LogIntake::new(settings);
    let line = include_str!("../../../../testdata/logs/samples/nginx-ingress-upstreaminfo.log")
        .lines()
        .next()
        .unwrap();
    let body = serde_json::json!({"streams": [{"stream": {"job": "ingress", "service": "x"}, "values": [[ns(NOW), line]]}]});
    // The line carries its own (2023) time: too old for the lateness window.
    let report = intake
        .push(
            BodyKind::LokiJson,
            body.to_string().as_bytes(),
            None,
            Some("edge"),
            NOW,
        )
        .unwrap();
    assert_eq!(report.rejected, BTreeMap::from([(Reject::TooOld, 1)]));
    assert_eq!(report.samples[0].service.as_deref(), Some("ingress"));
}

#[test]
fn label_sets_parse_like_prometheus_writes_them() {
    assert_eq!(
        parse_labels(r#"{app="a", msg="say \"hi\"\n", x="1,2"}"#).unwrap(),
        vec![
            ("app".into(), "a".into()),
            ("msg".into(), "say \"hi\"\n".into()),
            ("x".into(), "1,2".into())
        ]
    );
    assert_eq!(parse_labels("{}").unwrap(), vec![]);
    assert!(parse_labels("app=a").is_err());
    assert!(parse_labels(r#"{app="a}"#).is_err());
}

#[test]
fn bucket_gauges_go_into_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = pharos_tsdb::Db::open(dir.path(), pharos_tsdb::Options::default()).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let intake = intake();
    let body = serde_json::json!({"streams": [{"stream": {"service": "api"}, "values": [
        [ns(now), r#"{"latency_ms": 10}"#], [ns(now), r#"{"latency_ms": 20}"#]
    ]}]});
    intake
        .push(
            BodyKind::LokiJson,
            body.to_string().as_bytes(),
            None,
            None,
            now,
        )
        .unwrap();
    let published = intake.publish(now);
    let report = crate::append_samples(&db, &published.samples).unwrap();
    assert_eq!(
        (report.appended, report.rejected),
        (crate::aggregate::SAMPLES_PER_BUCKET, 0)
    );
    // The same samples again are no-ops for the store; the aggregator never re-sends a
    // stamp with another value (each revision gets a later stamp).
    let report = crate::append_samples(&db, &published.samples).unwrap();
    assert_eq!(report.rejected, 0);
}

/// A rough throughput number, not a gate: `cargo test --release -p pharos-logs -- --ignored
/// --nocapture throughput`. 200 services, nginx lines ending in `$request_time`, Loki JSON.
#[test]
#[ignore = "measurement; run in release"]
fn throughput_of_nginx_lines_over_loki_json() {
    let now = chrono::Utc::now().timestamp_millis();
    let time_local = chrono::DateTime::from_timestamp_millis(now)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let streams: Vec<_> = (0..200)
        .map(|s| {
            let values: Vec<_> = (0..500)
                .map(|i| {
                    let line = format!(
                        r#"10.0.{s}.{} - - [{time_local}] "GET /v1/items/{i} HTTP/1.1" 200 512 "-" "Mozilla/5.0" {}.{:03} 0.010"#,
                        i % 250,
                        i % 3,
                        (i * 7) % 1000
                    );
                    serde_json::json!([ns(now), line])
                })
                .collect();
            serde_json::json!({"stream": {"service": format!("svc-{s}")}, "values": values})
        })
        .collect();
    let body = serde_json::json!({"streams": streams}).to_string();
    let intake = intake();
    let started = std::time::Instant::now();
    let report = intake
        .push(BodyKind::LokiJson, body.as_bytes(), None, None, now)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.accepted, 100_000, "{:?}", report.rejected);
    let published = intake.publish(now);
    assert_eq!(
        published.samples.len(),
        200 * crate::aggregate::SAMPLES_PER_BUCKET
    );
    println!(
        "{} lines ({} MiB body) in {:?}: {:.0} lines/s on one thread",
        report.accepted,
        body.len() >> 20,
        elapsed,
        report.accepted as f64 / elapsed.as_secs_f64()
    );
}

#[test]
fn streams_name_the_namespace_and_buckets_count_fast_requests_per_ladder_step() {
    let now = chrono::Utc::now().timestamp_millis();
    let intake = intake();
    let values: Vec<serde_json::Value> = (1..=100)
        .map(|i| serde_json::json!([ns(now), format!(r#"{{"latency_ms": {i}}}"#)]))
        .collect();
    let body = serde_json::json!({"streams": [
        {"stream": {"service": "api", "namespace": "team-a"}, "values": values},
        {"stream": {"service": "web"}, "values": [[ns(now), r#"{"latency_ms": 5}"#]]},
    ]});
    intake
        .push(
            BodyKind::LokiJson,
            body.to_string().as_bytes(),
            None,
            None,
            now,
        )
        .unwrap();
    let published = intake.publish(now);
    let of = |service: &str| -> Vec<&crate::MetricSample> {
        published
            .samples
            .iter()
            .filter(|s| s.service == service)
            .collect()
    };
    assert!(
        of("api")
            .iter()
            .all(|s| s.namespace.as_deref() == Some("team-a"))
    );
    assert!(of("web").iter().all(|s| s.namespace.is_none()));
    let fast: Vec<(u32, f64)> = of("api")
        .iter()
        .filter(|s| s.name == crate::FAST_REQUESTS)
        .map(|s| (s.le_ms.unwrap(), s.value))
        .collect();
    // Latencies 1..=100 ms: everything from the 100 ms step on.
    assert_eq!(fast[0], (50, 50.0));
    assert_eq!(fast[1], (100, 100.0));
    assert_eq!(fast.len(), crate::LATENCY_LADDER_MS.len());
    assert!(fast[1..].iter().all(|(_, v)| *v == 100.0));
}
