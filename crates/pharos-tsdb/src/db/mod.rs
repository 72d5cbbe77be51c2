//! The database: head + WAL + blocks behind one handle. Appends are durable when `commit`
//! returns; queries see blocks and head as one store; the caller drives `maintenance` (cut
//! blocks, compact, apply retention) so behaviour is deterministic.

mod appender;
mod maintenance;
mod options;
mod querier;
mod snapshot;

use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

pub use self::appender::{Appender, CommitSummary};
pub use self::maintenance::MaintenanceReport;
pub use self::options::Options;
pub use self::querier::Querier;
pub use self::snapshot::SnapshotReport;
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
        let now = wall_clock_ms();
        if let Some(end) = blocks.iter().map(|b| b.meta().max_time).max() {
            // Samples older than the newest block are already persisted there. A block reaching
            // past the clock was cut around a sample stamped in the future (before such samples
            // were refused): it must not close the window, so the bound stops where the normal
            // window starts, and later data for that range goes to an overlapping block.
            let window_start = now.saturating_sub(options.block_duration_ms() / 2);
            head.raise_min_valid_time(end.min(window_start));
        }
        let newest_allowed = now.saturating_add(options.future_sample_tolerance_ms());
        // Replay takes back every late sample the log holds (each was accepted once), unless
        // late samples are refused altogether.
        let replay_ooo_min = if options.out_of_order_window_ms() > 0 {
            i64::MIN
        } else {
            i64::MAX
        };
        let (wal, replay, dropped) = replay_into(
            &head,
            &dir.join(WAL_DIR),
            options.wal_segment_size,
            newest_allowed,
            replay_ooo_min,
        )?;
        head.set_out_of_order_window(options.out_of_order_window_ms());
        if dropped > 0 {
            tracing::warn!(
                dropped,
                newest_allowed,
                "dropped samples stamped too far in the future from the head; they were stored before tsdb.future_sample_tolerance existed and would keep their series from accepting current samples"
            );
        }
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

    /// The head's newest sample time as far as windows and block cuts are concerned: never
    /// beyond `now`, so one future-stamped sample cannot move them for every series.
    pub(crate) fn trusted_max_time(&self, now: i64) -> Option<i64> {
        self.head.max_time().map(|max| max.min(now))
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

    /// Shorthand for `querier(mint, maxt).select_each(matchers, f)`.
    pub fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        f: &mut dyn FnMut(SeriesSamples) -> bool,
    ) -> Result<(), DbError> {
        self.querier(mint, maxt).select_each(matchers, f)
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

/// The wall clock in milliseconds since 1970.
pub(crate) fn wall_clock_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Replays the WAL into `head`. Series ids in the log are kept, except when the same labels
/// appear under several ids (a series was dropped and re-created): then later ids alias the
/// first. Samples after `newest_allowed` are left out; their number is returned.
fn replay_into(
    head: &Head,
    dir: &Path,
    segment_size: u64,
    newest_allowed: i64,
    ooo_min: i64,
) -> Result<(Wal, ReplayReport, u64), DbError> {
    let mut refs: HashMap<u64, SeriesRef> = HashMap::new();
    let mut max_id = 0;
    let mut dropped = 0u64;
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
                if sample.t > newest_allowed {
                    dropped += 1;
                    continue;
                }
                if let Some(series_ref) = refs.get(&sample.series) {
                    // Rejections reproduce decisions made (and reported) before the crash.
                    let _ = head.append_ref_within(
                        *series_ref,
                        sample.t,
                        f64::from_bits(sample.value_bits),
                        ooo_min,
                    );
                }
            }
        }
        Record::Chunks { series, chunks } => {
            if let Some(series_ref) = refs.get(&series) {
                match head.restore_chunks(*series_ref, chunks, newest_allowed) {
                    Ok(left_out) => dropped += left_out,
                    Err(error) => {
                        failure.get_or_insert(error);
                    }
                }
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
    Ok((wal, report, dropped))
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "future_tests.rs"]
mod future_tests;

#[cfg(test)]
#[path = "out_of_order_tests.rs"]
mod out_of_order_tests;
