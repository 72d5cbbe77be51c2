//! Compressed sample chunks: Gorilla-style delta-of-delta timestamps and XOR-compressed floats in
//! the byte layout of Prometheus' XOR chunk encoding.

mod bits;
mod stored;
mod xor;

pub(crate) use stored::StoredChunk;

pub use xor::{ChunkError, ChunkIter, MAX_CHUNK_BYTES, MAX_SAMPLES_PER_CHUNK, XorChunk, decode};
