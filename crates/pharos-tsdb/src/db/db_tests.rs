use std::time::Duration;

use super::*;
use crate::head::AppendError;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::Sample;

const HOUR: i64 = 3_600_000;

fn series(name: &str, job: &str) -> Labels {
    Labels::new([("__name__", name), ("job", job)]).unwrap()
}

fn options() -> Options {
    Options {
        block_duration: Duration::from_secs(3600),
        ..Options::default()
    }
}

/// Writes `count` samples per series every `step` ms starting at `start`, one commit per step.
fn write(db: &Db, names: &[(&str, &str)], start: i64, step: i64, count: i64) {
    for i in 0..count {
        let mut app = db.appender();
        for (name, job) in names {
            let t = start + i * step;
            app.append(&series(name, job), t, (t / 1000) as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

fn all(db: &Db) -> Vec<SeriesSamplesView> {
    db.querier(i64::MIN, i64::MAX)
        .select(&[])
        .unwrap()
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples))
        .collect()
}

type SeriesSamplesView = (String, Vec<Sample>);

/// [`options`] without an out-of-order window: every late sample is refused, as in Prometheus
/// without `out_of_order_time_window`.
fn strict_options() -> Options {
    Options {
        out_of_order_window: Duration::ZERO,
        ..options()
    }
}

#[test]
fn committed_samples_are_queryable_and_uncommitted_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let mut app = db.appender();
    app.append(&series("up", "api"), 1_000, 1.0).unwrap();
    app.append(&series("up", "api"), 2_000, 0.0).unwrap();
    assert!(
        db.querier(0, 10_000).select(&[]).unwrap().is_empty(),
        "not visible before commit"
    );
    let summary = app.commit().unwrap();
    assert_eq!(
        summary,
        CommitSummary {
            samples: 2,
            new_series: 1,
            rejected: 0
        }
    );

    let mut dropped = db.appender();
    dropped.append(&series("up", "db"), 1_000, 1.0).unwrap();
    drop(dropped);

    let result = db
        .querier(0, 10_000)
        .select(&[Matcher::equal("__name__", "up")])
        .unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(
        result[0].samples,
        vec![Sample::new(1_000, 1.0), Sample::new(2_000, 0.0)]
    );
}

#[test]
fn without_a_window_the_appender_refuses_late_samples_within_and_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), strict_options()).unwrap();
    let up = series("up", "api");
    let mut app = db.appender();
    app.append(&up, 10_000, 1.0).unwrap();
    assert_eq!(
        app.append(&up, 5_000, 1.0),
        Err(AppendError::OutOfOrder {
            t: 5_000,
            newest: 10_000
        })
    );
    assert_eq!(
        app.append(&up, 10_000, 1.0),
        Ok(()),
        "identical re-send is a no-op"
    );
    assert_eq!(
        app.append(&up, 10_000, 2.0),
        Err(AppendError::DuplicateSampleForTimestamp { t: 10_000 })
    );
    assert_eq!(app.len(), 1);
    app.commit().unwrap();

    let mut app = db.appender();
    assert!(matches!(
        app.append(&up, 9_000, 1.0),
        Err(AppendError::OutOfOrder { .. })
    ));
    // More than half a block range behind the newest sample is too old, even for a new series.
    let far_behind = 10_000 - HOUR / 2 - 1;
    assert!(matches!(
        app.append(&series("up", "new"), far_behind, 1.0),
        Err(AppendError::TooOld { .. })
    ));
    assert_eq!(
        app.append(&Labels::empty(), 20_000, 1.0),
        Err(AppendError::EmptyLabels)
    );

    let stats = db.stats().head;
    assert_eq!(stats.out_of_order_total, 2);
    assert_eq!(stats.duplicate_rejected_total, 1);
    assert_eq!(stats.too_old_total, 1);
}

#[test]
fn without_a_window_racing_appenders_cannot_break_series_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), strict_options()).unwrap();
    let up = series("up", "api");
    let mut first = db.appender();
    let mut second = db.appender();
    first.append(&up, 2_000, 1.0).unwrap();
    second.append(&up, 1_000, 1.0).unwrap();
    second.append(&up, 3_000, 1.0).unwrap();
    assert_eq!(first.commit().unwrap().samples, 1);
    let summary = second.commit().unwrap();
    assert_eq!((summary.samples, summary.rejected), (1, 1));
    let times: Vec<i64> = all(&db)[0].1.iter().map(|s| s.t).collect();
    assert_eq!(times, [2_000, 3_000]);
}

