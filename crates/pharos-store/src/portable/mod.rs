//! Portable export and import of the whole config store (`pharos backup` / `pharos restore`).
//!
//! Every table is written as JSON lines, one object per row with the table's columns as keys,
//! in a form both engines read: text as strings, integers (versions, `seq`, and every timestamp
//! as UTC unix nanoseconds, which is how both schemas store them) as numbers, flags as
//! booleans. Specs of encrypted kinds stay sealed: the archive never holds a plaintext secret,
//! and it records a fingerprint of the key that sealed them so an import can refuse a store
//! that would not decrypt them.
//!
//! [`Store::export`] reads every table through one read transaction (PostgreSQL: `REPEATABLE
//! READ, READ ONLY`; SQLite: one snapshot of the WAL), so the tables agree with each other even
//! while Pharos keeps writing. [`Store::import`] writes into an empty store in one transaction,
//! keeping uids, versions, sequence numbers and timestamps, and moves PostgreSQL's `audit_log`
//! sequence past the imported entries.

mod engine;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::store::{Backend, Store};

/// Version of the row format written by [`Store::export`]; [`Store::import`] reads only this.
pub const CONFIG_FORMAT_VERSION: u32 = 1;

/// The type of a column in the portable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// A JSON string.
    Text,
    /// A JSON integer (i64).
    Integer,
    /// A point in time: a JSON integer of UTC unix nanoseconds (0 = never).
    UnixNanos,
    /// A JSON boolean.
    Boolean,
}

/// One table of the portable form: its columns in order and the key rows are written by.
pub(crate) struct TableSpec {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [(&'static str, ColumnType)],
    pub(crate) order_by: &'static str,
}

use ColumnType::{Boolean, Integer, Text, UnixNanos};

/// Every table of the schema (migrations included). A table missing here would be silently
/// left out of backups, so a test compares this list with the database's own.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "resources",
        columns: &[
            ("uid", Text),
            ("kind", Text),
            ("project", Text),
            ("name", Text),
            ("version", Integer),
            ("created_at", UnixNanos),
            ("updated_at", UnixNanos),
            ("metadata_extra", Text),
            ("spec_sealed", Boolean),
            ("spec", Text),
        ],
        order_by: "uid",
    },
    TableSpec {
        name: "resource_versions",
        columns: &[
            ("resource_uid", Text),
            ("version", Integer),
            ("updated_at", UnixNanos),
            ("metadata_extra", Text),
            ("spec_sealed", Boolean),
            ("spec", Text),
        ],
        order_by: "resource_uid, version",
    },
    TableSpec {
        name: "trash",
        columns: &[
            ("uid", Text),
            ("kind", Text),
            ("project", Text),
            ("name", Text),
            ("version", Integer),
            ("created_at", UnixNanos),
            ("updated_at", UnixNanos),
            ("deleted_at", UnixNanos),
            ("metadata_extra", Text),
            ("spec_sealed", Boolean),
            ("spec", Text),
        ],
        order_by: "uid",
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("seq", Integer),
            ("at", UnixNanos),
            ("request_id", Text),
            ("actor", Text),
            ("action", Text),
            ("resource", Text),
            ("project", Text),
            ("name", Text),
            ("result", Text),
            ("status", Integer),
            ("client_ip", Text),
            ("detail", Text),
        ],
        order_by: "seq",
    },
    TableSpec {
        name: "credentials",
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("digest", Text),
            ("owner", Text),
            ("project", Text),
            ("target", Text),
            ("scope", Text),
            ("created_at", UnixNanos),
            ("expires_at", UnixNanos),
            ("revoked_at", UnixNanos),
            ("last_used_at", UnixNanos),
        ],
        order_by: "id",
    },
    TableSpec {
        name: "user_preferences",
        columns: &[
            ("username", Text),
            ("document", Text),
            ("updated_at", UnixNanos),
        ],
        order_by: "username",
    },
];

