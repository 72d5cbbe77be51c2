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
    /// The database reported an error (constraint, bad statement, ...).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database cannot be reached right now (connection refused or lost, shutting down,
    /// no free connection within the pool's acquire timeout). Transient: the same request may
    /// succeed once the database is back, so callers answer "unavailable, retry" rather than
    /// "internal error".
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
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
        if is_unavailable(&err) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Database(err)
        }
    }
}

impl StoreError {
    /// Whether the error says the database is unreachable for now (see [`Self::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether `err` means "the database is not reachable now" rather than "this statement failed".
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // A connection that broke in the middle of the wire protocol.
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of a server that is going away or not accepting yet: class 08
/// (connection exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
/// now (starting up or in recovery), 53300 too many connections. SQLite's 5 (`SQLITE_BUSY`)
/// and 6 (`SQLITE_LOCKED`) are a writer holding the file past the busy timeout.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "5" | "6")
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
        _ => StoreError::from(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_failed_statements_are_not() {
        for outage in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            assert!(StoreError::from(outage).is_unavailable());
        }
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(is_unavailable_code("08006") && is_unavailable_code("57P01"));
        assert!(!is_unavailable_code("23505") && !is_unavailable_code("42P01"));
    }
}
