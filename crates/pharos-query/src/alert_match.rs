//! Which alerting rules watch what a panel query draws: a rule whose expression is
//! `<expression> <comparison> <number>` (or the number first) watches `<expression>`, and it
//! belongs on a panel when that expression and the panel's query are the same PromQL — compared
//! on the parsed trees (so spacing, label order and quoting do not matter), without the tenant
//! label (the panel's query gets it from enforcement, a rule may name it or not).

use promql_parser::{label::Matchers, parser::Expr};

/// The threshold of an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// `>`, `>=`, `<`, `<=`, `==` or `!=`, with the watched expression on the left.
    pub op: String,
    /// The number it is compared with.
    pub value: f64,
    /// The watched expression, canonical and without the ignored label.
    watched: String,
}

impl Threshold {
    /// Whether `panel_query` draws what this threshold watches.
    pub fn applies_to(&self, panel_query: &str, ignored_label: &str) -> bool {
        canonical(panel_query, ignored_label).is_some_and(|panel| panel == self.watched)
    }
}

fn parse(text: &str) -> Option<Expr> {
    pharos_promql_syntax::parse(text, &pharos_promql_syntax::SyntaxLimits::default()).ok()
}

fn unwrap_parens(mut expr: Expr) -> Expr {
    while let Expr::Paren(inner) = expr {
        expr = *inner.expr;
    }
    expr
}

/// The threshold of a rule's expression, if it has the `<expr> <op> <number>` shape.
pub fn threshold_of(rule_expr: &str, ignored_label: &str) -> Option<Threshold> {
    let Expr::Binary(binary) = unwrap_parens(parse(rule_expr)?) else {
        return None;
    };
    if !binary.op.is_comparison_operator()
        || binary.modifier.as_ref().is_some_and(|m| m.return_bool)
    {
        return None;
    }
    let op = binary.op.to_string();
    let (watched, value, op) = match (unwrap_parens(*binary.lhs), unwrap_parens(*binary.rhs)) {
        (watched, Expr::NumberLiteral(number)) => (watched, number.val, op),
        (Expr::NumberLiteral(number), watched) => (watched, number.val, flipped(&op)),
        _ => return None,
    };
    let mut watched = watched;
    strip_label(&mut watched, ignored_label);
    Some(Threshold {
        op,
        value,
        watched: watched.to_string(),
    })
}

fn flipped(op: &str) -> String {
    match op {
        ">" => "<",
        ">=" => "<=",
        "<" => ">",
        "<=" => ">=",
        other => other,
    }
    .to_owned()
}

/// The canonical text of `query` without matchers on `label`.
fn canonical(query: &str, label: &str) -> Option<String> {
    let mut expr = unwrap_parens(parse(query)?);
    strip_label(&mut expr, label);
    Some(expr.to_string())
}

fn strip_matchers(matchers: &mut Matchers, label: &str) {
    matchers.matchers.retain(|m| m.name != label);
    for alternative in &mut matchers.or_matchers {
        alternative.retain(|m| m.name != label);
    }
    // Sorted, so `{a="1",b="2"}` and `{b="2",a="1"}` print alike.
    matchers
        .matchers
        .sort_by(|x, y| (&x.name, &x.value).cmp(&(&y.name, &y.value)));
}

/// Removes matchers on `label` everywhere in `expr` (depth is bounded by the syntax limits).
fn strip_label(expr: &mut Expr, label: &str) {
    match expr {
        Expr::Aggregate(aggregate) => {
            strip_label(&mut aggregate.expr, label);
            if let Some(param) = &mut aggregate.param {
                strip_label(param, label);
            }
        }
        Expr::Unary(unary) => strip_label(&mut unary.expr, label),
        Expr::Binary(binary) => {
            strip_label(&mut binary.lhs, label);
            strip_label(&mut binary.rhs, label);
        }
        Expr::Paren(paren) => strip_label(&mut paren.expr, label),
        Expr::Subquery(subquery) => strip_label(&mut subquery.expr, label),
        Expr::VectorSelector(selector) => strip_matchers(&mut selector.matchers, label),
        Expr::MatrixSelector(matrix) => strip_matchers(&mut matrix.vs.matchers, label),
        Expr::Call(call) => {
            for arg in &mut call.args.args {
                strip_label(arg, label);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_on_the_same_expression_applies_whatever_the_spelling() {
        let rule = threshold_of(
            r#"avg by (gpu) (DCGM_FI_DEV_GPU_UTIL{namespace="ml-training", job='dcgm'}) > 80"#,
            "namespace",
        )
        .expect("a threshold");
        assert_eq!((rule.op.as_str(), rule.value), (">", 80.0));
        assert!(rule.applies_to(
            r#"avg by(gpu)(DCGM_FI_DEV_GPU_UTIL{job="dcgm"})"#,
            "namespace"
        ));
        assert!(rule.applies_to(
            r#"(avg by (gpu) (DCGM_FI_DEV_GPU_UTIL{job="dcgm",namespace="team-a"}))"#,
            "namespace"
        ));
        assert!(!rule.applies_to(r#"avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)"#, "namespace"));
        assert!(!rule.applies_to(
            r#"max by (gpu) (DCGM_FI_DEV_GPU_UTIL{job="dcgm"})"#,
            "namespace"
        ));
    }

    #[test]
    fn numbers_first_flip_and_other_shapes_have_no_threshold() {
        let rule = threshold_of("0.5 <= rate(errors_total[5m])", "namespace").expect("threshold");
        assert_eq!((rule.op.as_str(), rule.value), (">=", 0.5));
        assert!(rule.applies_to("rate(errors_total[5m])", "namespace"));
        for no_threshold in [
            "up == bool 0",
            "absent(up)",
            "a > b",
            "rate(x[5m])",
            "1 > 2 >",
        ] {
            assert!(
                threshold_of(no_threshold, "namespace").is_none(),
                "{no_threshold}"
            );
        }
    }
}
