//! Immutable on-disk blocks: the samples of one time range, cut from the head or merged by
//! compaction. The index is loaded into memory on open; chunk bytes are read on demand.

mod compact;
mod format;
mod meta;
mod writer;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use thiserror::Error;

pub(crate) use self::compact::{compact, plan_compaction};
use self::format::{ChunkRef, IndexSeries};
pub use self::meta::{BlockCompaction, BlockMeta, BlockStats};
pub(crate) use self::writer::{BlockSpec, write_block};
use crate::chunk::{ChunkIter, StoredChunk};
use crate::index::PostingsIndex;
use crate::labels::{Label, Labels};
use crate::matcher::Matcher;
use crate::sample::Sample;
#[cfg(test)]
use crate::series::SeriesSamples;
use crate::window::SampleWindows;

const CHUNKS_FILE: &str = "chunks";
const INDEX_FILE: &str = "index";
const META_FILE: &str = "meta.json";
const TMP_SUFFIX: &str = ".tmp";

/// Block failures.
#[derive(Debug, Error)]
pub enum BlockError {
    /// A file operation failed.
    #[error("block I/O error on {path}: {source}; check permissions and free disk space")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A block file does not decode or fails its checksum.
    #[error(
        "block data at {path} is corrupt ({reason}); move that block directory out of the data directory to start without its samples"
    )]
    Corrupt {
        /// File involved.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// An open block.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    symbols: Vec<String>,
    series: Vec<IndexSeries>,
    postings: PostingsIndex,
    chunks: File,
    size_bytes: u64,
}

