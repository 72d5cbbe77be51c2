//! Why a query text was refused before or while parsing.

use thiserror::Error;

/// Every way [`crate::parse`] and [`crate::check_text`] can refuse a query.
///
/// The limit variants name the limit and its value, so the message alone tells the user what to
/// change; [`SyntaxError::reason`] gives the label under which a refusal is counted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyntaxError {
    /// The query text is longer than the configured maximum.
    #[error(
        "the query is {length} bytes long, over the query length limit of {limit} bytes; \
         shorten it or split it into several queries"
    )]
    TooLong {
        /// The query's length in bytes.
        length: usize,
        /// The configured maximum in bytes.
        limit: usize,
    },

    /// The query holds more brackets and operators than the structure budget.
    #[error(
        "the query has more than {limit} brackets and operators (the structure limit); \
         split it into smaller queries"
    )]
    TooComplex {
        /// The structure-token budget.
        limit: usize,
    },

    /// Nested aggregations hold too much: the parser copies an aggregation's argument once per
    /// enclosing aggregation.
    #[error(
        "nested aggregations (sum, topk, ...) hold {weight} query tokens, counted once per \
         enclosing aggregation, over the aggregation limit of {limit}; nest fewer aggregations \
         or move long argument lists out of them"
    )]
    AggregationTooHeavy {
        /// The query's aggregation weight.
        weight: usize,
        /// The fixed limit.
        limit: usize,
    },

    /// The query nests deeper than the nesting limit.
    #[error(
        "the query nests deeper than {limit} levels (the nesting limit); simplify it or \
         split it into parts"
    )]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },

    /// The text is not valid PromQL; the parser's own message.
    #[error("{0}")]
    Parse(String),
}

impl SyntaxError {
    /// A snake_case label for the `reason` of the `pharos_refusals_total` counter.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "promql_too_long",
            Self::TooComplex { .. } => "promql_too_complex",
            Self::TooDeep { .. } => "promql_too_deep",
            Self::AggregationTooHeavy { .. } => "promql_aggregation_weight",
            Self::Parse(_) => "promql_parse_error",
        }
    }

    /// Whether a limit (not a syntax mistake) refused the query; only these count as
    /// refusals in `/metrics`.
    pub fn is_limit(&self) -> bool {
        !matches!(self, Self::Parse(_))
    }
}
