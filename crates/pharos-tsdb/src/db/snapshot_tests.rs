use std::time::Duration;

use super::*;
use crate::db::{Options, wall_clock_ms};
use crate::labels::Labels;
use crate::sample::Sample;

const HOUR: i64 = 3_600_000;

fn options() -> Options {
    Options {
        block_duration: Duration::from_secs(3600),
        ..Options::default()
    }
}

fn series(job: &str) -> Labels {
    Labels::new([("__name__", "up"), ("job", job)]).unwrap()
}

/// One sample per minute for each job in `[start, end)`, one commit per minute.
fn write(db: &Db, jobs: &[&str], start: i64, end: i64) {
    let mut t = start;
    while t < end {
        let mut app = db.appender();
        for job in jobs {
            app.append(&series(job), t, (t / 60_000) as f64).unwrap();
        }
        app.commit().unwrap();
        t += 60_000;
    }
}

fn all(db: &Db) -> Vec<(String, Vec<Sample>)> {
    db.querier(i64::MIN, i64::MAX)
        .select(&[])
        .unwrap()
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples))
        .collect()
}

#[test]
fn a_snapshot_opens_to_exactly_the_samples_queryable_when_it_was_taken() {
    let source_dir = tempfile::tempdir().unwrap();
    let db = Db::open(source_dir.path(), options()).unwrap();
    let now = wall_clock_ms();
    let start = (now - 5 * HOUR).div_euclid(HOUR) * HOUR;
    write(&db, &["api", "web"], start, now - HOUR);
    let cut = db.maintenance().unwrap();
    assert!(
        cut.blocks_cut >= 2,
        "blocks and head both hold data: {cut:?}"
    );
    write(&db, &["api", "db"], now - HOUR, now - 30 * 60_000);
    let expected = all(&db);

    let target = tempfile::tempdir().unwrap();
    let snapshot_dir = target.path().join("tsdb");
    let report = db.snapshot(&snapshot_dir).unwrap();
    // Written after the snapshot: not in it.
    write(&db, &["api"], now - 30 * 60_000, now - 20 * 60_000);
    assert_ne!(all(&db), expected);

    let total: u64 = expected.iter().map(|(_, s)| s.len() as u64).sum();
    assert_eq!(report.blocks, db.stats().blocks.len());
    assert!(
        report.head_samples > 0 && report.block_samples > 0,
        "{report:?}"
    );
    assert!(
        report.block_samples + report.head_samples >= total,
        "{report:?} vs {total}"
    );
    assert!(report.bytes > 0);

    let restored = Db::open(&snapshot_dir, options()).unwrap();
    assert_eq!(all(&restored), expected);
    // The restored store takes new samples after the snapshot's.
    write(&restored, &["api"], now - 10 * 60_000, now - 9 * 60_000);
}

#[test]
fn an_empty_database_snapshots_to_an_empty_database() {
    let source = tempfile::tempdir().unwrap();
    let db = Db::open(source.path(), options()).unwrap();
    let target = tempfile::tempdir().unwrap();
    let report = db.snapshot(target.path()).unwrap();
    assert_eq!(report.blocks + report.head_series as usize, 0);
    assert!(all(&Db::open(target.path(), options()).unwrap()).is_empty());
}

#[test]
fn a_snapshot_refuses_a_non_empty_directory() {
    let source = tempfile::tempdir().unwrap();
    let db = Db::open(source.path(), options()).unwrap();
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("keep"), "x").unwrap();
    let err = db.snapshot(target.path()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert!(target.path().join("keep").exists());
}
