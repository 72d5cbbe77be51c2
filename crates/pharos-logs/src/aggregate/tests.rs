#![allow(clippy::unwrap_used)]

use super::*;

const MIN: i64 = 60_000;
/// A bucket start well after the epoch.
const S: i64 = 1_765_000_200_000;

fn values(out: &Published, name: &str, service: &str) -> Vec<(i64, f64)> {
    out.samples
        .iter()
        .filter(|s| s.name == name && s.service == service)
        .map(|s| (s.timestamp_ms, s.value))
        .collect()
}

#[test]
fn buckets_align_to_the_epoch() {
    assert_eq!(S % BUCKET_MS, 0);
    assert_eq!(bucket_start(S + 299_999), S);
    assert_eq!(bucket_start(S + 300_000), S + BUCKET_MS);
    assert_eq!(bucket_start(-1), -BUCKET_MS);
}

#[test]
fn counts_errors_and_quantiles_per_bucket() {
    let mut agg = Aggregator::new(AggregatorLimits::default());
    let now = S + 2 * MIN;
    for i in 1..=100 {
        let status = if i % 10 == 0 { 503 } else { 200 };
        agg.observe("loki", "api", S + i, i as f64, Some(status), now)
            .unwrap();
    }
    let out = agg.publish(now);
    assert_eq!(
        values(&out, "pharos_service_requests", "api"),
        vec![(now, 100.0)]
    );
    assert_eq!(
        values(&out, "pharos_service_errors", "api"),
        vec![(now, 10.0)]
    );
    assert_eq!(
        values(&out, "pharos_service_latency_p50_ms", "api"),
        vec![(now, 50.0)]
    );
    assert_eq!(
        values(&out, "pharos_service_latency_p95_ms", "api"),
        vec![(now, 95.0)]
    );
    assert_eq!(
        values(&out, "pharos_service_latency_p99_ms", "api"),
        vec![(now, 99.0)]
    );
    // Nothing changed: nothing to write.
    assert!(agg.publish(now + 10_000).samples.is_empty());
}

#[test]
fn late_lines_revise_their_bucket_within_the_settle_window() {
    let mut agg = Aggregator::new(AggregatorLimits::default());
    agg.observe("loki", "api", S + MIN, 10.0, None, S + MIN)
        .unwrap();
    assert_eq!(agg.publish(S + MIN).samples.len(), SAMPLES_PER_BUCKET);
    // The next bucket starts; a line of it arrives, and a late one of the previous bucket.
    let next = S + BUCKET_MS;
    agg.observe("loki", "api", next + 1_000, 20.0, None, next + 2_000)
        .unwrap();
    agg.observe("loki", "api", S + 4 * MIN, 30.0, Some(500), next + 2_000)
        .unwrap();
    let out = agg.publish(next + 2_000);
    // Only the previous bucket is written (in its last second); the new one is held back.
    assert_eq!(
        values(&out, "pharos_service_requests", "api"),
        vec![(next - 1_000, 2.0)]
    );
    assert_eq!(
        values(&out, "pharos_service_errors", "api"),
        vec![(next - 1_000, 1.0)]
    );
    // After the settle time, the new bucket is written at the clock.
    let out = agg.publish(next + 61_000);
    assert_eq!(
        values(&out, "pharos_service_requests", "api"),
        vec![(next + 61_000, 1.0)]
    );
    // A line for the old bucket now: in memory (its bucket is exact) but no longer writable.
    agg.observe("loki", "api", S + 4 * MIN, 40.0, None, next + 62_000)
        .unwrap();
    assert_eq!(agg.bucket("loki", "api", S).unwrap().count, 3);
    let out = agg.publish(next + 62_000);
    assert!(out.samples.is_empty());
    assert_eq!(out.unwritable_revisions, 1);
}

#[test]
fn lateness_bounds_and_eviction() {
    let limits = AggregatorLimits::default();
    let mut agg = Aggregator::new(limits);
    let now = S + BUCKET_MS + 9 * MIN;
    // Bucket S ends at S+5m; with 10 min lateness it is open until S+15m.
    agg.observe("loki", "api", S, 1.0, None, now).unwrap();
    assert_eq!(
        agg.observe("loki", "api", S - 1, 1.0, None, now),
        Err(Reject::TooOld)
    );
    assert_eq!(
        agg.observe("loki", "api", now + 6 * MIN, 1.0, None, now),
        Err(Reject::TooFarInFuture)
    );
    agg.observe("loki", "api", now + 4 * MIN, 1.0, None, now)
        .unwrap();
    assert_eq!(agg.buckets(), 2);
    let out = agg.publish(S + BUCKET_MS + 10 * MIN);
    assert_eq!(out.evicted_buckets, 1);
    assert_eq!(agg.buckets(), 1);
    assert_eq!(
        agg.observe("loki", "api", S + 1, 1.0, None, S + BUCKET_MS + 10 * MIN),
        Err(Reject::TooOld)
    );
    // Everything final: memory is empty again.
    agg.publish(now + 60 * MIN);
    assert_eq!((agg.services(), agg.buckets()), (0, 0));
}

