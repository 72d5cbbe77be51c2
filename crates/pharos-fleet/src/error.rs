//! What can go wrong in the fleet service; the server maps each variant to one HTTP status.

use pharos_store::StoreError;

/// A fleet failure. Messages say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The request is malformed (bad name, type, URL, filter or credentials shape).
    #[error("{0}")]
    Invalid(String),
    /// No cluster with that id.
    #[error("cluster \"{0}\" does not exist")]
    NotFound(String),
    /// A cluster with that id is already registered.
    #[error("cluster \"{0}\" is already registered; PUT /api/v1/clusters/{0} changes it")]
    AlreadyExists(String),
    /// The caller lacks the permission; the text names it.
    #[error("{0}")]
    Forbidden(String),
    /// The config store failed.
    #[error("config store: {0}")]
    Store(#[from] StoreError),
    /// A stored document could not be read back (written by a newer version, or damaged).
    #[error("stored cluster \"{name}\" cannot be read: {why}")]
    Corrupt {
        /// Which cluster.
        name: String,
        /// The decoding error.
        why: String,
    },
}
