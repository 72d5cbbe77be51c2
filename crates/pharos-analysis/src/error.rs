//! The crate's one error type: what went wrong and what to change so it does not.

/// Why an analysis could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The time range is empty, reversed or not finite.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// The step is not positive or would give too many points.
    #[error("invalid step: {0}")]
    InvalidStep(String),
    /// The query selects more series than the options allow.
    #[error(
        "the query returned {found} series, more than the limit of {limit}: narrow the selector or aggregate (e.g. `sum by (...)`)"
    )]
    TooManySeries {
        /// Series the answer held.
        found: usize,
        /// `DetectOptions::max_series`.
        limit: usize,
    },
    /// The range, history included, has more points per series than the options allow.
    #[error(
        "{found} points per series (history included) exceed the limit of {limit}: shorten the range or use a larger step"
    )]
    TooManyPoints {
        /// Points one series would have.
        found: i64,
        /// `DetectOptions::max_points_per_series`.
        limit: i64,
    },
    /// The answer was not a matrix (a scalar or string query, or malformed JSON).
    #[error(
        "expected a range (matrix) answer, got {0}: anomaly detection needs a query returning series"
    )]
    NotAMatrix(String),
    /// The backend refused or failed the query.
    #[error("query `{query}` failed: {message}")]
    Backend {
        /// The PromQL.
        query: String,
        /// The HTTP status that goes with the backend's answer (4xx: the query was refused).
        status: u16,
        /// The backend's message.
        message: String,
    },
    /// Options out of their bounds.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}
