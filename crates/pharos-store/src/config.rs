//! How a store is opened: database URL, pool size, secret key and per-kind behaviour.

use std::path::PathBuf;

use chrono::TimeDelta;

/// Everything [`Store::open`](crate::Store::open) needs.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path/to/pharos.db?mode=rwc` (embedded, default) or `postgres://user@host/db`.
    pub database_url: String,
    /// Where the AES-256 key for encrypted kinds comes from.
    pub secret_key: SecretKeySource,
    /// Upper bound of the connection pool (SQLite in-memory databases always use 1).
    pub max_connections: u32,
    /// How long an operation waits for a pooled connection (PostgreSQL: also for a new
    /// connection while the server is down) before failing with `StoreError::Unavailable`.
    pub acquire_timeout: std::time::Duration,
    /// Which kinds are versioned, trashable and encrypted.
    pub options: StoreOptions,
}

impl StoreConfig {
    /// A configuration with 8 connections, a 3 s acquire timeout and the default
    /// [`StoreOptions`].
    pub fn new(database_url: impl Into<String>, secret_key: SecretKeySource) -> Self {
        StoreConfig {
            database_url: database_url.into(),
            secret_key,
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(3),
            options: StoreOptions::default(),
        }
    }
}

/// Source of the 32-byte key that encrypts the specs of `encrypted_kinds`.
#[derive(Clone)]
pub enum SecretKeySource {
    /// The key itself, base64 (standard alphabet) of exactly 32 bytes.
    Configured(String),
    /// A file holding the base64 key; created with a fresh random key (mode 0600) if missing.
    KeyFile(PathBuf),
}

impl std::fmt::Debug for SecretKeySource {
    // Never print the key itself (configs end up in logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretKeySource::Configured(_) => f.write_str("Configured(<redacted>)"),
            SecretKeySource::KeyFile(path) => f.debug_tuple("KeyFile").field(path).finish(),
        }
    }
}

/// Per-kind behaviour of the store. Kind names are compared exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// Kinds whose updates keep the previous state as a history entry.
    pub versioned_kinds: Vec<String>,
    /// Kinds that move to the trash on delete instead of disappearing.
    pub trashable_kinds: Vec<String>,
    /// Kinds whose spec is encrypted at rest (AES-256-GCM).
    pub encrypted_kinds: Vec<String>,
    /// How many past versions to keep per resource (`None` = all). The live version is extra.
    pub max_versions: Option<u32>,
    /// How long trash entries are kept; only used to report `purge_at`. Purging itself is
    /// done by [`Store::purge_expired_trash`](crate::Store::purge_expired_trash).
    pub trash_retention: TimeDelta,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            versioned_kinds: vec![
                "Dashboard".into(),
                "Template".into(),
                "GlobalTemplate".into(),
            ],
            trashable_kinds: vec!["Dashboard".into()],
            encrypted_kinds: vec![
                "Secret".into(),
                "GlobalSecret".into(),
                // The fleet's cluster credentials (pharos-fleet's registry).
                "ClusterCredentials".into(),
            ],
            max_versions: None,
            trash_retention: TimeDelta::days(30),
        }
    }
}

impl StoreOptions {
    pub(crate) fn is_versioned(&self, kind: &str) -> bool {
        self.versioned_kinds.iter().any(|k| k == kind)
    }

    pub(crate) fn is_trashable(&self, kind: &str) -> bool {
        self.trashable_kinds.iter().any(|k| k == kind)
    }

    pub(crate) fn is_encrypted(&self, kind: &str) -> bool {
        self.encrypted_kinds.iter().any(|k| k == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_a_configured_key() {
        let shown = format!("{:?}", SecretKeySource::Configured("c2VjcmV0".into()));
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }

    #[test]
    fn defaults_version_and_trash_dashboards_and_encrypt_secrets() {
        let options = StoreOptions::default();
        assert!(options.is_versioned("Dashboard") && options.is_trashable("Dashboard"));
        assert!(options.is_encrypted("Secret") && options.is_encrypted("GlobalSecret"));
        assert!(options.is_encrypted("ClusterCredentials"));
        assert!(!options.is_encrypted("Dashboard") && !options.is_versioned("Secret"));
    }
}
