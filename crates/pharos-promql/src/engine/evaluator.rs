//! The evaluator: walks the AST over a grid of evaluation steps and enforces limits.

use std::cell::Cell;
use std::time::Instant;

use promql_parser::parser::{Expr, Offset, UnaryExpr};

use super::EngineOptions;
use super::QueryControl;
use super::types::{EvalSeries, Matrix, Point, Value, total_points};
use crate::annotations::{Annotation, Annotations};
use crate::error::EvalError;
use crate::position::Positions;
use crate::storage::{LabelMatcher, Series, SeriesSource, StepWindows};

/// Per-query limits and cancellation.
pub(crate) struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub control: &'a QueryControl,
    pub max_samples: usize,
    pub max_series: usize,
    pub max_subquery_steps: usize,
}

/// Units of work (points or series touched) between two deadline checks: frequent enough to
/// stop within a fraction of a millisecond, rare enough that reading the clock costs nothing.
const WORK_BETWEEN_CHECKS: usize = 16_384;

pub(crate) struct Evaluator<'a> {
    src: &'a dyn SeriesSource,
    pub opts: &'a EngineOptions,
    limits: Limits<'a>,
    positions: &'a Positions,
    /// First evaluation timestamp of the current (sub)query, ms.
    pub start: i64,
    /// Last evaluation timestamp of the current (sub)query, ms.
    pub end: i64,
    /// Step of the current (sub)query, ms (1 for instant queries).
    pub interval: i64,
    /// Start and end of the whole query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    pub lookback: i64,
    current_samples: usize,
    series_loaded: usize,
    /// Inner steps of the subqueries evaluated so far.
    subquery_steps: u64,
    /// Work done since the last deadline check (a `Cell` so `&self` loops can count too).
    unchecked_work: Cell<usize>,
    pub annotations: Annotations,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        src: &'a dyn SeriesSource,
        opts: &'a EngineOptions,
        limits: Limits<'a>,
        positions: &'a Positions,
        start: i64,
        end: i64,
        interval: i64,
    ) -> Self {
        let lookback = i64::try_from(opts.lookback_delta.as_millis()).unwrap_or(i64::MAX);
        Evaluator {
            src,
            opts,
            limits,
            positions,
            start,
            end,
            interval,
            query_start: start,
            query_end: end,
            lookback,
            current_samples: 0,
            series_loaded: 0,
            subquery_steps: 0,
            unchecked_work: Cell::new(0),
            annotations: Annotations::default(),
        }
    }

    pub fn into_annotations(self) -> Vec<Annotation> {
        self.annotations.into_vec()
    }

    /// Number of evaluation steps of the current (sub)query.
    pub fn num_steps(&self) -> usize {
        usize::try_from((self.end - self.start) / self.interval + 1).unwrap_or(0)
    }

    /// Timestamp of step `i`.
    pub fn step_ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    /// Index of the step at timestamp `ts` (which must lie on the grid).
    pub fn step_index(&self, ts: i64) -> usize {
        usize::try_from((ts - self.start) / self.interval).unwrap_or(0)
    }

    /// Fails with timeout or cancellation when due; called between steps and series.
    pub fn check_cancel(&self) -> Result<(), EvalError> {
        if self.limits.control.is_canceled() {
            return Err(EvalError::Canceled);
        }
        if let Some(d) = self.limits.deadline
            && Instant::now() >= d
        {
            return Err(EvalError::Timeout);
        }
        Ok(())
    }

    /// Counts `work` units (points or series touched) and checks the deadline and
    /// cancellation once enough work has accumulated; called inside every per-step loop.
    pub fn charge(&self, work: usize) -> Result<(), EvalError> {
        let total = self.unchecked_work.get().saturating_add(work.max(1));
        if total < WORK_BETWEEN_CHECKS {
            self.unchecked_work.set(total);
            return Ok(());
        }
        self.unchecked_work.set(0);
        self.check_cancel()
    }

    /// Accounts for the `steps` inner steps of one subquery against the per-query limit,
    /// before any of them is evaluated.
    pub fn add_subquery_steps(&mut self, steps: u64) -> Result<(), EvalError> {
        self.subquery_steps = self.subquery_steps.saturating_add(steps);
        let limit = self.limits.max_subquery_steps;
        if self.subquery_steps > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Err(EvalError::TooManySubquerySteps {
                steps: self.subquery_steps,
                limit,
            });
        }
        Ok(())
    }

    /// Accounts for `n` more samples in memory.
    pub fn add_samples(&mut self, n: usize) -> Result<(), EvalError> {
        self.current_samples += n;
        if self.current_samples > self.limits.max_samples {
            return Err(EvalError::TooManySamples {
                limit: self.limits.max_samples,
            });
        }
        Ok(())
    }

    pub fn samples_in_memory(&self) -> usize {
        self.current_samples
    }

    /// Resets the in-memory count to `base` plus what `out` holds: the inputs of a node
    /// are released once the node has produced its output.
    pub fn settle_samples(&mut self, base: usize, out: &Matrix) -> Result<(), EvalError> {
        self.current_samples = base;
        self.add_samples(total_points(out))
    }

    /// Releases `n` samples accounted with [`Evaluator::add_samples`].
    pub fn release_samples(&mut self, n: usize) {
        self.current_samples = self.current_samples.saturating_sub(n);
    }

    /// Streams the series matching `matchers` with samples in `windows` into `f`, one at a
    /// time, enforcing the series limit and cancellation.
    pub fn select_each(
        &mut self,
        matchers: &[LabelMatcher],
        windows: &StepWindows,
        f: &mut dyn FnMut(&mut Self, Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        self.check_cancel()?;
        let src = self.src;
        src.select_windows(matchers, windows, &mut |s| {
            self.series_loaded += 1;
            if self.series_loaded > self.limits.max_series {
                return Err(EvalError::TooManySeries {
                    limit: self.limits.max_series,
                });
            }
            self.check_cancel()?;
            f(self, s)
        })
    }

    /// ` (line:col)` of an expression in the query text, or nothing when unknown.
    pub fn pos(&self, expr: &Expr) -> String {
        self.positions.suffix(expr)
    }

    pub fn eval(&mut self, expr: &Expr) -> Result<Value, EvalError> {
        self.check_cancel()?;
        match expr {
            Expr::Aggregate(a) => self.eval_aggregate(a).map(Value::Matrix),
            Expr::Unary(u) => self.eval_unary(u).map(Value::Matrix),
            Expr::Binary(b) => self.eval_binary(b).map(Value::Matrix),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Subquery(s) => self.eval_subquery(s).map(Value::Matrix),
            Expr::NumberLiteral(n) => Ok(Value::Matrix(self.scalar_matrix(|_| n.val))),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::VectorSelector(vs) => self.eval_vector_selector(vs).map(Value::Matrix),
            Expr::MatrixSelector(ms) => {
                if self.start != self.end {
                    return Err(EvalError::InvalidQuery(
                        "cannot do range evaluation of matrix selector".into(),
                    ));
                }
                self.eval_matrix_selector(ms).map(Value::Matrix)
            }
            Expr::Call(c) => self.eval_call(expr, c),
            Expr::Extension(_) => Err(EvalError::InvalidQuery(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// Evaluates an expression that must produce a vector or scalar.
    pub fn eval_matrix(&mut self, expr: &Expr) -> Result<Matrix, EvalError> {
        match self.eval(expr)? {
            Value::Matrix(m) => Ok(m),
            Value::String(_) => Err(EvalError::InvalidQuery(
                "expected an instant vector or scalar expression, got a string".into(),
            )),
        }
    }

    /// Evaluates a scalar expression to one value per step.
    pub fn eval_scalar_steps(&mut self, expr: &Expr) -> Result<Vec<f64>, EvalError> {
        let m = self.eval_matrix(expr)?;
        let mut out = vec![f64::NAN; self.num_steps()];
        if let Some(s) = m.first() {
            for p in &s.points {
                let i = self.step_index(p.t);
                if let Some(slot) = out.get_mut(i) {
                    *slot = p.f;
                }
            }
        }
        Ok(out)
    }

    /// A label-less series with a point at every step.
    pub fn scalar_matrix(&self, f: impl Fn(i64) -> f64) -> Matrix {
        let points = (0..self.num_steps())
            .map(|i| {
                let t = self.step_ts(i);
                Point { t, f: f(t) }
            })
            .collect();
        vec![EvalSeries {
            metric: crate::labels::Labels::empty(),
            points,
            drop_name: false,
        }]
    }

    fn eval_unary(&mut self, u: &UnaryExpr) -> Result<Matrix, EvalError> {
        let mut m = self.eval_matrix(&u.expr)?;
        for s in &mut m {
            s.drop_name = true;
            for p in &mut s.points {
                p.f = -p.f;
            }
        }
        Ok(m)
    }
}

/// An offset in milliseconds (negative offsets look into the future).
pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Some(Offset::Neg(d)) => -i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
    }
}

/// A duration in milliseconds.
pub(crate) fn duration_ms(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Strips redundant parentheses, as Prometheus does for function and aggregation
/// arguments.
pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}
