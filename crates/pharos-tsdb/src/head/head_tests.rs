use std::sync::Arc;
use std::thread;

use super::*;
use crate::chunk::decode;
use crate::matcher::{MatchOp, Matcher};
use crate::sample::{STALE_NAN, Sample, is_stale_nan};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn up(job: &str) -> Labels {
    labels(&[("__name__", "up"), ("job", job)])
}

#[test]
fn append_then_select_by_matchers_and_time() {
    let head = Head::default();
    for t in 0..10 {
        head.append(&up("api"), t * 1000, t as f64).unwrap();
        head.append(&up("db"), t * 1000, -(t as f64)).unwrap();
    }
    let api = head.select(&[Matcher::equal("job", "api")], 2_000, 4_000);
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].labels, up("api"));
    let times: Vec<i64> = api[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(times, [2_000, 3_000, 4_000]);

    let all = head.select(&[Matcher::equal("__name__", "up")], 0, 100_000);
    assert_eq!(
        all.iter().map(|s| s.labels.clone()).collect::<Vec<_>>(),
        [up("api"), up("db")]
    );
    assert!(
        head.select(&[Matcher::equal("__name__", "up")], 20_000, 30_000)
            .is_empty()
    );
    assert_eq!(head.min_time(), Some(0));
    assert_eq!(head.max_time(), Some(9_000));
}

#[test]
fn rejections_are_counted_and_leave_data_unchanged() {
    let head = Head::default();
    let series = up("api");
    head.append(&series, 100, 1.0).unwrap();
    assert_eq!(
        head.append(&series, 100, 1.0),
        Ok(Appended::IdenticalDuplicate)
    );
    assert_eq!(
        head.append(&series, 100, 2.0),
        Err(AppendError::DuplicateSampleForTimestamp { t: 100 })
    );
    assert_eq!(
        head.append(&series, 50, 2.0),
        Err(AppendError::OutOfOrder { t: 50, newest: 100 })
    );
    head.raise_min_valid_time(1_000);
    assert_eq!(
        head.append(&series, 999, 2.0),
        Err(AppendError::TooOld {
            t: 999,
            min_valid: 1_000
        })
    );
    assert_eq!(
        head.append(&Labels::empty(), 2_000, 1.0),
        Err(AppendError::EmptyLabels)
    );

    let stats = head.stats();
    assert_eq!(stats.samples_appended_total, 1);
    assert_eq!(stats.identical_duplicates_total, 1);
    assert_eq!(stats.duplicate_rejected_total, 1);
    assert_eq!(stats.out_of_order_total, 1);
    assert_eq!(stats.too_old_total, 1);
    assert_eq!(stats.num_series, 1);
    assert_eq!(stats.num_samples, 1);
    let samples = &head.select(&[], i64::MIN, i64::MAX)[0].samples;
    assert_eq!(samples, &vec![Sample::new(100, 1.0)]);
}

#[test]
fn stale_markers_are_stored_and_returned() {
    let head = Head::default();
    head.append(&up("api"), 1, 1.0).unwrap();
    head.append(&up("api"), 2, STALE_NAN).unwrap();
    let samples = &head.select(&[], 0, 10)[0].samples;
    assert!(is_stale_nan(samples[1].v));
}

#[test]
fn label_queries_respect_matchers_and_time() {
    let head = Head::default();
    head.append(&up("api"), 1_000, 1.0).unwrap();
    head.append(
        &labels(&[("__name__", "http_requests_total"), ("code", "200")]),
        5_000,
        1.0,
    )
    .unwrap();
    assert_eq!(
        head.label_names(&[], i64::MIN, i64::MAX),
        ["__name__", "code", "job"]
    );
    assert_eq!(head.label_names(&[], 2_000, 6_000), ["__name__", "code"]);
    assert_eq!(
        head.label_values("__name__", &[], 0, 10_000),
        ["http_requests_total", "up"]
    );
    let only_up = [Matcher::equal("__name__", "up")];
    assert_eq!(head.label_values("job", &only_up, 0, 10_000), ["api"]);
    assert_eq!(head.series(&only_up, 0, 10_000), [up("api")]);
    assert!(head.series(&only_up, 2_000, 10_000).is_empty());
}

