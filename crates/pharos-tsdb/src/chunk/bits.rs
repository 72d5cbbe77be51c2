//! Bit-granular writer and reader used by the XOR chunk codec. Bits are written most significant
//! first, so the byte layout matches Prometheus' `bstream`.

/// Appends bits to a byte vector. `free_bits` counts unused low bits in the last byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    free_bits: u8,
}

impl BitWriter {
    /// Continues writing after `bytes`, whose last byte has `free_bits` unused low bits.
    pub(crate) fn from_parts(bytes: Vec<u8>, free_bits: u8) -> Self {
        Self { bytes, free_bits }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the lowest `count` bits of `value` (count ≤ 64), most significant first.
    pub(crate) fn write_bits(&mut self, value: u64, count: u8) {
        let mut remaining = count;
        while remaining > 0 {
            if self.free_bits == 0 {
                self.bytes.push(0);
                self.free_bits = 8;
            }
            let take = remaining.min(self.free_bits);
            // The `take` bits just below position `remaining` of `value`.
            let shifted = value >> (remaining - take);
            let piece = (shifted & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= piece << (self.free_bits - take);
            self.free_bits -= take;
            remaining -= take;
        }
    }

    pub(crate) fn write_byte(&mut self, byte: u8) {
        self.write_bits(u64::from(byte), 8);
    }
}

/// Reads bits from a byte slice; every read returns `None` past the end instead of panicking.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Absolute bit position of the next read.
    position: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// Number of unread bits in the final partially-read byte (0 when aligned).
    pub(crate) fn free_bits_in_last_byte(&self) -> u8 {
        ((8 - self.position % 8) % 8) as u8
    }

    pub(crate) fn byte_position(&self) -> usize {
        self.position.div_ceil(8)
    }

    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        self.read_bits(1).map(|bit| bit == 1)
    }

    /// Reads `count` bits (≤ 64) as the low bits of the result.
    pub(crate) fn read_bits(&mut self, count: u8) -> Option<u64> {
        if count == 0 {
            return Some(0);
        }
        if self.position + usize::from(count) > self.bytes.len() * 8 {
            return None;
        }
        // A big-endian word at the current byte holds at least 57 unread bits; wider reads
        // take their top 32 bits first. Decoding reads a handful of bits per field, so one word
        // load per field replaces a loop over bytes.
        if count > 56 {
            let high = self.read_bits(count - 32)?;
            let low = self.read_bits(32)?;
            return Some((high << 32) | low);
        }
        let word = self.word_at(self.position / 8) << (self.position % 8);
        self.position += usize::from(count);
        Some(word >> (64 - count))
    }

    /// Eight bytes from `byte` on as a big-endian word, zero-padded past the end.
    fn word_at(&self, byte: usize) -> u64 {
        match self.bytes.get(byte..byte + 8) {
            Some(eight) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(eight);
                u64::from_be_bytes(word)
            }
            None => {
                let mut word = [0u8; 8];
                let tail = self.bytes.get(byte..).unwrap_or_default();
                word[..tail.len()].copy_from_slice(tail);
                u64::from_be_bytes(word)
            }
        }
    }

    pub(crate) fn read_byte(&mut self) -> Option<u8> {
        self.read_bits(8).map(|byte| byte as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut writer = BitWriter::default();
        writer.write_bit(true);
        writer.write_bits(0b101, 3);
        writer.write_bits(u64::MAX, 64);
        writer.write_bits(0x1234, 14);
        writer.write_byte(0xab);
        writer.write_bits(0, 0);

        let mut reader = BitReader::new(writer.bytes());
        assert_eq!(reader.read_bit(), Some(true));
        assert_eq!(reader.read_bits(3), Some(0b101));
        assert_eq!(reader.read_bits(64), Some(u64::MAX));
        assert_eq!(reader.read_bits(14), Some(0x1234 & 0x3fff));
        assert_eq!(reader.read_byte(), Some(0xab));
        // 1 + 3 + 64 + 14 + 8 = 90 bits → 12 bytes with 6 free bits.
        assert_eq!(writer.bytes().len(), 12);
        assert_eq!(reader.free_bits_in_last_byte(), 6);
        assert_eq!(reader.read_bits(7), None, "only 6 padding bits remain");
    }

    #[test]
    fn msb_first_layout() {
        let mut writer = BitWriter::default();
        writer.write_bits(0b10, 2);
        writer.write_bits(0b1, 1);
        assert_eq!(writer.bytes(), &[0b1010_0000]);
    }
}
