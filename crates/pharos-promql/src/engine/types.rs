//! Values flowing between evaluation nodes.
//!
//! Every instant-vector or scalar expression evaluates to a [`Matrix`] holding, per
//! output series, one point per evaluation step at which the series has a value. A
//! scalar is a single label-less series with a point at every step.

use std::collections::HashMap;

use crate::error::EvalError;
use crate::labels::Labels;

/// A float value at a timestamp (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub t: i64,
    pub f: f64,
}

/// One series of an evaluation result.
#[derive(Debug, Clone)]
pub(crate) struct EvalSeries {
    pub metric: Labels,
    pub points: Vec<Point>,
    /// Delayed `__name__` removal: drop the name when the query finishes.
    pub drop_name: bool,
}

pub(crate) type Matrix = Vec<EvalSeries>;

/// One output element produced at a single step.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub metric: Labels,
    pub f: f64,
    pub drop_name: bool,
}

/// Result of evaluating any expression.
#[derive(Debug)]
pub(crate) enum Value {
    Matrix(Matrix),
    String(String),
}

pub(crate) fn total_points(m: &Matrix) -> usize {
    m.iter().map(|s| s.points.len()).sum()
}

pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Walks a matrix step by step, yielding the series that have a point at each step.
///
/// Relies on every series' points being sorted and aligned to the step grid.
pub(crate) struct StepCursor {
    next: Vec<usize>,
}

impl StepCursor {
    pub fn new(m: &Matrix) -> Self {
        StepCursor {
            next: vec![0; m.len()],
        }
    }

    /// Fills `out` with `(series index, value)` for every series with a point at `ts`.
    pub fn gather(&mut self, m: &Matrix, ts: i64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        for (i, s) in m.iter().enumerate() {
            let n = self.next[i];
            if let Some(p) = s.points.get(n)
                && p.t == ts
            {
                out.push((i, p.f));
                self.next[i] = n + 1;
            }
        }
    }
}

/// Collects per-step output samples into series, keyed by labels, keeping the order in
/// which series first appear (instant-query results keep that order).
///
/// Two samples with the same labels at the same step are the "same labelset" error.
#[derive(Default)]
pub(crate) struct SeriesCollector {
    index: HashMap<Labels, usize>,
    series: Vec<EvalSeries>,
}

impl SeriesCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample at `ts`; returns the output series index.
    pub fn push(&mut self, ts: i64, s: Sample) -> Result<usize, EvalError> {
        let idx = match self.index.get(&s.metric) {
            Some(&i) => i,
            None => {
                let i = self.series.len();
                self.index.insert(s.metric.clone(), i);
                self.series.push(EvalSeries {
                    metric: s.metric,
                    points: Vec::new(),
                    drop_name: s.drop_name,
                });
                return self.push_at(i, ts, s.f).map(|_| i);
            }
        };
        self.push_at(idx, ts, s.f)?;
        Ok(idx)
    }

    /// The index of the output series with these labels, created empty if new (series
    /// that never get a point are dropped by [`SeriesCollector::finish`]).
    pub fn intern(&mut self, metric: Labels, drop_name: bool) -> usize {
        if let Some(&i) = self.index.get(&metric) {
            self.series[i].drop_name |= drop_name;
            return i;
        }
        let i = self.series.len();
        self.index.insert(metric.clone(), i);
        self.series.push(EvalSeries {
            metric,
            points: Vec::new(),
            drop_name,
        });
        i
    }

    /// Adds a point to a series returned by an earlier [`SeriesCollector::push`] or
    /// [`SeriesCollector::intern`].
    pub fn push_at(&mut self, idx: usize, ts: i64, f: f64) -> Result<(), EvalError> {
        let series = &mut self.series[idx];
        if series.points.last().is_some_and(|p| p.t == ts) {
            return Err(EvalError::exec(DUPLICATE_LABELSET));
        }
        series.points.push(Point { t: ts, f });
        Ok(())
    }

    pub fn finish(self) -> Matrix {
        self.series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// Merges series that share a label set (their points must not overlap in time);
/// keeps first-appearance order.
pub(crate) fn merge_same_labels(m: Matrix) -> Result<Matrix, EvalError> {
    if m.len() < 2 {
        return Ok(m);
    }
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(m.len());
    let mut out: Matrix = Vec::with_capacity(m.len());
    let mut merged_any = false;
    for s in m {
        match index.get(&s.metric) {
            Some(&i) => {
                merged_any = true;
                let target = &mut out[i];
                target.drop_name |= s.drop_name;
                target.points.extend(s.points);
            }
            None => {
                index.insert(s.metric.clone(), out.len());
                out.push(s);
            }
        }
    }
    if merged_any {
        for s in &mut out {
            s.points.sort_by_key(|p| p.t);
            if s.points.windows(2).any(|w| w[0].t == w[1].t) {
                return Err(EvalError::exec(DUPLICATE_LABELSET));
            }
        }
    }
    Ok(out)
}

/// Drops `__name__` from series flagged for delayed name removal, then merges series
/// that became identical.
pub(crate) fn cleanup_metric_names(m: Matrix) -> Result<Matrix, EvalError> {
    let m: Matrix = m
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.metric = drop_reserved(&s.metric);
                s.drop_name = false;
            }
            s
        })
        .collect();
    merge_same_labels(m)
}

