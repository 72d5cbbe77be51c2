//! Late samples within the out-of-order window: accepted, merged into reads, persisted into
//! blocks (overlapping ones for ranges already cut, merged by compaction), and kept across a
//! crash and a clean restart.

use std::time::Duration;

use super::*;
use crate::head::AppendError;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::Sample;

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn options() -> Options {
    Options {
        block_duration: Duration::from_secs(3600),
        out_of_order_window: Duration::from_secs(2 * 3600),
        // The tests write at fixed times far from the clock.
        future_sample_tolerance: Duration::from_secs(100 * 365 * 24 * 3600),
        ..Options::default()
    }
}

fn up(job: &str) -> Labels {
    Labels::new([("__name__", "up"), ("job", job)]).unwrap()
}

/// Commits one sample per minute of `[from, to)` for `job`, value = minute number.
fn write_minutes(db: &Db, job: &str, from: i64, to: i64) -> crate::db::CommitSummary {
    let mut app = db.appender();
    let mut t = from;
    while t < to {
        app.append(&up(job), t, (t / MINUTE) as f64).unwrap();
        t += MINUTE;
    }
    app.commit().unwrap()
}

fn times(db: &Db, job: &str) -> Vec<i64> {
    db.querier(i64::MIN, i64::MAX)
        .select(&[Matcher::equal("job", job)])
        .unwrap()
        .into_iter()
        .flat_map(|s| s.samples)
        .map(|s| s.t)
        .collect()
}

fn every_minute(from: i64, to: i64) -> Vec<i64> {
    (from / MINUTE..to / MINUTE).map(|m| m * MINUTE).collect()
}

#[test]
fn a_sender_cut_off_for_90_minutes_delivers_its_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    // The sender delivers until 2h30, then is cut off while something else is scraped on
    // until 4h.
    for m in 0..4 * 60 {
        write_minutes(&db, "scraped", m * MINUTE, (m + 1) * MINUTE);
        if m < 150 {
            write_minutes(&db, "remote", m * MINUTE, (m + 1) * MINUTE);
        }
    }
    // The sender comes back and sends what it missed, oldest first.
    let summary = write_minutes(&db, "remote", 150 * MINUTE, 4 * HOUR);
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.samples, 90);
    assert_eq!(times(&db, "remote"), every_minute(0, 4 * HOUR));

    // A series' own late samples, behind its newest one, within the window.
    let mut app = db.appender();
    app.append(&up("gappy"), 4 * HOUR, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&up("gappy"), 3 * HOUR, 2.0).unwrap();
    app.append(&up("gappy"), 2 * HOUR + 30 * MINUTE, 3.0)
        .unwrap();
    app.commit().unwrap();
    assert_eq!(
        times(&db, "gappy"),
        [2 * HOUR + 30 * MINUTE, 3 * HOUR, 4 * HOUR]
    );
    assert_eq!(db.stats().head.out_of_order_accepted_total, 2);
}

#[test]
fn beyond_the_window_a_sample_is_too_old_and_duplicates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    write_minutes(&db, "a", 3 * HOUR, 5 * HOUR);
    let mut app = db.appender();
    // The newest sample is at 4h59: the window reaches back to 2h59.
    let too_old = app.append(&up("a"), 3 * HOUR - 2 * MINUTE, 1.0);
    assert!(
        matches!(too_old, Err(AppendError::TooOld { min_valid, .. }) if min_valid == 3 * HOUR - MINUTE),
        "{too_old:?}"
    );
    assert_eq!(app.append(&up("b"), 4 * HOUR, 1.0), Ok(()));
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&up("b"), 3 * HOUR + 30 * MINUTE, 7.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    assert_eq!(
        app.append(&up("b"), 3 * HOUR + 30 * MINUTE, 7.0),
        Ok(()),
        "an identical re-send is a no-op"
    );
    assert_eq!(
        app.append(&up("b"), 3 * HOUR + 30 * MINUTE, 8.0),
        Err(AppendError::DuplicateSampleForTimestamp {
            t: 3 * HOUR + 30 * MINUTE
        })
    );
    assert!(app.is_empty());
}

#[test]
fn late_samples_for_ranges_already_in_blocks_get_overlapping_blocks_then_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    // Every other minute for 6 hours: blocks are cut up to 4 h.
    let mut app = db.appender();
    for m in (0..6 * 60).step_by(2) {
        app.append(&up("api"), m * MINUTE, m as f64).unwrap();
    }
    app.commit().unwrap();
    db.maintenance().unwrap();
    let min_valid = db.head.min_valid_time();
    assert!(min_valid >= 4 * HOUR, "blocks were cut: {min_valid}");

    // The odd minutes of 4h05..5h55 arrive late: some below the cut, some in the head.
    let mut app = db.appender();
    for m in (4 * 60 + 5..6 * 60).step_by(2) {
        app.append(&up("api"), m * MINUTE, m as f64).unwrap();
    }
    app.commit().unwrap();
    let expected: Vec<i64> = (0..6 * 60)
        .filter(|m| m % 2 == 0 || (*m >= 4 * 60 + 5))
        .map(|m| m * MINUTE)
        .collect();
    assert_eq!(times(&db, "api"), expected, "visible at once");
    let report = db.maintenance().unwrap();
    assert_eq!(times(&db, "api"), expected, "visible after the flush");
    assert!(
        report.out_of_order_blocks >= 1 || min_valid < 4 * HOUR + 5 * MINUTE,
        "{report:?}"
    );

    // Time moves on: compaction merges overlapping blocks, nothing doubles or goes missing.
    let mut app = db.appender();
    for m in (6 * 60..9 * 60).step_by(2) {
        app.append(&up("api"), m * MINUTE, m as f64).unwrap();
    }
    app.commit().unwrap();
    db.maintenance().unwrap();
    let mut expected = expected;
    expected.extend((6 * 60..9 * 60).step_by(2).map(|m| m * MINUTE));
    assert_eq!(times(&db, "api"), expected);
    let blocks = db.stats().blocks;
    let overlapping = blocks
        .windows(2)
        .filter(|w| w[0].max_time > w[1].min_time)
        .count();
    assert_eq!(overlapping, 0, "compaction merged the overlaps: {blocks:?}");

    // And the same after a clean restart.
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(times(&db, "api"), expected);
}

#[test]
fn late_samples_survive_a_crash_and_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    write_minutes(&db, "api", 2 * HOUR, 4 * HOUR);
    db.maintenance().unwrap();
    let mut app = db.appender();
    // One in the head's range, one already below the cut.
    app.append(&up("api"), 3 * HOUR + 30 * MINUTE + 1, 1.5)
        .unwrap();
    app.append(&up("api"), 2 * HOUR + 10 * MINUTE + 1, 2.5)
        .unwrap();
    app.commit().unwrap();
    let before: Vec<Sample> = db
        .querier(i64::MIN, i64::MAX)
        .select(&[])
        .unwrap()
        .remove(0)
        .samples;
    assert_eq!(before.len(), 122);

    // A crash: no checkpoint, no flush; the WAL has everything.
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    let after_crash = db.querier(i64::MIN, i64::MAX).select(&[]).unwrap();
    assert_eq!(after_crash[0].samples, before);

    // A checkpoint carries the late samples too.
    db.maintenance().unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let after_restart = db.querier(i64::MIN, i64::MAX).select(&[]).unwrap();
    assert_eq!(after_restart[0].samples, before);
}
