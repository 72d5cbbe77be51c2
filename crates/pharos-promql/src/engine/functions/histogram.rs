//! `histogram_quantile` and `histogram_fraction` over classic (`le` bucket) histograms.

use std::collections::HashMap;

use promql_parser::parser::Expr;

use super::super::evaluator::Evaluator;
use super::super::numeric::{Bucket, bucket_fraction, bucket_quantile};
use super::super::types::{Matrix, Sample, SeriesCollector, StepCursor};
use crate::error::EvalError;
use crate::labels::Labels;

const BUCKET_LABEL: &str = "le";

/// The buckets of every histogram present at one step, grouped by their labels without
/// `le`, in first-seen order.
struct StepHistograms {
    groups: Vec<(Labels, Vec<Bucket>)>,
}

impl Evaluator<'_> {
    /// Runs `compute(scalar args at step, buckets, labels)` for every classic histogram
    /// at every step; `vector_arg` is the index of the bucket-vector argument. `compute`
    /// returns `(extra label, value)` pairs, one output element each.
    fn per_histogram(
        &mut self,
        args: &[&Expr],
        vector_arg: usize,
        mut compute: impl FnMut(
            &mut Self,
            &[f64],
            Vec<Bucket>,
            &Labels,
        ) -> Vec<(Option<(String, String)>, f64)>,
    ) -> Result<Matrix, EvalError> {
        let mut scalars = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != vector_arg && !matches!(a, Expr::StringLiteral(_)) {
                scalars.push(self.eval_scalar_steps(a)?);
            }
        }
        let input = self.eval_matrix(args[vector_arg])?;
        let pos = self.pos(args[vector_arg]);
        let group_of: Vec<Option<Labels>> = input
            .iter()
            .map(|s| {
                s.metric
                    .get(BUCKET_LABEL)
                    .map(|_| s.metric.filter(|n| n != BUCKET_LABEL))
            })
            .collect();
        let mut out = SeriesCollector::new();
        let mut cursor = StepCursor::new(&input);
        let mut now = Vec::new();
        let mut step_args = vec![0.0; scalars.len()];
        for i in 0..self.num_steps() {
            self.check_cancel()?;
            let ts = self.step_ts(i);
            cursor.gather(&input, ts, &mut now);
            if now.is_empty() {
                continue;
            }
            for (slot, v) in step_args.iter_mut().zip(&scalars) {
                *slot = v[i];
            }
            let hist = self.group_buckets(&input, &group_of, &now, &pos);
            for (metric, buckets) in hist.groups {
                for (extra, v) in compute(self, &step_args, buckets, &metric) {
                    let metric = match &extra {
                        Some((name, value)) => metric.with(name, value),
                        None => metric.clone(),
                    };
                    out.push(
                        ts,
                        Sample {
                            metric,
                            f: v,
                            drop_name: true,
                        },
                    )?;
                }
            }
        }
        Ok(out.finish())
    }

    fn group_buckets(
        &mut self,
        input: &Matrix,
        group_of: &[Option<Labels>],
        now: &[(usize, f64)],
        pos: &str,
    ) -> StepHistograms {
        let mut index: HashMap<&Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<Bucket>)> = Vec::new();
        for &(si, f) in now {
            let metric = &input[si].metric;
            let le = metric.get_or_empty(BUCKET_LABEL);
            let upper = match (&group_of[si], parse_go_float(le)) {
                (Some(_), Some(u)) => u,
                _ => {
                    let name = metric
                        .metric_name()
                        .map(|n| format!(" for metric name {n:?}"))
                        .unwrap_or_default();
                    self.annotations.warn(format!(
                        "bucket label \"le\" is missing or has a malformed value of {le:?}{name}{pos}"
                    ));
                    continue;
                }
            };
            let Some(key) = &group_of[si] else { continue };
            let g = *index.entry(key).or_insert_with(|| {
                groups.push((key.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(Bucket { upper, count: f });
        }
        StepHistograms { groups }
    }

    /// `histogram_quantile(φ, buckets)`.
    pub(super) fn histogram_quantile(&mut self, args: &[&Expr]) -> Result<Matrix, EvalError> {
        let qs = self.eval_scalar_steps(args[0])?;
        self.warn_invalid_quantiles(&qs, args[0]);
        let pos = self.pos(args[1]);
        self.per_histogram(args, 1, |ev, a, buckets, metric| {
            vec![(None, ev.quantile_with_info(a[0], buckets, metric, &pos))]
        })
    }

    /// `histogram_quantiles(buckets, "label", φ1, φ2, ...)`: one output per φ, labelled
    /// with the φ.
    pub(super) fn histogram_quantiles(&mut self, args: &[&Expr]) -> Result<Matrix, EvalError> {
        let label = self
            .expect_string_arg(args[1], "histogram_quantiles")?
            .to_string();
        if label.is_empty() {
            return Err(EvalError::exec("invalid label name \"\""));
        }
        for q in &args[2..] {
            let qs = self.eval_scalar_steps(q)?;
            self.warn_invalid_quantiles(&qs, q);
        }
        let pos = self.pos(args[0]);
        self.per_histogram(args, 0, |ev, qs, buckets, metric| {
            qs.iter()
                .map(|&q| {
                    let v = ev.quantile_with_info(q, buckets.clone(), metric, &pos);
                    (Some((label.clone(), openmetrics_float(q))), v)
                })
                .collect()
        })
    }

    fn quantile_with_info(
        &mut self,
        q: f64,
        buckets: Vec<Bucket>,
        metric: &Labels,
        pos: &str,
    ) -> f64 {
        let r = bucket_quantile(q, buckets);
        if r.forced_monotonic {
            let name = metric
                .metric_name()
                .map(|n| format!(" for metric name {n:?}"))
                .unwrap_or_default();
            self.annotations.info(format!(
                "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){name}{pos}"
            ));
        }
        r.value
    }

    /// `histogram_fraction(lower, upper, buckets)`.
    pub(super) fn histogram_fraction(&mut self, args: &[&Expr]) -> Result<Matrix, EvalError> {
        self.per_histogram(args, 2, |_, a, buckets, _| {
            vec![(None, bucket_fraction(a[0], a[1], buckets))]
        })
    }
}

/// Formats a float as OpenMetrics does: Go's `%g`, with `.0` added to integers.
fn openmetrics_float(f: f64) -> String {
    let s = super::super::aggregations::go_g(f);
    if f.is_finite() && !s.contains(['e', '.']) {
        format!("{s}.0")
    } else {
        s
    }
}

/// Parses a float the way Go's `strconv.ParseFloat` accepts bucket bounds
/// (`+Inf`, `1e3`, `0.5`).
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_parse_like_go() {
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("0.5"), Some(0.5));
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert_eq!(parse_go_float(""), None);
        assert_eq!(parse_go_float("Hello World"), None);
    }

    #[test]
    fn quantile_labels_use_openmetrics_floats() {
        assert_eq!(openmetrics_float(0.0), "0.0");
        assert_eq!(openmetrics_float(0.25), "0.25");
        assert_eq!(openmetrics_float(1.0), "1.0");
        assert_eq!(openmetrics_float(f64::NAN), "NaN");
    }
}
