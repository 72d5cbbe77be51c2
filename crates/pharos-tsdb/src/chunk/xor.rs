//! The XOR chunk: a 2-byte big-endian sample count followed by a bit stream.
//!
//! * sample 0: timestamp as zig-zag varint, value as 64 raw bits;
//! * sample 1: timestamp delta as unsigned varint, value XOR-encoded;
//! * later samples: delta-of-delta in one of five buckets (`0`, `10`+14 bits, `110`+17,
//!   `1110`+20, `1111`+64), value XOR-encoded (`0` same value, `10` reuse the previous
//!   leading/trailing-zero window, `11` + 5 bits leading zeros + 6 bits length + the bits).
//!
//! Timestamp arithmetic wraps, and the 64-bit bucket stores the full two's-complement value, so
//! any strictly increasing `i64` sequence round-trips, however large its gaps.

use thiserror::Error;

use super::bits::{BitReader, BitWriter};
use crate::sample::Sample;

/// Prometheus cuts a chunk after 120 samples: the sweet spot between compression and the cost of
/// decoding a whole chunk to read one sample.
pub const MAX_SAMPLES_PER_CHUNK: usize = 120;

/// Size cap so that a series with incompressible values does not grow one huge chunk.
pub const MAX_CHUNK_BYTES: usize = 1024;

const HEADER_LEN: usize = 2;
/// Marks "no leading/trailing window yet" so the first XOR value always writes its window.
const NO_WINDOW: u8 = 0xff;

/// Why a sample could not be appended or a chunk could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkError {
    /// Samples in a chunk must have strictly increasing timestamps.
    #[error(
        "timestamp {got} is not after the chunk's last timestamp {last}; samples must be appended in increasing time order"
    )]
    NonIncreasingTimestamp {
        /// Last timestamp already in the chunk.
        last: i64,
        /// Rejected timestamp.
        got: i64,
    },
    /// The 16-bit sample counter cannot grow further; start a new chunk.
    #[error("chunk already holds {0} samples, the most its header can count; start a new chunk")]
    Full(usize),
    /// The encoded bytes do not form a valid chunk.
    #[error("corrupt chunk: {0}")]
    Corrupt(&'static str),
}

/// Dod ranges per bucket; the asymmetric bounds (`-(2^(n-1)-1) ..= 2^(n-1)`) match Prometheus.
const DOD_BUCKETS: [(u64, u8, u8); 3] = [(0b10, 2, 14), (0b110, 3, 17), (0b1110, 4, 20)];

fn fits_in(dod: i64, bits: u8) -> bool {
    let half = 1i64 << (bits - 1);
    -(half - 1) <= dod && dod <= half
}

