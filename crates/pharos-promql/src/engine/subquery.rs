//! Subqueries: evaluating an instant-vector expression over an inner step grid.

use promql_parser::parser::SubqueryExpr;

use super::evaluator::{Evaluator, duration_ms, offset_ms};
use super::selectors::{RangeParams, RawSeries};
use super::types::{Matrix, drop_reserved};
use crate::error::EvalError;

impl Evaluator<'_> {
    /// Evaluates the inner expression of `expr[range:step] offset o @ t` on its own grid:
    /// steps aligned to multiples of `step`, strictly after `ref - range`, up to `ref`,
    /// where `ref` is the outer evaluation time (or `@ t`) minus the offset.
    pub fn eval_subquery(&mut self, sq: &SubqueryExpr) -> Result<Matrix, EvalError> {
        let offset = offset_ms(&sq.offset);
        let range = duration_ms(&sq.range);
        let step = match &sq.step {
            Some(s) => duration_ms(s),
            None => duration_ms(&self.opts.default_subquery_step),
        };
        if step <= 0 {
            return Err(EvalError::InvalidQuery(
                "subquery step must be positive".into(),
            ));
        }
        let (outer_start, outer_end) = match self.resolve_at(&sq.at) {
            Some(at) => (at, at),
            None => (self.start, self.end),
        };
        // Saturating: offsets and ranges of hundreds of years must not overflow.
        let end = outer_end.saturating_sub(offset);
        let first_excluded = outer_start.saturating_sub(offset).saturating_sub(range);
        let mut start = first_excluded.div_euclid(step).saturating_mul(step);
        if start <= first_excluded {
            start = start.saturating_add(step);
        }
        if end >= start {
            // Bounded like the points of a range query, before any step is evaluated: a
            // `[1y:1ms]` subquery would otherwise loop over billions of steps.
            let steps = end.abs_diff(start) / step.unsigned_abs() + 1;
            self.add_subquery_steps(steps)?;
        }
        let saved = (self.start, self.end, self.interval);
        self.start = start;
        self.end = end;
        self.interval = step;
        let result = if end < start {
            Ok(Vec::new())
        } else {
            self.eval_matrix(&sq.expr)
        };
        (self.start, self.end, self.interval) = saved;
        result
    }

    /// A subquery used as a range-vector argument: its points become the samples the
    /// outer function windows over.
    pub fn eval_range_subquery(
        &mut self,
        sq: &SubqueryExpr,
    ) -> Result<(RangeParams, Vec<RawSeries>), EvalError> {
        let m = self.eval_subquery(sq)?;
        let params = RangeParams {
            range: duration_ms(&sq.range),
            offset: offset_ms(&sq.offset),
            at: self.resolve_at(&sq.at),
        };
        // Names the inner expression dropped stay dropped, whatever the outer function
        // does with names.
        let series = m
            .into_iter()
            .map(|s| {
                let metric = if s.drop_name {
                    drop_reserved(&s.metric)
                } else {
                    s.metric
                };
                RawSeries {
                    metric,
                    points: s.points,
                }
            })
            .collect();
        Ok((params, series))
    }
}
