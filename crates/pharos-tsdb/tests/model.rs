//! Model-based test: random appends, maintenance runs, crashes and clean restarts, checked
//! after every step against a plain map of what was accepted.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use pharos_tsdb::{Db, Labels, MatchOp, Matcher, Options, STALE_NAN, Sample};
use proptest::prelude::*;

const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone)]
enum Op {
    /// `(series, time step in minutes from the series' previous sample, value)`; negative
    /// steps produce out-of-order attempts, zero steps duplicates.
    Append(Vec<(usize, i64, f64)>),
    Maintenance,
    Crash,
    CloseAndReopen,
}

fn op() -> impl Strategy<Value = Op> {
    let sample = (
        0usize..5,
        -3i64..40,
        prop_oneof![
            Just(1.0),
            Just(f64::NAN),
            Just(STALE_NAN),
            (0..100).prop_map(f64::from)
        ],
    );
    prop_oneof![
        6 => proptest::collection::vec(sample, 1..12).prop_map(Op::Append),
        2 => Just(Op::Maintenance),
        1 => Just(Op::Crash),
        1 => Just(Op::CloseAndReopen),
    ]
}

fn labels(series: usize) -> Labels {
    let job = ["api", "db", "web"][series % 3];
    Labels::new([
        ("__name__", "m"),
        ("job", job),
        ("shard", &series.to_string()),
    ])
    .unwrap()
}

type Model = BTreeMap<Labels, BTreeMap<i64, u64>>;

fn options() -> Options {
    Options {
        block_duration: Duration::from_secs(3600),
        retention: Duration::from_secs(1000 * 3600),
        ..Options::default()
    }
}

fn check(db: &Db, model: &Model) -> Result<(), TestCaseError> {
    let stored: Model = db
        .querier(i64::MIN, i64::MAX)
        .select(&[])
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels,
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect();
    let expected: Model = model
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(l, s)| (l.clone(), s.clone()))
        .collect();
    prop_assert_eq!(&stored, &expected);

    // A sub-range with a regex matcher agrees with filtering the model.
    let (mint, maxt) = (HOUR / 2, 3 * HOUR);
    let api_or_db = Matcher::new(MatchOp::Regex, "job", "api|db").unwrap();
    let partial = db.querier(mint, maxt).select(&[api_or_db]).unwrap();
    let expected_partial: Vec<(Labels, Vec<Sample>)> = expected
        .iter()
        .filter(|(l, _)| l.get("job") != Some("web"))
        .map(|(l, s)| {
            let samples = s
                .range(mint..=maxt)
                .map(|(t, v)| Sample::new(*t, f64::from_bits(*v)))
                .collect();
            (l.clone(), samples)
        })
        .filter(|(_, s): &(Labels, Vec<Sample>)| !s.is_empty())
        .collect();
    let got: Vec<(Labels, Vec<Sample>)> =
        partial.into_iter().map(|s| (s.labels, s.samples)).collect();
    prop_assert_eq!(got, expected_partial);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn database_matches_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Some(Db::open(dir.path(), options()).unwrap());
        let mut model = Model::new();
        let mut cursor: BTreeMap<usize, i64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Append(samples) => {
                    let Some(current) = db.as_ref() else { continue };
                    let mut app = current.appender();
                    let mut accepted = Vec::new();
                    for (series, minutes, value) in samples {
                        let t = cursor.get(&series).copied().unwrap_or(0) + minutes * 60_000;
                        let labels = labels(series);
                        if app.append(&labels, t, value).is_ok() {
                            let last = model.get(&labels).and_then(|s| s.last_key_value()).map(|(t, v)| (*t, *v));
                            let pending_last = accepted.iter().rev().find(|(l, _, _)| l == &labels).map(|(_, t, v): &(Labels, i64, u64)| (*t, *v));
                            match pending_last.or(last) {
                                Some((last_t, last_v)) if t == last_t => prop_assert_eq!(last_v, value.to_bits()),
                                Some((last_t, _)) => {
                                    prop_assert!(t > last_t, "accepted out-of-order sample");
                                    accepted.push((labels, t, value.to_bits()));
                                }
                                None => accepted.push((labels, t, value.to_bits())),
                            }
                            cursor.insert(series, t.max(cursor.get(&series).copied().unwrap_or(0)));
                        }
                    }
                    let summary = app.commit().unwrap();
                    prop_assert_eq!(summary.rejected, 0);
                    prop_assert_eq!(summary.samples, accepted.len());
                    for (labels, t, v) in accepted {
                        model.entry(labels).or_default().insert(t, v);
                    }
                }
                Op::Maintenance => {
                    if let Some(current) = db.as_ref() {
                        current.maintenance().unwrap();
                    }
                }
                Op::Crash => {
                    drop(db.take());
                    db = Some(Db::open(dir.path(), options()).unwrap());
                }
                Op::CloseAndReopen => {
                    if let Some(current) = db.take() {
                        current.close().unwrap();
                    }
                    db = Some(Db::open(dir.path(), options()).unwrap());
                }
            }
            if let Some(current) = db.as_ref() {
                check(current, &model)?;
            }
        }
    }
}
