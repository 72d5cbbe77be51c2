//! The write-ahead log. Every commit is written as framed, CRC-checked records and fsynced before
//! it is acknowledged, so a crash (even `kill -9` or power loss) loses no acknowledged sample.
//! Concurrent commits share fsyncs ([`sync`]: group commit).
//! On open the log is replayed: a torn last record is truncated away. After a block is cut, a
//! checkpoint (the head's series and chunks) replaces the older segments.

mod checkpoint;
mod record;
mod segment;
mod sync;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

pub(crate) use self::checkpoint::write_checkpoint;
pub(crate) use self::record::{Record, WalSample};
use self::segment::{FramesEnd, read_frames, segment_path};
pub(crate) use self::sync::{GroupSync, Position};
use crate::labels::Labels;

/// Default segment size: large enough for few files, small enough to delete promptly.
pub const DEFAULT_SEGMENT_SIZE: u64 = 32 * 1024 * 1024;

/// WAL failures.
#[derive(Debug, Error)]
pub enum WalError {
    /// A file operation failed.
    #[error(
        "WAL I/O error on {path}: {source}; check that the data directory is writable and the disk is not full"
    )]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint was fully written (it is renamed into place only when complete) and still
    /// fails to decode: the disk or someone else altered it.
    #[error(
        "WAL checkpoint {path} is corrupt ({reason}); move it away to start without the head data it holds"
    )]
    CorruptCheckpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A single record does not fit the 4 GiB frame limit.
    #[error("WAL record of {0} bytes exceeds the 4 GiB frame limit; commit fewer samples at once")]
    RecordTooLarge(usize),
    /// An earlier write failed and could not be rolled back; later records would be unreadable.
    #[error(
        "the WAL stopped accepting writes after an earlier failure ({0}); restart the process to recover from the last durable record"
    )]
    Broken(String),
}

impl WalError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Checkpoint loaded first, if any.
    pub checkpoint: Option<u64>,
    /// Segments read after it.
    pub segments: usize,
    /// Records applied.
    pub records: u64,
    /// Bytes cut from the end of the last segment (an unacknowledged, torn write).
    pub torn_bytes_truncated: u64,
    /// Segments dropped because an earlier segment was corrupt in the middle of the log.
    pub segments_dropped_after_corruption: usize,
}

/// The open log, positioned at the end of its newest segment.
#[derive(Debug)]
pub(crate) struct Wal {
    dir: PathBuf,
    segment_size: u64,
    file: File,
    index: u64,
    size: u64,
    broken: Option<String>,
    buffer: Vec<u8>,
    sync: Arc<GroupSync>,
}

impl Wal {
    /// Replays `dir` (creating it if needed) through `apply`, then opens a fresh segment.
    pub(crate) fn open(
        dir: &Path,
        segment_size: u64,
        mut apply: impl FnMut(Record),
    ) -> Result<(Self, ReplayReport), WalError> {
        fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        segment::remove_tmp_dirs(dir)?;
        let mut report = ReplayReport::default();
        let checkpoint = segment::list_checkpoints(dir)?.last().copied();
        if let Some(index) = checkpoint {
            report.records += checkpoint::load(dir, index, &mut apply)?;
            report.checkpoint = Some(index);
        }
        let segments: Vec<u64> = segment::list_segments(dir)?
            .into_iter()
            .filter(|index| checkpoint.is_none_or(|cp| *index > cp))
            .collect();
        for (position, &index) in segments.iter().enumerate() {
            let path = segment_path(dir, index);
            let bytes = fs::read(&path).map_err(|e| WalError::io(&path, e))?;
            let end = read_frames(&bytes, |payload| {
                let record = record::decode(payload)?;
                apply(record);
                report.records += 1;
                Ok::<(), crate::encoding::DecodeError>(())
            });
            report.segments += 1;
            if let FramesEnd::Damaged { valid_len } = end {
                truncate_file(&path, valid_len as u64)?;
                report.torn_bytes_truncated += (bytes.len() - valid_len) as u64;
                let later = &segments[position + 1..];
                if !later.is_empty() {
                    tracing::warn!(
                        segment = index,
                        dropped = later.len(),
                        "WAL segment is corrupt in the middle of the log; dropping later segments"
                    );
                    for later_index in later {
                        let later_path = segment_path(dir, *later_index);
                        fs::remove_file(&later_path).map_err(|e| WalError::io(&later_path, e))?;
                    }
                    report.segments_dropped_after_corruption = later.len();
                }
                break;
            }
        }
        let next = segments
            .last()
            .copied()
            .or(checkpoint)
            .map_or(0, |index| index + 1);
        let wal = Self::create_segment(dir, segment_size, next)?;
        Ok((wal, report))
    }

