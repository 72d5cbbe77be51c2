//! Byte-level helpers shared by the WAL, the block index and the chunk files: LEB128 varints,
//! zig-zag signed varints and a bounds-checked reader that reports truncation instead of panicking.

use thiserror::Error;

/// A buffer ended before a complete value could be read, or a varint was malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("encoded data is truncated or malformed at byte {offset}: {what}")]
pub struct DecodeError {
    /// Byte offset (within the decoded buffer) where decoding stopped.
    pub offset: usize,
    /// What was being read.
    pub what: &'static str,
}

/// Appends `value` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` zig-zag encoded, so small negative numbers stay short.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, zigzag(value));
}

pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(crate) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends a length-prefixed UTF-8 string.
pub(crate) fn put_str(out: &mut Vec<u8>, value: &str) {
    put_uvarint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// A cursor over a byte slice whose every read is bounds-checked.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn error(&self, what: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            what,
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.bytes.get(self.pos).ok_or(self.error("byte"))?;
        self.pos += 1;
        Ok(byte)
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(self.error("byte string"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let raw = self.bytes(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(raw);
        Ok(u64::from_le_bytes(array))
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            // The 10th byte may only carry the top bit of a u64.
            if shift == 63 && byte > 1 {
                return Err(self.error("varint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    pub(crate) fn varint(&mut self) -> Result<i64, DecodeError> {
        self.uvarint().map(unzigzag)
    }

    /// Reads a varint that must fit a `usize` length no longer than the remaining input.
    pub(crate) fn len(&mut self) -> Result<usize, DecodeError> {
        let len = self.uvarint()?;
        usize::try_from(len)
            .ok()
            .filter(|len| *len <= self.bytes.len() - self.pos)
            .ok_or(self.error("length exceeds remaining data"))
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.len()?;
        let raw = self.bytes(len)?;
        std::str::from_utf8(raw).map_err(|_| self.error("string is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_extremes() {
        let values = [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40];
        let mut buf = Vec::new();
        for v in values {
            put_varint(&mut buf, v);
            put_uvarint(&mut buf, v as u64);
        }
        let mut reader = ByteReader::new(&buf);
        for v in values {
            assert_eq!(reader.varint().unwrap(), v);
            assert_eq!(reader.uvarint().unwrap(), v as u64);
        }
        assert!(reader.is_empty());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        put_str(&mut buf, "hello");
        let truncated = &buf[..buf.len() - 1];
        assert!(ByteReader::new(truncated).str().is_err());
        assert!(ByteReader::new(&[0x80, 0x80]).uvarint().is_err());
        assert!(ByteReader::new(&[0xff; 11]).uvarint().is_err());
    }
}
