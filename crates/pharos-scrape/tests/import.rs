//! OpenMetrics backfill round trips into a temporary store.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Cursor;

use pharos_scrape::exposition::{self, Format};
use pharos_scrape::{ImportError, import_openmetrics};
use pharos_tsdb::{Db, Labels, Matcher, Options, is_stale_nan};

const BACKFILL_SAMPLE: &str = include_str!("fixtures/backfill-sample.om");

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    (dir, db)
}

fn everything(db: &Db) -> HashMap<Labels, Vec<(i64, f64)>> {
    db.querier(i64::MIN, i64::MAX)
        .select(&[Matcher::new(pharos_tsdb::MatchOp::Regex, "__name__", ".+").unwrap()])
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.iter().map(|x| (x.t, x.v)).collect()))
        .collect()
}

#[test]
fn backfill_sample_round_trips() {
    let (_dir, db) = open();
    let summary = import_openmetrics(&db, Cursor::new(BACKFILL_SAMPLE)).unwrap();

    let mut expected: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    let parsed = exposition::parse(Format::OpenMetrics, BACKFILL_SAMPLE).unwrap();
    for sample in &parsed.samples {
        expected
            .entry(sample.to_labels().unwrap())
            .or_default()
            .push((sample.timestamp_ms.unwrap(), sample.value));
    }
    assert_eq!(summary.samples_read, parsed.samples.len());
    assert_eq!(summary.samples_stored, parsed.samples.len());
    assert_eq!(summary.series, expected.len());
    assert_eq!(summary.rejected, 0);
    let all_times = || parsed.samples.iter().map(|s| s.timestamp_ms.unwrap());
    assert_eq!(summary.min_time_ms, all_times().min());
    assert_eq!(summary.max_time_ms, all_times().max());
    assert_eq!(everything(&db), expected);
}

/// Ten series over eight hours, one whole series after the other, as exporters of backfill
/// files write them: far more than the store accepts behind its newest sample in one go.
fn long_series_grouped_file() -> (String, usize) {
    let start = 1_704_067_200_i64;
    let mut text = String::from("# HELP jobs_done Finished jobs.\n# TYPE jobs_done counter\n");
    let mut count = 0;
    for series in 0..10 {
        for step in 0..(8 * 240) {
            let t = start + step * 15;
            writeln!(
                text,
                "jobs_done_total{{worker=\"w{series}\"}} {} {t}",
                step * (series + 1)
            )
            .unwrap();
            count += 1;
        }
    }
    text.push_str("# EOF\n");
    (text, count)
}

#[test]
fn long_series_grouped_input_is_stored_completely_and_cut_into_blocks() {
    let (text, count) = long_series_grouped_file();
    let (_dir, db) = open();
    let summary = import_openmetrics(&db, Cursor::new(text.as_bytes())).unwrap();
    assert_eq!(summary.samples_read, count);
    assert_eq!(
        summary.samples_stored, count,
        "{:?}",
        summary.first_rejection
    );
    assert_eq!(summary.series, 10);
    let stored = everything(&db);
    assert_eq!(stored.values().map(Vec::len).sum::<usize>(), count);
    for (labels, samples) in &stored {
        assert!(
            samples.windows(2).all(|w| w[0].0 + 15_000 == w[1].0),
            "{labels}"
        );
        assert!(!samples.iter().any(|s| is_stale_nan(s.1)));
    }
    assert!(
        !db.stats().blocks.is_empty(),
        "finished time ranges are cut into blocks during the import"
    );
}

#[test]
fn input_errors_stop_the_import_before_writing() {
    let cases: [(&str, &str); 5] = [
        ("a 1 1\n", "missing # EOF"),
        (
            "a 1 10\na 2 5\n# EOF\n",
            "line 2: sample of a{} at 5000 ms is not after",
        ),
        ("a 1 10\na 2 10\n# EOF\n", "not after its previous sample"),
        ("a 1\n# EOF\n", "line 1: sample has no timestamp"),
        (
            "a{__name__=\"b\"} 1 1\n# EOF\n",
            "line 1: duplicate label name",
        ),
    ];
    for (input, expected) in cases {
        let (_dir, db) = open();
        let error = import_openmetrics(&db, Cursor::new(input)).unwrap_err();
        assert!(error.to_string().contains(expected), "{input:?}: {error}");
        assert!(everything(&db).is_empty(), "{input:?}: nothing stored");
    }
    let (_dir, db) = open();
    assert!(matches!(
        import_openmetrics(&db, Cursor::new("a 1 1\n")),
        Err(ImportError::Parse(_))
    ));
}

#[test]
fn samples_older_than_the_store_accepts_are_counted_not_fatal() {
    let (_dir, db) = open();
    let recent = Labels::new([("__name__", "recent")]).unwrap();
    let mut appender = db.appender();
    appender
        .append(&recent, 1_704_067_200_000 + 10 * 3_600_000, 1.0)
        .unwrap();
    appender.commit().unwrap();

    let summary = import_openmetrics(&db, Cursor::new(BACKFILL_SAMPLE)).unwrap();
    assert_eq!(summary.samples_stored, 0);
    assert_eq!(summary.rejected, summary.samples_read);
    let reason = summary.first_rejection.unwrap();
    assert!(reason.contains("out of bounds"), "{reason}");
}
