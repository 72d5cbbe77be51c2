//! `pharos backup` and `pharos restore`: the config store (every table, either engine) and a
//! snapshot of the embedded metrics store in one `tar` + gzip archive:
//!
//! ```text
//! manifest.json          format version, Pharos version, source engine, time, row counts,
//!                        key fingerprint, whether and what metrics are included
//! config/<table>.jsonl   one JSON object per row (see pharos_store::portable)
//! tsdb/blocks/..., tsdb/wal/checkpoint.00000000/...   an openable metrics store
//! ```
//!
//! The config part is read in one read transaction, so it is consistent while Pharos runs.
//! The metrics part needs the store's directory lock, so it is taken from a stopped Pharos
//! (`--no-tsdb` leaves it out). A restore validates the whole archive (it is unpacked into a
//! staging directory first) and refuses non-empty targets before it writes anything.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use pharos_store::{ConfigManifest, SecretKeySource, Store, StoreConfig};
use pharos_tsdb::{Db, DbError};
use serde::{Deserialize, Serialize};

use crate::cli::{BackupArgs, RestoreArgs, Settings};

/// Version of the archive layout; a restore reads only this one.
pub const ARCHIVE_FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const CONFIG_DIR: &str = "config";
const TSDB_DIR: &str = "tsdb";

/// The archive's `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`ARCHIVE_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Version of the Pharos that wrote it.
    pub pharos_version: String,
    /// When the backup was taken (RFC 3339, UTC).
    pub created_at: String,
    /// The config store's tables, engine and key fingerprint.
    pub config: ConfigManifest,
    /// The metrics snapshot, when included.
    pub tsdb: Option<TsdbManifest>,
}

/// What the metrics snapshot holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct TsdbManifest {
    /// Blocks.
    pub blocks: usize,
    /// Series in the head.
    pub head_series: u64,
    /// Samples in blocks and head.
    pub samples: u64,
}

/// Refusals with what to do about them.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The metrics store's directory lock is held.
    #[error(
        "the metrics store in {0} is in use (is Pharos running on this data dir?): stop Pharos \
         first, or pass --no-tsdb to back up only the config store, which is safe while Pharos runs"
    )]
    TsdbInUse(PathBuf),
    /// A SQLite URL points at a database file that does not exist.
    #[error(
        "there is no config store at {0}: pass the --data-dir (or --database-url) Pharos runs with"
    )]
    NoDatabase(PathBuf),
    /// No key to open the store with.
    #[error(
        "{0} does not exist and security.encryption_key is not set: copy secret.key from the \
         data dir Pharos ran with{1}"
    )]
    NoKey(PathBuf, &'static str),
    /// The output exists already.
    #[error("{0} exists; choose another --output or remove it first")]
    OutputExists(PathBuf),
    /// The archive cannot be read.
    #[error("{0} is not a readable Pharos backup ({1}); nothing was changed")]
    Damaged(PathBuf, String),
    /// The target metrics directory holds data.
    #[error(
        "the metrics store directory {0} is not empty; restore into a new data dir (or \
         --tsdb-path), or pass --no-tsdb to restore only the config store (nothing was changed)"
    )]
    TsdbNotEmpty(PathBuf),
}

/// The store as `pharos serve` opens it (same URL and key source), for backup or restore.
async fn open_store(settings: &Settings, must_exist: bool) -> anyhow::Result<Store> {
    let url = settings.database_url.trim();
    if let Some(file) = sqlite_file(url)
        && must_exist
        && !file.exists()
    {
        return Err(BackupError::NoDatabase(file).into());
    }
    let secret_key = match &settings.encryption_key {
        Some(key) => SecretKeySource::Configured(key.clone()),
        None => {
            let path = settings.data_dir.join("secret.key");
            if must_exist && !path.exists() {
                return Err(BackupError::NoKey(path, "").into());
            }
            SecretKeySource::KeyFile(path)
        }
    };
    Store::open(&StoreConfig::new(url, secret_key))
        .await
        .context("cannot open the config store")
}

