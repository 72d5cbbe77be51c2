//! Periodic upkeep, driven by the caller: write late samples whose ranges are already in blocks
//! to overlapping blocks, cut blocks from the head once it spans 1.5 block ranges, truncate the
//! head and checkpoint the WAL, merge adjacent and overlapping blocks, apply retention.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{BLOCKS_DIR, Db, DbError, WAL_DIR, wall_clock_ms};
use crate::block::{self, Block, BlockSpec, compact, plan_compaction, write_block};
use crate::chunk::{MAX_SAMPLES_PER_CHUNK, StoredChunk, XorChunk};
use crate::labels::Labels;
use crate::sample::Sample;
use crate::sync::{lock, read, write};
use crate::wal;

/// What one `maintenance` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Blocks written from the head.
    pub blocks_cut: usize,
    /// Compactions performed (each merged two or more blocks into one).
    pub compactions: usize,
    /// Blocks deleted because they fell out of the retention time.
    pub deleted_by_time: usize,
    /// Blocks deleted to get under the size limit.
    pub deleted_by_size: usize,
    /// Series dropped from the head because all their samples moved to blocks.
    pub series_removed: usize,
    /// Blocks written for late samples whose block ranges had already been cut.
    pub out_of_order_blocks: usize,
}

impl Db {
    /// Cuts blocks, compacts and applies retention. Safe to call at any time and from any thread
    /// (runs are serialized); a server calls it every minute or so.
    pub fn maintenance(&self) -> Result<MaintenanceReport, DbError> {
        let _running = lock(&self.maintenance_lock);
        let mut report = MaintenanceReport::default();
        self.flush_out_of_order(&mut report)?;
        self.cut_blocks(&mut report)?;
        self.compact_blocks(&mut report)?;
        self.apply_retention(&mut report)?;
        Ok(report)
    }

    /// Writes the late samples older than the head's oldest writable time (their ranges are in
    /// blocks already) to new blocks, one per block range. They overlap the existing blocks:
    /// queries merge overlapping blocks, and compaction merges them into one. The samples leave
    /// the head only once their block exists, so a query sees them throughout, and a crash in
    /// between replays them from the WAL into the head again (a second copy merges away).
    fn flush_out_of_order(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let late = self.head.out_of_order_before(self.head.min_valid_time());
        if late.is_empty() {
            return Ok(());
        }
        let range = self.options.block_duration_ms();
        // Series stay sorted by labels within each range, as the block writer needs.
        let mut by_range: BTreeMap<i64, Vec<(Labels, Vec<StoredChunk>)>> = BTreeMap::new();
        for (labels, samples) in &late {
            for group in samples.chunk_by(|a, b| a.t.div_euclid(range) == b.t.div_euclid(range)) {
                let window = group[0].t.div_euclid(range);
                by_range
                    .entry(window)
                    .or_default()
                    .push((labels.clone(), encode(group)?));
            }
        }
        for (window, series) in by_range {
            let start = window.saturating_mul(range);
            let spec = BlockSpec {
                min_time: start,
                max_time: start.saturating_add(range),
                level: 1,
                parents: Vec::new(),
            };
            if let Some(path) =
                write_block(&self.dir.join(BLOCKS_DIR), spec, series.into_iter().map(Ok))?
            {
                let block = Arc::new(Block::open(&path)?);
                let mut blocks = write(&self.blocks);
                blocks.push(block);
                blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
                report.out_of_order_blocks += 1;
            }
        }
        self.head.forget_out_of_order(&late);
        Ok(())
    }

    fn cut_blocks(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let range = self.options.block_duration_ms();
        let now = wall_clock_ms();
        loop {
            // A sample stamped past the clock does not count: cutting the current range early
            // would close it to every series.
            let (Some(min), Some(max)) = (self.head.min_time(), self.trusted_max_time(now)) else {
                return Ok(());
            };
            // Never re-cut a range already in blocks (a chunk restored from a run with another
            // block duration may straddle the last cut and keep the head's minimum below it).
            let from = min.max(self.head.min_valid_time());
            let start = from.div_euclid(range).saturating_mul(range);
            let end = start.saturating_add(range);
            // Keep half a range of head beyond the block so late samples still have a home.
            if max.saturating_sub(start) < range.saturating_mul(3) / 2 {
                return Ok(());
            }
            // Under the commit lock, so no commit validated against the old bound is in flight.
            {
                let _commits = lock(&self.wal);
                self.head.raise_min_valid_time(end);
            }
            let spec = BlockSpec {
                min_time: start,
                max_time: end,
                level: 1,
                parents: Vec::new(),
            };
            let series = self.head.chunks_in_range(start, end).into_iter().map(Ok);
            if let Some(path) = write_block(&self.dir.join(BLOCKS_DIR), spec, series)? {
                let block = Arc::new(Block::open(&path)?);
                let mut blocks = write(&self.blocks);
                blocks.push(block);
                blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
                report.blocks_cut += 1;
            }
            report.series_removed += self.truncate_head_and_checkpoint(end)?;
        }
    }

