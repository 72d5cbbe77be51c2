//! Turns untrusted PromQL text into a promql-parser AST within a structural budget.
//!
//! Every place where PromQL arrives from the network (the root Prometheus API, the datasource
//! proxy, rules, the assistant's tools) goes through this crate, so one set of limits protects
//! the process: a length limit (configurable), a budget of brackets and operators checked
//! before parsing, and a nesting limit checked on the parsed tree. Together they keep the
//! parser's quadratic type check fast and every recursive consumer of the AST (enforcer walk,
//! evaluator, printer, drop) within a 2 MiB stack.
//!
//! ```
//! use pharos_promql_syntax::{SyntaxError, SyntaxLimits, parse};
//!
//! let limits = SyntaxLimits::default();
//! assert!(parse("sum(rate(http_requests_total[5m]))", &limits).is_ok());
//!
//! let chain = vec!["1"; 5_000].join("+");
//! assert_eq!(
//!     parse(&chain, &limits).unwrap_err(),
//!     SyntaxError::TooComplex { limit: pharos_promql_syntax::MAX_STRUCTURE_TOKENS }
//! );
//! ```

#![warn(missing_docs)]

mod budget;
mod depth;
mod error;
mod shape;

use promql_parser::parser::Expr;

pub use budget::MAX_STRUCTURE_TOKENS;
pub use depth::{MAX_NESTING_DEPTH, check_depth, nesting_depth};
pub use error::SyntaxError;
pub use shape::MAX_AGGREGATION_WEIGHT;

/// The configurable part of the budget (the structure and nesting limits are fixed because
/// they protect the stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxLimits {
    /// Longest query text accepted, in bytes. Default 65 536.
    pub max_length: usize,
}

/// Default of [`SyntaxLimits::max_length`]: 64 KiB, far above hand-written and generated
/// dashboard queries, far below what the parser needs seconds for.
pub const DEFAULT_MAX_LENGTH: usize = 65_536;

impl Default for SyntaxLimits {
    fn default() -> Self {
        Self {
            max_length: DEFAULT_MAX_LENGTH,
        }
    }
}

/// The checks that need no parse, in one linear pass each: the length limit, the structure
/// budget, a lower bound of the nesting depth and the aggregation weight.
///
/// The proxy runs it on routes that forward PromQL without parsing it; [`parse`] runs it
/// first so the parser never sees text it would need more than a few milliseconds for.
pub fn check_text(query: &str, limits: &SyntaxLimits) -> Result<(), SyntaxError> {
    if query.len() > limits.max_length {
        return Err(SyntaxError::TooLong {
            length: query.len(),
            limit: limits.max_length,
        });
    }
    budget::check_structure_budget(query)?;
    let shape = shape::scan(query);
    if shape.depth > MAX_NESTING_DEPTH {
        return Err(SyntaxError::TooDeep {
            limit: MAX_NESTING_DEPTH,
        });
    }
    if shape.aggregation_weight > MAX_AGGREGATION_WEIGHT {
        return Err(SyntaxError::AggregationTooHeavy {
            weight: shape.aggregation_weight,
            limit: MAX_AGGREGATION_WEIGHT,
        });
    }
    Ok(())
}

/// Parses `query` within the budget: [`check_text`], then the parser, then the nesting limit.
///
/// An accepted AST is at most [`MAX_NESTING_DEPTH`] levels deep; a refused one is freed
/// without recursion.
pub fn parse(query: &str, limits: &SyntaxLimits) -> Result<Expr, SyntaxError> {
    check_text(query, limits)?;
    let expr = promql_parser::parser::parse(query).map_err(SyntaxError::Parse)?;
    if let Err(error) = check_depth(&expr) {
        depth::drop_flat(expr);
        return Err(error);
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_checked_first_and_names_the_limit() {
        let limits = SyntaxLimits { max_length: 10 };
        let error = parse("sum(rate(x[5m]))", &limits).unwrap_err();
        assert_eq!(
            error,
            SyntaxError::TooLong {
                length: 16,
                limit: 10
            }
        );
        assert!(error.to_string().contains("limit of 10 bytes"), "{error}");
        assert_eq!(error.reason(), "promql_too_long");
        assert!(parse("up", &limits).is_ok());
    }

    #[test]
    fn parse_errors_keep_the_parser_message() {
        let error = parse("sum(", &SyntaxLimits::default()).unwrap_err();
        assert!(matches!(&error, SyntaxError::Parse(message) if message.contains("unclosed")));
        assert!(!error.is_limit());
    }

    #[test]
    fn deep_but_cheap_queries_are_refused_after_parsing() {
        let deep = format!("{}x{}", "(".repeat(300), ")".repeat(300));
        let error = parse(&deep, &SyntaxLimits::default()).unwrap_err();
        assert_eq!(
            error,
            SyntaxError::TooDeep {
                limit: MAX_NESTING_DEPTH
            }
        );
        assert!(error.is_limit());
        assert_eq!(error.reason(), "promql_too_deep");
    }
}
