//! Visits every vector selector of a PromQL AST at any depth, refusing constructs that cannot
//! be enforced or re-printed safely.

use std::time::SystemTime;

use pharos_promql_syntax::{MAX_NESTING_DEPTH, SyntaxError};
use promql_parser::parser::{AtModifier, Expr, VectorSelector};

use crate::error::EnforceError;

/// Calls `visit` on every [`VectorSelector`] in `expr`, including the ones inside matrix
/// selectors, subqueries, function arguments, aggregation parameters and both sides of binary
/// operators.
///
/// Refuses, before `visit` sees the selector: `or` between matchers, `@` timestamps before
/// 1970 (on selectors and subqueries), extension nodes and nesting beyond
/// [`MAX_NESTING_DEPTH`] (the shared nesting limit: the walk is recursive and the proxy must
/// not overflow its stack, even on an AST that did not come from the budgeted parser).
pub(crate) fn for_each_selector_mut<F>(expr: &mut Expr, visit: &mut F) -> Result<(), EnforceError>
where
    F: FnMut(&mut VectorSelector) -> Result<(), EnforceError>,
{
    walk(expr, 0, visit)
}

fn walk<F>(expr: &mut Expr, depth: usize, visit: &mut F) -> Result<(), EnforceError>
where
    F: FnMut(&mut VectorSelector) -> Result<(), EnforceError>,
{
    if depth > MAX_NESTING_DEPTH {
        return Err(EnforceError::Syntax(SyntaxError::TooDeep {
            limit: MAX_NESTING_DEPTH,
        }));
    }
    let next = depth + 1;
    match expr {
        Expr::Aggregate(aggregate) => {
            // `count_values("label", x)`, `topk(k, x)`, `quantile(q, x)`: the parameter can be
            // an expression that holds selectors too (e.g. `topk(scalar(y), x)`).
            if let Some(param) = aggregate.param.as_mut() {
                walk(param, next, visit)?;
            }
            walk(&mut aggregate.expr, next, visit)
        }
        Expr::Unary(unary) => walk(&mut unary.expr, next, visit),
        Expr::Binary(binary) => {
            walk(&mut binary.lhs, next, visit)?;
            walk(&mut binary.rhs, next, visit)
        }
        Expr::Paren(paren) => walk(&mut paren.expr, next, visit),
        Expr::Subquery(subquery) => {
            check_at(subquery.at.as_ref())?;
            walk(&mut subquery.expr, next, visit)
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::VectorSelector(selector) => visit_selector(selector, visit),
        Expr::MatrixSelector(matrix) => visit_selector(&mut matrix.vs, visit),
        Expr::Call(call) => {
            for arg in call.args.args.iter_mut() {
                walk(arg, next, visit)?;
            }
            Ok(())
        }
        // The parser never produces these, but an extension's children are opaque to us, so
        // letting one through could hide an unfiltered selector.
        Expr::Extension(extension) => Err(EnforceError::UnsupportedExtension {
            name: extension.expr.name().to_string(),
        }),
    }
}

fn visit_selector<F>(selector: &mut VectorSelector, visit: &mut F) -> Result<(), EnforceError>
where
    F: FnMut(&mut VectorSelector) -> Result<(), EnforceError>,
{
    check_at(selector.at.as_ref())?;
    // GreptimeDB's `{a="1" or b="2"}` would need the tenant matcher in every branch and
    // upstream Prometheus rejects it anyway.
    if !selector.matchers.or_matchers.is_empty() {
        return Err(EnforceError::OrInsideSelector {
            selector: selector.to_string(),
        });
    }
    visit(selector)
}

/// The parser's printer clamps pre-1970 timestamps to `@ 0.000`, which would silently change
/// the query's time range.
fn check_at(at: Option<&AtModifier>) -> Result<(), EnforceError> {
    match at {
        Some(AtModifier::At(time)) if *time < SystemTime::UNIX_EPOCH => {
            Err(EnforceError::NegativeAtTimestamp)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::ast::ExtensionExpr;
    use promql_parser::parser::value::ValueType;
    use promql_parser::parser::{Extension, parse};
    use std::sync::Arc;

    fn selector_names(query: &str) -> Result<Vec<String>, EnforceError> {
        let mut expr = parse(query).unwrap();
        let mut names = Vec::new();
        for_each_selector_mut(&mut expr, &mut |vs| {
            names.push(vs.name.clone().unwrap_or_default());
            Ok(())
        })?;
        Ok(names)
    }

    #[test]
    fn visits_selectors_in_every_position() {
        let names = selector_names(
            "topk(scalar(k), -a) + on(x) group_left \
             max_over_time((rate(b[5m]) / c)[1h:1m]) or label_replace(d, \"x\", \"y\", \"z\", \"\") \
             and count_values(\"v\", (e offset 1h)) unless absent(f @ start())",
        )
        .unwrap();
        assert_eq!(names, ["k", "a", "b", "c", "d", "e", "f"]);
    }

    #[test]
    fn literals_have_no_selectors() {
        assert!(selector_names("1 + 2 * time()").unwrap().is_empty());
    }

    #[test]
    fn refuses_negative_at_on_selector_matrix_and_subquery() {
        for query in [
            "x @ -1",
            "rate(x[5m] @ -100)",
            "max_over_time(x[1h:1m] @ -5)",
        ] {
            assert_eq!(
                selector_names(query),
                Err(EnforceError::NegativeAtTimestamp),
                "{query}"
            );
        }
        assert!(selector_names("x @ 0").is_ok());
    }

    #[test]
    fn refuses_or_inside_selector() {
        let err = selector_names(r#"up{job="a" or job="b"}"#).unwrap_err();
        assert!(matches!(err, EnforceError::OrInsideSelector { .. }));
    }

    #[derive(Debug)]
    struct OpaqueNode;

    impl ExtensionExpr for OpaqueNode {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn name(&self) -> &str {
            "opaque"
        }
        fn value_type(&self) -> ValueType {
            ValueType::Vector
        }
        fn children(&self) -> &[Expr] {
            &[]
        }
        fn with_new_children(&self, _children: Vec<Expr>) -> Arc<dyn ExtensionExpr> {
            Arc::new(OpaqueNode)
        }
    }

    #[test]
    fn refuses_extension_nodes_even_when_nested() {
        let mut expr = parse("sum(x)").unwrap();
        if let Expr::Aggregate(aggregate) = &mut expr {
            *aggregate.expr = Expr::Extension(Extension {
                expr: Arc::new(OpaqueNode),
            });
        }
        let err = for_each_selector_mut(&mut expr, &mut |_| Ok(())).unwrap_err();
        assert_eq!(
            err,
            EnforceError::UnsupportedExtension {
                name: "opaque".into()
            }
        );
    }

    #[test]
    fn refuses_excessive_nesting() {
        let deep = format!("{}x{}", "(".repeat(300), ")".repeat(300));
        assert_eq!(
            selector_names(&deep),
            Err(EnforceError::Syntax(SyntaxError::TooDeep {
                limit: MAX_NESTING_DEPTH
            }))
        );
    }
}
