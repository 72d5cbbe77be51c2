//! PostgreSQL: pool, sessions and the statements that differ from SQLite.
//!
//! Read-modify-write transactions lock the rows they read with `FOR UPDATE`, so concurrent
//! writers of the same resource (also from other replicas) queue instead of racing.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Transaction};

use crate::engine::EngineSql;
use crate::engine::sql::{
    FIND_LIVE_FOR_UPDATE, FIND_TRASH_FOR_UPDATE, PROJECT_LIVE_FOR_UPDATE, like_prefix_pattern,
};
use crate::error::StoreError;

/// Schema migrations, embedded at build time. sqlx takes an advisory lock while migrating, so
/// replicas starting together apply them once.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

const DIALECT: EngineSql<Postgres> = EngineSql {
    lock_live: FIND_LIVE_FOR_UPDATE,
    lock_project: PROJECT_LIVE_FOR_UPDATE,
    lock_trash: FIND_TRASH_FOR_UPDATE,
    push_name_prefix,
};

/// Names use the "C" collation, so LIKE is case-sensitive and can use the index.
fn push_name_prefix(builder: &mut QueryBuilder<Postgres>, prefix: &str) {
    builder
        .push(" AND name LIKE ")
        .push_bind(like_prefix_pattern(prefix))
        .push(" ESCAPE '\\'");
}

/// A session on a pooled connection (`C = PoolConnection`) or a transaction.
pub(crate) struct PgSession<C> {
    conn: C,
}

crate::engine::impl_session!(PgSession, Postgres, PgConnection, PgRow, DIALECT);

/// A session for reads outside a transaction.
pub(crate) async fn read_session(
    pool: &PgPool,
) -> Result<PgSession<PoolConnection<Postgres>>, sqlx::Error> {
    Ok(PgSession {
        conn: pool.acquire().await?,
    })
}

/// A read-committed write transaction; rows are locked as they are read.
pub(crate) async fn write_session(
    pool: &PgPool,
) -> Result<PgSession<Transaction<'static, Postgres>>, sqlx::Error> {
    Ok(PgSession {
        conn: pool.begin().await?,
    })
}

/// Opens the pool (the URL is parsed by sqlx: `postgres://user:password@host:port/db?...`).
pub(crate) async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(acquire_timeout)
        // No ping before each use: it doubles the round trips of every request (measured by
        // the failure drills under 500 ms of latency). A connection that died meanwhile fails
        // its one statement with `Unavailable` (a 503) and is dropped by the pool.
        .test_before_acquire(false)
        .connect(url)
        .await
        .map_err(|err| match err {
            sqlx::Error::Configuration(why) => {
                StoreError::Config(format!("invalid PostgreSQL URL: {why}"))
            }
            other => StoreError::from(other),
        })
}
