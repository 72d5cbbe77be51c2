//! Issue 13, item 1: pulling from an existing Loki. A fake of Loki's `query_range` (streams
//! JSON, forward paging by timestamp; Loki itself is not packaged here) holds two days of nginx
//! lines of three services; the real binary, configured with `logs.loki_pull`, backfills them
//! page by page before anything writes "now" samples, and the latency API then gives every
//! bucket's count and errors exactly and its P95 within 1 % of the exact nearest-rank value.
//! Lines added to the fake afterwards arrive through the tail, each once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pharos_fakes::loki::FakeLoki;
use support::{Pharos, get_json};

const BUCKET_MS: i64 = 300_000;
const SERVICES: [&str; 3] = ["checkout", "search", "payments"];

/// An nginx `combined` + `$request_time` line.
fn nginx(t_ms: i64, status: u16, latency_ms: u64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(t_ms)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    format!(
        "10.1.2.3 - - [{time}] \"GET /v1/items HTTP/1.1\" {status} 512 \"-\" \"loadgen/1\" {}.{:03}",
        latency_ms / 1000,
        latency_ms % 1000
    )
}

/// A deterministic latency (ms) for request `i` of service `s`: a skewed spread with a slow
/// tail, different per service.
fn latency(s: usize, i: u64) -> u64 {
    let x = (i.wrapping_mul(2_654_435_761).wrapping_add(s as u64 * 97)) % 1_000;
    let base = 20 + 30 * s as u64;
    if x > 950 { base * 8 + x } else { base + x / 7 }
}

#[derive(Default, Debug)]
struct Expected {
    latencies: Vec<f64>,
    errors: u64,
}

fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

