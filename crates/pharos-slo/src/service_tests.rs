//! The service layer over a real embedded store (buckets written in `pharos-logs`' layout) and
//! a real config store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pharos_query::{LocalBackend, LocalMetrics, QueryOptions};
use pharos_tsdb::{Db, Labels, Options};
use serde_json::json;

use super::*;
use crate::access::tests::TestViewer;
use crate::latency::BUCKET_MS;
use crate::model::QualityStatus;

/// Now: the bucket boundary before the wall clock plus 2 minutes (the store refuses samples
/// far from the wall clock, so the fixture lives in the present).
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| latency::align_down(chrono::Utc::now().timestamp_millis()) + 120_000)
}

struct Fixture {
    service: SloService,
    _store: pharos_store::testing::TempDirGuard,
    _tsdb: tempfile::TempDir,
}

/// One bucket's five gauges at its final revision (`S + 5m − 1s`), as `pharos-logs` writes.
fn write_bucket(db: &Db, service: &str, start: i64, count: f64, errors: f64, p95: f64) {
    let mut appender = db.appender();
    for (name, value) in [
        ("pharos_service_requests", count),
        ("pharos_service_errors", errors),
        ("pharos_service_latency_p50_ms", p95 / 2.0),
        ("pharos_service_latency_p95_ms", p95),
        ("pharos_service_latency_p99_ms", p95 * 1.5),
    ] {
        let labels = Labels::new([
            ("__name__", name),
            ("service", service),
            ("source", "nginx"),
        ])
        .unwrap();
        appender
            .append(&labels, start + BUCKET_MS - 1_000, value)
            .unwrap();
    }
    appender.commit().unwrap();
}

/// Two weeks of `checkout` at 100–149 ms with a breach (600 ms) 2 hours ago, and `search`
/// with only two buckets.
async fn fixture(settings: SloSettings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let current = latency::align_down(now());
    let first = current - 2 * WEEK_MS;
    let mut start = first;
    while start < current {
        let i = (start - first) / BUCKET_MS;
        let p95 = if start == current - 24 * BUCKET_MS {
            600.0
        } else {
            100.0 + (i * 37 % 50) as f64
        };
        write_bucket(&db, "checkout", start, 120.0, 1.0, p95);
        start += BUCKET_MS;
    }
    write_bucket(&db, "search", current - 2 * BUCKET_MS, 10.0, 0.0, 80.0);
    write_bucket(&db, "search", current - BUCKET_MS, 10.0, 0.0, 90.0);
    let metrics = Arc::new(LocalMetrics::new(db, QueryOptions::default()));
    let backend: Arc<dyn MetricsBackend> = Arc::new(LocalBackend::new(metrics));
    let (store, guard) = pharos_store::testing::sqlite_store().await;
    Fixture {
        service: SloService::new(store, Some(backend), settings),
        _store: guard,
        _tsdb: dir,
    }
}

fn configured() -> SloSettings {
    SloSettings {
        services: vec![crate::ServiceConfig {
            id: "checkout".into(),
            project: Some("shop".into()),
            owners: vec!["alice".into(), "group:payments".into()],
            threshold_ms: Some(400),
            objective: None,
        }],
        ..SloSettings::default()
    }
}

#[tokio::test]
async fn latency_reads_every_bucket_with_its_baseline_and_the_breach() {
    let f = fixture(configured()).await;
    f.service.apply_config().await.unwrap();
    let alice = TestViewer::user("alice");
    let range = LatencyRange::parse(Some("now-24h"), None, None, now()).unwrap();
    let latency = f.service.latency(&alice, "checkout", range).await.unwrap();
    assert_eq!(latency.threshold_ms, 400);
    // Every bucket of the window, the current (empty) one aside.
    assert_eq!(latency.buckets.len(), 288);
    let breaches: Vec<_> = latency.buckets.iter().filter(|b| b.breach).collect();
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        breaches[0].start.timestamp_millis(),
        latency::align_down(now()) - 24 * BUCKET_MS
    );
    assert_eq!(breaches[0].p95_ms, Some(600.0));
    assert_eq!(breaches[0].p99_ms, Some(900.0));
    assert_eq!(breaches[0].count, 120.0);
    for bucket in &latency.buckets {
        // The median of a week of 100..149 values: the one spike does not move it.
        let baseline = bucket.baseline_p95_ms.unwrap();
        assert!((120.0..=130.0).contains(&baseline), "{baseline}");
        assert!(bucket.same_time_last_week_p95_ms.is_some());
    }
    assert_eq!(latency.quality.status, QualityStatus::Ok);

    // An hourly step keeps the breach and sums the counts.
    let hourly = LatencyRange::parse(Some("now-24h"), None, Some("1h"), now()).unwrap();
    let folded = f.service.latency(&alice, "checkout", hourly).await.unwrap();
    assert!(folded.buckets.len() <= 25);
    let breach = folded.buckets.iter().find(|b| b.breach).unwrap();
    assert_eq!(breach.p95_ms, Some(600.0));
    assert_eq!(breach.count % 120.0, 0.0);
    assert!(breach.count >= 120.0 * 10.0, "{}", breach.count);
}

