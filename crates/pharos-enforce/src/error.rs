//! Why a policy could not be built or a query could not be enforced.

use pharos_promql_syntax::SyntaxError;
use thiserror::Error;

/// Every way tenant enforcement can refuse a policy or a query.
///
/// Errors are `Clone` because the [`crate::Enforcer`] caches them: a query that is refused once
/// is refused again without re-parsing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnforceError {
    /// The tenant label name breaks Prometheus naming rules.
    #[error(
        "tenant label name {label:?} is not a valid Prometheus label name: use ASCII letters, \
         digits and underscores, and do not start with a digit"
    )]
    InvalidLabelName {
        /// The rejected label name.
        label: String,
    },

    /// The tenant label name is reserved for Prometheus internals (`__` prefix).
    #[error(
        "tenant label name {label:?} is reserved (names starting with \"__\" belong to \
         Prometheus internals); enforce a regular label such as \"namespace\""
    )]
    ReservedLabelName {
        /// The rejected label name.
        label: String,
    },

    /// The policy lists no allowed values, so it would allow nothing.
    #[error(
        "tenant policy for label {label:?} has no allowed values; give the project at least one \
         value of {label:?}"
    )]
    NoAllowedValues {
        /// The tenant label name.
        label: String,
    },

    /// An allowed value is the empty string, which would also admit series without the label.
    #[error(
        "tenant policy for label {label:?} contains an empty value, which would also admit \
         series that lack the label; remove the empty value"
    )]
    EmptyAllowedValue {
        /// The tenant label name.
        label: String,
    },

    /// The query text is empty or whitespace only.
    #[error("the query is empty; send a PromQL expression such as `up`")]
    EmptyQuery,

    /// The query is not valid PromQL (or uses syntax the parser does not support).
    #[error("the query is not valid PromQL ({message}); fix the syntax and retry")]
    Parse {
        /// The parser's own message.
        message: String,
    },

    /// A `match[]` value is PromQL but not a plain series selector.
    #[error(
        "match[] value {input:?} is not a series selector; pass a selector such as `up` or \
         `{{job=\"api\"}}` without functions, operators, ranges, offsets or `@`"
    )]
    NotASelector {
        /// The rejected input text.
        input: String,
    },

    /// A selector or subquery uses an `@` timestamp before 1970, which cannot be re-printed
    /// faithfully (the parser would print it as `@ 0.000`).
    #[error(
        "`@` timestamps before 1970-01-01 are not supported; use a timestamp >= 0, \
         `@ start()` or `@ end()`"
    )]
    NegativeAtTimestamp,

    /// A selector uses `or` between matchers, a non-Prometheus extension that would let one
    /// branch escape the tenant filter.
    #[error(
        "selector {selector} uses `or` between matchers, which Prometheus does not support; \
         write separate selectors joined by the `or` operator instead"
    )]
    OrInsideSelector {
        /// The offending selector as printed.
        selector: String,
    },

    /// The AST holds an extension node the enforcer cannot look inside.
    #[error("the query uses the unsupported extension {name:?}; remove it and retry")]
    UnsupportedExtension {
        /// The extension's name.
        name: String,
    },

    /// The query is over one of the syntax limits every PromQL entry point applies (length,
    /// structure tokens, aggregation weight, nesting); the message names the limit.
    #[error(transparent)]
    Syntax(SyntaxError),

    /// With [`crate::ConflictMode::Error`]: a matcher on the tenant label admits none of the
    /// project's values.
    #[error(
        "matcher {matcher} can never match this project's values of {label:?} ({allowed}); \
         remove it or select one of those values"
    )]
    ConflictingMatcher {
        /// The offending matcher as printed, e.g. `namespace="team-c"`.
        matcher: String,
        /// The tenant label name.
        label: String,
        /// The allowed values, comma separated.
        allowed: String,
    },

    /// The rewritten query did not survive print → parse unchanged; refused rather than risk
    /// sending a query with a different meaning.
    #[error(
        "the enforced query could not be verified ({detail}); it was refused for safety, \
         please report the query to the Pharos maintainers"
    )]
    UnsafeRewrite {
        /// What the safety check found.
        detail: String,
    },
}

impl EnforceError {
    /// The `reason` label under which this refusal counts in `pharos_refusals_total` when a
    /// limit caused it (the same labels as [`SyntaxError::reason`]); `None` otherwise.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            Self::Syntax(error) => Some(error.reason()),
            _ => None,
        }
    }
}

impl From<SyntaxError> for EnforceError {
    fn from(error: SyntaxError) -> Self {
        match error {
            SyntaxError::Parse(message) => Self::Parse { message },
            limit => Self::Syntax(limit),
        }
    }
}
