//! Binary operators: arithmetic, comparison, set operators and vector matching.

use std::collections::{HashMap, HashSet};

use promql_parser::label::METRIC_NAME;
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenId,
};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::evaluator::Evaluator;
use super::types::{EvalSeries, Matrix, SeriesCollector, StepCursor, drop_reserved};
use crate::error::EvalError;
use crate::labels::Labels;

/// How two vectors are matched (`on`/`ignoring`, `group_left/right`, `fill`).
struct Matching {
    card: Card,
    on: bool,
    labels: Vec<String>,
    include: Vec<String>,
    fill_lhs: Option<f64>,
    fill_rhs: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

impl Matching {
    fn from_expr(b: &BinaryExpr) -> Self {
        let mut m = Matching {
            card: if is_set_op(b.op.id()) {
                Card::ManyToMany
            } else {
                Card::OneToOne
            },
            on: false,
            labels: Vec::new(),
            include: Vec::new(),
            fill_lhs: None,
            fill_rhs: None,
        };
        if let Some(md) = &b.modifier {
            match &md.matching {
                Some(LabelModifier::Include(l)) => {
                    m.on = true;
                    m.labels = l.labels.clone();
                }
                Some(LabelModifier::Exclude(l)) => m.labels = l.labels.clone(),
                None => {}
            }
            m.card = match &md.card {
                VectorMatchCardinality::OneToOne => m.card,
                VectorMatchCardinality::ManyToOne(l) => {
                    m.include = l.labels.clone();
                    Card::ManyToOne
                }
                VectorMatchCardinality::OneToMany(l) => {
                    m.include = l.labels.clone();
                    Card::OneToMany
                }
                VectorMatchCardinality::ManyToMany => Card::ManyToMany,
            };
            m.fill_lhs = md.fill_values.lhs;
            m.fill_rhs = md.fill_values.rhs;
        }
        m
    }