#[tokio::test]
async fn owners_see_their_services_others_see_nothing_admins_see_all() {
    let f = fixture(configured()).await;
    f.service.apply_config().await.unwrap();
    let alice = TestViewer::user("alice");
    let listed = f.service.list(&alice, false, now()).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["checkout"]
    );
    let view = &listed[0];
    assert!(view.owned && view.can_edit && view.registered);
    assert_eq!(view.breaches_24h, 1);
    assert_eq!(view.sources, ["nginx"]);
    assert!(view.baseline_p95_ms.is_some() && view.last_bucket.is_some());

    let mallory = TestViewer::user("mallory");
    assert!(
        f.service
            .list(&mallory, false, now())
            .await
            .unwrap()
            .is_empty()
    );
    for id in ["checkout", "search"] {
        let error = f.service.get(&mallory, id, now()).await.unwrap_err();
        assert!(matches!(error, SloError::NotFound(_)), "{error}");
        let range = LatencyRange::last_week(now());
        assert!(f.service.latency(&mallory, id, range).await.is_err());
    }
    let mut reader = TestViewer::user("reader");
    reader.reads.push("shop".into());
    let listed = f.service.list(&reader, false, now()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].owned && !listed[0].can_edit);
    assert!(
        f.service
            .list(&reader, true, now())
            .await
            .unwrap()
            .is_empty()
    );

    // Administrators also see `search`, seen in logs but not in the catalog, whose two
    // buckets are not enough for a baseline.
    let admin = TestViewer::admin();
    let all = f.service.list(&admin, false, now()).await.unwrap();
    let search = all.iter().find(|s| s.id == "search").unwrap();
    assert!(!search.registered);
    assert_eq!(search.quality.status, QualityStatus::InsufficientData);
    assert_eq!(search.baseline_p95_ms, None);
    assert_eq!(search.threshold_ms, 300);
}

#[tokio::test]
async fn thresholds_outside_the_bounds_or_from_readers_are_refused_and_changes_are_kept() {
    let f = fixture(configured()).await;
    f.service.apply_config().await.unwrap();
    let mut bob = TestViewer::user("bob");
    bob.groups.push("payments".into());
    let at = chrono::DateTime::from_timestamp_millis(now()).unwrap();
    for bad in [
        json!(49),
        json!(1001),
        json!("250"),
        json!(250.5),
        json!(-1),
        json!(null),
    ] {
        let error = f
            .service
            .set_threshold(&bob, "checkout", &bad, at)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("between 50 and 1000 ms"),
            "{bad}: {error}"
        );
    }
    for good in [50, 1000, 250] {
        f.service
            .set_threshold(&bob, "checkout", &json!(good), at)
            .await
            .unwrap();
    }
    let view = f
        .service
        .threshold(&TestViewer::user("alice"), "checkout")
        .await
        .unwrap();
    assert_eq!(view.threshold_ms, 250);
    assert_eq!(view.updated_by.as_deref(), Some("bob"));
    let history: Vec<u32> = view.history.iter().map(|c| c.threshold_ms).collect();
    assert_eq!(history, [250, 1000, 50]);

    let mut reader = TestViewer::user("reader");
    reader.reads.push("shop".into());
    let error = f
        .service
        .set_threshold(&reader, "checkout", &json!(200), at)
        .await
        .unwrap_err();
    assert!(matches!(error, SloError::Forbidden(_)), "{error}");

    // The configuration does not undo a threshold changed through the API.
    f.service.apply_config().await.unwrap();
    let samples = f.service.threshold_samples(now()).await.unwrap();
    assert!(
        samples.contains(&("checkout".to_owned(), 250.0)),
        "{samples:?}"
    );
    // `search` had requests in the last hour: it is alerted on at the default threshold.
    assert!(
        samples.contains(&("search".to_owned(), 300.0)),
        "{samples:?}"
    );
    // The export names each readable service with its threshold.
    let exported = f.service.export_rules(&bob).await.unwrap();
    assert!(
        exported.contains("service=\\\"checkout\\\"") || exported.contains("service=\"checkout\""),
        "{exported}"
    );
    assert!(exported.contains("> 250"), "{exported}");
}

