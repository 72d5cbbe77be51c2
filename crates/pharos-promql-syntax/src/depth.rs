//! The nesting limit on a parsed AST, measured and enforced without recursion.
//!
//! Everything downstream of the parser (the enforcer's walk, the evaluator, the printer, drop)
//! recurses once per AST level, so a bounded depth is what keeps them on the stack. The check
//! itself and the disposal of a refused tree use explicit stacks, because a refused tree may be
//! as deep as the structure budget allows.

use promql_parser::parser::{Expr, NumberLiteral};

use crate::error::SyntaxError;

/// Deepest AST nesting (levels below the root) a query may have. Real dashboards stay far below
/// this; every recursive consumer of the AST is tested on a 2 MiB stack at this depth.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Refuses `expr` when any node lies more than [`MAX_NESTING_DEPTH`] levels below the root.
///
/// Use it for ASTs that did not come from [`crate::parse`] (built in code or by another parser)
/// before handing them to anything recursive.
pub fn check_depth(expr: &Expr) -> Result<(), SyntaxError> {
    if depth_until(expr, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH {
        return Err(SyntaxError::TooDeep {
            limit: MAX_NESTING_DEPTH,
        });
    }
    Ok(())
}

/// The depth of the deepest node of `expr` (the root has depth 0), measured without recursion.
pub fn nesting_depth(expr: &Expr) -> usize {
    depth_until(expr, usize::MAX)
}

/// The depth of the deepest node (the root has depth 0), or the first depth found above
/// `stop_above`.
fn depth_until(expr: &Expr, stop_above: usize) -> usize {
    let mut deepest = 0;
    let mut pending: Vec<(&Expr, usize)> = vec![(expr, 0)];
    while let Some((node, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        if deepest > stop_above {
            break;
        }
        for_each_child(node, |child| pending.push((child, depth + 1)));
    }
    deepest
}

fn for_each_child<'e>(expr: &'e Expr, mut visit: impl FnMut(&'e Expr)) {
    match expr {
        Expr::Aggregate(aggregate) => {
            if let Some(param) = aggregate.param.as_deref() {
                visit(param);
            }
            visit(&aggregate.expr);
        }
        Expr::Unary(unary) => visit(&unary.expr),
        Expr::Binary(binary) => {
            visit(&binary.lhs);
            visit(&binary.rhs);
        }
        Expr::Paren(paren) => visit(&paren.expr),
        Expr::Subquery(subquery) => visit(&subquery.expr),
        Expr::Call(call) => call.args.args.iter().for_each(|arg| visit(arg)),
        Expr::Extension(extension) => extension.expr.children().iter().for_each(visit),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_) => {}
    }
}

/// Drops `expr` level by level, so even a tree deeper than the stack allows is freed safely
/// (the derived drop recurses once per level).
pub(crate) fn drop_flat(expr: Expr) {
    let mut pending = vec![expr];
    while let Some(mut node) = pending.pop() {
        match &mut node {
            Expr::Aggregate(aggregate) => {
                if let Some(param) = aggregate.param.as_deref_mut() {
                    pending.push(take(param));
                }
                pending.push(take(&mut aggregate.expr));
            }
            Expr::Unary(unary) => pending.push(take(&mut unary.expr)),
            Expr::Binary(binary) => {
                pending.push(take(&mut binary.lhs));
                pending.push(take(&mut binary.rhs));
            }
            Expr::Paren(paren) => pending.push(take(&mut paren.expr)),
            Expr::Subquery(subquery) => pending.push(take(&mut subquery.expr)),
            Expr::Call(call) => pending.extend(call.args.args.iter_mut().map(|arg| take(arg))),
            // Shared and opaque; the parser never produces extensions.
            Expr::Extension(_)
            | Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => {}
        }
        // `node` now holds only leaves and is dropped here without deep recursion.
    }
}

fn take(slot: &mut Expr) -> Expr {
    std::mem::replace(slot, Expr::NumberLiteral(NumberLiteral::new(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn depth(query: &str) -> usize {
        nesting_depth(&parse(query).unwrap())
    }

    #[test]
    fn measures_every_kind_of_nesting() {
        assert_eq!(depth("up"), 0);
        assert_eq!(depth("(up)"), 1);
        assert_eq!(depth("-up"), 1);
        assert_eq!(depth("sum(rate(up[5m]))"), 2);
        assert_eq!(depth("topk(scalar(sum(x)), y)"), 3);
        assert_eq!(depth("max_over_time((up)[1h:1m])"), 3);
        assert_eq!(depth("a + b * c"), 2);
        assert_eq!(depth("a + b + c + d"), 3);
        assert_eq!(depth("label_replace(a, \"b\", \"c\", \"d\", \"e\")"), 1);
    }

    #[test]
    fn refuses_one_level_beyond_the_limit() {
        let at_limit = format!("{}x{}", "(".repeat(256), ")".repeat(256));
        assert_eq!(check_depth(&parse(&at_limit).unwrap()), Ok(()));
        let beyond = format!("{}x{}", "(".repeat(257), ")".repeat(257));
        assert_eq!(
            check_depth(&parse(&beyond).unwrap()),
            Err(SyntaxError::TooDeep {
                limit: MAX_NESTING_DEPTH
            })
        );
    }

    #[test]
    fn drops_a_tree_deeper_than_a_small_stack_allows() {
        // 100 000 nested unary minus built directly: far deeper than any parser output.
        let mut expr = parse("x").unwrap();
        for _ in 0..100_000 {
            expr = Expr::Unary(promql_parser::parser::UnaryExpr {
                expr: Box::new(expr),
            });
        }
        let dropped = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                assert!(check_depth(&expr).is_err());
                drop_flat(expr);
            })
            .unwrap()
            .join();
        assert!(dropped.is_ok());
    }
}
