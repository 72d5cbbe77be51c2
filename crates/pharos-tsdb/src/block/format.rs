//! Binary layout of a block's `index` and `chunks` files.
//!
//! `chunks`: magic `PHXC`, version byte, then per chunk its encoded bytes followed by their
//! CRC32 (LE). Chunks of one series are contiguous, oldest first.
//!
//! `index`: magic `PHXI`, version byte, a sorted symbol table (every label name and value once),
//! then the series sorted by labels — label pairs as symbol numbers and chunk references — and a
//! CRC32 (LE) of everything before it.
//!
//! Chunk references in index version 2 are deltas, since a series' chunks follow each other in
//! time and in the file: the first chunk's start as a signed varint, every later one's start
//! as the (unsigned) gap after the previous chunk's end, and offsets relative to where the
//! previous chunk's CRC ends (almost always 0). For 15 s data that is about 9 bytes per chunk
//! instead of version 1's 16 with absolute values, and the index was what made blocks larger
//! than Prometheus'. Version 1 indexes are still read.

use std::fs::File;
use std::io;

use crate::encoding::{ByteReader, DecodeError, put_str, put_uvarint, put_varint};

pub(crate) const CHUNKS_MAGIC: &[u8; 4] = b"PHXC";
pub(crate) const INDEX_MAGIC: &[u8; 4] = b"PHXI";
/// Version of the `chunks` file layout.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Version of the `index` layout written; [`INDEX_VERSION_ABSOLUTE`] is read too.
pub(crate) const INDEX_VERSION: u8 = 2;
/// The first index layout: absolute chunk times and offsets.
const INDEX_VERSION_ABSOLUTE: u8 = 1;
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

impl ChunkRef {
    /// Offset just past the chunk's CRC: where the series' next chunk starts.
    fn end_of_crc(&self) -> u64 {
        self.offset
            .wrapping_add(u64::from(self.len))
            .wrapping_add(CRC_LEN as u64)
    }
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
    out.push(INDEX_VERSION);
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
        let mut previous: Option<&ChunkRef> = None;
        for chunk in &entry.chunks {
            // Wrapping arithmetic keeps any input round-tripping (the decoder wraps back).
            match previous {
                None => put_varint(&mut out, chunk.min_t),
                // Unsigned: chunks of a series do not overlap, so the gap is positive.
                Some(p) => put_uvarint(&mut out, chunk.min_t.wrapping_sub(p.max_t) as u64),
            }
            let offset =
                previous.map_or(chunk.offset, |p| chunk.offset.wrapping_sub(p.end_of_crc()));
            put_uvarint(&mut out, chunk.max_t.wrapping_sub(chunk.min_t) as u64);
            put_uvarint(&mut out, u64::from(chunk.num_samples));
            put_uvarint(&mut out, offset);
            put_uvarint(&mut out, u64::from(chunk.len));
            previous = Some(chunk);
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
    if reader.bytes(4)? != INDEX_MAGIC {
        return Err(corrupt("not a pharos block index"));
    }
    let deltas = match reader.u8()? {
        INDEX_VERSION => true,
        INDEX_VERSION_ABSOLUTE => false,
        _ => return Err(corrupt("not a pharos block index of a supported version")),
    };
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
        let mut chunks: Vec<ChunkRef> = Vec::with_capacity(chunk_count);
        for _ in 0..chunk_count {
            let min_t = match chunks.last() {
                Some(p) if deltas => p.max_t.wrapping_add(reader.uvarint()? as i64),
                _ => reader.varint()?,
            };
            let max_t = min_t.wrapping_add(reader.uvarint()? as i64);
            let num_samples = u32_field(&mut reader, "sample count")?;
            let offset = match (reader.uvarint()?, chunks.last()) {
                (delta, Some(p)) if deltas => p.end_of_crc().wrapping_add(delta),
                (offset, _) => offset,
            };
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

    fn chunk(min_t: i64, max_t: i64, offset: u64, len: u32) -> ChunkRef {
        ChunkRef {
            min_t,
            max_t,
            num_samples: 120,
            offset,
            len,
        }
    }

    #[test]
    fn delta_encoded_chunk_refs_round_trip_any_values() {
        let symbols = vec!["__name__".to_owned(), "up".to_owned()];
        let contiguous = vec![
            chunk(1_700_000_000_000, 1_700_001_785_000, 5, 300),
            chunk(1_700_001_800_000, 1_700_003_585_000, 309, 280),
            chunk(1_700_003_600_000, 1_700_005_385_000, 593, 1_024),
        ];
        // Gaps, overlaps and wrap-around must survive too (a corrupt-looking but valid input).
        let odd = vec![
            chunk(i64::MAX - 10, i64::MAX, u64::MAX - 3, 7),
            chunk(i64::MIN, i64::MIN + 1, 0, 1),
            chunk(-5, 100, 40, 2),
        ];
        let series = vec![
            IndexSeries {
                labels: vec![(0, 1)],
                chunks: contiguous,
            },
            IndexSeries {
                labels: vec![(1, 0)],
                chunks: odd,
            },
        ];
        let bytes = encode_index(&symbols, &series);
        assert_eq!(decode_index(&bytes).unwrap(), (symbols, series));
    }

    #[test]
    fn contiguous_chunks_cost_about_nine_bytes_each() {
        let chunks: Vec<ChunkRef> = (0..1_000u64)
            .map(|i| {
                let start = 1_700_000_000_000 + i as i64 * 1_800_000;
                chunk(start, start + 1_785_000, 5 + i * 304, 300)
            })
            .collect();
        let series = vec![IndexSeries {
            labels: vec![(0, 0)],
            chunks,
        }];
        let bytes = encode_index(&["a".to_owned()], &series);
        assert!(
            bytes.len() < 9_100,
            "{} bytes for 1,000 chunks",
            bytes.len()
        );
    }

    #[test]
    fn version_1_indexes_with_absolute_refs_are_still_read() {
        let mut body = Vec::new();
        body.extend_from_slice(INDEX_MAGIC);
        body.push(INDEX_VERSION_ABSOLUTE);
        put_uvarint(&mut body, 1);
        put_str(&mut body, "up");
        put_uvarint(&mut body, 1); // one series
        put_uvarint(&mut body, 1); // one label
        put_uvarint(&mut body, 0);
        put_uvarint(&mut body, 0);
        put_uvarint(&mut body, 2); // two chunks, absolute
        for (min_t, offset) in [(1_000i64, 5u64), (5_000, 400)] {
            put_varint(&mut body, min_t);
            put_uvarint(&mut body, 3_000);
            put_uvarint(&mut body, 120);
            put_uvarint(&mut body, offset);
            put_uvarint(&mut body, 50);
        }
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        let (_, series) = decode_index(&body).unwrap();
        let got = &series[0].chunks;
        assert_eq!(got[0], chunk(1_000, 4_000, 5, 50));
        assert_eq!(got[1], chunk(5_000, 8_000, 400, 50));
    }
}