#[tokio::test]
async fn managing_owners_needs_an_administrator_or_the_projects_editor() {
    let f = fixture(configured()).await;
    f.service.apply_config().await.unwrap();
    let alice = TestViewer::user("alice");
    let update = EntryUpdate {
        owners: Some(vec!["alice".into(), "carol".into()]),
        ..EntryUpdate::default()
    };
    let error = f
        .service
        .update(&alice, "checkout", update.clone(), now())
        .await
        .unwrap_err();
    assert!(matches!(error, SloError::Forbidden(_)), "{error}");
    let mut editor = TestViewer::user("ed");
    editor.edits.push("shop".into());
    let moved = EntryUpdate {
        project: Some("elsewhere".into()),
        ..EntryUpdate::default()
    };
    assert!(
        f.service
            .update(&editor, "checkout", moved, now())
            .await
            .is_err()
    );
    let view = f
        .service
        .update(&editor, "checkout", update, now())
        .await
        .unwrap();
    assert_eq!(view.owners, ["alice", "carol"]);
    // An administrator registers a service seen only in logs.
    let admin = TestViewer::admin();
    let claim = EntryUpdate {
        project: Some("shop".into()),
        owners: Some(vec!["carol".into()]),
        ..EntryUpdate::default()
    };
    let search = f
        .service
        .update(&admin, "search", claim, now())
        .await
        .unwrap();
    assert!(search.registered);
    let carol = TestViewer::user("carol");
    let owned = f.service.list(&carol, true, now()).await.unwrap();
    assert_eq!(owned.len(), 2);
}

#[tokio::test]
async fn objectives_get_burn_rates_from_the_fast_request_counts_and_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let current = latency::align_down(now());
    // Three days of 100 requests per bucket within 300 ms but one; the last hour 20 slow.
    let mut start = current - 3 * 86_400_000;
    let mut appender = db.appender();
    while start < current {
        let slow = if start >= current - 3_600_000 {
            20.0
        } else {
            1.0
        };
        for (name, le, value) in [
            ("pharos_service_requests", None, 100.0),
            (pharos_logs::FAST_REQUESTS, Some("300"), 100.0 - slow),
            (pharos_logs::FAST_REQUESTS, Some("500"), 100.0),
        ] {
            let mut pairs = vec![("__name__", name), ("service", "pay"), ("source", "nginx")];
            pairs.extend(le.map(|le| ("le_ms", le)));
            let labels = Labels::new(pairs).unwrap();
            appender
                .append(&labels, start + BUCKET_MS - 1_000, value)
                .unwrap();
        }
        start += BUCKET_MS;
    }
    appender.commit().unwrap();
    let metrics = Arc::new(LocalMetrics::new(db, QueryOptions::default()));
    let (store, _guard) = pharos_store::testing::sqlite_store().await;
    let service = SloService::new(
        store,
        Some(Arc::new(LocalBackend::new(metrics))),
        SloSettings::default(),
    );
    let admin = TestViewer::admin();
    // Objective thresholds are steps of the ladder.
    let off_ladder = EntryUpdate {
        objective: Some(crate::Objective {
            target: 0.99,
            threshold_ms: 275,
            window_days: 30,
        }),
        ..EntryUpdate::default()
    };
    let error = service
        .update(&admin, "pay", off_ladder, now())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("must be one of [50, 100"),
        "{error}"
    );
    let objective = EntryUpdate {
        objective: Some(crate::Objective {
            target: 0.99,
            threshold_ms: 300,
            window_days: 30,
        }),
        ..EntryUpdate::default()
    };
    let view = service
        .update(&admin, "pay", objective, now())
        .await
        .unwrap();
    // 20 % slow against a 1 % budget.
    assert!(
        (view.burn_rates["5m"] - 20.0).abs() < 1e-9,
        "{:?}",
        view.burn_rates
    );
    assert!(
        (view.burn_rates["1h"] - 20.0).abs() < 1e-9,
        "{:?}",
        view.burn_rates
    );
    assert!(view.burn_rates["3d"] < 2.0, "{:?}", view.burn_rates);
    let samples = service.burn_rate_samples(now()).await.unwrap();
    assert_eq!(samples.len(), crate::BURN_WINDOWS.len());
    assert!(samples.iter().all(|(s, _, _)| s == "pay"));
    let exported = service.export_rules(&admin).await.unwrap();
    assert!(exported.contains("ServiceLatencyBudgetBurn"), "{exported}");
    assert!(exported.contains("le_ms"), "{exported}");
    // A rule file Prometheus (and Pharos' own rule loader) takes, and so is the built-in one.
    let groups = pharos_rules::parse_rule_file("exported.yml", &exported).unwrap();
    let names: Vec<&str> = groups[0].rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ServiceLatencyBreach",
            "ServiceLatencyBudgetBurn",
            "ServiceLatencyBudgetBurnSlow"
        ]
    );
    let builtin =
        pharos_rules::parse_rule_file(crate::BREACH_RULES_FILE, crate::BREACH_RULES).unwrap();
    assert_eq!(builtin[0].rules.len(), 3);
}
