//! [`Store`]: the handle the server uses. It picks the engine from the URL, runs the
//! migrations, and dispatches every operation to the engine's session type.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, SqlitePool};

use crate::codec::Codec;
use crate::config::{StoreConfig, StoreOptions};
use crate::crypto::SecretCipher;
use crate::engine::{postgres, sqlite};
use crate::error::StoreError;
use crate::ops;
use crate::resource::{
    ListQuery, NewResource, Precondition, ResourceKey, StoredResource, TrashedResource, VersionInfo,
};

/// The config store. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    pub(crate) codec: Codec,
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .field("options", &self.codec.options)
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$session` bound to a session of the store's engine, opened by the
/// engine module's `$open` function (`read_session` or `write_session`).
macro_rules! with_session {
    ($store:expr, $open:ident, |$session:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite(pool) => {
                let $session = sqlite::$open(pool).await?;
                $body.await
            }
            Backend::Postgres(pool) => {
                let $session = postgres::$open(pool).await?;
                $body.await
            }
        }
    };
}

impl Store {
    /// Opens the database named by `cfg.database_url` (`sqlite://path?mode=rwc` or
    /// `postgres://...`), loads (or generates) the secret key and applies pending migrations.
    pub async fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        let cipher = SecretCipher::from_source(&cfg.secret_key)?;
        let url = cfg.database_url.trim();
        let backend = if url.starts_with("sqlite:") {
            let pool = sqlite::connect(url, cfg.max_connections).await?;
            sqlite::MIGRATOR.run(&pool).await?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = postgres::connect(url, cfg.max_connections, cfg.acquire_timeout).await?;
            postgres::MIGRATOR.run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Config(
                "unsupported database URL: use sqlite://path/to/file.db?mode=rwc or \
                 postgres://user:password@host:port/database"
                    .into(),
            ));
        };
        let store = Store {
            backend,
            codec: Codec {
                cipher,
                options: cfg.options.clone(),
            },
        };
        tracing::info!(backend = store.backend_name(), "config store opened");
        Ok(store)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A secret for `purpose` derived from the deployment key (see [`SecretCipher::derive`]).
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        self.codec.cipher.derive(purpose)
    }

    /// The per-kind options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.codec.options
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?,
            Backend::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Closes all connections; later calls fail. Waits for checked-out connections.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Creates a resource at version 0 (`created_at` = `updated_at` = now).
    /// `AlreadyExists` if a live resource with the same key exists.
    pub async fn create(&self, new: NewResource) -> Result<StoredResource, StoreError> {
        with_session!(self, write_session, |session| ops::create(
            session,
            &self.codec,
            &new
        ))
    }

    /// Replaces metadata and spec: version + 1, `updated_at` = now, `created_at` kept. For
    /// versioned kinds the previous state is appended to the history in the same transaction.
    /// `NotFound`, `PreconditionFailed`, `StaleVersion`.
    pub async fn update(
        &self,
        upd: NewResource,
        precondition: Precondition,
    ) -> Result<StoredResource, StoreError> {
        with_session!(self, write_session, |session| ops::update(
            session,
            &self.codec,
            &upd,
            precondition
        ))
    }

    /// The live resource with its spec, if it exists.
    pub async fn get(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        with_session!(self, read_session, |session| ops::get(
            session,
            &self.codec,
            key
        ))
    }

    /// Live resources matching `q`, ordered by project (global first), then name. With
    /// `include_spec = false` spec columns are neither read nor decrypted.
    pub async fn list(&self, q: &ListQuery) -> Result<Vec<StoredResource>, StoreError> {
        with_session!(self, read_session, |session| ops::list(
            session,
            &self.codec,
            q
        ))
    }

    /// Deletes a resource; trashable kinds move to the trash (replacing an older trash entry
    /// with the same key). Returns the removed resource's metadata (`spec` is `None`, so a
    /// secret stays deletable even when its key was lost). `NotFound`, `PreconditionFailed`.
    pub async fn delete(
        &self,
        key: &ResourceKey,
        precondition: Precondition,
    ) -> Result<StoredResource, StoreError> {
        with_session!(self, write_session, |session| ops::delete(
            session,
            &self.codec,
            key,
            precondition
        ))
    }

    /// Deletes the `Project` resource named `project` and every resource in that project in
    /// one transaction; trashable kinds go to the trash. `NotFound` if there was nothing.
    pub async fn delete_project(&self, project: &str) -> Result<(), StoreError> {
        with_session!(self, write_session, |session| ops::delete_project(
            session,
            &self.codec,
            project
        ))
    }

    /// The live version followed by past versions, newest first (no specs).
    /// `NotFound` if the resource does not exist.
    pub async fn list_versions(&self, key: &ResourceKey) -> Result<Vec<VersionInfo>, StoreError> {
        with_session!(self, read_session, |session| ops::history::list_versions(
            session, key
        ))
    }

    /// One version (past or current) with its spec; `None` if resource or version is unknown.
    pub async fn get_version(
        &self,
        key: &ResourceKey,
        version: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        with_session!(self, read_session, |session| ops::history::get_version(
            session,
            &self.codec,
            key,
            version
        ))
    }

    /// Writes the metadata and spec of `version` as a new version; the current state goes to
    /// the history. `precondition` applies to the current version.
    /// `NotFound` if the resource or the version does not exist.
    pub async fn restore_version(
        &self,
        key: &ResourceKey,
        version: u64,
        precondition: Precondition,
    ) -> Result<StoredResource, StoreError> {
        with_session!(self, write_session, |session| {
            ops::history::restore_version(session, &self.codec, key, version, precondition)
        })
    }

    /// Trash entries of `kind` (in `project`, or everywhere if `None`), by project and name,
    /// without specs.
    pub async fn list_trash(
        &self,
        kind: &str,
        project: Option<&str>,
    ) -> Result<Vec<TrashedResource>, StoreError> {
        with_session!(self, read_session, |session| ops::trash::list_trash(
            session,
            &self.codec,
            kind,
            project
        ))
    }

    /// Brings a trashed resource back with its version, timestamps and history.
    /// `NotFound` if not in the trash, `AlreadyExists` if a live one took the name.
    pub async fn restore_from_trash(
        &self,
        key: &ResourceKey,
    ) -> Result<StoredResource, StoreError> {
        with_session!(self, write_session, |session| {
            ops::trash::restore_from_trash(session, &self.codec, key)
        })
    }

    /// Removes a trash entry and its history for good. `NotFound` if not in the trash.
    pub async fn purge_from_trash(&self, key: &ResourceKey) -> Result<(), StoreError> {
        with_session!(self, write_session, |session| {
            ops::trash::purge_from_trash(session, key)
        })
    }

    /// Removes every trash entry deleted before `older_than` (typically
    /// `now - options().trash_retention`), with its history. Returns how many were removed.
    pub async fn purge_expired_trash(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        with_session!(self, write_session, |session| {
            ops::trash::purge_expired_trash(session, older_than)
        })
    }
}
