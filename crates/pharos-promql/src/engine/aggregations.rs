//! Aggregation operators (`sum`, `avg`, ..., `topk`, `count_values`, `limit_ratio`).

use std::collections::HashMap;

use promql_parser::label::METRIC_NAME;
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK, TokenId,
};
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::evaluator::{Evaluator, unwrap_parens};
use super::numeric::{kahan_inc, quantile};
use super::types::{EvalSeries, Matrix, Point, Sample, SeriesCollector, StepCursor};
use crate::error::EvalError;
use crate::labels::Labels;
use crate::value::format_float;

/// `by (...)` / `without (...)` grouping.
struct Grouping {
    without: bool,
    labels: Vec<String>,
}

impl Grouping {
    fn from_expr(a: &AggregateExpr) -> Self {
        match &a.modifier {
            Some(LabelModifier::Exclude(l)) => Grouping {
                without: true,
                labels: l.labels.clone(),
            },
            Some(LabelModifier::Include(l)) => Grouping {
                without: false,
                labels: l.labels.clone(),
            },
            None => Grouping {
                without: false,
                labels: Vec::new(),
            },
        }
    }

    /// The output labels of the group a series belongs to (also its grouping key).
    fn group_labels(&self, l: &Labels) -> Labels {
        if self.without {
            l.filter(|n| n != METRIC_NAME && !self.labels.iter().any(|x| x == n))
        } else if self.labels.is_empty() {
            Labels::empty()
        } else {
            l.filter(|n| self.labels.iter().any(|x| x == n))
        }
    }
}

/// Running state of one group at one step.
#[derive(Clone, Default)]
struct GroupState {
    seen: bool,
    value: f64,
    mean: f64,
    kahan_c: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
    drop_name: bool,
}

/// Values of a scalar parameter over all steps, with the summary checks need.
struct Param {
    values: Vec<f64>,
    min: f64,
    max: f64,
    any_nan: bool,
}

impl Param {
    fn new(values: Vec<f64>) -> Self {
        // Go's math.Min/Max propagate NaN; the checks below rely on that.
        let fold = |f: fn(f64, f64) -> f64, init: f64| {
            values.iter().fold(init, |acc, &v| {
                if acc.is_nan() || v.is_nan() {
                    f64::NAN
                } else {
                    f(acc, v)
                }
            })
        };
        Param {
            min: fold(f64::min, f64::MAX),
            max: fold(f64::max, -f64::MAX),
            any_nan: values.iter().any(|v| v.is_nan()),
            values,
        }
    }
}