/// An appendable XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunk {
    /// Header plus bit stream.
    writer: BitWriter,
    num_samples: usize,
    first_t: i64,
    last_t: i64,
    last_delta: u64,
    last_value_bits: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            writer: BitWriter::from_parts(vec![0; HEADER_LEN], 0),
            num_samples: 0,
            first_t: 0,
            last_t: 0,
            last_delta: 0,
            last_value_bits: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Re-opens encoded bytes for appending (e.g. an open chunk restored from a checkpoint).
    /// Decodes every sample, so corrupt input is rejected here rather than on read.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ChunkError> {
        let mut iter = ChunkIter::new(&bytes);
        let mut first_t = 0;
        for (index, sample) in iter.by_ref().enumerate() {
            if index == 0 {
                first_t = sample.t;
            }
        }
        if let Some(error) = iter.error() {
            return Err(error.clone());
        }
        let end = HEADER_LEN + iter.reader.byte_position();
        if end != bytes.len() {
            return Err(ChunkError::Corrupt("trailing bytes after the last sample"));
        }
        let free_bits = iter.reader.free_bits_in_last_byte();
        let state = iter.state;
        let num_samples = iter.total;
        Ok(Self {
            writer: BitWriter::from_parts(bytes, free_bits),
            num_samples,
            first_t,
            last_t: state.t,
            last_delta: state.delta,
            last_value_bits: state.value_bits,
            leading: state.leading,
            trailing: state.trailing,
        })
    }

    /// Number of samples in the chunk.
    pub fn num_samples(&self) -> usize {
        self.num_samples
    }

    /// True when no sample has been appended.
    pub fn is_empty(&self) -> bool {
        self.num_samples == 0
    }

    /// The encoded bytes (header included), valid input for [`XorChunk::from_bytes`] and [`decode`].
    pub fn bytes(&self) -> &[u8] {
        self.writer.bytes()
    }

    /// Consumes the chunk, returning its encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_bytes()
    }

    /// True when the chunk reached [`MAX_SAMPLES_PER_CHUNK`] or [`MAX_CHUNK_BYTES`] and the caller
    /// should start a new one.
    pub fn is_full(&self) -> bool {
        self.num_samples >= MAX_SAMPLES_PER_CHUNK || self.writer.bytes().len() >= MAX_CHUNK_BYTES
    }

    /// Timestamp of the first sample, if any.
    pub fn min_time(&self) -> Option<i64> {
        (self.num_samples > 0).then_some(self.first_t)
    }

    /// Timestamp of the last sample, if any.
    pub fn max_time(&self) -> Option<i64> {
        (self.num_samples > 0).then_some(self.last_t)
    }

    /// The last sample, if any.
    pub fn last(&self) -> Option<Sample> {
        (self.num_samples > 0)
            .then(|| Sample::new(self.last_t, f64::from_bits(self.last_value_bits)))
    }

    /// Iterates the samples in time order.
    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(self.writer.bytes())
    }

    /// Appends a sample whose timestamp is after every sample already in the chunk.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), ChunkError> {
        if self.num_samples >= usize::from(u16::MAX) {
            return Err(ChunkError::Full(self.num_samples));
        }
        if self.num_samples > 0 && t <= self.last_t {
            return Err(ChunkError::NonIncreasingTimestamp {
                last: self.last_t,
                got: t,
            });
        }
        let value_bits = v.to_bits();
        match self.num_samples {
            0 => {
                write_uvarint(&mut self.writer, crate::encoding::zigzag(t));
                self.writer.write_bits(value_bits, 64);
                self.first_t = t;
            }
            1 => {
                let delta = t.wrapping_sub(self.last_t) as u64;
                write_uvarint(&mut self.writer, delta);
                self.write_value(value_bits);
                self.last_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t) as u64;
                let dod = delta.wrapping_sub(self.last_delta) as i64;
                self.write_dod(dod);
                self.write_value(value_bits);
                self.last_delta = delta;
            }
        }
        self.last_t = t;
        self.last_value_bits = value_bits;
        self.num_samples += 1;
        let count = (self.num_samples as u16).to_be_bytes();
        self.writer.bytes_mut()[..HEADER_LEN].copy_from_slice(&count);
        Ok(())
    }

    fn write_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.writer.write_bit(false);
            return;
        }
        for (prefix, prefix_len, bits) in DOD_BUCKETS {
            if fits_in(dod, bits) {
                self.writer.write_bits(prefix, prefix_len);
                self.writer.write_bits(dod as u64, bits);
                return;
            }
        }
        self.writer.write_bits(0b1111, 4);
        self.writer.write_bits(dod as u64, 64);
    }

    fn write_value(&mut self, value_bits: u64) {
        let xor = value_bits ^ self.last_value_bits;
        if xor == 0 {
            self.writer.write_bit(false);
            return;
        }
        self.writer.write_bit(true);
        // Only 5 bits store the leading-zero count; extra zeros become significant bits.
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            self.writer.write_bit(false);
            let significant = 64 - self.leading - self.trailing;
            self.writer.write_bits(xor >> self.trailing, significant);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let significant = 64 - leading - trailing;
            self.writer.write_bit(true);
            self.writer.write_bits(u64::from(leading), 5);
            // 64 significant bits do not fit 6 bits; 0 stands for 64 (never a real length).
            self.writer.write_bits(u64::from(significant % 64), 6);
            self.writer.write_bits(xor >> trailing, significant);
        }
    }
}

fn write_uvarint(writer: &mut BitWriter, value: u64) {
    let mut buf = Vec::with_capacity(10);
    crate::encoding::put_uvarint(&mut buf, value);
    for byte in buf {
        writer.write_byte(byte);
    }
}

fn read_uvarint(reader: &mut BitReader<'_>) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = reader.read_byte()?;
        if shift == 63 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Decoder state carried from one sample to the next.
#[derive(Debug, Clone, Copy)]
struct DecodeState {
    t: i64,
    delta: u64,
    value_bits: u64,
    leading: u8,
    trailing: u8,
}

/// Iterates the samples of an encoded chunk. Decoding stops at the first inconsistency; check
/// [`ChunkIter::error`] afterwards when reading untrusted bytes.
#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    reader: BitReader<'a>,
    total: usize,
    read: usize,
    state: DecodeState,
    error: Option<ChunkError>,
}

