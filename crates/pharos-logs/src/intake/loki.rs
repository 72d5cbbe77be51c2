//! The Loki push API's bodies. Protobuf messages written from the field numbers of Loki's
//! `pkg/push/push.proto` (package `logproto`): `PushRequest { streams = 1; format = 2 }`,
//! `StreamAdapter { labels = 1; entries = 2; hash = 3 }`, `EntryAdapter { timestamp = 1;
//! line = 2; structuredMetadata = 3; parsed = 4 }`, `LabelPairAdapter { name = 1; value = 2 }`,
//! and `google.protobuf.Timestamp { seconds = 1; nanos = 2 }`. JSON:
//! `{"streams":[{"stream":{labels},"values":[["<ns>","<line>"(, {metadata})], ...]}]}`.

use std::collections::HashMap;

use prost::Message as _;
use serde::Deserialize;

use super::{Batch, IntakeError};

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    /// Streams.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<Stream>,
    /// `loki` or `otlp` (informational).
    #[prost(string, tag = "2")]
    pub format: String,
}

/// `logproto.StreamAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Stream {
    /// Prometheus-style label set, `{app="api", env="prod"}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// Lines.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<Entry>,
    /// The sender's hash of the labels (unused).
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    /// When the line was read.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The line.
    #[prost(string, tag = "2")]
    pub line: String,
    /// Structured metadata (ignored).
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPair>,
    /// Response-only in Loki (ignored).
    #[prost(message, repeated, tag = "4")]
    pub parsed: Vec<LabelPair>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LabelPair {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Encodes and snappy-compresses a push request as Promtail does (for clients and tests).
pub fn encode_push_request(request: &PushRequest) -> Vec<u8> {
    // Compressing an in-memory buffer only fails past snappy's 4 GiB input limit.
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap_or_default()
}

/// Parses a Prometheus-style label set `{a="b", c="d"}` (with `\"`, `\\`, `\n` escapes).
pub fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("labels {text:?} are not in braces"))?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') || chars.next() != Some('"') || name.is_empty() {
            return Err(format!("labels {text:?}: expected name=\"value\""));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return Err(format!("labels {text:?}: unterminated value")),
                },
                Some(c) => value.push(c),
                None => return Err(format!("labels {text:?}: unterminated value")),
            }
        }
        out.push((name, value));
    }
}

/// The first of the source's service labels present.
fn service_of<'l>(labels: &'l [(String, String)], names: &[String]) -> Option<&'l str> {
    names.iter().find_map(|name| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    })
}

#[derive(Deserialize)]
struct JsonPush {
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
struct JsonStream {
    #[serde(default)]
    stream: HashMap<String, String>,
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

pub(super) fn read_json(
    body: &[u8],
    max_lines: usize,
    batch: &mut Batch<'_>,
) -> Result<(), IntakeError> {
    let push: JsonPush = serde_json::from_slice(body).map_err(|e| {
        IntakeError::Malformed(format!(
            "not a Loki push request ({e}); expected {{\"streams\":[{{\"stream\":{{...}},\"values\":[[\"<unix ns>\",\"<line>\"]]}}]}}"
        ))
    })?;
    let lines: usize = push.streams.iter().map(|s| s.values.len()).sum();
    if lines > max_lines {
        return Err(IntakeError::TooManyLines {
            lines,
            limit: max_lines,
        });
    }
    for stream in &push.streams {
        let labels: Vec<(String, String)> = stream
            .stream
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let service = service_of(&labels, &batch.source.service_labels);
        batch.stream_namespace(super::namespace_of(&labels));
        for value in &stream.values {
            // Loki refuses numeric timestamps with 400; so do we, saying what to send.
            let (ts, line) = match value.as_slice() {
                [
                    serde_json::Value::String(ts),
                    serde_json::Value::String(line),
                    ..,
                ] => (ts, line),
                _ => {
                    return Err(IntakeError::Malformed(
                        "each value must be [\"<unix epoch ns as a string>\", \"<line>\"]"
                            .to_owned(),
                    ));
                }
            };
            let ns: i64 = ts.parse().map_err(|_| {
                IntakeError::Malformed(format!(
                    "timestamp {ts:?} is not Unix epoch nanoseconds as a string"
                ))
            })?;
            batch.line(service, ns.div_euclid(1_000_000), line);
        }
    }
    Ok(())
}

pub(super) fn read_protobuf(
    body: &[u8],
    max_lines: usize,
    batch: &mut Batch<'_>,
) -> Result<(), IntakeError> {
    // Count entries on the wire first: decoded, an empty entry costs ~100 bytes for 2 bytes
    // sent, so a body within the size limit could otherwise take gigabytes.
    let lines = count_entries(body).ok_or_else(|| {
        IntakeError::Malformed("not a Loki PushRequest protobuf message".to_owned())
    })?;
    if lines > max_lines {
        return Err(IntakeError::TooManyLines {
            lines,
            limit: max_lines,
        });
    }
    let push = PushRequest::decode(body).map_err(|e| {
        IntakeError::Malformed(format!("not a Loki PushRequest protobuf message: {e}"))
    })?;
    for stream in &push.streams {
        let labels = parse_labels(&stream.labels).map_err(IntakeError::Malformed)?;
        let service = service_of(&labels, &batch.source.service_labels);
        batch.stream_namespace(super::namespace_of(&labels));
        for entry in &stream.entries {
            let ms = entry.timestamp.map_or(0, |t| {
                t.seconds
                    .saturating_mul(1_000)
                    .saturating_add(i64::from(t.nanos) / 1_000_000)
            });
            batch.line(service, ms, &entry.line);
        }
    }
    Ok(())
}

/// Entries in a `PushRequest` on the wire (`streams` = field 1, `entries` = its field 2);
/// `None` when the framing is broken.
fn count_entries(body: &[u8]) -> Option<usize> {
    let mut total = 0;
    for (field, value) in fields(body)? {
        if field == 1 {
            let value = value?;
            total += fields(value)?
                .filter(|(f, v)| *f == 2 && v.is_some())
                .count();
        }
    }
    Some(total)
}

/// The top-level fields of a message: `(field number, Some(bytes) for length-delimited)`;
/// `None` when the framing is broken (a truncated varint or length, a group wire type).
fn fields(mut buf: &[u8]) -> Option<impl Iterator<Item = (u64, Option<&[u8]>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(&mut buf)?;
                out.push((field, None));
            }
            1 => buf = buf.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let value = buf.get(..len)?;
                buf = &buf[len..];
                out.push((field, Some(value)));
            }
            5 => buf = buf.get(4..)?,
            _ => return None,
        }
    }
    Some(out.into_iter())
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
