//! Compaction: merging adjacent blocks into one block covering a longer, aligned range, so
//! queries over long ranges open fewer files and the index is stored once instead of per 2 h.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::writer::{BlockSpec, write_block};
use super::{Block, BlockError, BlockMeta};
use crate::chunk::{MAX_SAMPLES_PER_CHUNK, StoredChunk, XorChunk, decode};
use crate::labels::Labels;
use crate::series::merge_sorted;

/// Picks blocks to merge: for each range (ascending), blocks lying wholly inside one aligned
/// window `[k·range, (k+1)·range)` are merged when there are at least two of them and the window
/// is complete (the newest block ends at or after the window's end, so no more blocks will land
/// in it). Returns indexes into `metas` (which must be sorted by time), oldest group first.
pub(crate) fn plan_compaction(metas: &[&BlockMeta], ranges: &[i64]) -> Option<Vec<usize>> {
    let newest_end = metas.iter().map(|m| m.max_time).max()?;
    for &range in ranges.iter().filter(|r| **r > 0) {
        let mut windows: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (index, meta) in metas.iter().enumerate() {
            let window = meta.min_time.div_euclid(range);
            let window_end = window.saturating_add(1).saturating_mul(range);
            if meta.max_time <= window_end {
                windows.entry(window).or_default().push(index);
            }
        }
        for (window, members) in windows {
            let window_end = window.saturating_add(1).saturating_mul(range);
            if members.len() >= 2 && newest_end >= window_end {
                return Some(members);
            }
        }
    }
    None
}

/// Merges `blocks` (sorted by time) into one new block under `blocks_dir`. The caller deletes the
/// sources once the new block is open.
pub(crate) fn compact(blocks: &[&Block], blocks_dir: &Path) -> Result<Option<PathBuf>, BlockError> {
    let spec = BlockSpec {
        min_time: blocks
            .iter()
            .map(|b| b.meta.min_time)
            .min()
            .unwrap_or_default(),
        max_time: blocks
            .iter()
            .map(|b| b.meta.max_time)
            .max()
            .unwrap_or_default(),
        level: blocks
            .iter()
            .map(|b| b.meta.compaction.level)
            .max()
            .unwrap_or(0)
            + 1,
        parents: blocks.iter().map(|b| b.meta.name.clone()).collect(),
    };
    let mut series: BTreeMap<Labels, Vec<(usize, usize)>> = BTreeMap::new();
    for (block_index, block) in blocks.iter().enumerate() {
        for series_index in 0..block.num_series() {
            series
                .entry(block.labels(series_index))
                .or_default()
                .push((block_index, series_index));
        }
    }
    let merged = series.into_iter().map(|(labels, sources)| {
        let mut chunks = Vec::new();
        for (block_index, series_index) in sources {
            chunks.extend(blocks[block_index].read_chunks(series_index, i64::MIN, i64::MAX)?);
        }
        Ok((labels, merge_chunks(chunks)?))
    });
    write_block(blocks_dir, spec, merged)
}

/// Orders chunks by time; when any overlap (blocks that overlapped, e.g. after an import) the
/// samples are merged, de-duplicated and re-encoded.
fn merge_chunks(mut chunks: Vec<StoredChunk>) -> Result<Vec<StoredChunk>, BlockError> {
    chunks.sort_by_key(|c| c.min_t);
    if chunks.windows(2).all(|pair| pair[0].max_t < pair[1].min_t) {
        return Ok(chunks);
    }
    let corrupt = |e: crate::chunk::ChunkError| BlockError::Corrupt {
        path: PathBuf::from("(compaction input)"),
        reason: e.to_string(),
    };
    let lists = chunks
        .iter()
        .map(|c| decode(&c.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let mut out = Vec::new();
    let mut current = XorChunk::new();
    for sample in merge_sorted(lists) {
        if current.num_samples() >= MAX_SAMPLES_PER_CHUNK {
            out.extend(StoredChunk::from_chunk(&current));
            current = XorChunk::new();
        }
        current.append(sample.t, sample.v).map_err(corrupt)?;
    }
    out.extend(StoredChunk::from_chunk(&current));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockCompaction, BlockStats};

    fn meta(min_time: i64, max_time: i64) -> BlockMeta {
        BlockMeta {
            version: 1,
            name: format!("{min_time}"),
            min_time,
            max_time,
            stats: BlockStats::default(),
            compaction: BlockCompaction::default(),
        }
    }

    fn plan(blocks: &[BlockMeta]) -> Option<Vec<usize>> {
        plan_compaction(&blocks.iter().collect::<Vec<_>>(), &[6, 18])
    }

    #[test]
    fn waits_until_the_window_is_complete() {
        assert_eq!(plan(&[meta(0, 2), meta(2, 4)]), None);
        assert_eq!(
            plan(&[meta(0, 2), meta(2, 4), meta(4, 6)]),
            Some(vec![0, 1, 2])
        );
        // A gap: a later block proves the window will receive nothing more.
        assert_eq!(
            plan(&[meta(0, 2), meta(2, 4), meta(8, 10)]),
            Some(vec![0, 1])
        );
    }

    #[test]
    fn climbs_to_larger_ranges() {
        let blocks = [meta(0, 6), meta(6, 12), meta(12, 18), meta(18, 20)];
        assert_eq!(plan(&blocks), Some(vec![0, 1, 2]));
        assert_eq!(
            plan(&[meta(0, 18), meta(18, 20)]),
            None,
            "a single block per window stays"
        );
    }

    #[test]
    fn overlapping_chunks_are_merged_without_duplicates() {
        let encode = |times: &[i64]| {
            let mut chunk = XorChunk::new();
            for t in times {
                chunk.append(*t, *t as f64).unwrap();
            }
            StoredChunk::from_chunk(&chunk).unwrap()
        };
        let merged = merge_chunks(vec![encode(&[5, 7, 9]), encode(&[1, 5, 6])]).unwrap();
        let times: Vec<i64> = merged
            .iter()
            .flat_map(|c| decode(&c.data).unwrap())
            .map(|s| s.t)
            .collect();
        assert_eq!(times, [1, 5, 6, 7, 9]);
    }
}