impl Evaluator<'_> {
    pub fn eval_aggregate(&mut self, a: &AggregateExpr) -> Result<Matrix, EvalError> {
        let base = self.samples_in_memory();
        let op = a.op.id();
        let grouping = Grouping::from_expr(a);
        let out = if op == T_COUNT_VALUES {
            self.count_values(a, &grouping)?
        } else {
            let param = match &a.param {
                Some(p) if op != T_COUNT_VALUES => Some(self.eval_scalar_steps(unwrap_parens(p))?),
                _ => None,
            };
            let input = self.eval_matrix(unwrap_parens(&a.expr))?;
            let param = param.map(Param::new);
            match op {
                T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
                    self.aggregate_k(a, op, &grouping, &input, param)?
                }
                _ => self.aggregate_simple(a, op, &grouping, &input, param)?,
            }
        };
        self.settle_samples(base, &out)?;
        Ok(out)
    }

    fn param_pos(&self, a: &AggregateExpr) -> String {
        a.param.as_deref().map(|p| self.pos(p)).unwrap_or_default()
    }

    fn aggregate_simple(
        &mut self,
        a: &AggregateExpr,
        op: TokenId,
        grouping: &Grouping,
        input: &Matrix,
        param: Option<Param>,
    ) -> Result<Matrix, EvalError> {
        if op == T_QUANTILE
            && let Some(p) = &param
        {
            let pos = self.param_pos(a);
            if p.any_nan {
                self.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got NaN{pos}"
                ));
            }
            if p.max > 1.0 {
                self.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got {}{pos}",
                    go_g(p.max)
                ));
            }
            if p.min < 0.0 {
                self.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got {}{pos}",
                    go_g(p.min)
                ));
            }
        }
        let mut group_index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Matrix = Vec::new();
        let series_group: Vec<usize> = input
            .iter()
            .map(|s| {
                let key = grouping.group_labels(&s.metric);
                let n = out.len();
                *group_index.entry(key.clone()).or_insert_with(|| {
                    out.push(EvalSeries {
                        metric: key,
                        points: Vec::new(),
                        drop_name: false,
                    });
                    n
                })
            })
            .collect();
        let mut groups = vec![GroupState::default(); out.len()];
        let mut cursor = StepCursor::new(input);
        let mut now = Vec::new();
        for i in 0..self.num_steps() {
            self.check_cancel()?;
            let ts = self.step_ts(i);
            cursor.gather(input, ts, &mut now);
            for g in &mut groups {
                g.seen = false;
            }
            for &(si, f) in &now {
                let g = &mut groups[series_group[si]];
                accumulate(op, g, f, input[si].drop_name);
            }
            let q = param.as_ref().map_or(0.0, |p| p.values[i]);
            for (gi, g) in groups.iter_mut().enumerate() {
                if !g.seen {
                    continue;
                }
                let v = finish(op, g, q);
                out[gi].points.push(Point { t: ts, f: v });
                out[gi].drop_name |= g.drop_name;
            }
        }
        out.retain(|s| !s.points.is_empty());
        Ok(out)
    }

    fn aggregate_k(
        &mut self,
        a: &AggregateExpr,
        op: TokenId,
        grouping: &Grouping,
        input: &Matrix,
        param: Option<Param>,
    ) -> Result<Matrix, EvalError> {
        let Some(param) = param else {
            return Ok(Vec::new());
        };
        if op == T_LIMIT_RATIO {
            if param.max == 0.0 && param.min == 0.0 {
                return Ok(Vec::new());
            }
            if param.any_nan {
                return Err(EvalError::exec("Ratio value is NaN"));
            }
            let pos = self.param_pos(a);
            if param.max > 1.0 {
                self.annotations.warn(format!(
                    "ratio value should be between -1 and 1, got {}, capping to 1{pos}",
                    go_g(param.max)
                ));
            }
            if param.min < -1.0 {
                self.annotations.warn(format!(
                    "ratio value should be between -1 and 1, got {}, capping to -1{pos}",
                    go_g(param.min)
                ));
            }
        } else {
            if param.max < 1.0 {
                return Ok(Vec::new());
            }
            if param.any_nan {
                return Err(EvalError::exec("Parameter value is NaN"));
            }
            if param.min <= -9_223_372_036_854_775_808.0 {
                return Err(EvalError::exec(format!(
                    "Scalar value {} underflows int64",
                    go_g(param.min)
                )));
            }
            if param.max >= 9_223_372_036_854_774_784.0 {
                return Err(EvalError::exec(format!(
                    "Scalar value {} overflows int64",
                    go_g(param.max)
                )));
            }
        }
        let mut group_index: HashMap<Labels, usize> = HashMap::new();
        let series_group: Vec<usize> = input
            .iter()
            .map(|s| {
                let n = group_index.len();
                *group_index
                    .entry(grouping.group_labels(&s.metric))
                    .or_insert(n)
            })
            .collect();
        let ratio_offsets: Vec<f64> = if op == T_LIMIT_RATIO {
            input
                .iter()
                .map(|s| s.metric.stable_hash() as f64 / u64::MAX as f64)
                .collect()
        } else {
            Vec::new()
        };
        let mut out = SeriesCollector::new();
        let mut cursor = StepCursor::new(input);
        let mut now = Vec::new();
        let mut picked: Vec<Vec<(usize, f64)>> = vec![Vec::new(); group_index.len()];
        for i in 0..self.num_steps() {
            self.check_cancel()?;
            let ts = self.step_ts(i);
            cursor.gather(input, ts, &mut now);
            picked.iter_mut().for_each(Vec::clear);
            let p = param.values[i];
            if op == T_LIMIT_RATIO {
                let r = p.clamp(-1.0, 1.0);
                if r == 0.0 {
                    continue;
                }
                for &(si, f) in &now {
                    let off = ratio_offsets[si];
                    if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                        picked[series_group[si]].push((si, f));
                    }
                }
            } else {
                // Truncation towards zero, as Go's int64 conversion.
                let k = (p as i64).min(input.len() as i64);
                if k < 1 {
                    continue;
                }
                let k = k as usize;
                for &(si, f) in &now {
                    picked[series_group[si]].push((si, f));
                }
                for g in &mut picked {
                    select_k(op, g, k);
                }
            }
            for g in &picked {
                for &(si, f) in g {
                    out.push(
                        ts,
                        Sample {
                            metric: input[si].metric.clone(),
                            f,
                            drop_name: input[si].drop_name,
                        },
                    )?;
                }
            }
        }
        Ok(out.finish())
    }

    fn count_values(
        &mut self,
        a: &AggregateExpr,
        grouping: &Grouping,
    ) -> Result<Matrix, EvalError> {
        let label = match a.param.as_deref().map(unwrap_parens) {
            Some(Expr::StringLiteral(s)) => s.val.clone(),
            _ => {
                return Err(EvalError::InvalidQuery(
                    "count_values needs a string literal as its first argument".into(),
                ));
            }
        };
        if label.is_empty() {
            return Err(EvalError::exec(format!("invalid label name {label:?}")));
        }
        let input = self.eval_matrix(unwrap_parens(&a.expr))?;
        let grouping = Grouping {
            without: grouping.without,
            labels: if grouping.without {
                grouping.labels.clone()
            } else {
                let mut l = grouping.labels.clone();
                l.push(label.clone());
                l
            },
        };
        let mut out = SeriesCollector::new();
        let mut cursor = StepCursor::new(&input);
        let mut now = Vec::new();
        for i in 0..self.num_steps() {
            self.check_cancel()?;
            let ts = self.step_ts(i);
            cursor.gather(&input, ts, &mut now);
            let mut counts: Vec<(Labels, f64)> = Vec::new();
            let mut index: HashMap<Labels, usize> = HashMap::new();
            for &(si, f) in &now {
                let with_value = input[si].metric.with(&label, &format_float(f));
                let key = grouping.group_labels(&with_value);
                match index.get(&key) {
                    Some(&g) => counts[g].1 += 1.0,
                    None => {
                        index.insert(key.clone(), counts.len());
                        counts.push((key, 1.0));
                    }
                }
            }
            for (metric, c) in counts {
                out.push(
                    ts,
                    Sample {
                        metric,
                        f: c,
                        drop_name: false,
                    },
                )?;
            }
        }
        Ok(out.finish())
    }
}