/// What an export wrote, to be kept beside the table files and handed back to
/// [`Store::import`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigManifest {
    /// [`CONFIG_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// `sqlite` or `postgres`.
    pub source_engine: String,
    /// The newest schema migration of the source.
    pub schema_version: i64,
    /// See [`Store::key_fingerprint`].
    pub key_fingerprint: String,
    /// Specs stored encrypted (live, history and trash), which need the same key.
    pub sealed_specs: u64,
    /// Every table, in the order written.
    pub tables: Vec<TableManifest>,
}

/// One table file: `<name>.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableManifest {
    /// Table name (also the file's stem).
    pub name: String,
    /// Rows in the file.
    pub rows: u64,
    /// Column names and types, in order.
    pub columns: Vec<(String, ColumnType)>,
}

impl ConfigManifest {
    /// Rows per table, by name.
    pub fn row_counts(&self) -> BTreeMap<String, u64> {
        self.tables
            .iter()
            .map(|t| (t.name.clone(), t.rows))
            .collect()
    }
}

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum PortableError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The archive's table files do not match its manifest or this version's schema.
    #[error("the backup's config data is invalid: {0}")]
    Invalid(String),
    /// The target already holds data; nothing was written.
    #[error(
        "the target config store is not empty ({0}); restore only into an empty database: \
         create a new PostgreSQL database or point --data-dir at a new directory (nothing was \
         changed)"
    )]
    NotEmpty(String),
    /// The target's secret key differs from the one that sealed the archive's secrets.
    #[error(
        "the backup holds {sealed} encrypted secret(s) sealed with another secret key \
         (fingerprint {archive}, this store's key has {target}); bring the original key: copy \
         secret.key from the old data dir into the new one, or set security.encryption_key in \
         the config file to the old value (nothing was changed)"
    )]
    KeyMismatch {
        /// Sealed specs in the archive.
        sealed: u64,
        /// Fingerprint recorded in the archive.
        archive: String,
        /// Fingerprint of the target's key.
        target: String,
    },
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PortableError + '_ {
    move |source| PortableError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Store {
    /// A public fingerprint of the secret key: the first 16 bytes of a secret derived for this
    /// purpose alone (HMAC-based, so it reveals nothing about the key), as hex. Two stores with
    /// the same fingerprint decrypt each other's secrets.
    pub fn key_fingerprint(&self) -> String {
        let derived = self.derive_secret("pharos backup key fingerprint v1");
        derived[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Writes every table as `<dir>/<table>.jsonl` from one consistent read transaction and
    /// returns the manifest describing them. `dir` must exist.
    pub async fn export(&self, dir: &Path) -> Result<ConfigManifest, PortableError> {
        let (tables, sealed_specs) = match &self.backend {
            Backend::Sqlite(pool) => engine::sqlite::export(pool, dir).await?,
            Backend::Postgres(pool) => engine::postgres::export(pool, dir).await?,
        };
        Ok(ConfigManifest {
            format_version: CONFIG_FORMAT_VERSION,
            source_engine: self.backend_name().to_owned(),
            schema_version: self.schema_version(),
            key_fingerprint: self.key_fingerprint(),
            sealed_specs,
            tables,
        })
    }

    /// Rows per table that hold data (empty when the store is empty).
    pub async fn non_empty_tables(&self) -> Result<Vec<(String, u64)>, PortableError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                engine::sqlite::non_empty_tables(&mut conn).await
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                engine::postgres::non_empty_tables(&mut conn).await
            }
        }
    }

    /// Checks that `manifest` can be imported here: its format and schema, its tables and
    /// columns against this version's, and the secret key. Touches no data.
    pub fn check_import(&self, manifest: &ConfigManifest) -> Result<(), PortableError> {
        if manifest.format_version != CONFIG_FORMAT_VERSION {
            return Err(PortableError::Invalid(format!(
                "config format version {} is not supported (this Pharos reads version {})",
                manifest.format_version, CONFIG_FORMAT_VERSION
            )));
        }
        if manifest.schema_version != self.schema_version() {
            return Err(PortableError::Invalid(format!(
                "the backup has schema version {} but this Pharos has {}; restore with the \
                 Pharos version that wrote the backup, then upgrade",
                manifest.schema_version,
                self.schema_version()
            )));
        }
        let names: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
        let expected: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        if names != expected {
            return Err(PortableError::Invalid(format!(
                "tables {names:?} do not match this version's {expected:?}"
            )));
        }
        for (table, spec) in manifest.tables.iter().zip(TABLES) {
            let same = table.columns.len() == spec.columns.len()
                && table
                    .columns
                    .iter()
                    .zip(spec.columns)
                    .all(|((name, ty), (want, want_ty))| name == want && ty == want_ty);
            if !same {
                return Err(PortableError::Invalid(format!(
                    "the columns of {} differ from this version's",
                    table.name
                )));
            }
        }
        let target = self.key_fingerprint();
        if manifest.sealed_specs > 0 && manifest.key_fingerprint != target {
            return Err(PortableError::KeyMismatch {
                sealed: manifest.sealed_specs,
                archive: manifest.key_fingerprint.clone(),
                target,
            });
        }
        Ok(())
    }

    /// Imports the table files of `dir` described by `manifest` into this store, which must be
    /// empty, in one transaction: on any error nothing is written. Returns rows per table.
    pub async fn import(
        &self,
        dir: &Path,
        manifest: &ConfigManifest,
    ) -> Result<BTreeMap<String, u64>, PortableError> {
        self.check_import(manifest)?;
        let counts = manifest.row_counts();
        match &self.backend {
            Backend::Sqlite(pool) => engine::sqlite::import(pool, dir, &counts).await?,
            Backend::Postgres(pool) => engine::postgres::import(pool, dir, &counts).await?,
        }
        Ok(counts)
    }

    /// The newest migration this build applies (the same numbering on both engines).
    fn schema_version(&self) -> i64 {
        let migrator = match &self.backend {
            Backend::Sqlite(_) => &crate::engine::sqlite::MIGRATOR,
            Backend::Postgres(_) => &crate::engine::postgres::MIGRATOR,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// One JSON line → the row's values in column order, checked against the column types.
pub(crate) fn parse_row(
    spec: &TableSpec,
    line: &str,
    line_no: u64,
) -> Result<Vec<Value>, PortableError> {
    let invalid =
        |why: String| PortableError::Invalid(format!("{}.jsonl line {line_no}: {why}", spec.name));
    let object: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| invalid(format!("not a JSON object ({e})")))?;
    if object.len() != spec.columns.len() {
        return Err(invalid(format!(
            "{} columns instead of {}",
            object.len(),
            spec.columns.len()
        )));
    }
    spec.columns
        .iter()
        .map(|(column, ty)| {
            let value = object
                .get(*column)
                .ok_or_else(|| invalid(format!("column {column} is missing")))?;
            let fits = match ty {
                Text => value.is_string(),
                Integer | UnixNanos => value.is_i64(),
                Boolean => value.is_boolean(),
            };
            if fits {
                Ok(value.clone())
            } else {
                Err(invalid(format!("column {column} is not of type {ty:?}")))
            }
        })
        .collect()
}

/// The manifest entry of `spec` with `rows` rows.
pub(crate) fn table_manifest(spec: &TableSpec, rows: u64) -> TableManifest {
    TableManifest {
        name: spec.name.to_owned(),
        rows,
        columns: spec
            .columns
            .iter()
            .map(|(name, ty)| ((*name).to_owned(), *ty))
            .collect(),
    }
}

/// `INSERT INTO t (c1, ...) VALUES ($1, ...)` for a table of [`TABLES`].
pub(crate) fn insert_sql(spec: &TableSpec) -> String {
    let columns: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        spec.name,
        columns.join(", "),
        placeholders.join(", ")
    )
}

/// `SELECT c1, ... FROM t ORDER BY key` for a table of [`TABLES`].
pub(crate) fn select_sql(spec: &TableSpec) -> String {
    let columns: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        spec.name,
        spec.order_by
    )
}
