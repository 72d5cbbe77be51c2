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
///
/// Bits are served from a 64-bit register refilled a word at a time: decoding a chunk reads a
/// few bits per field, and a register shift per field is what keeps XOR decoding cheap.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte to load into the register.
    next_byte: usize,
    /// Unread bits, most significant first; bits below `buffered` are zero.
    register: u64,
    /// Number of valid bits in `register`.
    buffered: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            next_byte: 0,
            register: 0,
            buffered: 0,
        }
    }

    /// Absolute bit position of the next read.
    fn position(&self) -> usize {
        self.next_byte * 8 - self.buffered as usize
    }

    /// Number of unread bits in the final partially-read byte (0 when aligned).
    pub(crate) fn free_bits_in_last_byte(&self) -> u8 {
        ((8 - self.position() % 8) % 8) as u8
    }

    pub(crate) fn byte_position(&self) -> usize {
        self.position().div_ceil(8)
    }

    /// Tops the register up with whole bytes (at least 57 bits unless the input ends).
    fn refill(&mut self) {
        let room = (64 - self.buffered) / 8;
        if room == 0 {
            return;
        }
        if let Some(eight) = self.bytes.get(self.next_byte..self.next_byte + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(eight);
            // Keep only the `room` whole bytes that fit after the buffered bits.
            let loaded = u64::from_be_bytes(word) >> (64 - room * 8) << (64 - room * 8);
            self.register |= loaded >> self.buffered;
            self.next_byte += room as usize;
            self.buffered += room * 8;
            return;
        }
        while self.buffered <= 56 {
            let Some(byte) = self.bytes.get(self.next_byte) else {
                return;
            };
            self.register |= u64::from(*byte) << (56 - self.buffered);
            self.next_byte += 1;
            self.buffered += 8;
        }
    }

    fn consume(&mut self, count: u32) {
        // `count` ≤ 56 < 64, so neither shift overflows.
        self.register <<= count;
        self.buffered -= count;
    }

    #[cfg(test)]
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        if self.buffered == 0 {
            self.refill();
            if self.buffered == 0 {
                return None;
            }
        }
        let bit = self.register >> 63 == 1;
        self.consume(1);
        Some(bit)
    }

    /// Counts up to `max` (≤ 8) leading one bits and consumes them plus the zero that ends
    /// them (no zero when `max` ones were read): the prefix codes of XOR chunks.
    pub(crate) fn read_ones(&mut self, max: u32) -> Option<u32> {
        if self.buffered < max {
            self.refill();
        }
        let ones = (!self.register).leading_zeros().min(max);
        let used = if ones < max { ones + 1 } else { ones };
        if used > self.buffered {
            return None;
        }
        self.consume(used);
        Some(ones)
    }

    /// Reads `count` bits (≤ 64) as the low bits of the result.
    pub(crate) fn read_bits(&mut self, count: u8) -> Option<u64> {
        let count = u32::from(count);
        if count > 56 {
            let high = self.read_bits((count - 32) as u8)?;
            let low = self.read_bits(32)?;
            return Some((high << 32) | low);
        }
        if count == 0 {
            return Some(0);
        }
        if self.buffered < count {
            self.refill();
            if self.buffered < count {
                return None;
            }
        }
        let value = self.register >> (64 - count);
        self.consume(count);
        Some(value)
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
    fn mixed_reads_round_trip_and_stop_at_the_end() {
        // A deterministic mix of field widths, as chunks have, including unary prefixes.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut fields = Vec::new();
        let mut writer = BitWriter::default();
        for _ in 0..2_000 {
            let pick = next();
            if pick % 5 == 0 {
                // A prefix of 0..=4 ones, ended by a zero below four.
                let ones = (pick >> 8) % 5;
                for _ in 0..ones {
                    writer.write_bit(true);
                }
                if ones < 4 {
                    writer.write_bit(false);
                }
                fields.push((None, ones));
            } else {
                let count = ((pick >> 8) % 65) as u8;
                let value = if count == 64 {
                    next()
                } else {
                    next() & ((1u64 << count) - 1)
                };
                writer.write_bits(value, count);
                fields.push((Some(count), value));
            }
        }
        let mut reader = BitReader::new(writer.bytes());
        for (index, (count, expected)) in fields.iter().enumerate() {
            let got = match count {
                Some(count) => reader.read_bits(*count),
                None => reader.read_ones(4).map(u64::from),
            };
            assert_eq!(got, Some(*expected), "field {index}");
        }
        let padding = reader.free_bits_in_last_byte();
        assert_eq!(reader.byte_position(), writer.bytes().len());
        assert_eq!(reader.read_bits(padding + 1), None);
        assert_eq!(reader.read_bits(padding), Some(0));
        assert_eq!(reader.read_bit(), None);
        assert_eq!(reader.read_ones(4), None);
    }

    #[test]
    fn a_prefix_cut_by_the_end_of_input_is_not_read() {
        // "11" and the input ends: a 4-wide prefix needs a terminating zero or two more ones.
        let mut reader = BitReader::new(&[0b0000_0011]);
        assert_eq!(reader.read_bits(6), Some(0));
        assert_eq!(reader.read_ones(4), None, "only 2 bits are left");
        let mut reader = BitReader::new(&[0b1111_0000]);
        assert_eq!(reader.read_ones(4), Some(4));
        assert_eq!(reader.read_ones(4), Some(0));
    }

    #[test]
    fn msb_first_layout() {
        let mut writer = BitWriter::default();
        writer.write_bits(0b10, 2);
        writer.write_bits(0b1, 1);
        assert_eq!(writer.bytes(), &[0b1010_0000]);
    }
}