#[test]
fn service_cardinality_is_bounded_per_source_and_overall() {
    let limits = AggregatorLimits {
        max_services_per_source: 3,
        max_services_total: 5,
        ..AggregatorLimits::default()
    };
    let mut agg = Aggregator::new(limits);
    let now = S + MIN;
    let mut refused = 0;
    for i in 0..10_000 {
        if agg.observe("loki", &format!("svc-{i}"), now, 1.0, None, now)
            == Err(Reject::TooManyServices)
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 10_000 - 3);
    // Known services still count.
    agg.observe("loki", "svc-0", now, 1.0, None, now).unwrap();
    for i in 0..3 {
        let _ = agg.observe("ndjson", &format!("n-{i}"), now, 1.0, None, now);
    }
    assert_eq!(agg.services(), 5);
    assert_eq!(
        agg.observe("other", "x", now, 1.0, None, now),
        Err(Reject::TooManyServices)
    );
}

/// Revisions and the hold-back, appended to a real store: every sample is taken (in order, no
/// rewritten timestamp), and what cannot be written is counted instead of refused.
#[test]
fn revisions_are_accepted_by_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = pharos_tsdb::Db::open(dir.path(), pharos_tsdb::Options::default()).unwrap();
    let c = bucket_start(chrono::Utc::now().timestamp_millis());
    let s = c - BUCKET_MS;
    let mut agg = Aggregator::new(AggregatorLimits::default());
    let write = |agg: &mut Aggregator, now: i64| {
        let out = agg.publish(now);
        let report = crate::append_samples(&db, &out.samples).unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
        (report.appended, out.unwritable_revisions)
    };
    agg.observe("loki", "api", s + 1_000, 10.0, None, c + 10_000)
        .unwrap();
    assert_eq!(write(&mut agg, c + 10_000), (SAMPLES_PER_BUCKET, 0));
    agg.observe("loki", "api", c + 5_000, 20.0, None, c + 20_000)
        .unwrap();
    agg.observe("loki", "api", s + 2_000, 30.0, None, c + 20_000)
        .unwrap();
    // The late line revises the previous bucket; the new one waits for the settle time.
    assert_eq!(write(&mut agg, c + 20_000), (SAMPLES_PER_BUCKET, 0));
    assert_eq!(write(&mut agg, c + 61_000), (SAMPLES_PER_BUCKET, 0));
    agg.observe("loki", "api", s + 3_000, 40.0, None, c + 62_000)
        .unwrap();
    assert_eq!(write(&mut agg, c + 62_000), (0, 1));
    agg.observe("loki", "api", c + 63_000, 50.0, None, c + 63_000)
        .unwrap();
    assert_eq!(write(&mut agg, c + 64_000), (SAMPLES_PER_BUCKET, 0));
}

#[test]
fn final_bucket_samples_equal_what_publish_writes_for_the_same_lines() {
    use crate::parse::{Format, JsonFields, parse_line};
    // Enough lines that the sketch is no longer exact, with errors among them.
    let time = chrono::DateTime::from_timestamp_millis(S + 61_000)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut agg = Aggregator::new(AggregatorLimits::default());
    let now = S + BUCKET_MS + 2 * MIN;
    for i in 0..3_000_u64 {
        let status = if i % 97 == 0 { 502 } else { 200 };
        let seconds = 0.005 + ((i * 7_919) % 1_000) as f64 / 1_700.0;
        let line = format!(
            "10.0.0.1 - - [{time}] \"POST /v1/rank HTTP/1.1\" {status} 12 \"-\" \"curl/8\" {seconds:.3}"
        );
        let parsed = parse_line(&line, Format::Nginx, &JsonFields::default()).unwrap();
        agg.observe(
            "sim-nginx",
            "reranker",
            parsed.timestamp_ms.unwrap(),
            parsed.latency_ms,
            parsed.status,
            now,
        )
        .unwrap();
        latencies.push(parsed.latency_ms);
        errors += u64::from(status >= 500);
    }
    let published = agg.publish(now).samples;
    let direct = final_bucket_samples("sim-nginx", "reranker", None, S + 42, &latencies, errors);
    assert_eq!(direct.len(), SAMPLES_PER_BUCKET);
    assert_eq!(direct, published);
    assert!(
        direct
            .iter()
            .all(|s| s.timestamp_ms == S + BUCKET_MS - 1_000)
    );
}