/// Adds one input value to a group's running state.
fn accumulate(op: TokenId, g: &mut GroupState, f: f64, drop_name: bool) {
    if !g.seen {
        *g = GroupState {
            seen: true,
            value: f,
            mean: f,
            count: 1.0,
            drop_name,
            ..GroupState::default()
        };
        match op {
            T_STDVAR | T_STDDEV => g.value = if f.is_finite() { 0.0 } else { f64::NAN },
            T_QUANTILE => g.values = vec![f],
            T_GROUP => g.value = 1.0,
            _ => {}
        }
        return;
    }
    g.drop_name |= drop_name;
    match op {
        T_SUM => (g.value, g.kahan_c) = kahan_inc(f, g.value, g.kahan_c),
        T_AVG => {
            g.count += 1.0;
            if !g.incremental_mean {
                let (v, c) = kahan_inc(f, g.value, g.kahan_c);
                if v.is_finite() || v.is_nan() {
                    (g.value, g.kahan_c) = (v, c);
                    return;
                }
                // The running sum would overflow: continue with an incremental mean.
                g.incremental_mean = true;
                g.mean = g.value / (g.count - 1.0);
                g.kahan_c /= g.count - 1.0;
            }
            let q = (g.count - 1.0) / g.count;
            (g.mean, g.kahan_c) = kahan_inc(f / g.count, q * g.mean, q * g.kahan_c);
        }
        T_MAX if g.value < f || g.value.is_nan() => g.value = f,
        T_MIN if g.value > f || g.value.is_nan() => g.value = f,
        T_COUNT => g.count += 1.0,
        T_STDVAR | T_STDDEV => {
            g.count += 1.0;
            let delta = f - g.mean;
            g.mean += delta / g.count;
            g.value += delta * (f - g.mean);
        }
        T_QUANTILE => g.values.push(f),
        _ => {}
    }
}

