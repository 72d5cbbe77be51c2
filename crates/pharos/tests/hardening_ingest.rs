//! Hostile remote-write input against the real binary (issue 7 items 6 and 7): oversized
//! bodies and labels are refused with a 4xx naming the limit, memory returns to its baseline,
//! and samples stamped in the future are refused without stopping anyone else's writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pharos_ingest::{
    Label, MetricMetadata, Sample, TimeSeries, WriteLimits, WriteRequest, decode_write_request,
    encode_write_request,
};
use support::{Pharos, free_port, get_json, write_body};

const MIB: u64 = 1024 * 1024;
/// How many times the oversized body is sent.
const ATTEMPTS: usize = 3;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// POSTs a remote-write body (with the harness's token); status and answer text.
async fn post(pharos: &Pharos, body: Vec<u8>) -> (u16, String) {
    let response = pharos
        .client()
        .post(pharos.url("/api/v1/write"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited protobuf field.
fn field(number: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(number << 3 | 2);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A snappy literal element (at most 60 bytes, which is all this file needs).
fn snappy_literal(bytes: &[u8], out: &mut Vec<u8>) {
    assert!((1..=60).contains(&bytes.len()));
    out.push(((bytes.len() - 1) as u8) << 2);
    out.extend_from_slice(bytes);
}

/// A remote-write body for `big{x="aaaa..."}` (one sample at `t`) whose label value is
/// `value_len` bytes, built directly in snappy's block format as an attacker would: the value
/// is one literal byte and then copies of it, so 200 MiB take ~10 MB on the wire and none of
/// the 200 MiB is ever held by the test.
fn huge_label_body(value_len: u64, t: i64) -> Vec<u8> {
    let mut name_label = Vec::new();
    field(1, b"__name__", &mut name_label);
    field(2, b"big", &mut name_label);
    let mut sample = vec![0x09];
    sample.extend_from_slice(&1.0f64.to_le_bytes());
    sample.push(0x10);
    varint(t as u64, &mut sample);
    let mut sample_field = Vec::new();
    field(2, &sample, &mut sample_field);

    // label x: field 1 "x", field 2 header; the value bytes follow.
    let mut x_head = Vec::new();
    field(1, b"x", &mut x_head);
    x_head.push(2 << 3 | 2);
    varint(value_len, &mut x_head);
    let x_len = x_head.len() as u64 + value_len;

    let mut series_head = Vec::new();
    field(1, &name_label, &mut series_head);
    series_head.push(1 << 3 | 2);
    varint(x_len, &mut series_head);
    series_head.extend_from_slice(&x_head);
    let series_len = series_head.len() as u64 + value_len + sample_field.len() as u64;

    let mut prefix = vec![1 << 3 | 2];
    varint(series_len, &mut prefix);
    prefix.extend_from_slice(&series_head);
    let total = prefix.len() as u64 + value_len + sample_field.len() as u64;

    let mut body = Vec::new();
    varint(total, &mut body);
    prefix.push(b'a');
    for piece in prefix.chunks(60) {
        snappy_literal(piece, &mut body);
    }
    // Copies with a 2-byte offset of 1: each repeats the previous byte up to 64 times.
    let mut left = value_len - 1;
    while left > 0 {
        let len = left.min(64);
        body.push((((len - 1) as u8) << 2) | 2);
        body.extend_from_slice(&1u16.to_le_bytes());
        left -= len;
    }
    snappy_literal(&sample_field, &mut body);
    body
}

/// Resident memory of a process, from `/proc/<pid>/status`.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

/// A small, valid write: must answer 204.
async fn write_now(pharos: &Pharos, name: &str) {
    let body = write_body(&[(vec![("__name__", name.to_owned())], now_ms(), 1.0)]);
    let (status, text) = post(pharos, body).await;
    assert_eq!(status, 204, "{text}");
}

/// The value of `pharos_refusals_total{reason}` in `/metrics` (0 when absent).
async fn refusals(pharos: &Pharos, reason: &str) -> f64 {
    let text = reqwest::get(pharos.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("pharos_refusals_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[test]
fn the_crafted_snappy_body_is_what_it_claims() {
    let t = 1_700_000_000_000;
    let crafted = huge_label_body(5000, t);
    let unlimited = WriteLimits {
        max_label_value_length: usize::MAX,
        ..WriteLimits::default()
    };
    let decoded = decode_write_request(&crafted, &unlimited).unwrap();
    let expected = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label::new("__name__", "big"),
                Label::new("x", "a".repeat(5000)),
            ],
            samples: vec![Sample {
                value: 1.0,
                timestamp: t,
            }],
            histograms: vec![],
        }],
        metadata: vec![],
    };
    assert_eq!(decoded.request, expected);
    // 200 MiB of value fit in about 10 MB.
    let attack = huge_label_body(200 * MIB, t);
    assert!(attack.len() < 10 * MIB as usize, "{}", attack.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_label_value_is_refused_and_memory_returns_to_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::start(dir.path(), free_port()).await;
    let pid = pharos.child.id();
    // Warm up the paths the attack goes through, so the baseline includes their one-off costs.
    write_now(&pharos, "warm_up").await;
    let baseline = rss_bytes(pid);

    let body = huge_label_body(200 * MIB, now_ms());
    for attempt in 0..ATTEMPTS {
        let started = Instant::now();
        let (status, text) = post(&pharos, body.clone()).await;
        assert_eq!(status, 400, "attempt {attempt}: {text}");
        assert!(
            text.contains("remote-write refused: the decompressed body is 209715")
                && text.contains("limit remote_write.max_decompressed_bytes = 33554432"),
            "{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered in time"
        );
    }
    assert_eq!(
        refusals(&pharos, "remote_write_body_too_large").await,
        ATTEMPTS as f64,
        "each refusal is counted"
    );

    // Memory settles back near the baseline (the body buffers are freed, nothing is cached).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut rss = rss_bytes(pid);
    while rss > baseline + 64 * MIB && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss = rss_bytes(pid);
    }
    eprintln!(
        "RSS baseline {} KiB, after three refusals {} KiB",
        baseline / 1024,
        rss / 1024
    );
    assert!(
        rss <= baseline + 64 * MIB,
        "RSS {} MiB after the refusals, baseline {} MiB",
        rss / MIB,
        baseline / MIB
    );

    // Nothing of the attack was stored: the series listing stays small.
    let listing = pharos
        .client()
        .get(pharos.url("/api/v1/series?match[]={__name__=~\"big|warm_up\"}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.len() < 4096, "{} bytes", listing.len());
    assert!(
        listing.contains("warm_up") && !listing.contains("\"big\""),
        "{listing}"
    );
    write_now(&pharos, "after_attack").await;
}

/// A request with one series per label set, each with a sample at `t`.
fn request(series: Vec<Vec<Label>>, t: i64) -> WriteRequest {
    WriteRequest {
        timeseries: series
            .into_iter()
            .map(|labels| TimeSeries {
                labels,
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: t,
                }],
                histograms: vec![],
            })
            .collect(),
        metadata: vec![],
    }
}

fn named(name: &str, extra: &[(String, String)]) -> Vec<Label> {
    std::iter::once(Label::new("__name__", name))
        .chain(
            extra
                .iter()
                .map(|(n, v)| Label::new(n.as_str(), v.as_str())),
        )
        .collect()
}

/// Asserts a 400 whose text names `setting` with `value`.
async fn assert_refused(pharos: &Pharos, request: &WriteRequest, setting: &str, value: usize) {
    let (status, text) = post(pharos, encode_write_request(request).unwrap()).await;
    assert_eq!(status, 400, "{text}");
    let named = format!("limit remote_write.{setting} = {value}");
    assert!(text.contains(&named), "expected {named:?} in {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_and_label_limit_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::start(dir.path(), free_port()).await;
    let defaults = WriteLimits::default();
    let t = now_ms();

    // Label limits refuse the series, and the other series of the request still land.
    let ok = named("kept_beside_refusals", &[]);
    let long_name = named("m", &[("n".repeat(1025), "v".into())]);
    assert_refused(
        &pharos,
        &request(vec![ok.clone(), long_name], t),
        "max_label_name_length",
        1024,
    )
    .await;
    let long_value = named("m", &[("x".into(), "v".repeat(2049))]);
    assert_refused(
        &pharos,
        &request(vec![long_value], t),
        "max_label_value_length",
        2048,
    )
    .await;
    let thirty_one: Vec<(String, String)> =
        (0..30).map(|i| (format!("l{i}"), "v".into())).collect();
    assert_refused(
        &pharos,
        &request(vec![named("m", &thirty_one)], t),
        "max_labels_per_series",
        30,
    )
    .await;

    // Request-wide limits refuse the whole request.
    let many_series: Vec<Vec<Label>> = (0..=defaults.max_series_per_request)
        .map(|i| named("too_many_series", &[("i".into(), i.to_string())]))
        .collect();
    assert_refused(
        &pharos,
        &request(many_series, t),
        "max_series_per_request",
        50_000,
    )
    .await;
    let many_samples = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: named("too_many_samples", &[]),
            samples: (0..=defaults.max_samples_per_request as i64)
                .map(|i| Sample {
                    value: 1.0,
                    timestamp: t - 500_000 + i,
                })
                .collect(),
            histograms: vec![],
        }],
        metadata: vec![],
    };
    assert_refused(&pharos, &many_samples, "max_samples_per_request", 500_000).await;
    let metadata = MetricMetadata {
        r#type: 1,
        metric_family_name: "m".into(),
        help: "h".into(),
        unit: String::new(),
    };
    let many_metadata = WriteRequest {
        timeseries: vec![],
        metadata: vec![metadata; defaults.max_metadata_per_request + 1],
    };
    assert_refused(&pharos, &many_metadata, "max_metadata_per_request", 50_000).await;
    let (status, text) = post(&pharos, huge_label_body(33 * MIB, t)).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("limit remote_write.max_decompressed_bytes = 33554432"),
        "{text}"
    );

    // Only the series within the limits were stored.
    let answer = get_json(
        &pharos.client(),
        &format!(
            "{}?match[]={{__name__=~\"kept_beside_refusals|m|too_many_.*\"}}",
            pharos.url("/api/v1/series")
        ),
    )
    .await;
    assert_eq!(
        answer["data"],
        serde_json::json!([{"__name__": "kept_beside_refusals"}]),
        "{answer}"
    );
    for reason in [
        "remote_write_label_name_too_long",
        "remote_write_label_value_too_long",
        "remote_write_too_many_labels",
        "remote_write_too_many_series",
        "remote_write_too_many_samples",
        "remote_write_too_many_metadata",
        "remote_write_body_too_large",
    ] {
        assert_eq!(refusals(&pharos, reason).await, 1.0, "{reason}");
    }
    write_now(&pharos, "still_writable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_samples_are_refused_and_current_writes_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start(dir.path(), free_port()).await;
    let hour = 3_600_000;
    let ten_years = 10 * 365 * 24 * hour;
    for future in [now_ms() + 2 * hour, now_ms() + ten_years, i64::MAX] {
        let body = write_body(&[
            (vec![("__name__", "clock".to_owned())], future, 1.0),
            (vec![("__name__", "beside".to_owned())], now_ms(), 1.0),
        ]);
        let (status, text) = post(&pharos, body).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains(&format!("too far in the future: timestamp {future}"))
                && text.contains("limit tsdb.future_sample_tolerance")
                && text.contains("accepted 1 samples, rejected 1"),
            "{text}"
        );
        // Right after, the same series and any other take current samples.
        write_now(&pharos, "clock").await;
        write_now(&pharos, "other").await;
    }
    assert_eq!(refusals(&pharos, "too_far_in_future").await, 3.0);

    pharos.terminate();
    let pharos = Pharos::start(dir.path(), free_port()).await;
    write_now(&pharos, "clock").await;
    write_now(&pharos, "other").await;
    let answer = get_json(
        &pharos.client(),
        &format!(
            "{}?query=count_over_time(clock[1h])",
            pharos.url("/api/v1/query")
        ),
    )
    .await;
    assert_eq!(
        answer["data"]["result"][0]["value"][1], "4",
        "three writes before the restart and one after: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_limits_apply_and_a_body_too_long_to_fit_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pharos.yaml");
    std::fs::write(
        &config,
        "remote_write:\n  max_decompressed_bytes: 4096\n  max_label_value_length: 8\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let pharos =
        Pharos::start_with(dir.path(), free_port(), &["--no-demo", "--config", &config]).await;

    // Longer than any snappy body that decompresses to 4096 bytes: refused before decoding.
    let (status, text) = post(&pharos, vec![0xff; 64 * 1024]).await;
    assert_eq!(status, 413, "{text}");
    // Worded "the limit is ..." like every other 413 since 90276f3.
    assert!(
        text.contains("the limit is remote_write.max_decompressed_bytes = 4096"),
        "{text}"
    );
    let long_value = named("m", &[("x".into(), "123456789".into())]);
    assert_refused(
        &pharos,
        &request(vec![long_value], now_ms()),
        "max_label_value_length",
        8,
    )
    .await;
    assert_eq!(refusals(&pharos, "remote_write_body_too_large").await, 1.0);
    write_now(&pharos, "short").await;
}