#[test]
fn reopen_replays_everything_committed() {
    let dir = tempfile::tempdir().unwrap();
    let names = [("up", "api"), ("up", "db"), ("http_requests_total", "api")];
    let before = {
        let db = Db::open(dir.path(), options()).unwrap();
        write(&db, &names, 0, 15_000, 100);
        all(&db)
    };
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db), before);
    assert!(db.stats().replay.records > 0);
    // New series after a restart must not reuse ids from the log.
    write(&db, &[("up", "web")], 100 * 15_000, 15_000, 1);
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db).len(), 4);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Db::open(dir.path(), options()).unwrap();
    assert!(matches!(
        Db::open(dir.path(), options()),
        Err(DbError::Locked(_))
    ));
}

#[test]
fn maintenance_cuts_blocks_and_queries_stay_identical_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let names = [("up", "api"), ("up", "db")];
    let db = Db::open(dir.path(), options()).unwrap();
    write(&db, &names, 0, 60_000, 5 * 60); // five hours of 1-minute samples
    let before = all(&db);
    let report = db.maintenance().unwrap();
    // A block is cut while the head reaches 1.5 ranges past its start: hours 0..4.
    assert_eq!(report.blocks_cut, 4);
    let stats = db.stats();
    let ranges: Vec<(i64, i64)> = stats
        .blocks
        .iter()
        .map(|m| (m.min_time, m.max_time))
        .collect();
    assert_eq!(
        ranges,
        [(0, 3 * HOUR), (3 * HOUR, 4 * HOUR)],
        "0..3 h compacted"
    );
    assert_eq!(stats.head.min_time, Some(4 * HOUR));
    assert_eq!(db.min_valid_time(), 4 * HOUR);
    assert_eq!(all(&db), before);

    // Label queries span blocks and head.
    let querier = db.querier(0, HOUR);
    assert_eq!(querier.label_values("job", &[]).unwrap(), ["api", "db"]);
    assert_eq!(
        querier.label_names(&[Matcher::equal("job", "db")]).unwrap(),
        ["__name__", "job"]
    );
    assert_eq!(querier.series(&[]).unwrap().len(), 2);

    let mut app = db.appender();
    assert!(matches!(
        app.append(&series("up", "api"), HOUR, 1.0),
        Err(AppendError::TooOld { .. })
    ));
    drop(app);
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db), before);
    assert!(db.stats().replay.checkpoint.is_some());
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db), before);
}

#[test]
fn compaction_merges_complete_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    write(&db, &[("up", "api")], 0, 60_000, 8 * 60);
    let before = all(&db);
    let report = db.maintenance().unwrap();
    assert_eq!(report.blocks_cut, 7);
    assert_eq!(
        report.compactions, 2,
        "hours 0..3 and 3..6 each become one block"
    );
    let metas = db.stats().blocks;
    let ranges: Vec<(i64, i64)> = metas
        .iter()
        .map(|m| (m.min_time / HOUR, m.max_time / HOUR))
        .collect();
    assert_eq!(ranges, [(0, 3), (3, 6), (6, 7)]);
    let levels: Vec<u32> = metas.iter().map(|m| m.compaction.level).collect();
    assert_eq!(levels, [2, 2, 1]);
    assert_eq!(all(&db), before);
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db), before);
}

#[test]
fn retention_by_time_deletes_whole_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        retention: Duration::from_secs(3 * 3600),
        ..options()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    write(&db, &[("up", "api")], 0, 60_000, 8 * 60);
    let report = db.maintenance().unwrap();
    // Newest sample 7:59 h, retention 3 h: the blocks ending at 1..4 h are gone.
    assert_eq!(report.deleted_by_time, 4);
    let oldest = db.querier(i64::MIN, i64::MAX).select(&[]).unwrap()[0].samples[0].t;
    assert_eq!(oldest, 4 * HOUR);
    assert_eq!(db.stats().blocks.len(), 3);
}

#[test]
fn retention_by_size_deletes_oldest_blocks_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    write(&db, &[("up", "api"), ("up", "db")], 0, 60_000, 8 * 60);
    db.maintenance().unwrap();
    let stats = db.stats();
    let newest_block = stats.blocks.last().unwrap().clone();
    drop(db);

    // Allow just the WAL plus the newest block.
    let limit = stats.wal_bytes + 2 * stats.blocks_bytes / stats.blocks.len() as u64;
    let opts = Options {
        max_bytes: Some(limit),
        ..options()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let report = db.maintenance().unwrap();
    assert!(report.deleted_by_size >= 1);
    let remaining = db.stats().blocks;
    assert_eq!(
        remaining.last(),
        Some(&newest_block),
        "the newest block is kept"
    );
    assert!(db.stats().blocks_bytes + db.stats().wal_bytes <= limit);
}

#[test]
fn handles_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Db>();
    assert_send_sync::<Querier>();
    assert_send_sync::<crate::head::Head>();
}