impl Block {
    /// Opens the block in `dir`, loading and verifying its index.
    pub(crate) fn open(dir: &Path) -> Result<Self, BlockError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BlockError::Io { path, source }
        };
        let meta_path = dir.join(META_FILE);
        let meta_bytes = fs::read(&meta_path).map_err(io(&meta_path))?;
        let meta: BlockMeta =
            serde_json::from_slice(&meta_bytes).map_err(|e| BlockError::Corrupt {
                path: meta_path.clone(),
                reason: e.to_string(),
            })?;
        if meta.version != meta::META_VERSION {
            return Err(BlockError::Corrupt {
                path: meta_path,
                reason: format!("unsupported block version {}", meta.version),
            });
        }
        let index_path = dir.join(INDEX_FILE);
        let index_bytes = fs::read(&index_path).map_err(io(&index_path))?;
        let (symbols, series) =
            format::decode_index(&index_bytes).map_err(|e| BlockError::Corrupt {
                path: index_path.clone(),
                reason: e.to_string(),
            })?;
        let chunks_path = dir.join(CHUNKS_FILE);
        let chunks = File::open(&chunks_path).map_err(io(&chunks_path))?;
        let chunks_len = chunks.metadata().map_err(io(&chunks_path))?.len();
        let mut block = Self {
            dir: dir.to_owned(),
            meta,
            symbols,
            series,
            postings: PostingsIndex::default(),
            chunks,
            size_bytes: chunks_len + index_bytes.len() as u64 + meta_bytes.len() as u64,
        };
        for index in 0..block.series.len() {
            let labels = block.labels(index);
            block.postings.add(index as u64, &labels);
        }
        Ok(block)
    }

    /// The block's `meta.json`.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn num_series(&self) -> usize {
        self.series.len()
    }

    fn symbol(&self, number: u32) -> String {
        self.symbols
            .get(number as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// Labels of the series at `index` (position in the label-sorted series list).
    pub(crate) fn labels(&self, index: usize) -> Labels {
        let pairs = self.series.get(index).map_or(&[][..], |s| &s.labels[..]);
        let labels = pairs
            .iter()
            .map(|(name, value)| Label {
                name: self.symbol(*name),
                value: self.symbol(*value),
            })
            .collect();
        // Symbols were validated on decode and the writer stored sorted labels.
        Labels::from_decoded(labels).unwrap_or_default()
    }

    fn matching(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<usize> {
        if !self.meta.overlaps(mint, maxt) {
            return Vec::new();
        }
        self.postings
            .select(matchers)
            .into_iter()
            .map(|id| id as usize)
            .filter(|index| {
                self.series
                    .get(*index)
                    .is_some_and(|s| s.chunks.iter().any(|c| c.min_t <= maxt && c.max_t >= mint))
            })
            .collect()
    }

    /// Indexes and labels of the series matching every matcher with chunks in `[mint, maxt]`.
    pub(crate) fn matching_labels(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<(usize, Labels)> {
        self.matching(matchers, mint, maxt)
            .into_iter()
            .map(|index| (index, self.labels(index)))
            .collect()
    }

    /// Series matching every matcher with their samples in `[mint, maxt]`, sorted by labels
    /// (the tests' view of a whole block; queries read series by series).
    #[cfg(test)]
    pub(crate) fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, BlockError> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for index in self.matching(matchers, mint, maxt) {
            let mut samples = Vec::new();
            self.append_samples(index, (mint, maxt), None, &mut buf, &mut samples)?;
            if !samples.is_empty() {
                out.push(SeriesSamples {
                    labels: self.labels(index),
                    samples,
                });
            }
        }
        Ok(out)
    }

    /// Labels of matching series with samples in `[mint, maxt]`, sorted.
    pub(crate) fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.matching(matchers, mint, maxt)
            .into_iter()
            .map(|index| self.labels(index))
            .collect()
    }

    /// Label names of matching series with samples in `[mint, maxt]`.
    pub(crate) fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> BTreeSet<String> {
        if matchers.is_empty() && mint <= self.meta.min_time && maxt >= self.meta.max_time {
            return self.postings.label_names().map(str::to_owned).collect();
        }
        self.series(matchers, mint, maxt)
            .iter()
            .flat_map(|labels| labels.iter().map(|l| l.name.clone()))
            .collect()
    }

    /// Values of `name` among matching series with samples in `[mint, maxt]`.
    pub(crate) fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> BTreeSet<String> {
        if matchers.is_empty() && mint <= self.meta.min_time && maxt >= self.meta.max_time {
            return self
                .postings
                .label_values(name)
                .map(str::to_owned)
                .collect();
        }
        self.series(matchers, mint, maxt)
            .iter()
            .filter_map(|labels| labels.get(name).map(str::to_owned))
            .collect()
    }

    fn corrupt_chunks(&self, reason: String) -> BlockError {
        BlockError::Corrupt {
            path: self.dir.join(CHUNKS_FILE),
            reason,
        }
    }

    /// The chunks of series `index` overlapping `[mint, maxt]`, read with one positional read
    /// (a series' chunks are contiguous) and checked against their CRCs.
    pub(crate) fn read_chunks(
        &self,
        index: usize,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<StoredChunk>, BlockError> {
        let mut out = Vec::new();
        let overlapping = |c: &ChunkRef| c.min_t <= maxt && c.max_t >= mint;
        self.for_each_chunk(index, overlapping, &mut Vec::new(), |chunk, data| {
            out.push(StoredChunk {
                min_t: chunk.min_t,
                max_t: chunk.max_t,
                num_samples: chunk.num_samples as usize,
                data: data.into(),
            });
            Ok(())
        })?;
        Ok(out)
    }

    /// Appends the samples of series `index` in `[mint, maxt]` (and in one of `windows`, when
    /// given) to `out`, decoding straight from the chunk bytes: chunks outside the range or
    /// between windows are neither read nor decoded. `buf` is scratch space for the bytes, so a
    /// caller reading many series allocates once.
    pub(crate) fn append_samples(
        &self,
        index: usize,
        (mint, maxt): (i64, i64),
        windows: Option<&SampleWindows>,
        buf: &mut Vec<u8>,
        out: &mut Vec<Sample>,
    ) -> Result<(), BlockError> {
        let wanted = |c: &ChunkRef| {
            c.min_t <= maxt
                && c.max_t >= mint
                && windows.is_none_or(|w| w.overlaps(c.min_t, c.max_t))
        };
        let mut cursor = windows.map(SampleWindows::cursor);
        self.for_each_chunk(index, wanted, buf, |chunk, data| {
            let stop = windows.map_or(maxt, |w| w.last_needed(chunk.max_t).min(maxt));
            let mut samples = ChunkIter::new(data);
            for sample in samples.by_ref() {
                if sample.t > stop {
                    break;
                }
                if sample.t >= mint && cursor.as_mut().is_none_or(|c| c.contains(sample.t)) {
                    out.push(sample);
                }
            }
            match samples.error() {
                Some(error) => Err(self.corrupt_chunks(error.to_string())),
                None => Ok(()),
            }
        })
    }

    /// Calls `f` with every chunk of series `index` that `wanted` selects and its encoded
    /// bytes, read with one positional read (a series' chunks are contiguous, so this is the
    /// span from the first to the last wanted chunk) and checked against their CRCs.
    fn for_each_chunk(
        &self,
        index: usize,
        wanted: impl Fn(&ChunkRef) -> bool,
        buf: &mut Vec<u8>,
        mut f: impl FnMut(&ChunkRef, &[u8]) -> Result<(), BlockError>,
    ) -> Result<(), BlockError> {
        let Some(series) = self.series.get(index) else {
            return Ok(());
        };
        let mut chunks = series.chunks.iter().filter(|c| wanted(c)).peekable();
        let Some(start) = chunks.peek().map(|c| c.offset) else {
            return Ok(());
        };
        let Some(last) = series.chunks.iter().rev().find(|c| wanted(c)) else {
            return Ok(());
        };
        let end = last.offset + u64::from(last.len) + format::CRC_LEN as u64;
        buf.clear();
        buf.resize(usize::try_from(end.saturating_sub(start)).unwrap_or(0), 0);
        format::read_at(&self.chunks, buf, start).map_err(|source| BlockError::Io {
            path: self.dir.join(CHUNKS_FILE),
            source,
        })?;
        for chunk in chunks {
            let from = usize::try_from(chunk.offset - start).unwrap_or(usize::MAX);
            let to = from.saturating_add(chunk.len as usize);
            let (Some(data), Some(crc)) = (buf.get(from..to), buf.get(to..to + format::CRC_LEN))
            else {
                return Err(self.corrupt_chunks("chunk reference past the end of the file".into()));
            };
            if crc32fast::hash(data).to_le_bytes() != crc {
                return Err(
                    self.corrupt_chunks(format!("checksum mismatch at offset {}", chunk.offset))
                );
            }
            f(chunk, data)?;
        }
        Ok(())
    }
}

/// Opens every block under `blocks_dir`, sorted by time. Removes unfinished writes (`*.tmp`) and
/// blocks already merged into a compacted block whose deletion was interrupted.
pub(crate) fn open_all(blocks_dir: &Path) -> Result<Vec<Block>, BlockError> {
    let io = |source| BlockError::Io {
        path: blocks_dir.to_owned(),
        source,
    };
    fs::create_dir_all(blocks_dir).map_err(io)?;
    let mut dirs = Vec::new();
    for entry in fs::read_dir(blocks_dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.to_string_lossy().ends_with(TMP_SUFFIX) {
            fs::remove_dir_all(&path).map_err(|source| BlockError::Io {
                path: path.clone(),
                source,
            })?;
            continue;
        }
        dirs.push(path);
    }
    let blocks = open_in_parallel(&dirs)?;
    let superseded: BTreeSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta.compaction.parents.iter().cloned())
        .collect();
    let (stale, mut live): (Vec<Block>, Vec<Block>) = blocks
        .into_iter()
        .partition(|b| superseded.contains(&b.meta.name));
    for block in stale {
        remove(&block)?;
    }
    live.sort_by_key(|b| (b.meta.min_time, b.meta.max_time));
    Ok(live)
}

/// Opens the blocks in `dirs` on up to as many threads as there are CPUs: loading and checking
/// an index is CPU-bound, and startup waits for all of them (measured by bench/tsdb-startup.sh).
fn open_in_parallel(dirs: &[PathBuf]) -> Result<Vec<Block>, BlockError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(dirs.len().max(1));
    if threads <= 1 {
        return dirs.iter().map(|dir| Block::open(dir)).collect();
    }
    let per_thread = dirs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = dirs
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|dir| Block::open(dir))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut blocks = Vec::with_capacity(dirs.len());
        for worker in workers {
            match worker.join() {
                Ok(opened) => blocks.extend(opened?),
                Err(_) => {
                    return Err(BlockError::Corrupt {
                        path: dirs.first().cloned().unwrap_or_default(),
                        reason: "a thread opening blocks panicked".to_owned(),
                    });
                }
            }
        }
        Ok(blocks)
    })
}

/// Deletes a block's directory.
pub(crate) fn remove(block: &Block) -> Result<(), BlockError> {
    fs::remove_dir_all(&block.dir).map_err(|source| BlockError::Io {
        path: block.dir.clone(),
        source,
    })
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
