//! Timestamps in the form the Go server writes them (RFC 3339, nanoseconds, `Z`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats like Go's `time.RFC3339Nano` in UTC: up to nine fractional digits with
/// trailing zeros removed, e.g. `2025-02-11T14:26:42.808358355Z` or `2026-03-18T00:00:00Z`.
pub fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    let full = timestamp.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // `full` always ends in `.NNNNNNNNNZ`; Go drops trailing zeros (and a bare dot).
    match full.strip_suffix('Z').and_then(|body| body.split_once('.')) {
        Some((seconds, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{fraction}Z")
            }
        }
        None => full,
    }
}

/// Parses an RFC 3339 timestamp with any offset and converts it to UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|timestamp| timestamp.with_timezone(&Utc))
        .map_err(|error| {
            format!("{text:?} is not an RFC 3339 timestamp such as 2025-02-11T14:26:42Z ({error})")
        })
}

/// Serde adapter for `Option<DateTime<Utc>>` fields.
pub(crate) mod optional {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(timestamp) => serializer.serialize_str(&format_timestamp(timestamp)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|text| parse_timestamp(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_nanoseconds_and_drops_trailing_zeros_like_go() {
        for text in [
            "2025-02-11T14:26:42.808358355Z",
            "2024-06-20T15:44:05.9758548Z",
            "2026-03-18T00:00:00Z",
            "0001-01-01T00:00:00Z",
        ] {
            let parsed = parse_timestamp(text).unwrap();
            assert_eq!(format_timestamp(&parsed), text);
        }
    }

    #[test]
    fn converts_offsets_to_utc() {
        let parsed = parse_timestamp("2025-01-01T02:00:00.5+02:00").unwrap();
        assert_eq!(format_timestamp(&parsed), "2025-01-01T00:00:00.5Z");
    }

    #[test]
    fn rejects_non_rfc3339_text() {
        let message = parse_timestamp("yesterday").unwrap_err();
        assert!(message.contains("RFC 3339"), "{message}");
    }
}