/// The database file of a `sqlite://PATH?...` URL (`None` for PostgreSQL and in-memory).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Opens the metrics store for a snapshot; its lock keeps Pharos from starting meanwhile.
async fn open_tsdb(settings: &Settings) -> anyhow::Result<Db> {
    let path = settings.tsdb.path.clone();
    let options = settings.tsdb.options.clone();
    match tokio::task::spawn_blocking(move || Db::open(&path, options)).await? {
        Ok(db) => Ok(db),
        Err(DbError::Locked(dir)) => Err(BackupError::TsdbInUse(dir).into()),
        Err(err) => Err(err).with_context(|| {
            format!(
                "cannot open the metrics store in {}",
                settings.tsdb.path.display()
            )
        }),
    }
}

/// `pharos backup --output FILE [--no-tsdb]`.
pub async fn backup(settings: &Settings, args: &BackupArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.output.exists() {
        return Err(BackupError::OutputExists(args.output.clone()).into());
    }
    // First, so a running Pharos is reported before any work is done.
    let db = if args.no_tsdb || !settings.tsdb.path.exists() {
        None
    } else {
        Some(open_tsdb(settings).await?)
    };
    let store = open_store(settings, true).await?;
    let parent = match args.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".pharos-backup-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a staging directory in {}", parent.display()))?;
    let config_dir = staging.path().join(CONFIG_DIR);
    fs::create_dir_all(&config_dir)?;
    let config = store.export(&config_dir).await?;
    store.close().await;

    let tsdb = match db {
        None => None,
        Some(db) => {
            let target = staging.path().join(TSDB_DIR);
            let report = tokio::task::spawn_blocking(move || {
                let report = db.snapshot(&target);
                // Checkpoints the head, as a stopping Pharos does, so the backup leaves the
                // directory as tidy as it found it.
                let closed = db.close();
                report.and_then(|report| closed.map(|()| report))
            })
            .await?
            .context("cannot snapshot the metrics store")?;
            Some(TsdbManifest {
                blocks: report.blocks,
                head_series: report.head_series,
                samples: report.block_samples + report.head_samples,
            })
        }
    };
    let manifest = Manifest {
        format_version: ARCHIVE_FORMAT_VERSION,
        pharos_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        config,
        tsdb,
    };
    fs::write(
        staging.path().join(MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    let size = write_archive(staging.path(), &args.output)?;
    print_summary("backup", &manifest, &args.output, size, started);
    Ok(())
}

/// Packs `staging` into `output` (manifest first), through a temporary file renamed into place
/// so a failed backup never leaves a half archive under the requested name. Mode 0600: the
/// archive holds credential digests and sealed secrets.
fn write_archive(staging: &Path, output: &Path) -> anyhow::Result<u64> {
    let mut temporary = output.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    let file = private_file(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    let gzip = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    tar.append_path_with_name(staging.join(MANIFEST), MANIFEST)?;
    tar.append_dir_all(CONFIG_DIR, staging.join(CONFIG_DIR))?;
    if staging.join(TSDB_DIR).exists() {
        tar.append_dir_all(TSDB_DIR, staging.join(TSDB_DIR))?;
    }
    let gzip = tar.into_inner()?;
    let mut buffered = gzip.finish()?;
    buffered.flush()?;
    let file = buffered.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    fs::rename(&temporary, output)
        .with_context(|| format!("cannot move the archive to {}", output.display()))?;
    Ok(size)
}

fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// `pharos restore --input FILE [--no-tsdb]`.
pub async fn restore(settings: &Settings, args: &RestoreArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = &settings.data_dir;
    let created_data_dir = !data_dir.exists();
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let result = restore_into(settings, args, started).await;
    if result.is_err() && created_data_dir {
        // Only succeeds when empty: a refused restore leaves no new directory behind.
        let _ = fs::remove_dir(data_dir);
    }
    result
}

async fn restore_into(
    settings: &Settings,
    args: &RestoreArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".pharos-restore-")
        .tempdir_in(&settings.data_dir)
        .context("cannot create a staging directory in the data dir")?;
    let manifest = unpack(&args.input, staging.path())?;
    let with_tsdb = manifest.tsdb.is_some() && !args.no_tsdb;
    if with_tsdb && !is_empty_or_missing(&settings.tsdb.path)? {
        return Err(BackupError::TsdbNotEmpty(settings.tsdb.path.clone()).into());
    }
    let key_file = settings.data_dir.join("secret.key");
    if settings.encryption_key.is_none() && !key_file.exists() && manifest.config.sealed_specs > 0 {
        return Err(BackupError::NoKey(
            key_file,
            ", because the backup holds encrypted secrets (nothing was changed)",
        )
        .into());
    }
    let store = open_store(settings, false).await?;
    store.check_import(&manifest.config)?;
    let filled = store.non_empty_tables().await?;
    if !filled.is_empty() {
        let what: Vec<String> = filled
            .iter()
            .map(|(table, rows)| format!("{table}: {rows} rows"))
            .collect();
        return Err(pharos_store::PortableError::NotEmpty(what.join(", ")).into());
    }

    // Everything is checked: the metrics first (easy to take back), then the config store in
    // one transaction.
    if with_tsdb {
        move_dir(&staging.path().join(TSDB_DIR), &settings.tsdb.path)?;
    }
    if let Err(err) = store
        .import(&staging.path().join(CONFIG_DIR), &manifest.config)
        .await
    {
        if with_tsdb {
            let _ = fs::remove_dir_all(&settings.tsdb.path);
        }
        return Err(err.into());
    }
    store.close().await;
    if with_tsdb {
        // Proves the restored directory opens, and closes it checkpointed.
        let db = Arc::new(open_tsdb(settings).await?);
        crate::tsdb::close(db).await;
    }
    let size = fs::metadata(&args.input).map(|m| m.len()).unwrap_or(0);
    print_summary("restore", &manifest, &args.input, size, started);
    if !with_tsdb && manifest.tsdb.is_some() {
        println!("  metrics: left out (--no-tsdb)");
    }
    Ok(())
}

/// Unpacks the whole archive into `staging` and reads its manifest; any damage (truncated
/// gzip, bad tar, unexpected entries, missing or unknown manifest) is refused here, before the
/// target is touched.
fn unpack(input: &Path, staging: &Path) -> anyhow::Result<Manifest> {
    let damaged = |why: String| BackupError::Damaged(input.to_owned(), why);
    let file = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let entries = archive.entries().map_err(|e| damaged(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| damaged(e.to_string()))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(damaged(format!("unexpected entry type {kind:?}")).into());
        }
        // `unpack_in` refuses paths that would leave `staging`.
        let inside = entry
            .unpack_in(staging)
            .map_err(|e| damaged(e.to_string()))?;
        if !inside {
            return Err(damaged("an entry points outside the archive".into()).into());
        }
    }
    // tar stops at its end marker; reading on to the end of the gzip stream makes the decoder
    // check its CRC, so a flipped bit inside a file's data is caught too.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| damaged(e.to_string()))?;
    let text =
        fs::read(staging.join(MANIFEST)).map_err(|_| damaged("manifest.json is missing".into()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| damaged(format!("manifest.json: {e}")))?;
    if manifest.format_version != ARCHIVE_FORMAT_VERSION {
        return Err(damaged(format!(
            "archive format version {} is not supported; this Pharos reads version {}",
            manifest.format_version, ARCHIVE_FORMAT_VERSION
        ))
        .into());
    }
    if manifest.tsdb.is_some() && !staging.join(TSDB_DIR).is_dir() {
        return Err(damaged("the manifest lists metrics but tsdb/ is missing".into()).into());
    }
    Ok(manifest)
}

fn is_empty_or_missing(dir: &Path) -> anyhow::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", dir.display())),
    }
}

/// Renames `from` to `to` (an empty or missing directory), copying when they are on different
/// file systems (`--tsdb-path` elsewhere).
fn move_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        fs::remove_dir(to).with_context(|| format!("cannot replace {}", to.display()))?;
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to).with_context(|| format!("cannot copy the metrics to {}", to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn print_summary(what: &str, manifest: &Manifest, archive: &Path, size: u64, started: Instant) {
    let config = &manifest.config;
    println!(
        "{what}: {} ({:.1} KiB), config store from {} (schema {}), taken {}",
        archive.display(),
        size as f64 / 1024.0,
        config.source_engine,
        config.schema_version,
        manifest.created_at
    );
    for table in &config.tables {
        println!("  {:<18} {:>8} rows", table.name, table.rows);
    }
    println!(
        "  encrypted secrets: {} (key fingerprint {})",
        config.sealed_specs, config.key_fingerprint
    );
    match &manifest.tsdb {
        Some(tsdb) => println!(
            "  metrics: {} blocks, {} head series, {} samples",
            tsdb.blocks, tsdb.head_series, tsdb.samples
        ),
        None => println!("  metrics: not included"),
    }
    println!("  done in {:.2} s", started.elapsed().as_secs_f64());
}
