//! The store's error type.

/// Everything that can go wrong in the store. The HTTP layer maps the first variants to
/// 404 / 409 / 412; the others are server-side failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource (or the requested version / trash entry) does not exist.
    #[error("resource not found")]
    NotFound,
    /// A live resource with the same kind, project and name already exists.
    #[error("a resource with this kind, project and name already exists")]
    AlreadyExists,
    /// `Precondition::IfVersion` did not match the stored version.
    #[error(
        "the resource was modified in the meantime: its current version is {current}; \
         fetch it again and retry with that version"
    )]
    PreconditionFailed {
        /// The version currently stored.
        current: u64,
    },
    /// `Precondition::NotOlderThan`: the client edited an older version than the stored one.
    #[error(
        "the resource was edited from version {sent} but is now at version {current}; \
         fetch the latest version and apply the changes again"
    )]
    StaleVersion {
        /// The version the client based its change on.
        sent: u64,
        /// The version currently stored.
        current: u64,
    },
    /// The caller passed a value the store cannot accept (e.g. an empty project name).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database reported an error (connection, constraint, I/O, ...).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying the embedded schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Encrypting or decrypting a secret failed, or the secret key is unusable.
    #[error("secret encryption: {0}")]
    Crypto(String),
    /// The store configuration is invalid (URL, key file, ...).
    #[error("store configuration: {0}")]
    Config(String),
    /// A stored row could not be decoded (e.g. invalid JSON written by another tool).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(err)
    }
}

/// Maps a unique-key violation to [`StoreError::AlreadyExists`], anything else to `Database`.
pub(crate) fn map_insert_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AlreadyExists,
        _ => StoreError::Database(err),
    }
}