impl<'a> ChunkIter<'a> {
    /// Starts decoding `bytes` (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut error = None;
        let total = match bytes {
            [high, low, ..] => usize::from(u16::from_be_bytes([*high, *low])),
            _ => {
                error = Some(ChunkError::Corrupt(
                    "chunk is shorter than its 2-byte header",
                ));
                0
            }
        };
        Self {
            reader: BitReader::new(bytes.get(HEADER_LEN..).unwrap_or_default()),
            total,
            read: 0,
            state: DecodeState {
                t: 0,
                delta: 0,
                value_bits: 0,
                leading: NO_WINDOW,
                trailing: 0,
            },
            error,
        }
    }

    /// The decoding error that ended iteration early, if any.
    pub fn error(&self) -> Option<&ChunkError> {
        self.error.as_ref()
    }

    fn decode_next(&mut self) -> Result<Sample, ChunkError> {
        const TRUNCATED: ChunkError =
            ChunkError::Corrupt("bit stream ends before the sample count");
        let state = &mut self.state;
        let reader = &mut self.reader;
        match self.read {
            0 => {
                state.t = crate::encoding::unzigzag(read_uvarint(reader).ok_or(TRUNCATED)?);
                state.value_bits = reader.read_bits(64).ok_or(TRUNCATED)?;
            }
            1 => {
                state.delta = read_uvarint(reader).ok_or(TRUNCATED)?;
                state.t = state.t.wrapping_add(state.delta as i64);
                read_value(reader, state)?;
            }
            _ => {
                let dod = read_dod(reader).ok_or(TRUNCATED)?;
                state.delta = state.delta.wrapping_add(dod as u64);
                state.t = state.t.wrapping_add(state.delta as i64);
                read_value(reader, state)?;
            }
        }
        if self.read > 0 && state.delta == 0 {
            return Err(ChunkError::Corrupt("two samples share a timestamp"));
        }
        Ok(Sample::new(state.t, f64::from_bits(state.value_bits)))
    }
}

fn read_dod(reader: &mut BitReader<'_>) -> Option<i64> {
    let bits = match reader.read_ones(4)? {
        0 => return Some(0),
        1 => 14,
        2 => 17,
        3 => 20,
        _ => return reader.read_bits(64).map(|raw| raw as i64),
    };
    let raw = reader.read_bits(bits)?;
    // Values above the positive bound are negatives in `bits`-wide two's complement.
    let value = if raw > 1u64 << (bits - 1) {
        raw as i64 - (1i64 << bits)
    } else {
        raw as i64
    };
    Some(value)
}

fn read_value(reader: &mut BitReader<'_>, state: &mut DecodeState) -> Result<(), ChunkError> {
    const TRUNCATED: ChunkError = ChunkError::Corrupt("value bits end early");
    // `0` same value, `10` reuse the window, `11` new window.
    let control = reader.read_ones(2).ok_or(TRUNCATED)?;
    if control == 0 {
        return Ok(());
    }
    if control == 2 {
        state.leading = reader.read_bits(5).ok_or(TRUNCATED)? as u8;
        let significant = match reader.read_bits(6).ok_or(TRUNCATED)? as u8 {
            0 => 64,
            n => n,
        };
        if state.leading + significant > 64 {
            return Err(ChunkError::Corrupt("XOR window wider than 64 bits"));
        }
        state.trailing = 64 - state.leading - significant;
    } else if state.leading == NO_WINDOW {
        return Err(ChunkError::Corrupt("XOR window reused before it was set"));
    }
    let significant = 64 - state.leading - state.trailing;
    let bits = reader.read_bits(significant).ok_or(TRUNCATED)?;
    // `significant` ≥ 1, so the shift is < 64.
    state.value_bits ^= bits << state.trailing;
    Ok(())
}

impl Iterator for ChunkIter<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if self.error.is_some() || self.read >= self.total {
            return None;
        }
        match self.decode_next() {
            Ok(sample) => {
                self.read += 1;
                Some(sample)
            }
            Err(error) => {
                self.error = Some(error);
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.total - self.read))
    }
}

/// Decodes every sample of an encoded chunk, failing on any corruption.
pub fn decode(bytes: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    let mut iter = ChunkIter::new(bytes);
    let samples: Vec<Sample> = iter.by_ref().collect();
    match iter.error() {
        Some(error) => Err(error.clone()),
        None => Ok(samples),
    }
}

#[cfg(test)]
#[path = "xor_tests.rs"]
mod tests;