#[tokio::test]
async fn two_days_are_backfilled_exactly_then_new_lines_arrive_by_tail() {
    let loki = FakeLoki::start().await.unwrap();
    loki.require_tenant(Some("team-a"));
    let now = chrono::Utc::now().timestamp_millis();
    let history_end = now.div_euclid(BUCKET_MS) * BUCKET_MS;
    let history_start = history_end - 2 * 86_400_000 + 2 * BUCKET_MS;
    // service → bucket start → what was logged.
    let mut expected: BTreeMap<&str, BTreeMap<i64, Expected>> = BTreeMap::new();
    for (s, service) in SERVICES.iter().enumerate() {
        let mut lines = Vec::new();
        let mut i = 0u64;
        let mut t = history_start + s as i64 * 1_000;
        while t < history_end {
            // Every tenth moment has three requests at the same nanosecond.
            let at_once = if i.is_multiple_of(10) { 3 } else { 1 };
            for k in 0..at_once {
                let status = if (i + k).is_multiple_of(23) { 503 } else { 200 };
                let ms = latency(s, i + k);
                lines.push((t * 1_000_000 + 7, nginx(t, status, ms)));
                let bucket = expected
                    .entry(service)
                    .or_default()
                    .entry(t.div_euclid(BUCKET_MS) * BUCKET_MS)
                    .or_default();
                bucket.latencies.push(ms as f64);
                bucket.errors += u64::from(status >= 500);
            }
            i += at_once;
            t += 15_000;
        }
        loki.push(
            &[
                ("job", "ingress"),
                ("service", service),
                ("namespace", "shop"),
            ],
            lines.iter().map(|(ts, l)| (*ts, l.as_str())),
        );
    }
    // A stream of another schema and one the selector does not match.
    loki.push(
        &[
            ("job", "ingress"),
            ("service", "legacy"),
            ("schema_version", "v0"),
        ],
        [(
            (history_end - 600_000) * 1_000_000,
            nginx(history_end - 600_000, 200, 5).as_str(),
        )],
    );
    loki.push(
        &[("job", "batch"), ("service", "checkout")],
        [(
            (history_end - 600_000) * 1_000_000,
            nginx(history_end - 600_000, 200, 5).as_str(),
        )],
    );
    let stored = loki.entries();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pharos.yaml");
    std::fs::write(
        &config,
        format!(
            r#"logs:
  publish_interval: 1s
  settle: 1s
  sources:
    - name: edge
      format: nginx
  loki_pull:
    - name: main
      url: {}
      selector: '{{job="ingress"}}'
      source: edge
      tenant: team-a
      backfill: 3d
      interval: 1s
      limit: 200
"#,
            loki.base_url()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let pharos = Pharos::spawn(
        dir.path(),
        &["--no-demo", "--config", config.to_str().unwrap()],
    )
    .await;
    let client = pharos.client();

    // The backfill is done when the log says so.
    let deadline = Instant::now() + Duration::from_secs(180);
    while !pharos.log_text().contains("Loki backfill written") {
        assert!(
            Instant::now() < deadline,
            "no backfill within 180 s:\n{}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let backfill_seconds = started.elapsed().as_secs_f64();
    let requests = loki.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.status == 200 && r.tenant.as_deref() == Some("team-a"))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.direction.as_deref() == Some("forward"))
    );
    eprintln!(
        "backfill of {stored} entries: {} requests, done {backfill_seconds:.1} s after the start",
        requests.len()
    );

    for service in SERVICES {
        let answer = get_json(
            &client,
            &pharos.url(&format!("/api/services/{service}/latency?from=now-2d")),
        )
        .await;
        let buckets = answer["buckets"]
            .as_array()
            .unwrap_or_else(|| panic!("{answer}"));
        let got: BTreeMap<i64, &serde_json::Value> = buckets
            .iter()
            .filter(|b| b["count"].as_f64().unwrap_or(0.0) > 0.0)
            .map(|b| {
                let start = chrono::DateTime::parse_from_rfc3339(b["start"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis();
                (start, b)
            })
            .collect();
        let want = &expected[service];
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{service}: bucket starts"
        );
        for (start, bucket) in want {
            let b = got[start];
            let mut sorted = bucket.latencies.clone();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(
                b["count"].as_f64(),
                Some(sorted.len() as f64),
                "{service} {start}: {b}"
            );
            assert_eq!(
                b["errors"].as_f64(),
                Some(bucket.errors as f64),
                "{service} {start}: {b}"
            );
            let p95 = nearest_rank(&sorted, 0.95);
            let got_p95 = b["p95_ms"].as_f64().unwrap();
            assert!(
                (got_p95 - p95).abs() <= p95 * 0.01,
                "{service} {start}: P95 {got_p95} against exact {p95}"
            );
        }
    }

    // New lines of checkout reach the intake through the tail; some twice (the overlap).
    let first = chrono::Utc::now().timestamp_millis() - 2_000;
    let fresh: Vec<(i64, String)> = (0..40)
        .map(|i| ((first + i) * 1_000_000, nginx(first, 200, 10 + i as u64)))
        .collect();
    let labels = [
        ("job", "ingress"),
        ("service", "checkout"),
        ("namespace", "shop"),
    ];
    loki.push(&labels, fresh[..25].iter().map(|(t, l)| (*t, l.as_str())));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    loki.push(&labels, fresh.iter().map(|(t, l)| (*t, l.as_str())));
    let bucket = first.div_euclid(BUCKET_MS) * BUCKET_MS;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get_json(
            &client,
            &pharos.url("/api/services/checkout/latency?from=now-10m"),
        )
        .await;
        let count = answer["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| {
                chrono::DateTime::parse_from_rfc3339(b["start"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis()
                    == bucket
            })
            .and_then(|b| b["count"].as_f64())
            .unwrap_or(0.0);
        let history = expected["checkout"]
            .get(&bucket)
            .map_or(0, |b| b.latencies.len());
        assert!(count <= (40 + history) as f64, "counted twice: {answer}");
        if count == 40.0 {
            // Three more pulls ask for the overlap again: nothing is counted twice.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let again = get_json(
                &client,
                &pharos.url("/api/services/checkout/latency?from=now-10m"),
            )
            .await;
            let counts: Vec<f64> = again["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["count"].as_f64())
                .collect();
            assert!(counts.contains(&40.0), "{again}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tailed lines did not arrive within 60 s (bucket count {count}):\n{}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let metrics = client
        .get(pharos.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("pharos_logs_pull_lines_total{source=\"edge\"}"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("pull"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(metrics.contains("pharos_logs_rejected_lines_total{reason=\"unknown_schema\"} 1"));
    assert!(metrics.contains("pharos_logs_pull_lag_seconds{source=\"edge\"}"));
}
