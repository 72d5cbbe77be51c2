#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use pharos_fakes::loki::FakeLoki;

use super::*;
use crate::{BUCKET_MS, IntakeSettings, LogIntake, Reject, SourceSettings};

const NS: i64 = 1_000_000;
/// 2026-01-02T10:00:00Z.
const T0_MS: i64 = 1_767_348_000_000;

fn config(loki: &FakeLoki) -> PullConfig {
    let mut config = PullConfig::new("test", loki.base_url(), r#"{job="nginx"}"#);
    config.retry_backoff = Duration::from_millis(1);
    config
}

/// An nginx `combined` + `$request_time` line at `t_ms` (second resolution in the line).
fn nginx(t_ms: i64, status: u16, latency_ms: u64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(t_ms)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    format!(
        "10.0.0.1 - - [{time}] \"GET /api HTTP/1.1\" {status} 12 \"-\" \"curl/8\" {}.{:03}",
        latency_ms / 1000,
        latency_ms % 1000
    )
}

#[test]
fn chunks_cover_the_window_exactly() {
    let hour = Duration::from_secs(3_600);
    let h = 3_600_000 * NS;
    assert_eq!(chunks(0, 0, hour), vec![]);
    assert_eq!(chunks(0, h / 2, hour), vec![(0, h / 2)]);
    assert_eq!(
        chunks(10, 2 * h + 5, hour),
        vec![(10, h + 10), (h + 10, 2 * h + 5)]
    );
    let week = chunks(0, 7 * 24 * h, hour);
    assert_eq!(week.len(), 168);
    assert!(week.windows(2).all(|w| w[0].1 == w[1].0));
    assert_eq!(week.last().unwrap().1, 7 * 24 * h);
}

/// 3 streams; 3 entries of `api` and 1 of `web` share one nanosecond, which a page of 5
/// splits; every entry arrives exactly once.
#[tokio::test]
async fn paging_loses_nothing_and_repeats_nothing_at_a_shared_nanosecond() {
    let loki = FakeLoki::start().await.unwrap();
    let t = T0_MS * NS;
    let mut expected: Vec<(String, i64, String)> = Vec::new();
    let mut add = |service: &str, entries: Vec<(i64, String)>| {
        loki.push(
            &[("job", "nginx"), ("service", service)],
            entries.iter().map(|(ts, l)| (*ts, l.as_str())),
        );
        for (ts, line) in entries {
            expected.push((service.to_owned(), ts, line));
        }
    };
    add(
        "api",
        (0..3).map(|i| (t + i, format!("api early {i}"))).collect(),
    );
    add(
        "api",
        (0..3)
            .map(|i| (t + 10, format!("api shared {i}")))
            .collect(),
    );
    add("web", vec![(t + 10, "web shared".to_owned())]);
    add(
        "db",
        (0..9).map(|i| (t + 11 + i, format!("db {i}"))).collect(),
    );
    // A stream the selector does not match.
    loki.push(&[("job", "other")], [(t + 5, "not mine")]);
    let mut config = config(&loki);
    config.limit = 5;
    let client = LokiClient::new(config).unwrap();
    let mut got = Vec::new();
    let stats = client
        .pull_range(t, t + 1_000, |page| got.extend(page))
        .await
        .unwrap();
    let mut got: Vec<(String, i64, String)> = got
        .into_iter()
        .map(|e| (e.labels["service"].clone(), e.timestamp_ns, e.line))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(stats.entries, expected.len());
    assert!(stats.repeats > 0, "{stats:?}");
    // Forward pages, each starting at the previous page's last timestamp.
    let requests = loki.requests();
    assert_eq!(requests.len(), stats.pages);
    let starts: Vec<i64> = requests
        .iter()
        .map(|r| r.start.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts[0], t);
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(starts.contains(&(t + 10)), "{starts:?}");
    for request in &requests {
        assert_eq!(request.direction.as_deref(), Some("forward"));
        assert_eq!(request.limit.as_deref(), Some("5"));
        assert_eq!(
            request.end.as_deref(),
            Some((t + 1_000).to_string().as_str())
        );
        assert_eq!(request.query, r#"{job="nginx"}"#);
    }
}

#[tokio::test]
async fn a_full_page_at_one_nanosecond_is_an_error_not_a_loop() {
    let loki = FakeLoki::start().await.unwrap();
    let t = T0_MS * NS;
    let lines: Vec<String> = (0..3).map(|i| format!("same {i}")).collect();
    loki.push(&[("job", "nginx")], lines.iter().map(|l| (t, l.as_str())));
    let mut config = config(&loki);
    config.limit = 2;
    let client = LokiClient::new(config).unwrap();
    let error = client.pull_range(t, t + 10, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, PullError::Stuck { limit: 2, .. }),
        "{error}"
    );
    assert!(loki.requests().len() <= 3);
}

#[tokio::test]
async fn retries_429_and_5xx_then_gives_up_and_never_retries_a_400() {
    let loki = FakeLoki::start().await.unwrap();
    let t = T0_MS * NS;
    loki.push(&[("job", "nginx")], [(t, "one")]);
    let client = LokiClient::new(config(&loki)).unwrap();
    loki.fail_next(1, 429);
    loki.fail_next(2, 503);
    let (entries, retries) = client.query_range(t, t + 1, 10).await.unwrap();
    assert_eq!((entries.len(), retries), (1, 3));

    // Five retries (the default), then the error.
    loki.clear_requests();
    loki.fail_next(6, 503);
    let error = client.query_range(t, t + 1, 10).await.unwrap_err();
    assert_eq!(error.reason(), "server_error");
    assert!(
        matches!(
            error,
            PullError::Http {
                status: 503,
                attempts: 6,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(loki.requests().len(), 6);

    // Over Loki's max_entries_limit_per_query: 400 with Loki's text, asked once.
    loki.clear_requests();
    let error = client.query_range(t, t + 1, 5_001).await.unwrap_err();
    assert_eq!(error.reason(), "bad_query");
    assert!(error.to_string().contains("max entries limit"), "{error}");
    assert_eq!(loki.requests().len(), 1);

    // Nobody listening: a transport error after the retries.
    let mut gone = PullConfig::new("gone", "http://127.0.0.1:9", r#"{job="x"}"#);
    gone.max_retries = 1;
    gone.retry_backoff = Duration::from_millis(1);
    let error = LokiClient::new(gone)
        .unwrap()
        .query_range(t, t + 1, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PullError::Transport { attempts: 2, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn tenant_and_credentials_are_sent() {
    let loki = FakeLoki::start().await.unwrap();
    loki.require_tenant(Some("team-a"));
    loki.require_authorization(Some("Bearer s3cret"));
    let mut config = config(&loki);
    let error = LokiClient::new(config.clone())
        .unwrap()
        .query_range(0, 10, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PullError::Unauthorized { status: 401, .. }),
        "{error}"
    );
    config.tenant = Some("team-a".to_owned());
    config.auth = PullAuth::Bearer("s3cret".to_owned());
    assert!(!format!("{config:?}").contains("s3cret"));
    let client = LokiClient::new(config.clone()).unwrap();
    assert!(client.query_range(0, 10, 1).await.is_ok());
    loki.require_authorization(Some("Basic dTpw"));
    config.auth = PullAuth::Basic {
        username: "u".to_owned(),
        password: "p".to_owned(),
    };
    let client = LokiClient::new(config).unwrap();
    assert!(client.query_range(0, 10, 1).await.is_ok());
}

#[test]
fn bad_selectors_and_urls_are_refused_before_any_request() {
    for (url, selector, says) in [
        (
            "http://loki:3100",
            r#"rate({job="x"}[5m])"#,
            "metric queries",
        ),
        (
            "http://loki:3100",
            r#"{job="x"} | json"#,
            "only line filters",
        ),
        ("loki:3100", r#"{job="x"}"#, "http or https"),
        ("not a url", r#"{job="x"}"#, "url"),
    ] {
        let error = LokiClient::new(PullConfig::new("p", url, selector)).unwrap_err();
        assert_eq!(error.reason(), "config");
        assert!(error.to_string().contains(says), "{error}");
    }
}

fn entry(labels: &Arc<Labels>, t_ms: i64, line: String) -> PulledEntry {
    PulledEntry {
        labels: Arc::clone(labels),
        timestamp_ns: t_ms * NS,
        line,
    }
}

fn labels(pairs: &[(&str, &str)]) -> Arc<Labels> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[test]
fn the_backfill_writes_final_buckets_in_time_order_and_rejects_unknown_schemas() {
    let mut config = PullConfig::new("p", "http://loki", r#"{job="nginx"}"#);
    config.schema_versions = vec!["v1".to_owned(), "v2".to_owned()];
    let source = SourceSettings::named("loki");
    let cut = T0_MS + 3 * BUCKET_MS;
    let mut backfill = Backfill::new(config, source, 16 << 10, 100, T0_MS, cut);
    let api = labels(&[("service", "api")]);
    let web = labels(&[("app", "web"), ("schema_version", "v2")]);
    let odd = labels(&[("service", "odd"), ("schema", "v9")]);
    let mut entries = Vec::new();
    for i in 0..100 {
        entries.push(entry(
            &api,
            T0_MS + i * 1_000,
            nginx(T0_MS + i * 1_000, 200, (i + 1) as u64),
        ));
    }
    entries.push(entry(&api, T0_MS + 60_000, nginx(T0_MS + 60_000, 503, 7)));
    entries.push(entry(
        &web,
        T0_MS + BUCKET_MS + 1_000,
        nginx(T0_MS + BUCKET_MS, 200, 40),
    ));
    entries.push(entry(&odd, T0_MS + 2_000, nginx(T0_MS + 2_000, 200, 40)));
    entries.push(entry(&api, T0_MS + 3_000, "garbage".to_owned()));
    // The line's own time wins: this one belongs to the tail's first bucket.
    entries.push(entry(&api, cut - 1, nginx(cut + 1_000, 200, 5)));
    backfill.add(entries);
    let first = backfill.finish_before(T0_MS + BUCKET_MS + 10);
    // api's first bucket only: 101 requests, 1 error, P95 = 95 ms... of 1..=100 and 7.
    let value = |samples: &[crate::MetricSample], name: &str| {
        samples
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.service.clone(), s.timestamp_ms, s.value))
            .unwrap()
    };
    assert_eq!(
        value(&first, "pharos_service_requests"),
        ("api".to_owned(), T0_MS + BUCKET_MS - 1_000, 101.0)
    );
    assert_eq!(value(&first, "pharos_service_errors").2, 1.0);
    assert_eq!(value(&first, "pharos_service_latency_p95_ms").2, 95.0);
    assert!(first.iter().all(|s| s.service == "api"));
    // A late line of a written bucket is too old now.
    backfill.add(vec![entry(&api, T0_MS + 5, nginx(T0_MS + 5, 200, 1))]);
    let (rest, report, carry) = backfill.finish();
    assert!(
        rest.iter()
            .all(|s| s.service == "web" && s.timestamp_ms == T0_MS + 2 * BUCKET_MS - 1_000)
    );
    assert!(!rest.is_empty());
    assert_eq!(report.accepted, 102);
    let rejected: HashMap<Reject, u64> = report.rejected.into_iter().collect();
    assert_eq!(rejected[&Reject::UnknownSchema], 1);
    assert_eq!(rejected[&Reject::UnknownFormat], 1);
    assert_eq!(rejected[&Reject::TooOld], 1);
    assert_eq!(carry.len(), 1);
}

#[test]
fn the_backfill_starts_where_the_store_can_still_take_it() {
    let cut = T0_MS;
    let week = 7 * 86_400_000;
    let empty = StoreWindow::default();
    assert_eq!(backfill_from(cut, week, empty), (cut - week, None));
    // The store's newest sample is "now": only the last ~50 minutes can be written.
    let busy = StoreWindow {
        oldest_writable_ms: Some(cut - 3_600_000),
        newest_source_sample_ms: None,
    };
    let (from, why) = backfill_from(cut, week, busy);
    assert_eq!(from, cut - 3_600_000 + 10 * 60_000);
    assert!(why.unwrap().contains("hour"));
    // A restart: the source's buckets are stored up to two days ago.
    let restart = StoreWindow {
        oldest_writable_ms: Some(cut - 3 * 86_400_000),
        newest_source_sample_ms: Some(cut - 2 * 86_400_000 + 299_000),
    };
    let (from, why) = backfill_from(cut, week, restart);
    assert_eq!(from, cut - 2 * 86_400_000 + BUCKET_MS);
    assert!(why.unwrap().contains("already stored"));
    // Nothing left to backfill.
    let full = StoreWindow {
        oldest_writable_ms: None,
        newest_source_sample_ms: Some(cut + 10),
    };
    assert_eq!(backfill_from(cut, week, full).0, cut);
}

#[test]
fn the_tail_takes_each_entry_of_the_overlap_once() {
    let cut = T0_MS * NS;
    let overlap = 60_000 * NS;
    let mut tail = Tail::new(cut);
    assert_eq!(
        tail.window(overlap, cut + 30_000 * NS),
        (cut, cut + 30_000 * NS)
    );
    let api = labels(&[("service", "api")]);
    let first = vec![
        entry(&api, T0_MS + 1_000, "a".to_owned()),
        entry(&api, T0_MS + 2_000, "b".to_owned()),
    ];
    assert_eq!(tail.fresh(first.clone()).len(), 2);
    tail.advance(cut + 30_000 * NS, overlap);
    // The next window overlaps the first: its two entries come again with a late one.
    let (start, _) = tail.window(overlap, cut + 60_000 * NS);
    assert_eq!(start, cut);
    let mut second = first;
    second.push(entry(&api, T0_MS + 1_500, "late".to_owned()));
    let fresh = tail.fresh(second);
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].line, "late");
    tail.advance(cut + 200_000 * NS, overlap);
    assert_eq!(tail.remembered(), 0);
    assert_eq!(tail.cursor_ns(), cut + 200_000 * NS);
}

#[test]
fn fed_lines_reach_the_intake_and_unknown_schemas_are_counted() {
    let intake = LogIntake::new(IntakeSettings::default());
    let config = PullConfig::new("p", "http://loki", r#"{job="nginx"}"#);
    let now = T0_MS + 10_000;
    let api = labels(&[("service", "api"), ("job", "nginx")]);
    let v7 = labels(&[("service", "web"), ("schema_version", "v7")]);
    let entries = vec![
        entry(&api, T0_MS + 1_000, nginx(T0_MS + 1_000, 200, 10)),
        entry(&api, T0_MS + 2_000, nginx(T0_MS + 2_000, 500, 20)),
        entry(&v7, T0_MS + 2_000, nginx(T0_MS + 2_000, 200, 20)),
        entry(&api, T0_MS + 3_000, "no latency here".to_owned()),
    ];
    let report = feed(&intake, &config, &entries, now).unwrap();
    assert_eq!(report.source, "loki");
    assert_eq!(report.accepted, 2);
    assert_eq!(report.rejected[&Reject::UnknownSchema], 1);
    assert_eq!(report.rejected_total(), 2);
    assert_eq!(intake.in_memory(), (1, 1));
}
