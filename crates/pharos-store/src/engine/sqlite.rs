//! SQLite: connection settings, sessions and the statements that differ from PostgreSQL.
//!
//! Write transactions start with `BEGIN IMMEDIATE`: they take the write lock up front, so two
//! read-modify-write transactions queue behind each other (for up to `busy_timeout`) instead
//! of failing when one upgrades its read lock. That is SQLite's equivalent of `FOR UPDATE`,
//! so the lock statements are the plain reads.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::engine::EngineSql;
use crate::error::StoreError;

/// Schema migrations, embedded at build time.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const DIALECT: EngineSql<Sqlite> = EngineSql {
    lock_live: crate::engine::sql::FIND_LIVE,
    lock_project: crate::engine::sql::PROJECT_LIVE,
    lock_trash: crate::engine::sql::FIND_TRASH,
    push_name_prefix,
};

/// SQLite's LIKE ignores ASCII case, so the `substr` comparison makes the match exact; LIKE
/// stays in front because it can use the (kind, project, name) index.
fn push_name_prefix(builder: &mut QueryBuilder<Sqlite>, prefix: &str) {
    builder
        .push(" AND name LIKE ")
        .push_bind(crate::engine::sql::like_prefix_pattern(prefix))
        .push(" ESCAPE '\\' AND substr(name, 1, length(")
        .push_bind(prefix.to_owned())
        .push(")) = ")
        .push_bind(prefix.to_owned());
}

/// A session on a pooled connection (`C = PoolConnection`) or a transaction.
pub(crate) struct SqliteSession<C> {
    conn: C,
}

crate::engine::impl_session!(SqliteSession, Sqlite, SqliteConnection, SqliteRow, DIALECT);

/// A session for reads outside a transaction.
pub(crate) async fn read_session(
    pool: &SqlitePool,
) -> Result<SqliteSession<PoolConnection<Sqlite>>, sqlx::Error> {
    Ok(SqliteSession {
        conn: pool.acquire().await?,
    })
}

/// A write transaction holding SQLite's write lock from the start.
pub(crate) async fn write_session(
    pool: &SqlitePool,
) -> Result<SqliteSession<Transaction<'static, Sqlite>>, sqlx::Error> {
    Ok(SqliteSession {
        conn: pool.begin_with("BEGIN IMMEDIATE").await?,
    })
}

/// Opens the pool: WAL journal (readers never block the writer), foreign keys on, a busy
/// timeout for queued writers. Creates the database's directory if needed.
pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|err| StoreError::Config(format!("invalid SQLite URL {url:?}: {err}")))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory {
        create_parent_dir(options.get_filename())?;
    }
    let pool_options = if in_memory {
        // Every connection would otherwise see its own empty database, and the database
        // disappears when its last connection closes.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(max_connections.max(1))
    };
    pool_options
        .connect_with(options)
        .await
        .map_err(StoreError::from)
}

fn create_parent_dir(file: &std::path::Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|err| {
                StoreError::Config(format!(
                    "cannot create the database directory {}: {err}",
                    dir.display()
                ))
            }),
        _ => Ok(()),
    }
}
