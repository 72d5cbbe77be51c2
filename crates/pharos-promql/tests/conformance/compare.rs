//! Comparing query results with the expectations of an eval block (README §4.2).

use pharos_promql::{Labels, QueryResult, QueryValue, is_stale_nan};
use regex::Regex;

use super::script::{Eval, EvalKind, Expectation, SeriesLine, Slot};

/// Float equality of the reference harness: identical, both (same kind of) NaN, or a
/// relative difference below 1e-6.
pub fn float_eq(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan() && is_stale_nan(a) == is_stale_nan(b);
    }
    if a == b {
        return true;
    }
    let eps = 1e-6;
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < eps * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// What the eval expects the result to look like.
pub enum Expected<'a> {
    Scalar(f64),
    String(&'a str),
    /// One value per series (instant vector).
    Vector {
        ordered: bool,
    },
    /// Series with points on a grid `start + k*step`.
    Matrix {
        start: i64,
        step: i64,
    },
}

pub fn expected_shape(e: &Eval) -> Expected<'_> {
    let mut ordered = false;
    for x in &e.expectations {
        match x {
            Expectation::Scalar(v) => return Expected::Scalar(*v),
            Expectation::String(s) => return Expected::String(s),
            Expectation::RangeVector { start, step, .. } => {
                return Expected::Matrix {
                    start: *start,
                    step: *step,
                };
            }
            Expectation::Ordered => ordered = true,
            _ => {}
        }
    }
    match e.kind {
        EvalKind::Range { start, step, .. } => Expected::Matrix { start, step },
        EvalKind::Instant { .. } => Expected::Vector { ordered },
    }
}

/// Compares a result value with the expectations.
pub fn check_value(e: &Eval, v: &QueryValue) -> Result<(), String> {
    match (expected_shape(e), v) {
        (Expected::Scalar(want), QueryValue::Scalar { value, .. }) => {
            if float_eq(want, *value) {
                Ok(())
            } else {
                Err(format!("expected scalar {want}, got {value}"))
            }
        }
        (Expected::String(want), QueryValue::String { value, .. }) => {
            if want == value {
                Ok(())
            } else {
                Err(format!("expected string {want:?}, got {value:?}"))
            }
        }
        (Expected::Vector { ordered }, QueryValue::Vector(got)) => {
            let got: Vec<(Labels, f64)> = got.iter().map(|s| (s.metric.clone(), s.value)).collect();
            check_vector(&e.series, &got, ordered)
        }
        (Expected::Matrix { start, step }, QueryValue::Matrix(got)) => {
            if got.windows(2).any(|w| w[0].metric > w[1].metric) {
                return Err("matrix result is not sorted by labels".into());
            }
            check_matrix(&e.series, got, start, step)
        }
        (_, got) => Err(format!(
            "unexpected result type {}: {got:?}",
            got.result_type()
        )),
    }
}

pub fn check_vector(
    want: &[SeriesLine],
    got: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!(
            "expected {} series, got {}: {}",
            want.len(),
            got.len(),
            show_vector(got)
        ));
    }
    for (i, w) in want.iter().enumerate() {
        let Some(Slot::Value(wv)) = w.slots.first().copied() else {
            return Err(format!("expected series {} has no value", w.labels));
        };
        let pos = got.iter().position(|(l, _)| *l == w.labels);
        let Some(pos) = pos else {
            return Err(format!(
                "missing series {} in {}",
                w.labels,
                show_vector(got)
            ));
        };
        if ordered && pos != i {
            return Err(format!(
                "series {} at position {pos}, expected {i}",
                w.labels
            ));
        }
        if !float_eq(wv, got[pos].1) {
            return Err(format!(
                "series {}: expected {wv}, got {}",
                w.labels, got[pos].1
            ));
        }
    }
    Ok(())
}

fn check_matrix(
    want: &[SeriesLine],
    got: &[pharos_promql::RangeSeries],
    start: i64,
    step: i64,
) -> Result<(), String> {
    if want.len() != got.len() {
        let names: Vec<String> = got.iter().map(|s| s.metric.to_string()).collect();
        return Err(format!(
            "expected {} series, got {}: {names:?}",
            want.len(),
            got.len()
        ));
    }
    for w in want {
        let Some(g) = got.iter().find(|s| s.metric == w.labels) else {
            let names: Vec<String> = got.iter().map(|s| s.metric.to_string()).collect();
            return Err(format!("missing series {} in {names:?}", w.labels));
        };
        let expected: Vec<(i64, f64)> = w
            .slots
            .iter()
            .enumerate()
            .filter_map(|(k, s)| match s {
                Slot::Value(v) => Some((start + k as i64 * step, *v)),
                Slot::Missing => None,
            })
            .collect();
        let same = expected.len() == g.points.len()
            && expected
                .iter()
                .zip(&g.points)
                .all(|(a, b)| a.0 == b.0 && float_eq(a.1, b.1));
        if !same {
            return Err(format!(
                "series {}: expected {expected:?}, got {:?}",
                w.labels, g.points
            ));
        }
    }
    Ok(())
}

fn show_vector(v: &[(Labels, f64)]) -> String {
    let parts: Vec<String> = v.iter().map(|(l, f)| format!("{l} {f}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Checks warnings/infos against `expect warn/info/no_warn/no_info` lines.
pub fn check_annotations(e: &Eval, r: &QueryResult) -> Result<(), String> {
    for warn in [true, false] {
        let got = if warn { r.warnings() } else { r.infos() };
        let kind = if warn { "warning" } else { "info" };
        let mut expectations = Vec::new();
        for x in &e.expectations {
            match x {
                Expectation::Annotation {
                    warn: w,
                    msg,
                    regex,
                } if *w == warn => {
                    expectations.push((msg.clone(), regex.clone()));
                }
                Expectation::NoAnnotation { warn: w } if *w == warn && !got.is_empty() => {
                    return Err(format!("expected no {kind}, got {got:?}"));
                }
                _ => {}
            }
        }
        if expectations.is_empty() {
            continue;
        }
        if got.is_empty() {
            return Err(format!("expected a {kind}, got none"));
        }
        let matches = |a: &str, (msg, regex): &(Option<String>, Option<String>)| match (msg, regex)
        {
            (Some(m), _) => a == m,
            (None, Some(re)) => Regex::new(re).is_ok_and(|r| r.is_match(a)),
            (None, None) => true,
        };
        for ex in &expectations {
            if !got.iter().any(|a| matches(a, ex)) {
                return Err(format!("no {kind} matches {ex:?}; got {got:?}"));
            }
        }
        for a in &got {
            if !expectations.iter().any(|ex| matches(a, ex)) {
                return Err(format!("unexpected {kind} {a:?}"));
            }
        }
    }
    Ok(())
}

/// Checks an error against `expect fail [msg:|regex:]`.
pub fn check_failure(e: &Eval, err: &str) -> Result<(), String> {
    for x in &e.expectations {
        if let Expectation::Fail { msg, regex } = x {
            if let Some(m) = msg
                && m.trim() != err.trim()
            {
                return Err(format!("expected error {m:?}, got {err:?}"));
            }
            if let Some(re) = regex
                && !Regex::new(re).is_ok_and(|r| r.is_match(err))
            {
                return Err(format!("error {err:?} does not match /{re}/"));
            }
            return Ok(());
        }
    }
    Err(format!("unexpected error: {err}"))
}

pub fn expects_failure(e: &Eval) -> bool {
    e.expectations
        .iter()
        .any(|x| matches!(x, Expectation::Fail { .. }))
}
