//! JSON lines with configurable field paths, and the field lookup that logfmt shares. The
//! defaults recognise `latency_ms` / `duration_ms` (ms), `request_time` / `duration` (seconds),
//! Traefik's `Duration` (ns), and `status` / `status_code` / `DownstreamStatus`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::clf::rfc3339_time;
use super::{Parsed, Reject, checked_latency};

/// The unit of a latency field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeUnit {
    /// Nanoseconds (Traefik JSON).
    #[serde(rename = "ns")]
    Nanoseconds,
    /// Microseconds.
    #[serde(rename = "us")]
    Microseconds,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Milliseconds,
    /// Seconds (nginx `$request_time`).
    #[serde(rename = "s")]
    Seconds,
}

impl TimeUnit {
    /// `value` in this unit, as milliseconds.
    pub fn to_ms(self, value: f64) -> f64 {
        match self {
            Self::Nanoseconds => value / 1e6,
            Self::Microseconds => value / 1e3,
            Self::Milliseconds => value,
            Self::Seconds => value * 1e3,
        }
    }
}

/// A dotted path into a JSON object (`latencies.request`); in logfmt, the whole key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
}

impl FieldPath {
    /// The path `text` (segments separated by `.`).
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `value`.
    pub(crate) fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        // A key containing dots wins over the nested reading: `{"a.b": 1}`.
        if let Some(found) = value.get(&self.text) {
            return Some(found);
        }
        self.text
            .split('.')
            .try_fold(value, |v, segment| v.get(segment))
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(serde::de::Error::custom(format!(
                "field path {text:?} has an empty segment; write names separated by single dots, like latencies.request"
            )));
        }
        Ok(Self { text })
    }
}

/// A latency field and its unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyField {
    /// Where the latency is.
    pub path: FieldPath,
    /// Its unit (a value with its own unit suffix, `35ms`, `1.2s`, keeps that one).
    pub unit: TimeUnit,
}

/// Where structured lines (JSON, logfmt, NDJSON objects) keep what we need; the first path
/// present wins in each list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonFields {
    /// Latency fields with their units.
    pub latency: Vec<LatencyField>,
    /// HTTP status fields.
    pub status: Vec<FieldPath>,
    /// Request time fields (RFC 3339 text or Unix epoch in s, ms, µs or ns by magnitude).
    pub timestamp: Vec<FieldPath>,
    /// Service name fields (NDJSON objects; Loki lines take the service from stream labels).
    pub service: Vec<FieldPath>,
}

impl Default for JsonFields {
    fn default() -> Self {
        let latency = |path: &str, unit| LatencyField {
            path: FieldPath::new(path),
            unit,
        };
        let paths = |names: &[&str]| names.iter().map(|n| FieldPath::new(*n)).collect();
        Self {
            latency: vec![
                latency("latency_ms", TimeUnit::Milliseconds),
                latency("duration_ms", TimeUnit::Milliseconds),
                latency("request_time", TimeUnit::Seconds),
                latency("duration", TimeUnit::Seconds),
                latency("Duration", TimeUnit::Nanoseconds),
            ],
            status: paths(&["status", "status_code", "DownstreamStatus"]),
            timestamp: paths(&["timestamp", "time", "ts", "@timestamp", "StartUTC"]),
            service: paths(&["service", "service_name", "app"]),
        }
    }
}

/// One field value, from JSON or logfmt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Number(f64),
    Text(&'a str),
}

impl<'a> Scalar<'a> {
    pub(crate) fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::Number(n) => n.as_f64().map(Scalar::Number),
            Value::String(s) => Some(Scalar::Text(s)),
            _ => None,
        }
    }
}

/// Parses one JSON line.
pub(super) fn parse(line: &str, fields: &JsonFields) -> Result<Parsed, Reject> {
    let value: Value = serde_json::from_str(line).map_err(|_| Reject::UnknownFormat)?;
    if !value.is_object() {
        return Err(Reject::UnknownFormat);
    }
    parse_value(&value, fields)
}

/// Reads the fields of a decoded JSON object.
pub fn parse_value(value: &Value, fields: &JsonFields) -> Result<Parsed, Reject> {
    extract(|path| path.lookup(value).and_then(Scalar::of), fields)
}

/// The latency, status and timestamp found through `get`.
pub(crate) fn extract<'a>(
    get: impl Fn(&FieldPath) -> Option<Scalar<'a>>,
    fields: &JsonFields,
) -> Result<Parsed, Reject> {
    let (raw, unit) = fields
        .latency
        .iter()
        .find_map(|f| get(&f.path).map(|v| (v, f.unit)))
        .ok_or(Reject::NoLatency)?;
    let latency_ms = match raw {
        Scalar::Number(n) => checked_latency(unit.to_ms(n))?,
        Scalar::Text(text) => text_latency(text, unit)?,
    };
    let status = fields.status.iter().find_map(&get).and_then(|s| match s {
        Scalar::Number(n) if n.fract() == 0.0 && (0.0..=599.0).contains(&n) => Some(n as u16),
        Scalar::Text(t) => super::status_of(t.trim()),
        Scalar::Number(_) => None,
    });
    let timestamp_ms = match fields.timestamp.iter().find_map(&get) {
        None => None,
        Some(Scalar::Number(n)) => Some(epoch_ms(n).ok_or(Reject::BadTimestamp)?),
        Some(Scalar::Text(t)) => Some(
            rfc3339_time(t)
                .or_else(|| t.parse::<f64>().ok().and_then(epoch_ms))
                .ok_or(Reject::BadTimestamp)?,
        ),
    };
    Ok(Parsed {
        timestamp_ms,
        latency_ms,
        status,
    })
}

/// A latency written as text: a number in `unit`, or a number with its own unit suffix
/// (`35ms`, `1.2s`, `250us`, `800ns`) as Go's and many loggers' durations are.
fn text_latency(text: &str, unit: TimeUnit) -> Result<f64, Reject> {
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return Err(Reject::NoLatency);
    }
    let suffixes = [
        ("ms", TimeUnit::Milliseconds),
        ("us", TimeUnit::Microseconds),
        ("µs", TimeUnit::Microseconds),
        ("ns", TimeUnit::Nanoseconds),
        ("s", TimeUnit::Seconds),
    ];
    let (number, unit) = suffixes
        .iter()
        .find_map(|(suffix, u)| text.strip_suffix(suffix).map(|n| (n, *u)))
        .unwrap_or((text, unit));
    let value: f64 = number.trim().parse().map_err(|_| Reject::BadLatency)?;
    checked_latency(unit.to_ms(value))
}

/// A Unix epoch number as ms, its unit guessed from its size (s, ms, µs or ns around now).
fn epoch_ms(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n >= 1e17 {
        n / 1e6
    } else if n >= 1e14 {
        n / 1e3
    } else if n >= 1e11 {
        n
    } else {
        n * 1e3
    };
    (ms < 1e15).then_some(ms as i64)
}
