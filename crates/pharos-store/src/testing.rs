//! Throw-away stores for tests (this crate's and the server's). Behind the `testing` feature.
//!
//! PostgreSQL tests need `PHAROS_TEST_DATABASE_URL` (a server and a database the user may
//! `CREATE DATABASE` from, e.g. `postgres://postgres@127.0.0.1:15432/postgres`); every call
//! creates a fresh database named `pharos_test_<random>`, which is left behind for
//! inspection (use a throw-away server). Without the variable PostgreSQL tests are skipped,
//! unless `PHAROS_REQUIRE_POSTGRES=1`, which turns the skip into a failure so CI cannot
//! silently test SQLite only. The helpers panic on setup failures: they are test fixtures.

use std::path::Path;

use sqlx::Connection as _;

use crate::config::{SecretKeySource, StoreConfig, StoreOptions};
use crate::crypto::SecretCipher;
use crate::engine::sql;
use crate::error::StoreError;
use crate::resource::ResourceKey;
use crate::store::{Backend, Store};

/// Environment variable with the PostgreSQL URL used to create test databases.
pub const TEST_DATABASE_URL_VAR: &str = "PHAROS_TEST_DATABASE_URL";
/// Set to `1` to make a missing [`TEST_DATABASE_URL_VAR`] a test failure.
pub const REQUIRE_POSTGRES_VAR: &str = "PHAROS_REQUIRE_POSTGRES";

/// Keeps a test's SQLite directory alive; it is deleted when dropped.
#[derive(Debug)]
pub struct TempDirGuard(tempfile::TempDir);

impl TempDirGuard {
    /// The directory holding the database and key file.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh random secret key.
pub fn random_secret_key() -> SecretKeySource {
    SecretKeySource::Configured(SecretCipher::generate_key_base64())
}

/// A SQLite store with default options in a new temporary directory.
pub async fn sqlite_store() -> (Store, TempDirGuard) {
    sqlite_store_with(StoreOptions::default()).await
}

/// A SQLite store with the given options in a new temporary directory.
pub async fn sqlite_store_with(options: StoreOptions) -> (Store, TempDirGuard) {
    let dir = tempfile::tempdir()
        .unwrap_or_else(|err| panic!("cannot create a temporary directory: {err}"));
    let guard = TempDirGuard(dir);
    let mut config = StoreConfig::new(
        format!(
            "sqlite://{}?mode=rwc",
            guard.path().join("pharos.db").display()
        ),
        random_secret_key(),
    );
    config.options = options;
    (open_or_panic(&config).await, guard)
}

/// A PostgreSQL store with default options on a fresh database, or `None` if
/// `PHAROS_TEST_DATABASE_URL` is unset (panics instead if `PHAROS_REQUIRE_POSTGRES=1`).
pub async fn postgres_store() -> Option<Store> {
    postgres_store_with(StoreOptions::default()).await
}

/// Like [`postgres_store`], with the given options.
pub async fn postgres_store_with(options: StoreOptions) -> Option<Store> {
    let mut config = StoreConfig::new(fresh_postgres_database().await?, random_secret_key());
    config.options = options;
    Some(open_or_panic(&config).await)
}

/// Creates a uniquely named database on the test server and returns its URL; `None` if
/// PostgreSQL tests are not configured (see the module documentation).
pub async fn fresh_postgres_database() -> Option<String> {
    let Ok(admin_url) = std::env::var(TEST_DATABASE_URL_VAR) else {
        if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
            panic!(
                "{REQUIRE_POSTGRES_VAR}=1 but {TEST_DATABASE_URL_VAR} is not set: point it at a \
                 PostgreSQL server, e.g. postgres://postgres@127.0.0.1:15432/postgres"
            );
        }
        return None;
    };
    let name = format!("pharos_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to {TEST_DATABASE_URL_VAR}: {err}"));
    // The name is generated above (hex only), so formatting it into SQL is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
    let _ = admin.close().await;
    let mut url = url::Url::parse(&admin_url)
        .unwrap_or_else(|err| panic!("{TEST_DATABASE_URL_VAR} is not a URL: {err}"));
    url.set_path(&format!("/{name}"));
    Some(url.into())
}

async fn open_or_panic(config: &StoreConfig) -> Store {
    Store::open(config)
        .await
        .unwrap_or_else(|err| panic!("cannot open the test store: {err}"))
}

/// The same database seen through another secret key (to test wrong-key behaviour).
pub fn with_secret_key(store: &Store, key: &SecretKeySource) -> Result<Store, StoreError> {
    let mut other = store.clone();
    other.codec.cipher = SecretCipher::from_source(key)?;
    Ok(other)
}

/// The raw `spec` column of a live resource, exactly as stored (to check encryption).
pub async fn raw_spec_column(
    store: &Store,
    key: &ResourceKey,
) -> Result<Option<String>, StoreError> {
    let text = match &store.backend {
        Backend::Sqlite(pool) => {
            sqlx::query_scalar(sql::RAW_SPEC)
                .bind(key.kind.as_str())
                .bind(key.stored_project())
                .bind(key.name.as_str())
                .fetch_optional(pool)
                .await?
        }
        Backend::Postgres(pool) => {
            sqlx::query_scalar(sql::RAW_SPEC)
                .bind(key.kind.as_str())
                .bind(key.stored_project())
                .bind(key.name.as_str())
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(text)
}
