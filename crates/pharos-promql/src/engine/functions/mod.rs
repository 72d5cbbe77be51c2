//! Function calls: dispatch, and the two drivers every function runs under — range
//! functions evaluated per window, and instant functions evaluated per step.

mod histogram;
mod labels;
mod math;
mod over_time;
mod rate;
mod time;

use promql_parser::parser::{Call, Expr};

use super::evaluator::{Evaluator, unwrap_parens};
use super::selectors::{RangeParams, RawSeries};
use super::types::{EvalSeries, Matrix, Point, Value};
use crate::error::EvalError;
use crate::labels::Labels;

/// What a range function sees for one series at one step.
pub(crate) struct Window<'a> {
    /// Samples in `(range_start, range_end]`, oldest first (never empty).
    pub points: &'a [Point],
    /// The evaluation timestamp of the step.
    pub ts: i64,
    pub range_start: i64,
    pub range_end: i64,
    /// Scalar arguments at this step, in argument order (the range argument excluded).
    pub args: &'a [f64],
}

type RangeFn = fn(&Window<'_>) -> Result<Option<f64>, EvalError>;

fn range_function(name: &str) -> Option<RangeFn> {
    Some(match name {
        "rate" => rate::rate,
        "increase" => rate::increase,
        "delta" => rate::delta,
        "irate" => rate::irate,
        "idelta" => rate::idelta,
        "deriv" => rate::deriv,
        "predict_linear" => rate::predict_linear,
        "resets" => rate::resets,
        "changes" => rate::changes,
        "avg_over_time" => over_time::avg,
        "sum_over_time" => over_time::sum,
        "count_over_time" => over_time::count,
        "min_over_time" => over_time::min,
        "max_over_time" => over_time::max,
        "stddev_over_time" => over_time::stddev,
        "stdvar_over_time" => over_time::stdvar,
        "last_over_time" => over_time::last,
        "first_over_time" => over_time::first,
        "present_over_time" | "absent_over_time" => over_time::present,
        "quantile_over_time" => over_time::quantile_over_time,
        "mad_over_time" => over_time::mad,
        "ts_of_first_over_time" => over_time::ts_of_first,
        "ts_of_last_over_time" => over_time::ts_of_last,
        "ts_of_min_over_time" => over_time::ts_of_min,
        "ts_of_max_over_time" => over_time::ts_of_max,
        "double_exponential_smoothing" => over_time::double_exponential_smoothing,
        _ => return None,
    })
}

impl Evaluator<'_> {
    pub fn eval_call(&mut self, call_expr: &Expr, c: &Call) -> Result<Value, EvalError> {
        let name = c.func.name;
        check_arity(c)?;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| unwrap_parens(a)).collect();
        let base = self.samples_in_memory();
        let out = match name {
            "label_replace" => self.label_replace(&args)?,
            "label_join" => self.label_join(&args)?,
            "info" => {
                return Err(EvalError::InvalidQuery(
                    "the experimental info() function is not supported".into(),
                ));
            }
            "start" => self.scalar_matrix(|_| self.query_start as f64 / 1000.0),
            "end" => self.scalar_matrix(|_| self.query_end as f64 / 1000.0),
            "step" => {
                let step = if self.query_start == self.query_end {
                    0
                } else {
                    self.interval
                };
                self.scalar_matrix(|_| step as f64 / 1000.0)
            }
            "range" => {
                let r = self.query_end - self.query_start;
                self.scalar_matrix(|_| r as f64 / 1000.0)
            }
            _ => match args
                .iter()
                .position(|a| matches!(a, Expr::MatrixSelector(_) | Expr::Subquery(_)))
            {
                Some(idx) => self.eval_range_function(c, &args, idx)?,
                None => self.eval_instant_function(call_expr, c, &args)?,
            },
        };
        self.settle_samples(base, &out)?;
        Ok(Value::Matrix(out))
    }

    fn eval_range_function(
        &mut self,
        c: &Call,
        args: &[&Expr],
        idx: usize,
    ) -> Result<Matrix, EvalError> {
        let name = c.func.name;
        let f = range_function(name).ok_or_else(|| {
            EvalError::InvalidQuery(format!("function {name}() is not supported"))
        })?;
        let mut scalar_args = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != idx {
                scalar_args.push(self.eval_scalar_steps(a)?);
            }
        }
        if name == "quantile_over_time"
            && let Some(qs) = scalar_args.first()
        {
            self.warn_invalid_quantiles(qs, args[0]);
        }
        let drop_name = !matches!(name, "last_over_time" | "first_over_time");
        let counter_check = matches!(name, "rate" | "increase");
        let mut out = Vec::new();
        let mut step_args = vec![0.0; scalar_args.len()];
        let mut per_series =
            |ev: &mut Self, params: &RangeParams, RawSeries { metric, points }: RawSeries| {
                let mut series_points = Vec::new();
                ev.for_each_window(params, &points, |step, ts, window| {
                    for (slot, vals) in step_args.iter_mut().zip(&scalar_args) {
                        *slot = vals[step];
                    }
                    let (range_start, range_end) = params.bounds(ts);
                    let w = Window {
                        points: window,
                        ts,
                        range_start,
                        range_end,
                        args: &step_args,
                    };
                    if let Some(v) = f(&w)? {
                        series_points.push(Point { t: ts, f: v });
                    }
                    Ok(())
                })?;
                if series_points.is_empty() {
                    return Ok(());
                }
                if counter_check {
                    ev.warn_non_counter(&metric, args[idx]);
                }
                ev.add_samples(series_points.len())?;
                out.push(EvalSeries {
                    metric,
                    points: series_points,
                    drop_name,
                });
                Ok(())
            };
        match args[idx] {
            Expr::MatrixSelector(ms) => {
                let params = self.range_params(ms);
                self.for_each_range_series(ms, &mut |ev, raw| per_series(ev, &params, raw))?;
            }
            Expr::Subquery(sq) => {
                let (params, series) = self.eval_range_subquery(sq)?;
                for raw in series {
                    self.check_cancel()?;
                    per_series(self, &params, raw)?;
                }
            }
            _ => {
                return Err(EvalError::InvalidQuery(
                    "expected a range vector argument".into(),
                ));
            }
        }
        if name == "absent_over_time" {
            return Ok(self.absent_over_time(&out, args[idx]));
        }
        Ok(out)
    }

    /// `absent_over_time`: 1 at the steps where no series had a sample in its window.
    fn absent_over_time(&self, present: &Matrix, arg: &Expr) -> Matrix {
        let mut covered = vec![false; self.num_steps()];
        for s in present {
            for p in &s.points {
                if let Some(c) = covered.get_mut(self.step_index(p.t)) {
                    *c = true;
                }
            }
        }
        let points: Vec<Point> = covered
            .iter()
            .enumerate()
            .filter(|(_, c)| !**c)
            .map(|(i, _)| Point {
                t: self.step_ts(i),
                f: 1.0,
            })
            .collect();
        if points.is_empty() {
            return Vec::new();
        }
        let metric = match arg {
            Expr::MatrixSelector(ms) => super::selectors::absent_labels(&ms.vs),
            _ => Labels::empty(),
        };
        vec![EvalSeries {
            metric,
            points,
            drop_name: true,
        }]
    }

    fn warn_non_counter(&mut self, metric: &Labels, arg: &Expr) {
        let Some(name) = metric.metric_name() else {
            return;
        };
        let counter_like = ["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| name.ends_with(s));
        if !counter_like {
            let pos = self.pos(arg);
            self.annotations.info(format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}{pos}"
            ));
        }
    }

    pub(crate) fn warn_invalid_quantiles(&mut self, qs: &[f64], arg: &Expr) {
        let pos = self.pos(arg);
        let mut reported: Vec<u64> = Vec::new();
        for &q in qs {
            if (q.is_nan() || !(0.0..=1.0).contains(&q)) && !reported.contains(&q.to_bits()) {
                reported.push(q.to_bits());
                self.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got {}{pos}",
                    super::aggregations::go_g(q)
                ));
            }
        }
    }

    fn eval_instant_function(
        &mut self,
        call_expr: &Expr,
        c: &Call,
        args: &[&Expr],
    ) -> Result<Matrix, EvalError> {
        let name = c.func.name;
        if let Some(f) = math::elementwise(name) {
            return self.eval_elementwise(f, args);
        }
        if let Some(f) = time::date_function(name) {
            return match args.first() {
                Some(a) => {
                    let m = self.eval_matrix(a)?;
                    Ok(map_values(m, |_, v| time::apply_date(f, v)))
                }
                None => Ok(self.scalar_matrix(|t| time::apply_date(f, t as f64 / 1000.0))),
            };
        }
        match name {
            "time" => Ok(self.scalar_matrix(|t| t as f64 / 1000.0)),
            "min_of" | "max_of" => {
                let a = self.eval_scalar_steps(args[0])?;
                let b = self.eval_scalar_steps(args[1])?;
                let pick = if name == "min_of" {
                    math::go_min
                } else {
                    math::go_max
                };
                Ok(self.scalar_matrix(|t| {
                    let i = self.step_index(t);
                    pick(a[i], b[i])
                }))
            }
            "pi" => Ok(self.scalar_matrix(|_| std::f64::consts::PI)),
            "vector" => {
                let vals = self.eval_scalar_steps(args[0])?;
                Ok(self.scalar_matrix(|t| vals[self.step_index(t)]))
            }
            "scalar" => {
                let m = self.eval_matrix(args[0])?;
                let mut counts = vec![(0usize, f64::NAN); self.num_steps()];
                for s in &m {
                    for p in &s.points {
                        if let Some(slot) = counts.get_mut(self.step_index(p.t)) {
                            slot.0 += 1;
                            slot.1 = p.f;
                        }
                    }
                }
                Ok(self.scalar_matrix(|t| {
                    let (n, v) = counts[self.step_index(t)];
                    if n == 1 { v } else { f64::NAN }
                }))
            }
            "timestamp" => {
                if let Expr::VectorSelector(vs) = args[0] {
                    let mut m = self.vector_selector_points(vs, true)?;
                    m.iter_mut().for_each(|s| s.drop_name = true);
                    Ok(m)
                } else {
                    let m = self.eval_matrix(args[0])?;
                    Ok(map_values(m, |t, _| t as f64 / 1000.0))
                }
            }
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
                self.eval_sort(call_expr, c, args)
            }
            "absent" => self.eval_absent(args[0]),
            "histogram_quantile" => self.histogram_quantile(args),
            "histogram_fraction" => self.histogram_fraction(args),
            "histogram_quantiles" => self.histogram_quantiles(args),
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                // Only native histograms have these; float samples are ignored.
                self.eval_matrix(args[0])?;
                Ok(Vec::new())
            }
            _ => Err(EvalError::InvalidQuery(format!(
                "function {name}() is not supported"
            ))),
        }
    }

    fn eval_absent(&mut self, arg: &Expr) -> Result<Matrix, EvalError> {
        let m = self.eval_matrix(arg)?;
        let mut present = vec![false; self.num_steps()];
        for s in &m {
            for p in &s.points {
                if let Some(c) = present.get_mut(self.step_index(p.t)) {
                    *c = true;
                }
            }
        }
        let points: Vec<Point> = (0..self.num_steps())
            .filter(|&i| !present[i])
            .map(|i| Point {
                t: self.step_ts(i),
                f: 1.0,
            })
            .collect();
        if points.is_empty() {
            return Ok(Vec::new());
        }
        let metric = match arg {
            Expr::VectorSelector(vs) => super::selectors::absent_labels(vs),
            _ => Labels::empty(),
        };
        Ok(vec![EvalSeries {
            metric,
            points,
            drop_name: false,
        }])
    }

    /// Type checks the parser leaves to the engine.
    pub(crate) fn expect_string_arg<'e>(
        &self,
        e: &'e Expr,
        func: &str,
    ) -> Result<&'e str, EvalError> {
        match e {
            Expr::StringLiteral(s) => Ok(&s.val),
            other => Err(EvalError::InvalidQuery(format!(
                "expected a string literal in call to {func}(), got {}",
                super::documented_type(other.value_type())
            ))),
        }
    }

    pub(crate) fn is_range_query(&self) -> bool {
        self.start != self.end
    }
}

/// Rejects calls with the wrong number of arguments (the parser checks this too, but
/// ASTs can also be built by hand).
fn check_arity(c: &Call) -> Result<(), EvalError> {
    let n = c.args.args.len();
    let fixed = c.func.arg_types.len();
    let ok = match c.func.variadic {
        0 => n == fixed,
        v => n + 1 >= fixed && (v < 0 || n <= fixed.saturating_sub(1) + v.unsigned_abs() as usize),
    };
    if ok {
        Ok(())
    } else {
        Err(EvalError::InvalidQuery(format!(
            "wrong number of arguments ({n}) in call to {}()",
            c.func.name
        )))
    }
}

/// Maps every point of every series (value and step time) and marks the name for
/// removal, as every value-changing function does.
fn map_values(mut m: Matrix, f: impl Fn(i64, f64) -> f64) -> Matrix {
    for s in &mut m {
        s.drop_name = true;
        for p in &mut s.points {
            p.f = f(p.t, p.f);
        }
    }
    m
}
