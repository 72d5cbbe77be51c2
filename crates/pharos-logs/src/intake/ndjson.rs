//! NDJSON: one JSON object per line, the service in a field (`service` by default), latency,
//! status and time in the source's fields. Lines without a time are counted at arrival.

use super::{Batch, IntakeError};
use crate::parse::Reject;

pub(super) fn read(
    body: &[u8],
    max_lines: usize,
    now_ms: i64,
    batch: &mut Batch<'_>,
) -> Result<(), IntakeError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| IntakeError::Malformed(format!("the body is not UTF-8: {e}")))?;
    let lines = text.lines().filter(|l| !l.trim().is_empty());
    let count = lines.clone().count();
    if count > max_lines {
        return Err(IntakeError::TooManyLines {
            lines: count,
            limit: max_lines,
        });
    }
    for line in lines {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(value) if value.is_object() => batch.object(&value, now_ms, line),
            _ => batch.reject(Reject::UnknownFormat, line),
        }
    }
    Ok(())
}
