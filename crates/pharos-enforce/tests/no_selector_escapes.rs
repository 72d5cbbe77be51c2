//! Property: whatever a (valid) query looks like, no selector in the enforced output escapes
//! the tenant filter. Queries come from a small grammar with random matchers on random labels,
//! including the enforced one, wrapped in functions, aggregations, binaries and subqueries.

// Test helpers outside `#[test]` functions unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pharos_enforce::{ConflictMode, EnforceError, Enforcer, TenantPolicy};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector, parse};
use proptest::prelude::*;
use proptest::sample::select;

const TENANT_LABEL: &str = "namespace";

// ---------- query grammar ----------

fn matcher() -> impl Strategy<Value = String> {
    let label = select(vec![TENANT_LABEL, "job", "pod", "instance"]);
    let op = select(vec!["=", "!=", "=~", "!~"]);
    let value = select(vec![
        "team-a", "team-b", "team-c", "", ".*", "team-.*", "x", r"a\\.b",
    ]);
    (label, op, value).prop_map(|(label, op, value)| format!(r#"{label}{op}"{value}""#))
}

/// Name and matchers only, e.g. `up{pod="x",namespace=~".*"}` or `{__name__="up",job="a"}`.
fn selector_body() -> impl Strategy<Value = String> {
    let name = select(vec!["up", "http_requests_total", "kube_pod_info"]);
    (name, any::<bool>(), prop::collection::vec(matcher(), 0..4)).prop_map(
        |(name, bare_name, matchers)| {
            if bare_name {
                if matchers.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}{{{}}}", matchers.join(","))
                }
            } else {
                let mut all = vec![format!(r#"__name__="{name}""#)];
                all.extend(matchers);
                format!("{{{}}}", all.join(","))
            }
        },
    )
}

fn modifier() -> impl Strategy<Value = &'static str> {
    select(vec![
        "",
        " offset 5m",
        " offset -1m",
        " @ start()",
        " @ 1700000000",
        " @ end() offset 1h",
    ])
}

/// Instant-vector expressions (so every wrapper below type-checks).
fn vector_expr() -> impl Strategy<Value = String> {
    let instant = (selector_body(), modifier()).prop_map(|(body, m)| format!("{body}{m}"));
    let range = (
        selector_body(),
        modifier(),
        select(vec!["rate", "increase", "max_over_time"]),
    )
        .prop_map(|(body, m, f)| format!("{f}({body}[5m]{m})"));
    let leaf = prop_oneof![instant, range];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("sum by (pod) ({e})")),
            inner.clone().prop_map(|e| format!("topk(3, {e})")),
            inner.clone().prop_map(|e| format!("quantile(0.9, {e})")),
            inner
                .clone()
                .prop_map(|e| format!(r#"count_values("namespace", {e})"#)),
            inner.clone().prop_map(|e| format!(
                r#"label_replace({e}, "namespace", "team-c", "pod", "(.*)")"#
            )),
            inner.clone().prop_map(|e| format!("absent({e})")),
            inner.clone().prop_map(|e| format!("abs({e})")),
            inner.clone().prop_map(|e| format!("-({e})")),
            inner.clone().prop_map(|e| format!("({e}) * 2")),
            (inner.clone(), modifier())
                .prop_map(|(e, m)| format!("max_over_time(({e})[30m:1m]{m})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("topk(scalar({a}), {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) + ({b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("({a}) / on (pod) group_left () ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) or ({b})")),
        ]
    })
}

// ---------- an AST walk written independently of the crate's ----------

fn collect_selectors(expr: &Expr, out: &mut Vec<VectorSelector>) {
    match expr {
        Expr::Aggregate(a) => {
            if let Some(param) = &a.param {
                collect_selectors(param, out);
            }
            collect_selectors(&a.expr, out);
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::VectorSelector(vs) => out.push(vs.clone()),
        Expr::MatrixSelector(ms) => out.push(ms.vs.clone()),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        Expr::Extension(_) => panic!("the parser produced an extension node"),
    }
}

fn selectors_of(query: &str) -> Vec<VectorSelector> {
    let expr = parse(query).unwrap_or_else(|e| panic!("{query:?} does not parse: {e}"));
    let mut out = Vec::new();
    collect_selectors(&expr, &mut out);
    out
}

/// Matchers not on the tenant label, in printed form and sorted, to compare selectors.
fn other_matchers(vs: &VectorSelector) -> Vec<String> {
    let mut others: Vec<String> = vs
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != TENANT_LABEL)
        .map(ToString::to_string)
        .collect();
    others.sort();
    others
}

fn tenant_matchers(vs: &VectorSelector) -> Vec<&Matcher> {
    vs.matchers
        .matchers
        .iter()
        .filter(|m| m.name == TENANT_LABEL)
        .collect()
}

fn policy(values: &[&str], mode: ConflictMode) -> TenantPolicy {
    TenantPolicy::new(
        TENANT_LABEL,
        values.iter().map(|v| v.to_string()).collect(),
        mode,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Replace with one value: every selector ends up with exactly `namespace="team-a"` on the
    /// tenant label, no selector is lost or added, and other matchers survive untouched.
    #[test]
    fn replace_single_value_leaves_no_selector_unfiltered(query in vector_expr()) {
        let enforcer = Enforcer::new(0);
        let out = enforcer
            .enforce_query(&policy(&["team-a"], ConflictMode::Replace), &query)
            .unwrap_or_else(|e| panic!("{query:?} was refused: {e}"));
        let before = selectors_of(&query);
        let after = selectors_of(&out);
        prop_assert_eq!(before.len(), after.len(), "selector count changed: {}", out);
        let enforced = Matcher::new(MatchOp::Equal, TENANT_LABEL, "team-a");
        for (original, enforced_vs) in before.iter().zip(&after) {
            prop_assert!(enforced_vs.matchers.or_matchers.is_empty());
            prop_assert_eq!(tenant_matchers(enforced_vs), vec![&enforced], "in {}", out);
            prop_assert_eq!(other_matchers(original), other_matchers(enforced_vs));
            prop_assert_eq!(&original.name, &enforced_vs.name);
            prop_assert_eq!(&original.offset, &enforced_vs.offset);
            prop_assert_eq!(&original.at, &enforced_vs.at);
        }
        // Enforcing an enforced query changes nothing.
        let again = enforcer
            .enforce_query(&policy(&["team-a"], ConflictMode::Replace), &out)
            .unwrap();
        prop_assert_eq!(again, out);
    }

    /// Replace with several values: every selector carries the enforced regex, and the query's
    /// own tenant matchers are kept alongside it.
    #[test]
    fn replace_several_values_ands_every_selector(query in vector_expr()) {
        let out = Enforcer::new(0)
            .enforce_query(&policy(&["team-a", "team-b"], ConflictMode::Replace), &query)
            .unwrap_or_else(|e| panic!("{query:?} was refused: {e}"));
        let before = selectors_of(&query);
        let after = selectors_of(&out);
        prop_assert_eq!(before.len(), after.len());
        for (original, enforced_vs) in before.iter().zip(&after) {
            let tenant = tenant_matchers(enforced_vs);
            prop_assert!(
                tenant.iter().any(|m| m.to_string() == r#"namespace=~"team-a|team-b""#),
                "selector {} escaped in {}", enforced_vs, out
            );
            for kept in tenant_matchers(original) {
                prop_assert!(tenant.contains(&kept), "{} lost {}", out, kept);
            }
        }
    }

    /// Error mode: refused exactly when some tenant matcher admits none of the allowed values;
    /// otherwise every selector carries the enforced regex.
    #[test]
    fn error_mode_refuses_exactly_the_disjoint_queries(query in vector_expr()) {
        let allowed = ["team-a", "team-b"];
        let disjoint = selectors_of(&query).iter().any(|vs| {
            tenant_matchers(vs).iter().any(|m| !allowed.iter().any(|v| m.is_match(v)))
        });
        let outcome = Enforcer::new(0)
            .enforce_query(&policy(&allowed, ConflictMode::Error), &query);
        match outcome {
            Err(EnforceError::ConflictingMatcher { .. }) => prop_assert!(disjoint, "{}", query),
            Err(other) => prop_assert!(false, "{:?} refused for another reason: {}", query, other),
            Ok(out) => {
                prop_assert!(!disjoint, "{} should have been refused", query);
                for vs in selectors_of(&out) {
                    prop_assert!(tenant_matchers(&vs)
                        .iter()
                        .any(|m| m.to_string() == r#"namespace=~"team-a|team-b""#));
                }
            }
        }
    }
}
