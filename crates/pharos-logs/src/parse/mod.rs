//! Access-log line parsers: pure functions from one line to its timestamp, latency and status,
//! or a typed reason why the line cannot give a latency. One module per format; [`parse_line`]
//! picks the format (or tries them in a fixed order for [`Format::Auto`]).

mod clf;
mod envoy;
mod haproxy;
pub(crate) mod json;
mod logfmt;
mod nginx;
mod traefik;

use serde::{Deserialize, Serialize};

pub use json::{FieldPath, JsonFields, LatencyField, TimeUnit};

/// The longest latency taken as real: an hour. Anything longer is a unit mix-up or garbage
/// (`1e12` ms), and one such value would move a bucket's P99 by orders of magnitude.
pub const MAX_LATENCY_MS: f64 = 3_600_000.0;

/// What one line says about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    /// When the request happened (Unix ms), if the line says.
    pub timestamp_ms: Option<i64>,
    /// Total request latency in milliseconds (finite, 0 ≤ latency ≤ [`MAX_LATENCY_MS`]).
    pub latency_ms: f64,
    /// HTTP status, if the line has one.
    pub status: Option<u16>,
}

/// Why a line was not counted. [`Reject::as_str`] is the `reason` in reports and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reject {
    /// No parser recognised the line.
    UnknownFormat,
    /// The format was recognised but the line carries no latency (nginx `combined` without
    /// `$request_time`, an HAProxy `Ta` of -1, a JSON object without the latency field).
    NoLatency,
    /// The latency is not a number.
    BadLatency,
    /// The latency is below zero.
    NegativeLatency,
    /// The latency is over an hour.
    AbsurdLatency,
    /// The line's timestamp cannot be read.
    BadTimestamp,
    /// The line is longer than the source's `max_line_bytes`.
    LineTooLong,
    /// No service label or field names the service (or the name is over 256 bytes).
    NoService,
    /// A new service past the source's (or the process's) service limit.
    TooManyServices,
    /// Older than the lateness window: its bucket is already final.
    TooOld,
    /// Further in the future than the tolerance allows.
    TooFarInFuture,
    /// Pulled from Loki, from a stream whose `schema_version` (or `schema`) label names a
    /// version the puller does not accept.
    UnknownSchema,
}

impl Reject {
    /// Every reason, for initialising counters.
    pub const ALL: [Self; 12] = [
        Self::UnknownFormat,
        Self::NoLatency,
        Self::BadLatency,
        Self::NegativeLatency,
        Self::AbsurdLatency,
        Self::BadTimestamp,
        Self::LineTooLong,
        Self::NoService,
        Self::TooManyServices,
        Self::TooOld,
        Self::TooFarInFuture,
        Self::UnknownSchema,
    ];

    /// Stable snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownFormat => "unknown_format",
            Self::NoLatency => "no_latency",
            Self::BadLatency => "bad_latency",
            Self::NegativeLatency => "negative_latency",
            Self::AbsurdLatency => "absurd_latency",
            Self::BadTimestamp => "bad_timestamp",
            Self::LineTooLong => "line_too_long",
            Self::NoService => "no_service",
            Self::TooManyServices => "too_many_services",
            Self::TooOld => "too_old",
            Self::TooFarInFuture => "too_far_in_future",
            Self::UnknownSchema => "unknown_schema",
        }
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format of a source's lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Try JSON, Envoy/Istio, HAProxy, Traefik, nginx, logfmt, in that order.
    #[default]
    Auto,
    /// nginx `combined`/`main`/ingress `upstreaminfo` with `$request_time`.
    Nginx,
    /// Envoy's or Istio's default text access log.
    Envoy,
    /// Traefik `common` (CLF plus request count, router, server URL, `<n>ms`).
    Traefik,
    /// HAProxy `option httplog`.
    Haproxy,
    /// One JSON object per line, fields found by [`JsonFields`].
    Json,
    /// `key=value` pairs, fields found by [`JsonFields`] (top-level names only).
    Logfmt,
}

/// Parses `line` in `format`.
pub fn parse_line(line: &str, format: Format, fields: &JsonFields) -> Result<Parsed, Reject> {
    let line = line.trim_end_matches(['\n', '\r']);
    match format {
        Format::Nginx => nginx::parse(line),
        Format::Envoy => envoy::parse(line),
        Format::Traefik => traefik::parse(line),
        Format::Haproxy => haproxy::parse(line),
        Format::Json => json::parse(line, fields),
        Format::Logfmt => logfmt::parse(line, fields),
        Format::Auto => parse_auto(line, fields),
    }
}

/// A text-format parser.
type LineParser = fn(&str) -> Result<Parsed, Reject>;

/// Tries each format; the first one that recognises the line decides (its reject included).
fn parse_auto(line: &str, fields: &JsonFields) -> Result<Parsed, Reject> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('{') {
        return json::parse(line, fields);
    }
    let parsers: [LineParser; 4] = [envoy::parse, haproxy::parse, traefik::parse, nginx::parse];
    for parser in parsers {
        match parser(line) {
            Err(Reject::UnknownFormat) => continue,
            outcome => return outcome,
        }
    }
    logfmt::parse(line, fields)
}

/// The gate every parser's latency passes: finite, non-negative, at most an hour.
pub(crate) fn checked_latency(ms: f64) -> Result<f64, Reject> {
    if !ms.is_finite() {
        Err(Reject::BadLatency)
    } else if ms < 0.0 {
        Err(Reject::NegativeLatency)
    } else if ms > MAX_LATENCY_MS {
        Err(Reject::AbsurdLatency)
    } else {
        Ok(ms)
    }
}

/// A number token as latency in `unit`, gated.
pub(crate) fn latency_of(token: &str, unit: TimeUnit) -> Result<f64, Reject> {
    let value: f64 = token.trim().parse().map_err(|_| Reject::BadLatency)?;
    checked_latency(unit.to_ms(value))
}

/// A status token: three digits (Envoy's `0` = no response sent also passes).
pub(crate) fn status_of(token: &str) -> Option<u16> {
    token
        .parse::<u16>()
        .ok()
        .filter(|s| *s == 0 || (100..=599).contains(s))
}

#[cfg(test)]
mod tests;