/// Removes the labels an operation that changes a metric's meaning must drop: the name
/// and the type/unit metadata labels.
pub(crate) fn drop_reserved(l: &Labels) -> Labels {
    if l.get("__name__").is_none() && l.get("__type__").is_none() && l.get("__unit__").is_none() {
        return l.clone();
    }
    l.filter(|n| n != "__name__" && n != "__type__" && n != "__unit__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, pts: &[(i64, f64)], drop: bool) -> EvalSeries {
        EvalSeries {
            metric: Labels::from_pairs([("__name__", name), ("a", "1")]),
            points: pts.iter().map(|&(t, f)| Point { t, f }).collect(),
            drop_name: drop,
        }
    }

    #[test]
    fn cleanup_merges_disjoint_series_after_name_removal() {
        let m = vec![
            series("x", &[(0, 1.0)], true),
            series("y", &[(10, 2.0)], true),
        ];
        let out = cleanup_metric_names(m).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].points.len(), 2);
        assert_eq!(out[0].metric.to_string(), r#"{a="1"}"#);
    }

    #[test]
    fn cleanup_rejects_overlapping_series() {
        let m = vec![
            series("x", &[(0, 1.0)], true),
            series("y", &[(0, 2.0)], true),
        ];
        let err = cleanup_metric_names(m).unwrap_err();
        assert_eq!(err.to_string(), DUPLICATE_LABELSET);
    }

    #[test]
    fn collector_rejects_same_labels_at_same_step() {
        let mut c = SeriesCollector::new();
        let s = Sample {
            metric: Labels::from_pairs([("a", "1")]),
            f: 1.0,
            drop_name: false,
        };
        c.push(0, s.clone()).unwrap();
        c.push(10, s.clone()).unwrap();
        assert!(c.push(10, s).is_err());
        assert_eq!(c.finish()[0].points.len(), 2);
    }

    #[test]
    fn cursor_yields_series_present_at_each_step() {
        let m = vec![
            series("x", &[(0, 1.0), (20, 3.0)], false),
            series("y", &[(10, 2.0)], false),
        ];
        let mut c = StepCursor::new(&m);
        let mut out = Vec::new();
        c.gather(&m, 0, &mut out);
        assert_eq!(out, vec![(0, 1.0)]);
        c.gather(&m, 10, &mut out);
        assert_eq!(out, vec![(1, 2.0)]);
        c.gather(&m, 20, &mut out);
        assert_eq!(out, vec![(0, 3.0)]);
    }
}