#[test]
fn querier_created_before_a_block_cut_still_sees_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    write(&db, &[("up", "api")], 0, 60_000, 5 * 60);
    let querier = db.querier(i64::MIN, i64::MAX);
    let before = querier.select(&[]).unwrap();
    assert!(db.maintenance().unwrap().blocks_cut > 0);
    assert_eq!(querier.select(&[]).unwrap(), before);
    assert_eq!(db.select(&[], i64::MIN, i64::MAX).unwrap(), before);
}

#[test]
fn changing_the_block_duration_between_runs_neither_loses_nor_duplicates_data() {
    let dir = tempfile::tempdir().unwrap();
    let two_hours = Options {
        block_duration: Duration::from_secs(7200),
        ..options()
    };
    let db = Db::open(dir.path(), two_hours).unwrap();
    write(&db, &[("up", "api"), ("up", "db")], 0, 60_000, 5 * 60);
    let before = all(&db);
    db.close().unwrap(); // checkpoint holds chunks aligned to 2 h

    // Now 1 h blocks: restored chunks straddle the new boundaries.
    let db = Db::open(dir.path(), options()).unwrap();
    let report = db.maintenance().unwrap();
    assert_eq!(report.blocks_cut, 4);
    assert_eq!(all(&db), before);
    assert_eq!(
        db.maintenance().unwrap().blocks_cut,
        0,
        "no range is cut twice"
    );
    let samples: u64 = db.stats().blocks.iter().map(|b| b.stats.num_samples).sum();
    assert_eq!(samples, 2 * 4 * 60, "blocks hold hours 0..4 exactly once");
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(all(&db), before);
}

#[test]
fn streaming_selection_returns_what_select_returns_one_series_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let names = [("up", "api"), ("up", "db"), ("load", "api")];
    write(&db, &names, 0, 60_000, 6 * 60);
    db.maintenance().unwrap();
    assert!(
        db.stats().blocks.len() >= 2,
        "blocks and head both hold data"
    );
    // A late sample for a range already in a block, so blocks overlap too.
    let mut app = db.appender();
    app.append(&series("up", "api"), 4 * HOUR + 30_000, 0.5)
        .unwrap();
    app.commit().unwrap();
    db.maintenance().unwrap();

    for (mint, maxt) in [
        (i64::MIN, i64::MAX),
        (HOUR / 2, 3 * HOUR),
        (4 * HOUR, 4 * HOUR + 60_000),
        (5 * HOUR, 7 * HOUR),
    ] {
        for matchers in [
            vec![],
            vec![Matcher::equal("__name__", "up")],
            vec![Matcher::equal("job", "none")],
        ] {
            let expected = db.select(&matchers, mint, maxt).unwrap();
            let mut streamed = Vec::new();
            db.select_each(&matchers, mint, maxt, &mut |s| {
                streamed.push(s);
                true
            })
            .unwrap();
            assert_eq!(streamed, expected, "{matchers:?} [{mint}, {maxt}]");
        }
    }
    let mut seen = 0;
    db.select_each(&[], i64::MIN, i64::MAX, &mut |_| {
        seen += 1;
        false
    })
    .unwrap();
    assert_eq!(seen, 1, "false stops the stream");
}

#[test]
fn appending_a_series_at_once_decides_like_appending_sample_by_sample() {
    let samples = [
        (10_000, 1.0),
        (20_000, 2.0),
        (20_000, 2.0),
        (20_000, 3.0),
        (15_000, 1.5),
        (30_000, f64::NAN),
        (-HOUR * 10, 0.0),
        (i64::MAX, 0.0),
    ];
    let decide = |by_series: bool| {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), options()).unwrap();
        let mut app = db.appender();
        app.append(&series("up", "api"), 5_000, 0.5).unwrap();
        app.commit().unwrap();
        let mut app = db.appender();
        let mut refused = Vec::new();
        let accepted = if by_series {
            app.append_series(series("up", "api"), samples, |error, labels| {
                refused.push((error, labels.to_string()));
            })
        } else {
            samples
                .iter()
                .filter(|(t, v)| match app.append(&series("up", "api"), *t, *v) {
                    Ok(()) => true,
                    Err(error) => {
                        refused.push((error, series("up", "api").to_string()));
                        false
                    }
                })
                .count()
        };
        let summary = app.commit().unwrap();
        (accepted, refused, summary, all(&db))
    };
    let (mut by_series, mut one_by_one) = (decide(true), decide(false));
    // The future bound follows the clock, which moved between the two runs.
    for run in [&mut by_series, &mut one_by_one] {
        for (error, _) in &mut run.1 {
            if let AppendError::TooFarInFuture { max_valid, .. } = error {
                *max_valid = 0;
            }
        }
    }
    assert_eq!(format!("{by_series:?}"), format!("{one_by_one:?}"));
    assert_eq!(by_series.0, 5, "{by_series:?}");
    assert_eq!(by_series.1.len(), 3, "{by_series:?}");
}
