//! Model-based test: random appends, maintenance runs, crashes and clean restarts, checked
//! after every step against a plain map of what was accepted — once without an out-of-order
//! window (every late sample refused) and once with one (late samples accepted; a late sample
//! that repeats a timestamp already persisted in a block with another value is a conflicting
//! write: either value may be read back, and the model accepts either).

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use pharos_tsdb::{Db, Labels, MatchOp, Matcher, Options, STALE_NAN, Sample, SampleWindows};
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

/// Other values accepted for a stored timestamp (late conflicting writes), by series and time.
type Conflicts = BTreeMap<(Labels, i64), Vec<u64>>;

fn options(late: bool) -> Options {
    Options {
        block_duration: Duration::from_secs(3600),
        retention: Duration::from_secs(1000 * 3600),
        out_of_order_window: if late {
            Duration::from_secs(2 * 3600)
        } else {
            Duration::ZERO
        },
        ..Options::default()
    }
}

fn check(db: &Db, model: &Model, conflicts: &Conflicts) -> Result<(), TestCaseError> {
    // A conflicting value read back counts as the model's (first accepted) one.
    let as_model = |labels: &Labels, t: i64, v: u64| -> u64 {
        match (
            conflicts.get(&(labels.clone(), t)),
            model.get(labels).and_then(|s| s.get(&t)),
        ) {
            (Some(others), Some(first)) if others.contains(&v) => *first,
            _ => v,
        }
    };
    let stored: Model = db
        .querier(i64::MIN, i64::MAX)
        .select(&[])
        .unwrap()
        .into_iter()
        .map(|s| {
            let samples = s
                .samples
                .iter()
                .map(|x| (x.t, as_model(&s.labels, x.t, x.v.to_bits())))
                .collect();
            (s.labels, samples)
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
    let got: Vec<(Labels, Vec<Sample>)> = partial
        .into_iter()
        .map(|s| {
            let samples = s
                .samples
                .iter()
                .map(|x| Sample::new(x.t, f64::from_bits(as_model(&s.labels, x.t, x.v.to_bits()))))
                .collect();
            (s.labels, samples)
        })
        .collect();
    prop_assert_eq!(got, expected_partial);

    // A read for the windows of a step grid (5-minute windows every 35 minutes, as a week of
    // `rate(x[5m])` on a dashboard) returns exactly the samples inside some window.
    let (first_end, last_end, step, range) = (HOUR / 3, 4 * HOUR, 35 * 60_000, 5 * 60_000);
    let windows = SampleWindows::with_gaps(first_end, last_end, step, range).unwrap();
    let in_window = |t: i64| {
        (0..)
            .map(|i| first_end + i * step)
            .take_while(|end| *end <= last_end)
            .any(|end| t > end - range && t <= end)
    };
    let expected_windowed: Vec<(Labels, Vec<Sample>)> = expected
        .iter()
        .map(|(l, s)| {
            let samples = s
                .iter()
                .filter(|(t, _)| in_window(**t))
                .map(|(t, v)| Sample::new(*t, f64::from_bits(*v)))
                .collect();
            (l.clone(), samples)
        })
        .filter(|(_, s): &(Labels, Vec<Sample>)| !s.is_empty())
        .collect();
    let mut windowed = Vec::new();
    db.querier(windows.mint(), windows.maxt())
        .select_each_in(&[], Some(&windows), &mut |s| {
            let samples = s
                .samples
                .iter()
                .map(|x| Sample::new(x.t, f64::from_bits(as_model(&s.labels, x.t, x.v.to_bits()))))
                .collect();
            windowed.push((s.labels, samples));
            true
        })
        .unwrap();
    prop_assert_eq!(windowed, expected_windowed);
    Ok(())
}

/// Applies `ops` to a database and to the model, comparing after every step.
fn run(ops: Vec<Op>, late: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Some(Db::open(dir.path(), options(late)).unwrap());
    let mut model = Model::new();
    let mut conflicts = Conflicts::new();
    let mut cursor: BTreeMap<usize, i64> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Append(samples) => {
                let Some(current) = db.as_ref() else { continue };
                let mut app = current.appender();
                let mut accepted: Vec<(Labels, i64, u64)> = Vec::new();
                for (series, minutes, value) in samples {
                    let t = cursor.get(&series).copied().unwrap_or(0) + minutes * 60_000;
                    let labels = labels(series);
                    if app.append(&labels, t, value).is_ok() {
                        let stored = model.get(&labels).and_then(|s| s.get(&t)).copied();
                        let pending = accepted
                            .iter()
                            .find(|(l, pt, _)| l == &labels && *pt == t)
                            .map(|(_, _, v)| *v);
                        let newest = accepted
                            .iter()
                            .rev()
                            .find(|(l, _, _)| l == &labels)
                            .map(|(_, t, _)| *t)
                            .or_else(|| {
                                model
                                    .get(&labels)
                                    .and_then(|s| s.last_key_value())
                                    .map(|(t, _)| *t)
                            });
                        if !late {
                            prop_assert!(
                                newest.is_none_or(|newest| t >= newest),
                                "accepted out-of-order sample"
                            );
                            if let Some(v) = stored.or(pending) {
                                prop_assert_eq!(v, value.to_bits());
                            }
                        }
                        match stored.or(pending) {
                            None => accepted.push((labels, t, value.to_bits())),
                            Some(first) if first != value.to_bits() => {
                                conflicts
                                    .entry((labels, t))
                                    .or_default()
                                    .push(value.to_bits());
                            }
                            Some(_) => {}
                        }
                        cursor.insert(series, t.max(cursor.get(&series).copied().unwrap_or(0)));
                    }
                }
                let summary = app.commit().unwrap();
                prop_assert_eq!(summary.rejected, 0);
                if late {
                    // A late copy of a stored timestamp is taken in, and read back as the first.
                    prop_assert!(summary.samples >= accepted.len());
                } else {
                    prop_assert_eq!(summary.samples, accepted.len());
                }
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
                db = Some(Db::open(dir.path(), options(late)).unwrap());
            }
            Op::CloseAndReopen => {
                if let Some(current) = db.take() {
                    current.close().unwrap();
                }
                db = Some(Db::open(dir.path(), options(late)).unwrap());
            }
        }
        if let Some(current) = db.as_ref() {
            check(current, &model, &conflicts)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn without_a_window_the_database_matches_the_model(ops in proptest::collection::vec(op(), 1..25)) {
        run(ops, false)?;
    }

    #[test]
    fn with_late_samples_the_database_matches_the_model(ops in proptest::collection::vec(op(), 1..25)) {
        run(ops, true)?;
    }
}
