//! Body decoding: `Content-Encoding` gzip / deflate / snappy, then (protobuf pushes) Loki's raw
//! snappy block. Every step stops at `logs.max_decompressed_bytes`, so a gzip bomb costs at
//! most that much memory before it is refused.

use std::borrow::Cow;
use std::io::Read;

use super::{BodyKind, IntakeError};

pub(super) fn decode<'b>(
    body: &'b [u8],
    content_encoding: Option<&str>,
    kind: BodyKind,
    max: usize,
) -> Result<Cow<'b, [u8]>, IntakeError> {
    let encoding = content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity");
    let body: Cow<'b, [u8]> = match encoding.as_deref() {
        None => Cow::Borrowed(body),
        Some("gzip" | "x-gzip") => Cow::Owned(bounded(
            flate2::read::MultiGzDecoder::new(body),
            max,
            "gzip",
        )?),
        Some("deflate") => Cow::Owned(bounded(
            flate2::read::ZlibDecoder::new(body),
            max,
            "deflate",
        )?),
        // Loki's protobuf body is always a raw snappy block; the header adds nothing then.
        Some("snappy") if kind == BodyKind::LokiProtobuf => Cow::Borrowed(body),
        Some("snappy") => Cow::Owned(snappy(body, max)?),
        Some(other) => return Err(IntakeError::UnsupportedEncoding(other.to_owned())),
    };
    if body.len() > max {
        return Err(IntakeError::TooLarge { limit: max });
    }
    match kind {
        BodyKind::LokiProtobuf => Ok(Cow::Owned(snappy(&body, max)?)),
        BodyKind::LokiJson | BodyKind::Ndjson => Ok(body),
    }
}

/// Reads `reader` to its end, refusing more than `max` bytes.
fn bounded(reader: impl Read, max: usize, encoding: &'static str) -> Result<Vec<u8>, IntakeError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| IntakeError::Decompression {
            encoding,
            reason: e.to_string(),
        })?;
    if out.len() > max {
        return Err(IntakeError::TooLarge { limit: max });
    }
    Ok(out)
}

/// A raw snappy block, its announced length checked before anything is allocated.
fn snappy(body: &[u8], max: usize) -> Result<Vec<u8>, IntakeError> {
    let error = |e: snap::Error| IntakeError::Decompression {
        encoding: "snappy",
        reason: e.to_string(),
    };
    let length = snap::raw::decompress_len(body).map_err(error)?;
    if length > max {
        return Err(IntakeError::TooLarge { limit: max });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(error)
}
