//! Functions that work on labels or order: `label_replace`, `label_join`, `sort*`.

use std::cmp::Ordering;

use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::super::aggregations::order_asc_nan_last;
use super::super::evaluator::Evaluator;
use super::super::types::{Matrix, merge_same_labels};
use crate::error::EvalError;
use crate::labels::{Labels, METRIC_NAME};

impl Evaluator<'_> {
    /// `label_replace(v, dst, replacement, src, regex)`.
    pub(super) fn label_replace(&mut self, args: &[&Expr]) -> Result<Matrix, EvalError> {
        let dst = self.expect_string_arg(args[1], "label_replace")?;
        let repl = self.expect_string_arg(args[2], "label_replace")?;
        let src = self.expect_string_arg(args[3], "label_replace")?;
        let pattern = self.expect_string_arg(args[4], "label_replace")?;
        let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|_| {
            EvalError::exec(format!(
                "invalid regular expression in label_replace(): {pattern}"
            ))
        })?;
        if dst.is_empty() {
            return Err(EvalError::exec(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        let mut m = self.eval_matrix(args[0])?;
        for s in &mut m {
            let value = s.metric.get_or_empty(src);
            if let Some(caps) = re.captures(value) {
                let mut res = String::new();
                caps.expand(repl, &mut res);
                s.metric = s.metric.with(dst, &res);
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
        }
        merge_same_labels(m)
    }

    /// `label_join(v, dst, separator, src...)`.
    pub(super) fn label_join(&mut self, args: &[&Expr]) -> Result<Matrix, EvalError> {
        let dst = self.expect_string_arg(args[1], "label_join")?;
        let sep = self.expect_string_arg(args[2], "label_join")?;
        let mut srcs = Vec::new();
        for a in &args[3..] {
            let src = self.expect_string_arg(a, "label_join")?;
            if src.is_empty() {
                return Err(EvalError::exec(format!(
                    "invalid source label name in label_join(): {src}"
                )));
            }
            srcs.push(src);
        }
        if dst.is_empty() {
            return Err(EvalError::exec(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        let mut m = self.eval_matrix(args[0])?;
        for s in &mut m {
            let joined: Vec<&str> = srcs.iter().map(|n| s.metric.get_or_empty(n)).collect();
            let joined = joined.join(sep);
            s.metric = s.metric.with(dst, &joined);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
        merge_same_labels(m)
    }

    /// `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`: reorder an instant
    /// vector; a no-op (with a warning) in range queries, whose results are always
    /// ordered by labels.
    pub(super) fn eval_sort(
        &mut self,
        call_expr: &Expr,
        c: &Call,
        args: &[&Expr],
    ) -> Result<Matrix, EvalError> {
        let name = c.func.name;
        let mut label_names = Vec::new();
        for a in &args[1..] {
            label_names.push(self.expect_string_arg(a, name)?.to_string());
        }
        let mut m = self.eval_matrix(args[0])?;
        if self.is_range_query() {
            let pos = self.pos(call_expr);
            self.annotations.warn(format!(
                "sort is ineffective for range queries since results are always ordered by labels{pos}"
            ));
            return Ok(m);
        }
        let value =
            |s: &super::super::types::EvalSeries| s.points.first().map_or(f64::NAN, |p| p.f);
        match name {
            "sort" => m.sort_by(|a, b| order_asc_nan_last(value(a), value(b))),
            "sort_desc" => m.sort_by(|a, b| desc_nan_last(value(a), value(b))),
            "sort_by_label" => {
                m.sort_by(|a, b| compare_by_labels(&a.metric, &b.metric, &label_names))
            }
            _ => m.sort_by(|a, b| compare_by_labels(&b.metric, &a.metric, &label_names)),
        }
        Ok(m)
    }
}

fn desc_nan_last(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// Orders by the given labels' values in natural order, then by the whole label set.
fn compare_by_labels(a: &Labels, b: &Labels, names: &[String]) -> Ordering {
    for n in names {
        let (va, vb) = (a.get_or_empty(n), b.get_or_empty(n));
        if va == vb {
            continue;
        }
        return natural_cmp(va, vb);
    }
    a.cmp(b)
}

/// Natural string order: runs of digits compare as numbers, other runs as text; equal
/// under that rule falls back to plain string order, so the order is total.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ca = chunks(a);
    let cb = chunks(b);
    for (x, y) in ca.iter().zip(&cb) {
        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let ord = if digits(x) && digits(y) {
            // Compare as unbounded integers: fewer significant digits is smaller.
            let (xs, ys) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys))
        } else {
            x.cmp(y)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

/// Splits a string into alternating runs of ASCII digits and non-digits.
fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_digit: Option<bool> = None;
    for (i, c) in s.char_indices() {
        let d = c.is_ascii_digit();
        if prev_digit.is_some_and(|p| p != d) {
            out.push(&s[start..i]);
            start = i;
        }
        prev_digit = Some(d);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_numerically() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a2"), Ordering::Greater);
        assert_eq!(natural_cmp("abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp("a", "a1"), Ordering::Less);
        assert_eq!(
            natural_cmp("a99999999999999999999999999999999999999999", "a1"),
            Ordering::Greater
        );
        assert_eq!(natural_cmp("a01", "a1"), Ordering::Less);
    }
}
