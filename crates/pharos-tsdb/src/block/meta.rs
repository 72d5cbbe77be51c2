//! `meta.json`: a block's time range, size and lineage.

use serde::{Deserialize, Serialize};

/// Version written in `meta.json`; readers refuse other versions.
pub(crate) const META_VERSION: u32 = 1;

/// Sizes recorded when the block was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Series in the block.
    pub num_series: u64,
    /// Chunks in the block.
    pub num_chunks: u64,
    /// Samples in the block.
    pub num_samples: u64,
    /// Encoded chunk bytes (excluding framing and index).
    pub chunk_bytes: u64,
}

/// How a block came to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for a block cut from the head, one more than its highest parent for compacted blocks.
    pub level: u32,
    /// Blocks merged into this one. If any still exists on open, the compaction finished but
    /// their deletion did not: they are deleted then.
    pub parents: Vec<String>,
}

/// Contents of a block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    /// Format version.
    pub version: u32,
    /// Directory name, unique within the data directory.
    pub name: String,
    /// First millisecond covered (inclusive).
    pub min_time: i64,
    /// End of the covered range (exclusive).
    pub max_time: i64,
    /// Sizes.
    pub stats: BlockStats,
    /// Lineage.
    pub compaction: BlockCompaction,
}

impl BlockMeta {
    /// True when the block may hold samples in `[mint, maxt]` (inclusive query bounds).
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time > mint
    }
}
