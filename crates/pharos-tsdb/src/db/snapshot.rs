//! Consistent snapshots of an open database, for backups: a directory that [`Db::open`] turns
//! into exactly the samples that were queryable when the snapshot was taken.
//!
//! Blocks are immutable once written, so their files are hard-linked (copied when the target is
//! on another file system). The head is written as a WAL checkpoint, the same form a clean
//! close leaves behind, so opening the snapshot replays it as it would after a restart. The
//! head is captured under the commit lock and block changes are held off by the maintenance
//! lock, so head and blocks belong to the same instant.

use std::fs;
use std::path::{Path, PathBuf};

use super::{BLOCKS_DIR, Db, DbError, WAL_DIR};
use crate::sync::{lock, read};
use crate::wal;

/// What a snapshot holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    /// Blocks linked or copied.
    pub blocks: usize,
    /// Samples in those blocks.
    pub block_samples: u64,
    /// Series of the head written to the checkpoint.
    pub head_series: u64,
    /// Samples of the head written to the checkpoint.
    pub head_samples: u64,
    /// Bytes of the snapshot on disk (linked files counted in full).
    pub bytes: u64,
}

impl Db {
    /// Writes a snapshot into `target`, which must not exist or be an empty directory. The
    /// database stays open and writable meanwhile; appends committed after the head was
    /// captured are not in the snapshot.
    pub fn snapshot(&self, target: &Path) -> Result<SnapshotReport, DbError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DbError::Io { path, source }
        };
        let is_empty_dir = |dir: &Path| fs::read_dir(dir).map(|mut d| d.next().is_none());
        if target.exists() && !is_empty_dir(target).map_err(io(target))? {
            return Err(DbError::Io {
                path: target.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the snapshot directory is not empty",
                ),
            });
        }
        // No block is cut, merged or deleted until the snapshot is done.
        let _no_maintenance = lock(&self.maintenance_lock);
        let (head, blocks) = {
            // Commits hold this lock while they log and publish, so the head is taken between
            // two commits, never halfway through one.
            let _commits = lock(&self.wal);
            (self.head.snapshot(), read(&self.blocks).clone())
        };

        let mut report = SnapshotReport::default();
        let blocks_target = target.join(BLOCKS_DIR);
        fs::create_dir_all(&blocks_target).map_err(io(&blocks_target))?;
        for block in &blocks {
            let meta = block.meta();
            let from = self.dir.join(BLOCKS_DIR).join(&meta.name);
            let to = blocks_target.join(&meta.name);
            report.bytes += link_or_copy_dir(&from, &to)?;
            report.blocks += 1;
            report.block_samples += meta.stats.num_samples;
        }

        let wal_target = target.join(WAL_DIR);
        fs::create_dir_all(&wal_target).map_err(io(&wal_target))?;
        for (_, _, chunks, late) in &head {
            report.head_series += 1;
            report.head_samples += chunks
                .iter()
                .map(|chunk| chunk.num_samples as u64)
                .sum::<u64>()
                + late.len() as u64;
        }
        // Checkpoint 0 with no segments: the open replays it and starts segment 1.
        wal::write_checkpoint(&wal_target, 0, &head)?;
        report.bytes += dir_size(&wal_target);
        Ok(report)
    }
}

/// Hard-links (or copies) every file of block directory `from` into a new directory `to`;
/// returns the bytes.
fn link_or_copy_dir(from: &Path, to: &Path) -> Result<u64, DbError> {
    let io = |path: PathBuf| move |source| DbError::Io { path, source };
    fs::create_dir_all(to).map_err(io(to.to_owned()))?;
    let mut bytes = 0;
    for entry in fs::read_dir(from).map_err(io(from.to_owned()))? {
        let entry = entry.map_err(io(from.to_owned()))?;
        let source = entry.path();
        let dest = to.join(entry.file_name());
        if fs::hard_link(&source, &dest).is_err() {
            fs::copy(&source, &dest).map_err(io(dest.clone()))?;
        }
        bytes += fs::metadata(&dest).map_err(io(dest.clone()))?.len();
    }
    Ok(bytes)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