/// The aggregated value of a group at the end of a step.
fn finish(op: TokenId, g: &mut GroupState, q: f64) -> f64 {
    match op {
        T_AVG => {
            if g.incremental_mean {
                g.mean + g.kahan_c
            } else {
                g.value / g.count + g.kahan_c / g.count
            }
        }
        T_SUM => {
            if g.value.is_infinite() {
                g.value
            } else {
                g.value + g.kahan_c
            }
        }
        T_COUNT => g.count,
        T_STDVAR => g.value / g.count,
        T_STDDEV => (g.value / g.count).sqrt(),
        T_QUANTILE => quantile(q, &mut g.values),
        _ => g.value,
    }
}

/// Keeps the `k` largest (`topk`), smallest (`bottomk`) or first (`limitk`) elements,
/// ordered as Prometheus returns them.
fn select_k(op: TokenId, g: &mut Vec<(usize, f64)>, k: usize) {
    match op {
        T_TOPK => {
            // Descending, NaN last; stable so ties keep input order.
            g.sort_by(|a, b| order_desc_nan_last(a.1, b.1));
            g.truncate(k);
        }
        T_BOTTOMK => {
            g.sort_by(|a, b| order_asc_nan_last(a.1, b.1));
            g.truncate(k);
        }
        _ => g.truncate(k),
    }
}

fn order_desc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => b.partial_cmp(&a).unwrap_or(Equal),
    }
}

pub(crate) fn order_asc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}

/// Formats a float like Go's `%g` verb (used in Prometheus messages).
pub(crate) fn go_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Shortest mantissa digits, Go style exponent (at least two digits).
        let s = format!("{f:e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", e.abs());
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_matches_go_formatting() {
        assert_eq!(go_g(1.1), "1.1");
        assert_eq!(go_g(-1.0), "-1");
        assert_eq!(go_g(f64::NAN), "NaN");
        assert_eq!(go_g(1e21), "1e+21");
        assert_eq!(go_g(1.5e-7), "1.5e-07");
    }

    #[test]
    fn topk_orders_descending_with_nan_last() {
        let mut g = vec![(0, 1.0), (1, f64::NAN), (2, 3.0), (3, 2.0)];
        select_k(T_TOPK, &mut g, 3);
        assert_eq!(g.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 3, 0]);
        let mut g = vec![(0, 1.0), (1, f64::NAN), (2, 3.0)];
        select_k(T_BOTTOMK, &mut g, 3);
        assert_eq!(g.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 2, 1]);
    }

    #[test]
    fn avg_survives_overflowing_sums() {
        let mut g = GroupState::default();
        for f in [f64::MAX, f64::MAX, f64::MAX] {
            accumulate(T_AVG, &mut g, f, false);
        }
        let avg = finish(T_AVG, &mut g, 0.0);
        assert!(
            avg.is_finite() && (avg - f64::MAX).abs() / f64::MAX < 1e-12,
            "{avg}"
        );
    }

    #[test]
    fn max_replaces_nan() {
        let mut g = GroupState::default();
        accumulate(T_MAX, &mut g, f64::NAN, false);
        accumulate(T_MAX, &mut g, 1.0, false);
        assert_eq!(finish(T_MAX, &mut g, 0.0), 1.0);
    }
}