    /// The labels two series must agree on to match.
    fn signature(&self, l: &Labels) -> Labels {
        if self.on {
            l.filter(|n| self.labels.iter().any(|x| x == n))
        } else {
            l.filter(|n| n != METRIC_NAME && !self.labels.iter().any(|x| x == n))
        }
    }
}

fn is_set_op(op: TokenId) -> bool {
    matches!(op, T_LAND | T_LOR | T_LUNLESS)
}

pub(crate) fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Operators after which the result no longer means what the metric name says.
fn changes_metric_schema(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}

/// Applies a float operator; returns the value and whether to keep the element
/// (comparisons return the left value and their outcome).
fn float_op(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (l % r, true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

fn bool_to_f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

impl Evaluator<'_> {
    pub fn eval_binary(&mut self, b: &BinaryExpr) -> Result<Matrix, EvalError> {
        let base = self.samples_in_memory();
        let op = b.op.id();
        let return_bool = b.return_bool();
        let out = match (b.lhs.value_type(), b.rhs.value_type()) {
            (ValueType::Scalar, ValueType::Scalar) => {
                let l = self.eval_scalar_steps(&b.lhs)?;
                let r = self.eval_scalar_steps(&b.rhs)?;
                self.scalar_matrix(|t| {
                    let i = self.step_index(t);
                    let (v, keep) = float_op(op, l[i], r[i]);
                    if is_comparison(op) {
                        bool_to_f(keep)
                    } else {
                        v
                    }
                })
            }
            (ValueType::Vector, ValueType::Scalar) => {
                let l = self.eval_matrix(&b.lhs)?;
                let r = self.eval_scalar_steps(&b.rhs)?;
                self.vector_scalar(op, l, &r, false, return_bool)
            }
            (ValueType::Scalar, ValueType::Vector) => {
                let l = self.eval_scalar_steps(&b.lhs)?;
                let r = self.eval_matrix(&b.rhs)?;
                self.vector_scalar(op, r, &l, true, return_bool)
            }
            _ => {
                let l = self.eval_matrix(&b.lhs)?;
                let r = self.eval_matrix(&b.rhs)?;
                let matching = Matching::from_expr(b);
                match op {
                    T_LAND | T_LUNLESS => self.and_unless(op == T_LAND, l, &r, &matching),
                    T_LOR => self.or(l, r, &matching)?,
                    _ => self.vector_vector(op, &l, &r, &matching, return_bool)?,
                }
            }
        };
        self.settle_samples(base, &out)?;
        Ok(out)
    }

    /// Vector-to-scalar operation; `swap` when the scalar is on the left.
    fn vector_scalar(
        &self,
        op: TokenId,
        mut m: Matrix,
        scalars: &[f64],
        swap: bool,
        return_bool: bool,
    ) -> Matrix {
        let comparison = is_comparison(op);
        for s in &mut m {
            s.points.retain_mut(|p| {
                let sc = scalars
                    .get(self.step_index(p.t))
                    .copied()
                    .unwrap_or(f64::NAN);
                let (l, r) = if swap { (sc, p.f) } else { (p.f, sc) };
                let (mut v, keep) = float_op(op, l, r);
                if comparison {
                    // Comparisons keep the vector's value whichever side it is on.
                    v = p.f;
                }
                if return_bool {
                    p.f = bool_to_f(keep);
                    return true;
                }
                p.f = v;
                keep
            });
            if changes_metric_schema(op) || return_bool {
                s.drop_name = true;
            }
        }
        m.retain(|s| !s.points.is_empty());
        m
    }

    /// `and` keeps left elements with a match on the right at the same step; `unless`
    /// keeps those without.
    fn and_unless(&self, is_and: bool, mut l: Matrix, r: &Matrix, m: &Matching) -> Matrix {
        let mut sigs: HashMap<Labels, usize> = HashMap::new();
        let mut ordinal = |s: &Labels| {
            let n = sigs.len();
            *sigs.entry(m.signature(s)).or_insert(n)
        };
        let r_sig: Vec<usize> = r.iter().map(|s| ordinal(&s.metric)).collect();
        let l_sig: Vec<usize> = l.iter().map(|s| ordinal(&s.metric)).collect();
        // Steps at which each right-hand signature is present.
        let mut present: HashMap<usize, HashSet<i64>> = HashMap::new();
        for (s, sig) in r.iter().zip(&r_sig) {
            present
                .entry(*sig)
                .or_default()
                .extend(s.points.iter().map(|p| p.t));
        }
        for (s, sig) in l.iter_mut().zip(&l_sig) {
            let steps = present.get(sig);
            s.points
                .retain(|p| steps.is_some_and(|st| st.contains(&p.t)) == is_and);
        }
        l.retain(|s| !s.points.is_empty());
        l
    }

    /// `or`: all left elements, plus right elements whose signature has no left element
    /// at that step.
    fn or(&self, l: Matrix, mut r: Matrix, m: &Matching) -> Result<Matrix, EvalError> {
        let mut present: HashMap<Labels, HashSet<i64>> = HashMap::new();
        for s in &l {
            present
                .entry(m.signature(&s.metric))
                .or_default()
                .extend(s.points.iter().map(|p| p.t));
        }
        for s in &mut r {
            let steps = present.get(&m.signature(&s.metric));
            s.points
                .retain(|p| !steps.is_some_and(|st| st.contains(&p.t)));
        }
        let mut out = l;
        out.extend(r.into_iter().filter(|s| !s.points.is_empty()));
        super::types::merge_same_labels(out)
    }

    /// Arithmetic and comparison between two vectors with one-to-one or
    /// many-to-one/one-to-many matching.
    fn vector_vector(
        &self,
        op: TokenId,
        l: &Matrix,
        r: &Matrix,
        m: &Matching,
        return_bool: bool,
    ) -> Result<Matrix, EvalError> {
        // For one-to-many, the right side is the "many" side: swap and swap back values.
        let swapped = m.card == Card::OneToMany;
        let (many, one) = if swapped { (r, l) } else { (l, r) };
        let mut sig_index: HashMap<Labels, usize> = HashMap::new();
        let mut sig_of = |s: &EvalSeries| {
            let n = sig_index.len();
            *sig_index.entry(m.signature(&s.metric)).or_insert(n)
        };
        let many_sig: Vec<usize> = many.iter().map(&mut sig_of).collect();
        let one_sig: Vec<usize> = one.iter().map(&mut sig_of).collect();
        let num_sigs = sig_index.len();

        let mut out = SeriesCollector::new();
        // Output series of each (many, one) pair, resolved once.
        let mut out_of_pair: HashMap<(Option<usize>, Option<usize>), usize> = HashMap::new();
        // Step at which a signature was last matched, and the outputs it produced then.
        let mut sig_step: Vec<usize> = vec![usize::MAX; num_sigs];
        let mut sig_outputs: Vec<Vec<usize>> = vec![Vec::new(); num_sigs];
        let mut many_cur = StepCursor::new(many);
        let mut one_cur = StepCursor::new(one);
        let (mut many_now, mut one_now) = (Vec::new(), Vec::new());
        let mut one_by_sig: Vec<Option<(usize, f64)>> = vec![None; num_sigs];
        let mut pairs: Vec<Pair> = Vec::new();
        let no_fill = m.fill_lhs.is_none() && m.fill_rhs.is_none();
        for i in 0..self.num_steps() {
            self.check_cancel()?;
            let ts = self.step_ts(i);
            many_cur.gather(many, ts, &mut many_now);
            one_cur.gather(one, ts, &mut one_now);
            if (many_now.is_empty() && one_now.is_empty())
                || ((many_now.is_empty() || one_now.is_empty()) && no_fill)
            {
                continue;
            }
            one_by_sig.iter_mut().for_each(|x| *x = None);
            for &(idx, f) in &one_now {
                let sig = one_sig[idx];
                if let Some((prev, _)) = one_by_sig[sig] {
                    return Err(duplicate_on_one_side(
                        m,
                        swapped,
                        &one[idx].metric,
                        &one[prev].metric,
                    ));
                }
                one_by_sig[sig] = Some((idx, f));
            }
            let sides = StepSides {
                many_now: &many_now,
                one_now: &one_now,
                many_sig: &many_sig,
                one_sig: &one_sig,
                one_by_sig: &one_by_sig,
            };
            match_pairs(m, &sides, &mut pairs);
            for p in pairs.drain(..) {
                let (fl, fr) = if swapped {
                    (p.one_f, p.many_f)
                } else {
                    (p.many_f, p.one_f)
                };
                let (v, keep) = float_op(op, fl, fr);
                let v = if return_bool { bool_to_f(keep) } else { v };
                let idx = *out_of_pair.entry((p.many, p.one)).or_insert_with(|| {
                    let many_l = match p.many {
                        Some(i) => many[i].metric.clone(),
                        None => p
                            .one
                            .map_or_else(Labels::empty, |o| m.signature(&one[o].metric)),
                    };
                    let one_l = match p.one {
                        Some(o) => one[o].metric.clone(),
                        None => m.signature(&many_l),
                    };
                    let keeps_name_flag =
                        is_comparison(op) && p.many.is_some_and(|i| many[i].drop_name);
                    out.intern(
                        result_metric(&many_l, &one_l, op, m),
                        return_bool || keeps_name_flag,
                    )
                });
                if sig_step[p.sig] != i {
                    sig_step[p.sig] = i;
                    sig_outputs[p.sig].clear();
                } else if m.card == Card::OneToOne {
                    return Err(EvalError::exec(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                if m.card != Card::OneToOne {
                    if sig_outputs[p.sig].contains(&idx) {
                        return Err(EvalError::exec(
                            "multiple matches for labels: grouping labels must ensure unique matches",
                        ));
                    }
                    sig_outputs[p.sig].push(idx);
                }
                if keep || return_bool {
                    out.push_at(idx, ts, v)?;
                }
            }
        }
        Ok(out.finish())
    }
}

/// A matched (or fill-completed) pair of elements at one step; a missing side is
/// `None` and carries the fill value.
struct Pair {
    many: Option<usize>,
    many_f: f64,
    one: Option<usize>,
    one_f: f64,
    sig: usize,
}

/// The elements present at one step and their signatures.
struct StepSides<'s> {
    many_now: &'s [(usize, f64)],
    one_now: &'s [(usize, f64)],
    many_sig: &'s [usize],
    one_sig: &'s [usize],
    one_by_sig: &'s [Option<(usize, f64)>],
}

/// Pairs every "many" element with the "one" element of the same signature (or a fill
/// value), then adds filled pairs for unmatched "one" elements.
fn match_pairs(m: &Matching, s: &StepSides<'_>, pairs: &mut Vec<Pair>) {
    for &(idx, f) in s.many_now {
        let sig = s.many_sig[idx];
        let (one, one_f) = match (s.one_by_sig[sig], m.fill_rhs) {
            (Some((o, of)), _) => (Some(o), of),
            (None, Some(fill)) => (None, fill),
            (None, None) => continue,
        };
        pairs.push(Pair {
            many: Some(idx),
            many_f: f,
            one,
            one_f,
            sig,
        });
    }
    if let Some(fill) = m.fill_lhs {
        let matched: HashSet<usize> = pairs.iter().map(|p| p.sig).collect();
        for &(o, of) in s.one_now {
            let sig = s.one_sig[o];
            if !matched.contains(&sig) {
                pairs.push(Pair {
                    many: None,
                    many_f: fill,
                    one: Some(o),
                    one_f: of,
                    sig,
                });
            }
        }
    }
}

fn duplicate_on_one_side(m: &Matching, swapped: bool, a: &Labels, b: &Labels) -> EvalError {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    EvalError::exec(format!(
        "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
        m.signature(a),
        if swapped { "left" } else { "right" },
        first,
        second
    ))
}

/// Labels of a vector-vector result element.
fn result_metric(many: &Labels, one: &Labels, op: TokenId, m: &Matching) -> Labels {
    let mut l = if changes_metric_schema(op) {
        drop_reserved(many)
    } else {
        many.clone()
    };
    if m.card == Card::OneToOne {
        l = if m.on {
            l.filter(|n| m.labels.iter().any(|x| x == n))
        } else {
            l.filter(|n| !m.labels.iter().any(|x| x == n))
        };
    }
    for name in &m.include {
        l = l.with(name, one.get_or_empty(name));
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_ops_follow_go_semantics() {
        assert!(float_op(T_MOD, 1.0, 0.0).0.is_nan());
        assert_eq!(float_op(T_POW, f64::NAN, 0.0).0, 1.0);
        assert_eq!(float_op(T_GTR, 2.0, 1.0), (2.0, true));
        assert_eq!(float_op(T_ATAN2, 1.0, 0.0).0, std::f64::consts::FRAC_PI_2);
    }

    #[test]
    fn one_to_one_on_keeps_only_matching_labels() {
        let m = Matching {
            card: Card::OneToOne,
            on: true,
            labels: vec!["job".into()],
            include: vec![],
            fill_lhs: None,
            fill_rhs: None,
        };
        let l = Labels::from_pairs([("__name__", "a"), ("job", "x"), ("i", "1")]);
        assert_eq!(result_metric(&l, &l, T_ADD, &m).to_string(), r#"{job="x"}"#);
        assert_eq!(result_metric(&l, &l, T_GTR, &m).to_string(), r#"{job="x"}"#);
    }

    #[test]
    fn group_left_copies_labels_from_one_side() {
        let m = Matching {
            card: Card::ManyToOne,
            on: true,
            labels: vec!["job".into()],
            include: vec!["team".into()],
            fill_lhs: None,
            fill_rhs: None,
        };
        let many = Labels::from_pairs([("__name__", "a"), ("job", "x"), ("i", "1")]);
        let one = Labels::from_pairs([("job", "x"), ("team", "t")]);
        assert_eq!(
            result_metric(&many, &one, T_MUL, &m).to_string(),
            r#"{i="1", job="x", team="t"}"#
        );
    }
}
