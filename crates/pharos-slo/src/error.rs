//! What can go wrong, as types the server maps to HTTP in one place.

use pharos_store::StoreError;

/// An SLO operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum SloError {
    /// No such service, or the caller may not read it (the two look the same on purpose).
    #[error("service {0:?} not found (or not one you may read)")]
    NotFound(String),
    /// The caller may read the service but not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A threshold outside the allowed bounds.
    #[error("threshold_ms must be between {min} and {max} ms; got {got}")]
    ThresholdOutOfRange {
        /// The smallest allowed value.
        min: u32,
        /// The largest allowed value.
        max: u32,
        /// What was asked for.
        got: String,
    },
    /// Any other bad input, with what to fix.
    #[error("{0}")]
    Invalid(String),
    /// The embedded store is not there (no metrics backend).
    #[error("the embedded metrics store is not available")]
    NoMetrics,
    /// A query against the embedded store failed.
    #[error("cannot read the latency of {service:?}: {message}")]
    Query {
        /// The service.
        service: String,
        /// The engine's message.
        message: String,
    },
    /// A stored entry that cannot be read.
    #[error("the stored entry of service {name:?} cannot be read: {why}")]
    Corrupt {
        /// The service.
        name: String,
        /// Why.
        why: String,
    },
    /// The config store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
