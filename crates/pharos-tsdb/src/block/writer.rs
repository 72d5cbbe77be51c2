//! Writes a block: chunks streamed to `chunks`, then `index` and `meta.json`, all into a
//! temporary directory that is fsynced and renamed into place, so a block that exists is whole.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::{self, ChunkRef, IndexSeries};
use super::meta::{BlockCompaction, BlockMeta, BlockStats, META_VERSION};
use super::{BlockError, CHUNKS_FILE, INDEX_FILE, META_FILE, TMP_SUFFIX};
use crate::chunk::StoredChunk;
use crate::labels::Labels;

/// What the new block covers and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct BlockSpec {
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) level: u32,
    pub(crate) parents: Vec<String>,
}

/// A fresh directory name: creation time in ms and a process-wide counter, both hex.
fn new_block_name(blocks_dir: &Path) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    loop {
        let sequence = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{millis:012x}{sequence:06x}");
        if !blocks_dir.join(&name).exists() {
            return name;
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BlockError + '_ {
    move |source| BlockError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `series` (any order; each label set once) as a block under `blocks_dir`. Returns the
/// new block's directory, or `None` when there was nothing to write.
pub(crate) fn write_block(
    blocks_dir: &Path,
    spec: BlockSpec,
    series: impl Iterator<Item = Result<(Labels, Vec<StoredChunk>), BlockError>>,
) -> Result<Option<PathBuf>, BlockError> {
    let name = new_block_name(blocks_dir);
    let final_dir = blocks_dir.join(&name);
    let tmp_dir = blocks_dir.join(format!("{name}{TMP_SUFFIX}"));
    fs::create_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
    let result = write_contents(&tmp_dir, &name, spec, series);
    match result {
        Ok(true) => {
            fs::rename(&tmp_dir, &final_dir).map_err(io(&final_dir))?;
            sync_dir(blocks_dir)?;
            Ok(Some(final_dir))
        }
        Ok(false) => {
            fs::remove_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
            Ok(None)
        }
        Err(error) => {
            // Best effort: the directory is ignored and removed on the next open anyway.
            let _ = fs::remove_dir_all(&tmp_dir);
            Err(error)
        }
    }
}

/// Returns false when no series had chunks.
fn write_contents(
    dir: &Path,
    name: &str,
    spec: BlockSpec,
    series: impl Iterator<Item = Result<(Labels, Vec<StoredChunk>), BlockError>>,
) -> Result<bool, BlockError> {
    let chunks_path = dir.join(CHUNKS_FILE);
    let mut chunks_out = BufWriter::new(File::create(&chunks_path).map_err(io(&chunks_path))?);
    chunks_out
        .write_all(format::CHUNKS_MAGIC)
        .map_err(io(&chunks_path))?;
    chunks_out
        .write_all(&[format::FORMAT_VERSION])
        .map_err(io(&chunks_path))?;
    let mut offset = format::HEADER_LEN;
    let mut stats = BlockStats::default();
    let mut entries: Vec<(Labels, Vec<ChunkRef>)> = Vec::new();
    for item in series {
        let (labels, chunks) = item?;
        let mut refs = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let len = u32::try_from(chunk.data.len()).map_err(|_| BlockError::Corrupt {
                path: chunks_path.clone(),
                reason: "chunk larger than 4 GiB".into(),
            })?;
            chunks_out
                .write_all(&chunk.data)
                .map_err(io(&chunks_path))?;
            chunks_out
                .write_all(&crc32fast::hash(&chunk.data).to_le_bytes())
                .map_err(io(&chunks_path))?;
            refs.push(ChunkRef {
                min_t: chunk.min_t,
                max_t: chunk.max_t,
                num_samples: chunk.num_samples as u32,
                offset,
                len,
            });
            offset += u64::from(len) + format::CRC_LEN as u64;
            stats.num_chunks += 1;
            stats.num_samples += chunk.num_samples as u64;
            stats.chunk_bytes += u64::from(len);
        }
        if !refs.is_empty() {
            entries.push((labels, refs));
        }
    }
    if entries.is_empty() {
        return Ok(false);
    }
    let chunks_file = chunks_out.into_inner().map_err(|e| BlockError::Io {
        path: chunks_path.clone(),
        source: e.into_error(),
    })?;
    chunks_file.sync_all().map_err(io(&chunks_path))?;

    entries.sort_by(|a, b| a.0.cmp(&b.0));
    stats.num_series = entries.len() as u64;
    let symbols: Vec<String> = entries
        .iter()
        .flat_map(|(labels, _)| {
            labels
                .iter()
                .flat_map(|l| [l.name.as_str(), l.value.as_str()])
        })
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let numbers: HashMap<&str, u32> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let number = |s: &str| numbers.get(s).copied().unwrap_or_default();
    let index_series: Vec<IndexSeries> = entries
        .into_iter()
        .map(|(labels, chunks)| IndexSeries {
            labels: labels
                .iter()
                .map(|l| (number(&l.name), number(&l.value)))
                .collect(),
            chunks,
        })
        .collect();
    write_synced(
        &dir.join(INDEX_FILE),
        &format::encode_index(&symbols, &index_series),
    )?;

    let meta = BlockMeta {
        version: META_VERSION,
        name: name.to_owned(),
        min_time: spec.min_time,
        max_time: spec.max_time,
        stats,
        compaction: BlockCompaction {
            level: spec.level,
            parents: spec.parents,
        },
    };
    let meta_path = dir.join(META_FILE);
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| BlockError::Corrupt {
        path: meta_path.clone(),
        reason: e.to_string(),
    })?;
    write_synced(&meta_path, &json)?;
    sync_dir(dir)?;
    Ok(true)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BlockError> {
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(path))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(io(dir))
}
