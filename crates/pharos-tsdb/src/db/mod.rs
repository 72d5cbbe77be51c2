//! The database: head + WAL + blocks behind one handle. Appends are durable when `commit`
//! returns; queries see blocks and head as one store; the caller drives `maintenance` (cut
//! blocks, compact, apply retention) so behaviour is deterministic.

mod appender;
mod maintenance;
mod options;
mod querier;

use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use thiserror::Error;

pub use self::appender::{Appender, CommitSummary};
pub use self::maintenance::MaintenanceReport;
pub use self::options::Options;
pub use self::querier::Querier;
use crate::block::{self, Block, BlockError, BlockMeta};
use crate::head::{Head, HeadOptions, HeadStats, SeriesRef};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::series::SeriesSamples;
use crate::sync::read;
use crate::wal::{self, Record, ReplayReport, Wal, WalError};

const BLOCKS_DIR: &str = "blocks";
const WAL_DIR: &str = "wal";
const LOCK_FILE: &str = "lock";

/// Database failures.
#[derive(Debug, Error)]
pub enum DbError {
    /// The write-ahead log failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// A block could not be read or written.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The data directory could not be prepared.
    #[error("cannot use data directory {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another `Db` in this one) has the directory open.
    #[error(
        "data directory {0} is already in use by another process; stop it or choose another data directory"
    )]
    Locked(PathBuf),
    /// An option is out of range.
    #[error("invalid storage option: {0}")]
    InvalidOptions(String),
}

/// Sizes and counters of the whole database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStats {
    /// The in-memory head.
    pub head: HeadStats,
    /// Every block, oldest first.
    pub blocks: Vec<BlockMeta>,
    /// Bytes of all blocks on disk.
    pub blocks_bytes: u64,
    /// Bytes of WAL segments and checkpoints on disk.
    pub wal_bytes: u64,
    /// What the last open replayed.
    pub replay: ReplayReport,
}

/// An open database directory.
#[derive(Debug)]
pub struct Db {
    dir: PathBuf,
    options: Options,
    head: Arc<Head>,
    /// Also the commit lock: commits, block cuts and truncation serialize on it.
    wal: Mutex<Wal>,
    /// Shared with queriers, which snapshot it per call.
    blocks: Arc<RwLock<Vec<Arc<Block>>>>,
    maintenance_lock: Mutex<()>,
    replay: ReplayReport,
    /// Held (with an OS file lock) for the lifetime of the database.
    _lock: File,
}

impl Db {
    /// Opens (or creates) the database in `dir`: loads blocks, replays the WAL (dropping a torn
    /// last record) and is then ready for appends and queries.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, DbError> {
        options.validate()?;
        let dir = dir.as_ref().to_owned();
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DbError::Io { path, source }
        };
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(DbError::Locked(dir)),
            Err(TryLockError::Error(source)) => {
                return Err(DbError::Io {
                    path: lock_path,
                    source,
                });
            }
        }

        let blocks: Vec<Arc<Block>> = block::open_all(&dir.join(BLOCKS_DIR))?
            .into_iter()
            .map(Arc::new)
            .collect();
        let head = Arc::new(Head::new(HeadOptions {
            chunk_range_ms: options.block_duration_ms(),
        }));
        if let Some(end) = blocks.iter().map(|b| b.meta().max_time).max() {
            // Samples older than the newest block are already persisted there.
            head.raise_min_valid_time(end);
        }
        let (wal, replay) = replay_into(&head, &dir.join(WAL_DIR), options.wal_segment_size)?;
        head.reset_counters();
        tracing::info!(
            dir = %dir.display(),
            blocks = blocks.len(),
            wal_records = replay.records,
            torn_bytes = replay.torn_bytes_truncated,
            "opened time-series database"
        );
        Ok(Self {
            dir,
            options,
            head,
            wal: Mutex::new(wal),
            blocks: Arc::new(RwLock::new(blocks)),
            maintenance_lock: Mutex::new(()),
            replay,
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Oldest timestamp the database still accepts (samples before it are in blocks).
    pub fn min_valid_time(&self) -> i64 {
        self.head.min_valid_time()
    }

    /// Number of distinct values per label name in the head, most first.
    pub fn head_label_value_counts(&self) -> Vec<(String, usize)> {
        self.head.label_value_counts()
    }

    /// Starts a batch of appends, made durable and visible together by [`Appender::commit`].
    pub fn appender(&self) -> Appender<'_> {
        Appender::new(self)
    }

    /// A reader over `[mint, maxt]` (inclusive, milliseconds) spanning blocks and head.
    pub fn querier(&self, mint: i64, maxt: i64) -> Querier {
        Querier::new(Arc::clone(&self.head), Arc::clone(&self.blocks), mint, maxt)
    }

    /// Shorthand for `querier(mint, maxt).select(matchers)`.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, DbError> {
        self.querier(mint, maxt).select(matchers)
    }

    /// Shorthand for `querier(mint, maxt).series(matchers)`.
    pub fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, DbError> {
        self.querier(mint, maxt).series(matchers)
    }

    /// Shorthand for `querier(mint, maxt).label_names(matchers)`.
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        self.querier(mint, maxt).label_names(matchers)
    }

    /// Shorthand for `querier(mint, maxt).label_values(name, matchers)`.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        self.querier(mint, maxt).label_values(name, matchers)
    }

    /// Sizes and counters.
    pub fn stats(&self) -> DbStats {
        let blocks = read(&self.blocks);
        DbStats {
            head: self.head.stats(),
            blocks: blocks.iter().map(|b| b.meta().clone()).collect(),
            blocks_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            wal_bytes: wal::size_on_disk(&self.dir.join(WAL_DIR)),
            replay: self.replay.clone(),
        }
    }

    /// Writes a WAL checkpoint of the head so the next open replays little, then closes.
    /// Dropping the database without `close` loses nothing committed either, it only makes the
    /// next open replay more.
    pub fn close(self) -> Result<(), DbError> {
        self.checkpoint_head()?;
        Ok(())
    }
}

/// Replays the WAL into `head`. Series ids in the log are kept, except when the same labels
/// appear under several ids (a series was dropped and re-created): then later ids alias the
/// first.
fn replay_into(head: &Head, dir: &Path, segment_size: u64) -> Result<(Wal, ReplayReport), DbError> {
    let mut refs: HashMap<u64, SeriesRef> = HashMap::new();
    let mut max_id = 0;
    let mut failure: Option<crate::chunk::ChunkError> = None;
    let (wal, report) = Wal::open(dir, segment_size, |record| match record {
        Record::Series(series) => {
            for (id, labels) in series {
                max_id = max_id.max(id);
                refs.insert(id, head.create_series_with_id(id, &labels));
            }
        }
        Record::Samples(samples) => {
            for sample in samples {
                if let Some(series_ref) = refs.get(&sample.series) {
                    // Rejections reproduce decisions made (and reported) before the crash.
                    let _ =
                        head.append_ref(*series_ref, sample.t, f64::from_bits(sample.value_bits));
                }
            }
        }
        Record::Chunks { series, chunks } => {
            if let Some(series_ref) = refs.get(&series)
                && let Err(error) = head.restore_chunks(*series_ref, chunks)
            {
                failure.get_or_insert(error);
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(WalError::CorruptCheckpoint {
            path: dir.to_owned(),
            reason: error.to_string(),
        }
        .into());
    }
    head.reserve_ids_through(max_id);
    Ok((wal, report))
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;
