//! Instant and range selectors: lookback, staleness, `offset` and `@`.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{AtModifier, MatrixSelector, VectorSelector};
use regex::Regex;

use super::evaluator::{Evaluator, duration_ms, offset_ms};
use super::types::{EvalSeries, Matrix, Point};
use crate::error::EvalError;
use crate::labels::{Labels, METRIC_NAME};
use crate::storage::{LabelMatcher, MatchKind, Series, StepWindows, is_stale_nan};

/// Window parameters of a range argument: `(ref - range, ref]` with
/// `ref = (@ time or evaluation time) - offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RangeParams {
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

/// The raw samples of one series, as a range function consumes them.
pub(crate) struct RawSeries {
    pub metric: Labels,
    pub points: Vec<Point>,
}

impl RangeParams {
    /// The window bounds `(start, end]` at evaluation time `ts`.
    pub fn bounds(&self, ts: i64) -> (i64, i64) {
        // Saturating: offsets and ranges of millions of years must not overflow.
        let rt = self.at.unwrap_or(ts).saturating_sub(self.offset);
        (rt.saturating_sub(self.range), rt)
    }
}

impl Evaluator<'_> {
    /// Resolves an `@` modifier to milliseconds (`start()`/`end()` refer to the query).
    pub fn resolve_at(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        }
    }

    /// The windows `(ref - range, ref]` of every step, with reference times shifted by
    /// `offset` (or all at `@ at`): what a selector reads.
    fn step_windows(&self, at: Option<i64>, offset: i64, range: i64) -> StepWindows {
        let (first_end, last_end) = match at {
            Some(a) => (a.saturating_sub(offset), a.saturating_sub(offset)),
            None => (
                self.start.saturating_sub(offset),
                self.end.saturating_sub(offset),
            ),
        };
        StepWindows {
            first_end,
            last_end,
            step: self.interval,
            range,
        }
    }

    /// Streams the series a selector matches with samples in `windows`.
    pub fn for_each_selected(
        &mut self,
        vs: &VectorSelector,
        windows: &StepWindows,
        f: &mut dyn FnMut(&mut Self, Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let groups = selector_matchers(vs)?;
        if groups.len() == 1 {
            return self.select_each(&groups[0], windows, f);
        }
        // `{a or b}` (a promql-parser extension): the union of the groups.
        let mut union: Vec<Series> = Vec::new();
        let mut seen = HashSet::new();
        for g in &groups {
            self.select_each(g, windows, &mut |_, s| {
                if seen.insert(s.labels.clone()) {
                    union.push(s);
                }
                Ok(())
            })?;
        }
        union.sort_by(|a, b| a.labels.cmp(&b.labels));
        for s in union {
            f(self, s)?;
        }
        Ok(())
    }

    pub fn eval_vector_selector(&mut self, vs: &VectorSelector) -> Result<Matrix, EvalError> {
        self.vector_selector_points(vs, false)
    }

    /// Evaluates an instant selector at every step: the newest sample in
    /// `(ref - lookback, ref]`, unless it is a staleness marker. With `sample_time` the
    /// value is the sample's own timestamp in seconds (for `timestamp()`).
    pub fn vector_selector_points(
        &mut self,
        vs: &VectorSelector,
        sample_time: bool,
    ) -> Result<Matrix, EvalError> {
        let at = self.resolve_at(&vs.at);
        let offset = offset_ms(&vs.offset);
        let windows = self.step_windows(at, offset, self.lookback);
        let mut out = Vec::new();
        self.for_each_selected(vs, &windows, &mut |ev, s| {
            let mut points = Vec::new();
            let mut next = 0usize; // index of the first sample after the reference time
            for i in 0..ev.num_steps() {
                ev.charge(1)?;
                let ts = ev.step_ts(i);
                let rt = at.unwrap_or(ts).saturating_sub(offset);
                while next < s.samples.len() && s.samples[next].0 <= rt {
                    next += 1;
                }
                if next == 0 {
                    continue;
                }
                let (t, f) = s.samples[next - 1];
                if t <= rt.saturating_sub(ev.lookback) || is_stale_nan(f) {
                    continue;
                }
                let f = if sample_time { t as f64 / 1000.0 } else { f };
                points.push(Point { t: ts, f });
            }
            ev.add_samples(points.len())?;
            if !points.is_empty() {
                out.push(EvalSeries {
                    metric: s.labels,
                    points,
                    drop_name: false,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// A range selector evaluated as a query result (instant queries only): the raw
    /// samples of each series in the window, with their own timestamps.
    pub fn eval_matrix_selector(&mut self, ms: &MatrixSelector) -> Result<Matrix, EvalError> {
        let params = self.range_params(ms);
        let (lo, hi) = params.bounds(self.start);
        let mut out = Vec::new();
        self.for_each_range_series(ms, &mut |ev, RawSeries { metric, points }| {
            let points: Vec<Point> = points
                .into_iter()
                .filter(|p| p.t > lo && p.t <= hi)
                .collect();
            ev.add_samples(points.len())?;
            if !points.is_empty() {
                out.push(EvalSeries {
                    metric,
                    points,
                    drop_name: false,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub fn range_params(&self, ms: &MatrixSelector) -> RangeParams {
        RangeParams {
            range: duration_ms(&ms.range),
            offset: offset_ms(&ms.vs.offset),
            at: self.resolve_at(&ms.vs.at),
        }
    }

    /// Streams, one series at a time, the samples a range selector needs for all steps
    /// (staleness markers removed). The samples count against the memory limit while
    /// `f` runs.
    pub fn for_each_range_series(
        &mut self,
        ms: &MatrixSelector,
        f: &mut dyn FnMut(&mut Self, RawSeries) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let params = self.range_params(ms);
        let windows = self.step_windows(params.at, params.offset, params.range);
        self.for_each_selected(&ms.vs, &windows, &mut |ev, s| {
            // Same layout, so this reuses the series' buffer instead of copying it.
            let points: Vec<Point> = s
                .samples
                .into_iter()
                .filter(|(_, f)| !is_stale_nan(*f))
                .map(|(t, f)| Point { t, f })
                .collect();
            let n = points.len();
            ev.add_samples(n)?;
            let r = f(
                ev,
                RawSeries {
                    metric: s.labels,
                    points,
                },
            );
            ev.release_samples(n);
            r
        })
    }

    /// Calls `f(step index, step ts, window)` for every step at which the window of
    /// `points` is not empty.
    pub fn for_each_window(
        &self,
        params: &RangeParams,
        points: &[Point],
        mut f: impl FnMut(usize, i64, &[Point]) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let (mut lo, mut hi) = (0usize, 0usize);
        for i in 0..self.num_steps() {
            let ts = self.step_ts(i);
            let (start, end) = params.bounds(ts);
            while hi < points.len() && points[hi].t <= end {
                hi += 1;
            }
            while lo < hi && points[lo].t <= start {
                lo += 1;
            }
            // The range function's work is proportional to the window.
            self.charge(hi - lo)?;
            if lo < hi {
                f(i, ts, &points[lo..hi])?;
            }
        }
        Ok(())
    }
}

/// Milliseconds since the epoch (negative before it).
pub(crate) fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The matcher groups of a selector: one group normally, several for `{a or b}`.
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Vec<LabelMatcher>>, EvalError> {
    let name = vs
        .name
        .as_ref()
        .map(|n| LabelMatcher::equal(METRIC_NAME, n));
    let convert = |ms: &[Matcher]| -> Result<Vec<LabelMatcher>, EvalError> {
        let mut out: Vec<LabelMatcher> =
            ms.iter().map(convert_matcher).collect::<Result<_, _>>()?;
        if let Some(n) = &name {
            out.push(n.clone());
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers.or_matchers.iter().map(|g| convert(g)).collect()
    }
}

fn convert_matcher(m: &Matcher) -> Result<LabelMatcher, EvalError> {
    // Reuse the parser's compiled pattern (it already anchors and escapes Go-only
    // syntax) but let `.` match newlines, as Prometheus 3 does.
    let with_dotall = |r: &Regex| {
        Regex::new(&format!("(?s){}", r.as_str())).map_err(|e| {
            EvalError::InvalidQuery(format!("invalid regular expression {:?}: {e}", m.value))
        })
    };
    Ok(match &m.op {
        MatchOp::Equal => LabelMatcher::with_regex(MatchKind::Equal, &m.name, &m.value, None),
        MatchOp::NotEqual => LabelMatcher::with_regex(MatchKind::NotEqual, &m.name, &m.value, None),
        MatchOp::Re(r) => {
            LabelMatcher::with_regex(MatchKind::Regex, &m.name, &m.value, Some(with_dotall(r)?))
        }
        MatchOp::NotRe(r) => LabelMatcher::with_regex(
            MatchKind::NotRegex,
            &m.name,
            &m.value,
            Some(with_dotall(r)?),
        ),
    })
}

/// Labels `absent()` reports: the equality matchers of a selector (a label matched
/// twice is left out, as in Prometheus).
pub(crate) fn absent_labels(vs: &VectorSelector) -> Labels {
    let mut has: HashSet<&str> = HashSet::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let all = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten());
    for m in all {
        if m.name == METRIC_NAME {
            continue;
        }
        pairs.retain(|(n, _)| n != &m.name);
        if matches!(m.op, MatchOp::Equal) && has.insert(m.name.as_str()) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Labels::from_pairs(pairs)
}
