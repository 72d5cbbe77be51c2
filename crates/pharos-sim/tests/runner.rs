//! Writing the simulation into a real store: backfill, then live ticks, and a restart that
//! continues where the previous run stopped.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use pharos_sim::{SimOptions, Simulator, run};
use pharos_tsdb::{Db, Matcher, Options};

const START_MS: i64 = 1_767_225_600_000;

#[test]
fn backfill_stores_every_sample_and_live_ticks_follow() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut simulator = Simulator::new(SimOptions::default());
    let per_tick = Simulator::new(SimOptions::default()).tick(START_MS).len();
    let end = START_MS + 3_600_000;
    let summary = simulator
        .backfill(&db, START_MS, end, Duration::from_secs(15))
        .unwrap();
    assert_eq!(summary.ticks, 241);
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.samples, summary.ticks * per_tick);

    let next = end + 15_000;
    let mut appender = db.appender();
    for (labels, value) in simulator.tick(next) {
        appender.append(&labels, next, value).unwrap();
    }
    appender.commit().unwrap();
    let util = db
        .querier(START_MS, next)
        .select(&[Matcher::equal("__name__", "DCGM_FI_DEV_GPU_UTIL")])
        .unwrap();
    assert!(util.iter().all(|s| s.samples.len() == 242));
    let clusters: BTreeSet<&str> = util
        .iter()
        .map(|s| s.labels.get("cluster").unwrap())
        .collect();
    assert_eq!(clusters.len(), 3);
}

fn newest_gpu_sample(db: &Db) -> Option<i64> {
    db.querier(0, i64::MAX)
        .select(&[Matcher::equal("__name__", "DCGM_FI_DEV_GPU_UTIL")])
        .unwrap()
        .iter()
        .filter_map(|s| s.samples.last().map(|x| x.t))
        .max()
}

/// Completes once the store holds a GPU sample newer than `after_ms`; panics after 60 s.
async fn newest_sample_after(db: &Db, after_ms: i64, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while newest_gpu_sample(db).is_none_or(|newest| newest <= after_ms) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {what} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_backfills_goes_live_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let options = SimOptions {
        backfill: Duration::from_secs(60),
        ..SimOptions::default()
    };
    let interval = Duration::from_secs(1);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Stop once a live tick is stored, however long the backfill took on this machine. The
    // backfill ends at the last whole second before `run` starts, so a sample more than one
    // interval after `started` can only be live.
    run(
        Arc::clone(&db),
        options.clone(),
        interval,
        newest_sample_after(&db, started + 1_000, "a live tick after the backfill"),
    )
    .await;
    let first_run = newest_gpu_sample(&db).unwrap();
    assert!(first_run > started, "live ticks after the backfill");
    let series = db
        .querier(0, i64::MAX)
        .select(&[Matcher::equal("__name__", "DCGM_FI_DEV_GPU_UTIL")])
        .unwrap();
    let oldest = series
        .iter()
        .filter_map(|s| s.samples.first().map(|x| x.t))
        .min()
        .unwrap();
    assert!(
        started - oldest >= 59_000,
        "about a minute of history was backfilled"
    );
    for s in &series {
        assert!(s.samples.windows(2).all(|w| w[1].t - w[0].t >= 1_000));
    }
    let rejected = |db: &Db| {
        let head = db.stats().head;
        head.out_of_order_total + head.too_old_total + head.duplicate_rejected_total
    };
    assert_eq!(rejected(&db), 0, "no sample was rejected");

    // A second run on the same store continues after the newest sample instead of colliding.
    run(
        Arc::clone(&db),
        options,
        interval,
        newest_sample_after(&db, first_run, "a tick of the second run"),
    )
    .await;
    assert!(newest_gpu_sample(&db).unwrap() > first_run);
    assert_eq!(
        rejected(&db),
        0,
        "no sample was rejected after the restart either"
    );
}
