//! The embedded time-series store: in-memory head with Gorilla-compressed chunks, label
//! postings index, write-ahead log, immutable blocks, compaction and retention.
//!
//! This crate owns storage only; PromQL evaluation lives in `pharos-promql`, which reads through
//! [`Db::querier`] (or [`Head::select`] for a store without persistence).
//!
//! * **Writes** go through an [`Appender`]: [`Appender::append`] checks each sample at once
//!   (Prometheus' policy: per series strictly increasing time, identical re-sends ignored, a
//!   different value at an existing timestamp rejected, nothing older than the newest block or
//!   half a block range behind the newest sample), and [`Appender::commit`] writes the batch to
//!   the WAL, fsyncs, then makes it visible. A committed sample survives `kill -9`.
//! * **Reads** go through a [`Querier`] over an inclusive `[mint, maxt]` range: series
//!   selected by [`Matcher`]s, series lists, label names and values, merged over blocks and head.
//! * **Upkeep** is explicit: the caller runs [`Db::maintenance`] periodically to cut blocks,
//!   compact and apply retention (no background threads, so tests are deterministic).
//!
//! On disk, under the data directory: `wal/` (segments `00000000`…, `checkpoint.N/`),
//! `blocks/<name>/` (`chunks`, `index`, `meta.json`) and a `lock` file.
//!
//! ```
//! use pharos_tsdb::{Db, Labels, Matcher, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Db::open(dir.path(), Options::default())?;
//! let up = Labels::new([("__name__", "up"), ("job", "api")])?;
//! let mut appender = db.appender();
//! appender.append(&up, 1_000, 1.0)?;
//! appender.append(&up, 16_000, 0.0)?;
//! appender.commit()?;
//!
//! let series = db.querier(0, 60_000).select(&[Matcher::equal("job", "api")])?;
//! assert_eq!(series[0].samples.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block;
pub mod chunk;
mod db;
mod encoding;
mod head;
mod index;
mod labels;
mod matcher;
mod sample;
mod series;
mod sync;
mod wal;
mod window;

pub use block::{BlockCompaction, BlockError, BlockMeta, BlockStats};
pub use db::{
    Appender, CommitSummary, Db, DbError, DbStats, MaintenanceReport, Options, Querier,
    SnapshotReport,
};
pub use head::{AppendError, Appended, Head, HeadOptions, HeadStats, SeriesRef};
pub use labels::{
    Label, LabelError, Labels, METRIC_NAME_LABEL, SeriesLabelsError, is_valid_label_name,
    is_valid_metric_name,
};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{STALE_NAN, STALE_NAN_BITS, Sample, is_stale_nan};
pub use series::SeriesSamples;
pub use wal::{ReplayReport, WalError};
pub use window::{SampleWindows, WindowCursor};
