//! Samples stamped in the future: refused beyond the tolerance, and, when an older store already
//! holds some, unable to close the writable window or expire other data.

use std::time::Duration;

use super::*;
use crate::block::{BlockSpec, write_block};
use crate::chunk::{StoredChunk, XorChunk};
use crate::head::AppendError;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const TEN_YEARS: i64 = 10 * 365 * 24 * HOUR;

fn labels(name: &str) -> Labels {
    Labels::new([("__name__", name)]).unwrap()
}

/// Options under which the store takes anything, as stores did before the tolerance existed.
fn without_tolerance() -> Options {
    Options {
        future_sample_tolerance: Duration::MAX,
        ..Options::default()
    }
}

fn append_one(db: &Db, name: &str, t: i64) -> Result<(), AppendError> {
    let mut app = db.appender();
    app.append(&labels(name), t, 1.0)?;
    app.commit().unwrap();
    Ok(())
}

fn stored_times(db: &Db, name: &str) -> Vec<i64> {
    db.select(&[Matcher::equal("__name__", name)], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .flat_map(|s| s.samples.into_iter().map(|x| x.t))
        .collect()
}

#[test]
fn samples_beyond_the_tolerance_are_rejected_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let now = wall_clock_ms();
    let mut app = db.appender();
    app.append(&labels("a"), now, 1.0).unwrap();
    for future in [now + 2 * HOUR, now + TEN_YEARS, i64::MAX] {
        let error = app.append(&labels("b"), future, 1.0).unwrap_err();
        assert!(
            matches!(error, AppendError::TooFarInFuture { t, tolerance_ms, .. } if t == future && tolerance_ms == 10 * MINUTE),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("too far in the future")
                && message.contains("10m")
                && message.contains("tsdb.future_sample_tolerance"),
            "{message}"
        );
    }
    // Within the tolerance is fine.
    app.append(&labels("c"), now + 5 * MINUTE, 1.0).unwrap();
    app.commit().unwrap();
    assert_eq!(stored_times(&db, "a"), [now]);
    assert!(stored_times(&db, "b").is_empty());
    assert_eq!(stored_times(&db, "c"), [now + 5 * MINUTE]);
    assert_eq!(db.stats().head.too_far_in_future_total, 3);
    // The window did not move: the latest "now" is still writable for a new series.
    append_one(&db, "d", wall_clock_ms() - MINUTE).unwrap();
}

#[test]
fn a_future_sample_already_in_the_head_does_not_close_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), without_tolerance()).unwrap();
    let now = wall_clock_ms();
    append_one(&db, "poison", now + TEN_YEARS).unwrap();
    append_one(&db, "poison_max", i64::MAX).unwrap();
    // Half a block range behind the clock is still writable for every other series.
    append_one(&db, "normal", now - 59 * MINUTE).unwrap();
    append_one(&db, "normal", now).unwrap();
    assert_eq!(stored_times(&db, "normal"), [now - 59 * MINUTE, now]);
}

#[test]
fn maintenance_neither_cuts_the_current_range_nor_expires_blocks_for_a_future_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), without_tolerance()).unwrap();
    let now = wall_clock_ms();
    let start = now - 5 * HOUR;
    let mut app = db.appender();
    for i in 0..=(5 * 60) {
        app.append(&labels("steady"), start + i * MINUTE, 1.0)
            .unwrap();
    }
    app.commit().unwrap();
    append_one(&db, "poison", now + TEN_YEARS).unwrap();
    let report = db.maintenance().unwrap();
    assert!(report.blocks_cut >= 1, "{report:?}");
    assert_eq!(
        report.deleted_by_time, 0,
        "retention counted from the poison"
    );
    assert!(
        db.min_valid_time() <= now - HOUR,
        "the writable window was closed up to {}, now is {now}",
        db.min_valid_time()
    );
    append_one(&db, "steady", wall_clock_ms()).unwrap();
    append_one(&db, "other", now - 30 * MINUTE).unwrap();
    assert_eq!(stored_times(&db, "steady").len(), 5 * 60 + 2);
}

#[test]
fn reopening_drops_future_samples_from_the_wal_and_the_checkpoint() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let now = wall_clock_ms();
        {
            let db = Db::open(dir.path(), without_tolerance()).unwrap();
            append_one(&db, "series", now - MINUTE).unwrap();
            append_one(&db, "series", now + TEN_YEARS).unwrap();
            append_one(&db, "only_future", i64::MAX).unwrap();
            if checkpoint {
                db.close().unwrap();
            }
        }
        let db = Db::open(dir.path(), Options::default()).unwrap();
        assert_eq!(stored_times(&db, "series"), [now - MINUTE], "{checkpoint}");
        assert!(stored_times(&db, "only_future").is_empty());
        // The series that held the future sample takes current samples again.
        append_one(&db, "series", now).unwrap();
        assert_eq!(stored_times(&db, "series"), [now - MINUTE, now]);
    }
}

#[test]
fn a_block_reaching_past_the_clock_does_not_close_the_window_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let now = wall_clock_ms();
    let range = Options::default().block_duration_ms();
    let block_start = now.div_euclid(range) * range;
    let mut chunk = XorChunk::new();
    chunk.append(now - MINUTE, 1.0).unwrap();
    let chunks = vec![StoredChunk::from_chunk(&chunk).unwrap()];
    write_block(
        &dir.path().join(BLOCKS_DIR),
        BlockSpec {
            min_time: block_start,
            max_time: block_start + range,
            level: 1,
            parents: Vec::new(),
        },
        std::iter::once(Ok((labels("cut_early"), chunks))),
    )
    .unwrap()
    .unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert!(
        db.min_valid_time() <= wall_clock_ms() - HOUR,
        "{}",
        db.min_valid_time()
    );
    append_one(&db, "fresh", now - 30 * MINUTE).unwrap();
    append_one(&db, "cut_early", now).unwrap();
    assert_eq!(stored_times(&db, "cut_early"), [now - MINUTE, now]);
}