    fn create_segment(dir: &Path, segment_size: u64, index: u64) -> Result<Self, WalError> {
        let path = segment_path(dir, index);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| WalError::io(&path, e))?;
        let size = file.metadata().map_err(|e| WalError::io(&path, e))?.len();
        segment::sync_dir(dir)?;
        let handle = file.try_clone().map_err(|e| WalError::io(&path, e))?;
        Ok(Self {
            dir: dir.to_owned(),
            segment_size,
            file,
            index,
            size,
            broken: None,
            buffer: Vec::new(),
            sync: Arc::new(GroupSync::new(handle, path, index, size)),
        })
    }

    /// The fsync state, for committers that sync after releasing the WAL lock.
    pub(crate) fn group_sync(&self) -> Arc<GroupSync> {
        Arc::clone(&self.sync)
    }

    /// Logs new series and samples of one commit, durably (written and fsynced) before returning.
    #[cfg(test)]
    pub(crate) fn log(
        &mut self,
        new_series: &[(u64, &Labels)],
        samples: &[WalSample],
    ) -> Result<(), WalError> {
        let position = self.write(new_series, samples)?;
        self.sync.sync_through(position)
    }

    /// Writes the records of one commit (not yet fsynced) and returns where they end; the commit
    /// is durable once [`GroupSync::sync_through`] returns for that position.
    pub(crate) fn write(
        &mut self,
        new_series: &[(u64, &Labels)],
        samples: &[WalSample],
    ) -> Result<Position, WalError> {
        if let Some(reason) = self.broken.clone().or_else(|| self.sync.failure()) {
            return Err(WalError::Broken(reason));
        }
        self.buffer.clear();
        let mut payload = Vec::new();
        if !new_series.is_empty() {
            record::encode_series(&mut payload, new_series.iter().map(|(id, l)| (*id, *l)));
            segment::frame(&mut self.buffer, &payload)?;
        }
        if !samples.is_empty() {
            payload.clear();
            record::encode_samples(&mut payload, samples);
            segment::frame(&mut self.buffer, &payload)?;
        }
        if self.buffer.is_empty() {
            return Ok(self.position());
        }
        if self.size > 0 && self.size + self.buffer.len() as u64 > self.segment_size {
            self.cut_segment()?;
        }
        let path = segment_path(&self.dir, self.index);
        if let Err(error) = self.file.write_all(&self.buffer) {
            // Roll back the partial write so later records stay readable; if even that fails,
            // refuse further writes.
            let rolled_back = self
                .file
                .set_len(self.size)
                .and_then(|()| self.file.sync_data());
            if let Err(rollback) = rolled_back {
                self.broken = Some(format!("{error}; rollback failed: {rollback}"));
            }
            return Err(WalError::io(&path, error));
        }
        self.size += self.buffer.len() as u64;
        self.sync.wrote(self.size);
        Ok(self.position())
    }

    fn position(&self) -> Position {
        Position {
            segment: self.index,
            end: self.size,
        }
    }

    /// Closes the current segment and starts the next; returns the closed segment's index.
    pub(crate) fn cut_segment(&mut self) -> Result<u64, WalError> {
        let path = segment_path(&self.dir, self.index);
        self.file.sync_all().map_err(|e| WalError::io(&path, e))?;
        let closed = self.index;
        let next = Self::create_segment(&self.dir, self.segment_size, closed + 1)?;
        let next_path = segment_path(&self.dir, next.index);
        let handle = next
            .file
            .try_clone()
            .map_err(|e| WalError::io(&next_path, e))?;
        self.sync.switch(handle, next_path, next.index, next.size);
        self.file = next.file;
        self.index = next.index;
        self.size = next.size;
        Ok(closed)
    }
}

/// Total bytes of segments and checkpoints.
pub(crate) fn size_on_disk(dir: &Path) -> u64 {
    fn walk(path: &Path) -> u64 {
        let Ok(entries) = fs::read_dir(path) else {
            return 0;
        };
        entries
            .flatten()
            .map(|entry| match entry.metadata() {
                Ok(meta) if meta.is_dir() => walk(&entry.path()),
                Ok(meta) => meta.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir)
}

fn truncate_file(path: &Path, len: u64) -> Result<(), WalError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| WalError::io(path, e))?;
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(|e| WalError::io(path, e))
}

#[cfg(test)]
#[path = "wal_tests.rs"]
mod tests;