#[test]
fn truncate_removes_old_chunks_and_empty_series() {
    let head = Head::new(HeadOptions {
        chunk_range_ms: 1_000,
    });
    head.append(&up("old"), 10, 1.0).unwrap();
    head.append(&up("both"), 10, 1.0).unwrap();
    head.append(&up("both"), 1_500, 2.0).unwrap();
    assert_eq!(head.truncate(1_000), 1);
    assert_eq!(head.series(&[], i64::MIN, i64::MAX), [up("both")]);
    assert_eq!(head.min_time(), Some(1_500));
    assert_eq!(head.stats().series_removed_total, 1);
    // The removed series comes back under a new id when written again.
    head.append(&up("old"), 2_000, 1.0).unwrap();
    assert_eq!(head.series(&[], i64::MIN, i64::MAX).len(), 2);
}

#[test]
fn chunks_in_range_are_aligned_and_clipped() {
    let head = Head::new(HeadOptions {
        chunk_range_ms: 1_000,
    });
    for t in (0..3_000).step_by(100) {
        head.append(&up("api"), t, t as f64).unwrap();
    }
    let block = head.chunks_in_range(1_000, 2_000);
    assert_eq!(block.len(), 1);
    let samples: Vec<i64> = block[0]
        .1
        .iter()
        .flat_map(|c| decode(&c.data).unwrap())
        .map(|s| s.t)
        .collect();
    assert_eq!(samples, (1_000..2_000).step_by(100).collect::<Vec<_>>());
}

#[test]
fn snapshot_restores_identically() {
    let head = Head::default();
    for t in 0..500 {
        head.append(&up("api"), t * 15_000, (t % 7) as f64).unwrap();
    }
    let restored = Head::default();
    for (id, labels, chunks, _) in head.snapshot() {
        let bytes = chunks.iter().map(|c| c.data.to_vec()).collect();
        let series_ref = restored.create_series_with_id(id, &labels);
        restored
            .restore_chunks(series_ref, bytes, i64::MAX)
            .unwrap();
    }
    assert_eq!(
        restored.select(&[], i64::MIN, i64::MAX),
        head.select(&[], i64::MIN, i64::MAX)
    );
    // The restored open chunk keeps accepting appends.
    restored.append(&up("api"), 500 * 15_000, 1.0).unwrap();
    assert_eq!(restored.stats().num_samples, 501);
}

#[test]
fn regex_and_negative_matchers_select_like_prometheus() {
    let head = Head::default();
    for job in ["api", "apiserver", "db"] {
        head.append(&up(job), 1, 1.0).unwrap();
    }
    head.append(&labels(&[("__name__", "up")]), 1, 1.0).unwrap();
    let name = Matcher::equal("__name__", "up");
    let select = |m: Matcher| -> Vec<String> {
        head.series(&[name.clone(), m], 0, 10)
            .iter()
            .map(|l| l.get("job").unwrap_or("-").to_owned())
            .collect()
    };
    assert_eq!(
        select(Matcher::new(MatchOp::Regex, "job", "api").unwrap()),
        ["api"]
    );
    assert_eq!(
        select(Matcher::new(MatchOp::NotRegex, "job", "api.*").unwrap()),
        ["-", "db"]
    );
    assert_eq!(
        select(Matcher::new(MatchOp::Regex, "job", "|db").unwrap()),
        ["-", "db"]
    );
}

#[test]
fn concurrent_appenders_and_readers() {
    let head = Arc::new(Head::default());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let head = Arc::clone(&head);
            thread::spawn(move || {
                for t in 0..2_000 {
                    // Every writer also hits one shared series; only one of them can win each t.
                    let own = labels(&[("__name__", "x"), ("w", &w.to_string())]);
                    head.append(&own, t, 1.0).unwrap();
                    let _ = head.append(&up("shared"), t, 1.0);
                }
            })
        })
        .collect();
    let reader = {
        let head = Arc::clone(&head);
        thread::spawn(move || {
            let mut reads = 0;
            for _ in 0..200 {
                for series in head.select(&[], i64::MIN, i64::MAX) {
                    assert!(series.samples.windows(2).all(|w| w[0].t < w[1].t));
                    reads += 1;
                }
            }
            reads
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    reader.join().unwrap();
    let all = head.select(&[], i64::MIN, i64::MAX);
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|s| s.samples.len() == 2_000));
}
