//! Binary layout of a block's `index` and `chunks` files.
//!
//! `chunks`: magic `PHXC`, version byte, then per chunk its encoded bytes followed by their
//! CRC32 (LE). Chunks of one series are contiguous, oldest first.
//!
//! `index`: magic `PHXI`, version byte, a sorted symbol table (every label name and value once),
//! then the series sorted by labels — label pairs as symbol numbers and chunk references — and a
//! CRC32 (LE) of everything before it.

use std::fs::File;
use std::io;

use crate::encoding::{ByteReader, DecodeError, put_str, put_uvarint, put_varint};

pub(crate) const CHUNKS_MAGIC: &[u8; 4] = b"PHXC";
pub(crate) const INDEX_MAGIC: &[u8; 4] = b"PHXI";
pub(crate) const FORMAT_VERSION: u8 = 1;
pub(crate) const HEADER_LEN: u64 = 5;
pub(crate) const CRC_LEN: usize = 4;

/// Where a chunk lives in the `chunks` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkRef {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    pub(crate) num_samples: u32,
    /// Offset of the chunk bytes (its CRC follows them).
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

/// One series in the index: `(name, value)` symbol numbers and its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexSeries {
    pub(crate) labels: Vec<(u32, u32)>,
    pub(crate) chunks: Vec<ChunkRef>,
}

pub(crate) fn encode_index(symbols: &[String], series: &[IndexSeries]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(INDEX_MAGIC);
    out.push(FORMAT_VERSION);
    put_uvarint(&mut out, symbols.len() as u64);
    for symbol in symbols {
        put_str(&mut out, symbol);
    }
    put_uvarint(&mut out, series.len() as u64);
    for entry in series {
        put_uvarint(&mut out, entry.labels.len() as u64);
        for (name, value) in &entry.labels {
            put_uvarint(&mut out, u64::from(*name));
            put_uvarint(&mut out, u64::from(*value));
        }
        put_uvarint(&mut out, entry.chunks.len() as u64);
        for chunk in &entry.chunks {
            put_varint(&mut out, chunk.min_t);
            put_uvarint(&mut out, chunk.max_t.wrapping_sub(chunk.min_t) as u64);
            put_uvarint(&mut out, u64::from(chunk.num_samples));
            put_uvarint(&mut out, chunk.offset);
            put_uvarint(&mut out, u64::from(chunk.len));
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn corrupt(what: &'static str) -> DecodeError {
    DecodeError { offset: 0, what }
}

fn u32_field(reader: &mut ByteReader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(reader.uvarint()?).map_err(|_| corrupt(what))
}

pub(crate) fn decode_index(bytes: &[u8]) -> Result<(Vec<String>, Vec<IndexSeries>), DecodeError> {
    let body_len = bytes
        .len()
        .checked_sub(CRC_LEN)
        .ok_or(corrupt("index shorter than its checksum"))?;
    let (body, crc) = bytes.split_at(body_len);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(corrupt("index checksum mismatch"));
    }
    let mut reader = ByteReader::new(body);
    if reader.bytes(4)? != INDEX_MAGIC || reader.u8()? != FORMAT_VERSION {
        return Err(corrupt("not a pharos block index of a supported version"));
    }
    let symbol_count = reader.len()?;
    let mut symbols = Vec::with_capacity(symbol_count);
    for _ in 0..symbol_count {
        symbols.push(reader.str()?.to_owned());
    }
    let series_count = reader.len()?;
    let mut series = Vec::with_capacity(series_count);
    for _ in 0..series_count {
        let label_count = reader.len()?;
        let mut labels = Vec::with_capacity(label_count);
        for _ in 0..label_count {
            let name = u32_field(&mut reader, "symbol number")?;
            let value = u32_field(&mut reader, "symbol number")?;
            if name as usize >= symbols.len() || value as usize >= symbols.len() {
                return Err(corrupt("symbol number out of range"));
            }
            labels.push((name, value));
        }
        let chunk_count = reader.len()?;
        let mut chunks = Vec::with_capacity(chunk_count);
        for _ in 0..chunk_count {
            let min_t = reader.varint()?;
            let max_t = min_t.wrapping_add(reader.uvarint()? as i64);
            let num_samples = u32_field(&mut reader, "sample count")?;
            let offset = reader.uvarint()?;
            let len = u32_field(&mut reader, "chunk length")?;
            chunks.push(ChunkRef {
                min_t,
                max_t,
                num_samples,
                offset,
                len,
            });
        }
        series.push(IndexSeries { labels, chunks });
    }
    if !reader.is_empty() {
        return Err(corrupt("trailing bytes in index"));
    }
    Ok((symbols, series))
}

/// Reads exactly `buf.len()` bytes at `offset` without moving a shared cursor, so concurrent
/// queries can read one file handle.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// Reads exactly `buf.len()` bytes at `offset` without moving a shared cursor.
#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        let read = file.seek_read(&mut buf[done..], offset + done as u64)?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        done += read;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_and_detects_damage() {
        let symbols = vec!["__name__".to_owned(), "up".to_owned()];
        let series = vec![IndexSeries {
            labels: vec![(0, 1)],
            chunks: vec![ChunkRef {
                min_t: -5,
                max_t: 100,
                num_samples: 3,
                offset: 5,
                len: 20,
            }],
        }];
        let mut bytes = encode_index(&symbols, &series);
        assert_eq!(decode_index(&bytes).unwrap(), (symbols, series));
        bytes[7] ^= 1;
        assert!(decode_index(&bytes).is_err());
        assert!(decode_index(&[1, 2]).is_err());
    }
}
