//! Reading the protobuf wire format field by field without decoding into owned values, so a
//! request can be measured against its limits before anything is allocated for it (on the wire
//! an empty label costs 2 bytes), and then read in place: strings and nested messages are
//! borrowed slices of the decompressed body.

use thiserror::Error;

/// The bytes are not valid protobuf.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum WireError {
    /// A varint runs past the end or past 10 bytes.
    #[error("invalid varint at byte {0}")]
    Varint(usize),
    /// A field's length runs past the end of its message.
    #[error("field {field} at byte {at} claims {len} bytes, only {left} remain")]
    Truncated {
        /// Field number.
        field: u64,
        /// Offset of the field's value.
        at: usize,
        /// Announced length.
        len: u64,
        /// Bytes left in the message.
        left: usize,
    },
    /// Field number 0 or above 2^29 - 1 (prost refuses those keys too), or a group / unknown
    /// wire type (Prometheus never sends groups).
    #[error("unsupported field key {key} at byte {at}")]
    Key {
        /// The raw key.
        key: u64,
        /// Its offset.
        at: usize,
    },
}

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1: 8 bytes, little-endian (a `double` sample value).
    Fixed64(u64),
    /// Wire type 2: a nested message, string or bytes.
    Bytes(&'a [u8]),
    /// Wire type 5: 4 bytes, little-endian.
    Fixed32(u32),
}

impl Value<'_> {
    /// The wire type's name, for messages about a field of the wrong type.
    pub(crate) fn wire_type(&self) -> &'static str {
        match self {
            Self::Varint(_) => "varint",
            Self::Fixed64(_) => "fixed64",
            Self::Bytes(_) => "length-delimited",
            Self::Fixed32(_) => "fixed32",
        }
    }
}

/// The largest field number protobuf allows.
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// Iterates the fields of one message.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        // Keys and most lengths are one byte.
        if let Some(&byte) = self.bytes.get(self.position)
            && byte < 0x80
        {
            self.position += 1;
            return Ok(u64::from(byte));
        }
        let start = self.position;
        let mut value: u64 = 0;
        for shift in 0..10 {
            let byte = *self
                .bytes
                .get(self.position)
                .ok_or(WireError::Varint(start))?;
            self.position += 1;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit of a u64.
            if shift == 9 && bits > 1 {
                return Err(WireError::Varint(start));
            }
            value |= bits << (7 * shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::Varint(start))
    }

    fn take(&mut self, field: u64, len: u64) -> Result<&'a [u8], WireError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let slice = usize::try_from(len)
            .ok()
            .and_then(|n| rest.get(..n))
            .ok_or(WireError::Truncated {
                field,
                at: self.position,
                len,
                left: rest.len(),
            })?;
        self.position += slice.len();
        Ok(slice)
    }

    fn fixed<const N: usize>(&mut self, field: u64) -> Result<[u8; N], WireError> {
        let slice = self.take(field, N as u64)?;
        let mut bytes = [0; N];
        bytes.copy_from_slice(slice);
        Ok(bytes)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.bytes.len() {
            return None;
        }
        let at = self.position;
        let field = (|| {
            let key = self.varint()?;
            let number = key >> 3;
            if number == 0 || number > MAX_FIELD_NUMBER {
                return Err(WireError::Key { key, at });
            }
            let value = match key & 7 {
                0 => Value::Varint(self.varint()?),
                1 => Value::Fixed64(u64::from_le_bytes(self.fixed(number)?)),
                2 => {
                    let len = self.varint()?;
                    Value::Bytes(self.take(number, len)?)
                }
                5 => Value::Fixed32(u32::from_le_bytes(self.fixed(number)?)),
                _ => return Err(WireError::Key { key, at }),
            };
            Ok((number, value))
        })();
        if field.is_err() {
            // Stop after the first error: the position is no longer meaningful.
            self.position = self.bytes.len();
        }
        Some(field)
    }
}

/// The length-delimited fields with number `wanted`, failing on malformed input.
pub(crate) fn messages(
    bytes: &[u8],
    wanted: u64,
) -> impl Iterator<Item = Result<&[u8], WireError>> {
    Fields::new(bytes).filter_map(move |field| match field {
        Ok((number, Value::Bytes(inner))) if number == wanted => Some(Ok(inner)),
        Ok(_) => None,
        Err(error) => Some(Err(error)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_fixed_and_nested_fields() {
        // field 1 varint 300, field 2 fixed64, field 3 bytes "ab", field 4 fixed32.
        let bytes = [
            0x08, 0xac, 0x02, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, b'a', b'b', 0x25, 1, 2, 3,
            4,
        ];
        let fields: Vec<_> = Fields::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            fields,
            [
                (1, Value::Varint(300)),
                (2, Value::Fixed64(0x0807_0605_0403_0201)),
                (3, Value::Bytes(b"ab")),
                (4, Value::Fixed32(0x0403_0201))
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: [&[u8]; 8] = [
            &[0x0a, 0x05, b'a'],                   // length past the end
            &[0x08],                               // varint value missing
            &[0x08, 0x80],                         // varint cut short
            &[0x09, 1, 2, 3],                      // fixed64 cut short
            &[0xf8, 0xff, 0xff, 0xff, 0x1f, 0x00], // field number 2^30 - 1
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ], // 70-bit varint
            &[0x0b],                               // group start
            &[0x00, 0x00],                         // field number 0
        ];
        for bytes in cases {
            let results: Vec<_> = Fields::new(bytes).collect();
            assert!(
                results.last().is_some_and(Result::is_err),
                "{bytes:?} gave {results:?}"
            );
        }
    }

    #[test]
    fn a_huge_announced_length_is_refused_without_reading() {
        // field 1, length 2^62.
        let bytes = [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        let error = messages(&bytes, 1).next().unwrap().unwrap_err();
        assert!(matches!(error, WireError::Truncated { .. }), "{error}");
    }
}
