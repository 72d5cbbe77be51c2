//! An immutable, shareable encoded chunk with its time bounds: what closed head chunks, WAL
//! checkpoints and blocks pass around.

use std::sync::Arc;

use super::XorChunk;

/// An immutable encoded chunk with its time bounds.
#[derive(Debug, Clone)]
pub(crate) struct StoredChunk {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    pub(crate) num_samples: usize,
    pub(crate) data: Arc<[u8]>,
}

impl StoredChunk {
    pub(crate) fn from_chunk(chunk: &XorChunk) -> Option<Self> {
        Some(Self {
            min_t: chunk.min_time()?,
            max_t: chunk.max_time()?,
            num_samples: chunk.num_samples(),
            data: Arc::from(chunk.bytes()),
        })
    }

    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_t <= maxt && self.max_t >= mint
    }
}