    /// Drops head data before `before` (now in blocks) and replaces the WAL up to this point
    /// with a checkpoint of what remains.
    fn truncate_head_and_checkpoint(&self, before: i64) -> Result<usize, DbError> {
        let (removed, through, snapshot) = {
            let mut wal = lock(&self.wal);
            let removed = self.head.truncate(before);
            let through = wal.cut_segment()?;
            (removed, through, self.head.snapshot())
        };
        wal::write_checkpoint(&self.dir.join(WAL_DIR), through, &snapshot)?;
        Ok(removed)
    }

    /// Checkpoints the whole head (used on close so the next open replays little).
    pub(crate) fn checkpoint_head(&self) -> Result<(), DbError> {
        let _running = lock(&self.maintenance_lock);
        self.flush_out_of_order(&mut MaintenanceReport::default())?;
        let (through, snapshot) = {
            let mut wal = lock(&self.wal);
            (wal.cut_segment()?, self.head.snapshot())
        };
        wal::write_checkpoint(&self.dir.join(WAL_DIR), through, &snapshot)?;
        Ok(())
    }

    fn compact_blocks(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let ranges = self.options.compaction_ranges();
        loop {
            let blocks: Vec<Arc<Block>> = read(&self.blocks).clone();
            let metas: Vec<_> = blocks.iter().map(|b| b.meta()).collect();
            let Some(group) = plan_compaction(&metas, &ranges) else {
                return Ok(());
            };
            let sources: Vec<&Block> = group.iter().map(|i| blocks[*i].as_ref()).collect();
            let merged = match compact(&sources, &self.dir.join(BLOCKS_DIR))? {
                Some(path) => Some(Arc::new(Block::open(&path)?)),
                None => None,
            };
            {
                let mut live = write(&self.blocks);
                live.retain(|b| !group.iter().any(|i| Arc::ptr_eq(b, &blocks[*i])));
                live.extend(merged);
                live.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
            }
            for source in sources {
                block::remove(source)?;
            }
            report.compactions += 1;
        }
    }

    fn apply_retention(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let blocks: Vec<Arc<Block>> = read(&self.blocks).clone();
        let newest = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .chain(self.head.max_time())
            .max();
        // Never beyond the clock: a block or sample stamped in the future must not expire
        // everything else.
        let Some(newest) = newest.map(|newest| newest.min(wall_clock_ms())) else {
            return Ok(());
        };
        // Measured from the newest data, not the wall clock (as Prometheus), so old imports
        // are not deleted the moment they arrive.
        let cutoff = newest.saturating_sub(self.options.retention_ms());
        let mut doomed: Vec<Arc<Block>> = blocks
            .iter()
            .filter(|b| b.meta().max_time <= cutoff)
            .cloned()
            .collect();
        report.deleted_by_time = doomed.len();
        if let Some(limit) = self.options.max_bytes {
            let wal_bytes = wal::size_on_disk(&self.dir.join(WAL_DIR));
            let mut total: u64 = wal_bytes
                + blocks
                    .iter()
                    .filter(|b| !doomed.iter().any(|d| Arc::ptr_eq(b, d)))
                    .map(|b| b.size_bytes())
                    .sum::<u64>();
            for block in &blocks {
                if total <= limit {
                    break;
                }
                if doomed.iter().any(|d| Arc::ptr_eq(block, d)) {
                    continue;
                }
                total = total.saturating_sub(block.size_bytes());
                doomed.push(Arc::clone(block));
                report.deleted_by_size += 1;
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        write(&self.blocks).retain(|b| !doomed.iter().any(|d| Arc::ptr_eq(b, d)));
        for block in &doomed {
            tracing::info!(block = %block.meta().name, "deleting block past retention");
            block::remove(block)?;
        }
        Ok(())
    }
}

/// Sorted samples as chunks of at most [`MAX_SAMPLES_PER_CHUNK`].
fn encode(samples: &[Sample]) -> Result<Vec<StoredChunk>, DbError> {
    let mut chunks = Vec::new();
    for part in samples.chunks(MAX_SAMPLES_PER_CHUNK) {
        let mut chunk = XorChunk::new();
        for sample in part {
            chunk
                .append(sample.t, sample.v)
                .map_err(|e| crate::block::BlockError::Corrupt {
                    path: std::path::PathBuf::from("(late samples)"),
                    reason: e.to_string(),
                })?;
        }
        chunks.extend(StoredChunk::from_chunk(&chunk));
    }
    Ok(chunks)
}
