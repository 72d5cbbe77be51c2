//! Group commit: one fsync makes the records of every commit written before it durable, so
//! concurrent committers share fsyncs instead of queueing one each behind the WAL lock.
//!
//! A commit writes its records under the WAL lock and notes where they end; it then releases the
//! lock (the next commit can validate and write meanwhile) and calls
//! [`GroupSync::sync_through`]. The first caller fsyncs the segment up to everything written so
//! far; callers whose records that fsync covered return without one. A segment cut fsyncs the old
//! segment before switching, so a position in an older segment is always durable.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::WalError;
use crate::sync::lock;

/// Where a commit's records end: segment index and byte offset after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) segment: u64,
    pub(crate) end: u64,
}

#[derive(Debug)]
struct Durable {
    /// A handle on the current segment, for fsync outside the WAL lock.
    file: File,
    path: PathBuf,
    segment: u64,
    /// Bytes of `segment` known durable.
    synced: u64,
}

/// The shared fsync state of one WAL.
#[derive(Debug)]
pub(crate) struct GroupSync {
    durable: Mutex<Durable>,
    /// Bytes written to the current segment (updated after each write, under the WAL lock).
    written: AtomicU64,
    /// Fsyncs performed (for tests and statistics).
    fsyncs: AtomicU64,
    /// Set when an fsync failed: what was written may be lost, so nothing more is acknowledged.
    /// Outside the mutex: every write checks it, and must not wait for an fsync in flight.
    failed: OnceLock<String>,
}

impl GroupSync {
    pub(crate) fn new(file: File, path: PathBuf, segment: u64, size: u64) -> Self {
        Self {
            durable: Mutex::new(Durable {
                file,
                path,
                segment,
                synced: size,
            }),
            written: AtomicU64::new(size),
            fsyncs: AtomicU64::new(0),
            failed: OnceLock::new(),
        }
    }

    /// Records that the current segment now holds `end` bytes.
    pub(crate) fn wrote(&self, end: u64) {
        self.written.store(end, Ordering::Release);
    }

    /// Switches to a new segment (the old one was fsynced by the caller).
    pub(crate) fn switch(&self, file: File, path: PathBuf, segment: u64, size: u64) {
        let mut durable = lock(&self.durable);
        durable.file = file;
        durable.path = path;
        durable.segment = segment;
        durable.synced = size;
        self.written.store(size, Ordering::Release);
    }

    /// Why writes must stop, if an fsync failed.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failed.get().cloned()
    }

    /// Returns once everything up to `position` is on disk, fsyncing if no one else has.
    pub(crate) fn sync_through(&self, position: Position) -> Result<(), WalError> {
        let mut durable = lock(&self.durable);
        if let Some(reason) = self.failure() {
            return Err(WalError::Broken(reason));
        }
        if position.segment < durable.segment || durable.synced >= position.end {
            return Ok(());
        }
        // Everything written before this point is in the page cache: one fsync covers it,
        // including commits that wrote after `position` while this one waited for the lock.
        let target = self.written.load(Ordering::Acquire);
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = durable.file.sync_data() {
            let reason = format!("fsync of {} failed: {error}", durable.path.display());
            let _ = self.failed.set(reason);
            return Err(WalError::io(&durable.path.clone(), error));
        }
        durable.synced = durable.synced.max(target);
        Ok(())
    }

    /// Fsyncs performed so far.
    #[cfg(test)]
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}
