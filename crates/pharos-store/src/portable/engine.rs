//! The database side of export and import, written once and expanded per engine by
//! [`portable_engine!`] (the sqlx row and connection types differ; the statements do not).
//!
//! Table files are read and written with blocking I/O inside the async functions: they are
//! run by the CLI's backup and restore commands, not by the server's request handlers.

use sqlx::{PgConnection, SqliteConnection};

/// `audit_log.seq` is a `BIGSERIAL` on PostgreSQL: imported rows carry their own numbers, so
/// the sequence must continue after the largest (else the next audit entry collides).
async fn fix_sequences_postgres(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), \
         COALESCE(MAX(seq), 0) + 1, false) FROM audit_log",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// SQLite's AUTOINCREMENT counter follows explicitly inserted `seq` values by itself.
async fn fix_sequences_sqlite(_conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    Ok(())
}

/// Generates `mod $module` with `export`, `import` and `non_empty_tables` for one engine.
/// `$begin_read` opens the consistent read transaction of an export; `$begin_write` the write
/// transaction of an import.
macro_rules! portable_engine {
    ($module:ident, $db:ty, $conn:ty, $begin_read:expr, $begin_write:expr, $fix:path) => {
        pub(crate) mod $module {
            use std::collections::BTreeMap;
            use std::fs::File;
            use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
            use std::path::Path;

            use futures::TryStreamExt as _;
            use serde_json::{Map, Value};
            use sqlx::Row as _;

            use crate::error::StoreError;
            use crate::portable::{
                ColumnType, PortableError, TABLES, TableManifest, insert_sql, io_error, parse_row,
                select_sql, table_manifest,
            };

            /// Every table into `<dir>/<table>.jsonl`; returns the tables and the number of
            /// sealed specs.
            pub(crate) async fn export(
                pool: &sqlx::Pool<$db>,
                dir: &Path,
            ) -> Result<(Vec<TableManifest>, u64), PortableError> {
                let mut tx = pool
                    .begin_with($begin_read)
                    .await
                    .map_err(StoreError::from)?;
                let mut tables = Vec::new();
                let mut sealed = 0u64;
                for spec in TABLES {
                    let path = dir.join(format!("{}.jsonl", spec.name));
                    let file = File::create(&path).map_err(io_error(&path))?;
                    let mut out = BufWriter::new(file);
                    let sql = select_sql(spec);
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                    let mut count = 0u64;
                    while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                        let mut object = Map::new();
                        for (index, (column, ty)) in spec.columns.iter().enumerate() {
                            let value = match ty {
                                ColumnType::Text => Value::from(
                                    row.try_get::<String, _>(index).map_err(StoreError::from)?,
                                ),
                                ColumnType::Integer | ColumnType::UnixNanos => Value::from(
                                    row.try_get::<i64, _>(index).map_err(StoreError::from)?,
                                ),
                                ColumnType::Boolean => {
                                    let flag: bool =
                                        row.try_get(index).map_err(StoreError::from)?;
                                    if flag && *column == "spec_sealed" {
                                        sealed += 1;
                                    }
                                    Value::from(flag)
                                }
                            };
                            object.insert((*column).to_owned(), value);
                        }
                        serde_json::to_writer(&mut out, &object)
                            .map_err(|e| io_error(&path)(e.into()))?;
                        out.write_all(b"\n").map_err(io_error(&path))?;
                        count += 1;
                    }
                    drop(rows);
                    let file = out
                        .into_inner()
                        .map_err(|e| io_error(&path)(e.into_error()))?;
                    file.sync_all().map_err(io_error(&path))?;
                    tables.push(table_manifest(spec, count));
                }
                // Read only: nothing to commit.
                tx.rollback().await.map_err(StoreError::from)?;
                Ok((tables, sealed))
            }

            /// Tables with rows, with their row counts.
            pub(crate) async fn non_empty_tables(
                conn: &mut $conn,
            ) -> Result<Vec<(String, u64)>, PortableError> {
                let mut filled = Vec::new();
                for spec in TABLES {
                    let sql = format!("SELECT COUNT(*) FROM {}", spec.name);
                    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(StoreError::from)?;
                    if count > 0 {
                        filled.push((spec.name.to_owned(), count.unsigned_abs()));
                    }
                }
                Ok(filled)
            }

            /// Every table file of `dir` into the (empty) store, in one transaction.
            pub(crate) async fn import(
                pool: &sqlx::Pool<$db>,
                dir: &Path,
                counts: &BTreeMap<String, u64>,
            ) -> Result<(), PortableError> {
                let mut tx = pool
                    .begin_with($begin_write)
                    .await
                    .map_err(StoreError::from)?;
                // Checked inside the write transaction, so nobody fills it in between.
                let filled = non_empty_tables(&mut tx).await?;
                if !filled.is_empty() {
                    let what: Vec<String> = filled
                        .iter()
                        .map(|(table, rows)| format!("{table}: {rows} rows"))
                        .collect();
                    return Err(PortableError::NotEmpty(what.join(", ")));
                }
                for spec in TABLES {
                    let path = dir.join(format!("{}.jsonl", spec.name));
                    let file = File::open(&path).map_err(io_error(&path))?;
                    let sql = insert_sql(spec);
                    let mut rows = 0u64;
                    for line in BufReader::new(file).lines() {
                        let line = line.map_err(io_error(&path))?;
                        rows += 1;
                        let values = parse_row(spec, &line, rows)?;
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                        for (value, (_, ty)) in values.into_iter().zip(spec.columns) {
                            // `parse_row` checked every type, so the defaults never apply.
                            query = match ty {
                                ColumnType::Text => {
                                    query.bind(value.as_str().unwrap_or_default().to_owned())
                                }
                                ColumnType::Integer | ColumnType::UnixNanos => {
                                    query.bind(value.as_i64().unwrap_or_default())
                                }
                                ColumnType::Boolean => {
                                    query.bind(value.as_bool().unwrap_or_default())
                                }
                            };
                        }
                        query.execute(&mut *tx).await.map_err(|e| {
                            PortableError::Invalid(format!(
                                "{}.jsonl line {rows} cannot be stored: {e}",
                                spec.name
                            ))
                        })?;
                    }
                    let expected = counts.get(spec.name).copied().unwrap_or(0);
                    if rows != expected {
                        return Err(PortableError::Invalid(format!(
                            "{}.jsonl has {rows} rows but the manifest says {expected}",
                            spec.name
                        )));
                    }
                }
                $fix(&mut tx).await.map_err(StoreError::from)?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(())
            }
        }
    };
}

portable_engine!(
    sqlite,
    sqlx::Sqlite,
    sqlx::SqliteConnection,
    // Deferred: the first read fixes the snapshot the whole export sees (WAL mode).
    "BEGIN",
    // Takes the write lock at once, like the store's own writes.
    "BEGIN IMMEDIATE",
    super::fix_sequences_sqlite
);

portable_engine!(
    postgres,
    sqlx::Postgres,
    sqlx::PgConnection,
    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    "BEGIN",
    super::fix_sequences_postgres
);
