//! Durability: whatever state a crash leaves the WAL in, reopening returns every committed
//! sample and nothing that was not committed.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pharos_tsdb::{Db, Labels, Matcher, Options};

fn labels(index: usize) -> Labels {
    Labels::new([
        ("__name__", "requests_total"),
        ("pod", &format!("pod-{index}")),
    ])
    .unwrap()
}

fn options() -> Options {
    Options {
        block_duration: Duration::from_secs(60),
        ..Options::default()
    }
}

/// One commit per step: every series gets sample `(step * 1000, step)`.
fn commit_step(db: &Db, series: usize, step: i64) {
    let mut app = db.appender();
    for index in 0..series {
        app.append(&labels(index), step * 1000, step as f64)
            .unwrap();
    }
    app.commit().unwrap();
}

/// Per series, the stored timestamps divided by 1000.
fn stored_steps(db: &Db) -> Vec<Vec<i64>> {
    db.querier(i64::MIN, i64::MAX)
        .select(&[Matcher::equal("__name__", "requests_total")])
        .unwrap()
        .into_iter()
        .map(|series| {
            assert!(series.samples.iter().all(|s| s.v == (s.t / 1000) as f64));
            series.samples.iter().map(|s| s.t / 1000).collect()
        })
        .collect()
}

fn newest_segment(dir: &Path) -> PathBuf {
    let wal = dir.join("wal");
    let mut segments: Vec<PathBuf> = fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

#[test]
fn torn_commit_at_the_wal_tail_is_dropped_and_the_rest_survives() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for step in 0..20 {
        commit_step(&db, 3, step);
    }
    let segment = newest_segment(dir.path());
    let acknowledged_len = fs::metadata(&segment).unwrap().len();
    commit_step(&db, 3, 20);
    let torn_len = fs::metadata(&segment).unwrap().len();
    drop(db); // no close: as after kill -9

    // The crash happened in the middle of writing commit 20.
    let file = OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_len(acknowledged_len + (torn_len - acknowledged_len) / 2)
        .unwrap();
    drop(file);

    let db = Db::open(dir.path(), options()).unwrap();
    let expected: Vec<i64> = (0..20).collect();
    assert_eq!(stored_steps(&db), vec![expected.clone(); 3]);
    assert!(db.stats().replay.torn_bytes_truncated > 0);

    // The database keeps working: the torn commit can be re-sent and survives another crash.
    commit_step(&db, 3, 20);
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(stored_steps(&db), vec![(0..21).collect::<Vec<i64>>(); 3]);
}

#[test]
fn garbage_after_the_last_commit_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for step in 0..5 {
        commit_step(&db, 2, step);
    }
    drop(db);
    let mut file = OpenOptions::new()
        .append(true)
        .open(newest_segment(dir.path()))
        .unwrap();
    file.write_all(&[0x40, 0, 0, 0, 0xab, 0xcd, 0xef, 0x01, 7, 7, 7])
        .unwrap();
    drop(file);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(stored_steps(&db), vec![(0..5).collect::<Vec<i64>>(); 2]);
}

#[test]
fn crash_after_maintenance_keeps_blocks_head_and_wal_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for step in 0..300 {
        commit_step(&db, 4, step);
        if step % 45 == 0 {
            db.maintenance().unwrap();
        }
    }
    assert!(!db.stats().blocks.is_empty());
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(stored_steps(&db), vec![(0..300).collect::<Vec<i64>>(); 4]);
}

const CHILD_DIR_ENV: &str = "PHAROS_TSDB_CRASH_CHILD_DIR";
const CHILD_SERIES: usize = 20;

/// Runs inside the child process started by `kill_9_loses_no_acknowledged_sample`: appends
/// forever, printing `acked N` after each durable commit, running maintenance now and then.
#[test]
#[ignore = "helper process for kill_9_loses_no_acknowledged_sample"]
fn crash_child_writer() {
    let dir = std::env::var(CHILD_DIR_ENV).expect("set by the parent test");
    let db = Db::open(&dir, options()).unwrap();
    let next = stored_steps(&db)
        .iter()
        .filter_map(|steps| steps.last().copied())
        .min()
        .map_or(0, |last| last + 1);
    let mut out = std::io::stdout().lock();
    for step in next.. {
        let mut app = db.appender();
        for index in 0..CHILD_SERIES {
            // A series may already hold this step if the previous run died mid-apply; re-sending
            // an identical sample is a no-op.
            app.append(&labels(index), step * 1000, step as f64)
                .unwrap();
        }
        app.commit().unwrap();
        writeln!(out, "acked {step}").unwrap();
        out.flush().unwrap();
        if step % 25 == 0 {
            db.maintenance().unwrap();
        }
    }
}

#[test]
fn kill_9_loses_no_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = -1;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Stop reading at a different point each round so the kill lands in varied places.
        let target = acknowledged + 120 + round * 37;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(step) = line.strip_prefix("acked ") {
                acknowledged = step.parse().unwrap();
                if acknowledged >= target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        assert!(
            acknowledged >= target,
            "child stopped early at {acknowledged}"
        );

        let db = Db::open(dir.path(), options()).unwrap();
        let stored = stored_steps(&db);
        assert_eq!(stored.len(), CHILD_SERIES);
        for steps in &stored {
            let last = *steps.last().unwrap();
            assert!(
                last >= acknowledged,
                "acknowledged step {acknowledged} lost (have {last})"
            );
            assert_eq!(
                steps,
                &(0..=last).collect::<Vec<i64>>(),
                "no gaps, no duplicates"
            );
        }
    }
}
