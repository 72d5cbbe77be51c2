//! The intake: a request body (Loki push or NDJSON) → lines → parsed requests → the
//! aggregator. Parsing happens outside the aggregator's lock; the lock is taken once per
//! request. Bad lines are counted per reason and a few are sampled for the answer; a body that
//! cannot be read at all is an [`IntakeError`] and nothing of it is kept.

mod body;
pub mod loki;
mod ndjson;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::aggregate::{Aggregator, AggregatorLimits, Published};
use crate::parse::{Format, JsonFields, Parsed, Reject, parse_line};

/// How many rejected lines a report quotes; the counts cover all of them.
pub const MAX_SAMPLED_REJECTS: usize = 5;
/// Quoted rejected lines are cut to this many bytes.
const SAMPLE_LINE_BYTES: usize = 256;
/// The longest service name taken.
const MAX_SERVICE_BYTES: usize = 256;

/// One configured source of lines: how its lines look and where the service name is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceSettings {
    /// The name pushers give in `?source=` and the `source` label of the metrics.
    pub name: String,
    /// The lines' format.
    pub format: Format,
    /// Stream labels naming the service, first present wins (Loki pushes).
    pub service_labels: Vec<String>,
    /// Fields of JSON, logfmt and NDJSON lines.
    pub fields: JsonFields,
}

impl Default for SourceSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            format: Format::Auto,
            service_labels: ["service", "service_name", "app"]
                .map(str::to_owned)
                .to_vec(),
            fields: JsonFields::default(),
        }
    }
}

impl SourceSettings {
    /// The defaults under `name`.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }
}

/// The intake's bounds and sources.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeSettings {
    /// Lateness, settle time, future tolerance, service limits.
    pub limits: AggregatorLimits,
    /// Longest body read (compressed as sent).
    pub max_body_bytes: usize,
    /// Longest body after gzip/deflate/snappy decompression.
    pub max_decompressed_bytes: usize,
    /// Most lines in one request; more refuse the request.
    pub max_lines_per_request: usize,
    /// Longer lines are rejected (`line_too_long`).
    pub max_line_bytes: usize,
    /// Named sources; `loki` and `ndjson` exist with the defaults unless configured here.
    pub sources: Vec<SourceSettings>,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            limits: AggregatorLimits::default(),
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_lines_per_request: 100_000,
            max_line_bytes: 16 << 10,
            sources: Vec::new(),
        }
    }
}

/// What kind of body arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Loki push, JSON.
    LokiJson,
    /// Loki push, protobuf in raw snappy.
    LokiProtobuf,
    /// One JSON object per line.
    Ndjson,
}

/// The body cannot be taken at all; nothing of it was kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntakeError {
    /// A content type the endpoint does not take (HTTP 415).
    #[error(
        "content type {0:?} is not accepted here; send application/json or application/x-protobuf (snappy-compressed) to /loki/api/v1/push, application/x-ndjson to /api/v1/logs/ndjson"
    )]
    UnsupportedMediaType(String),
    /// A content encoding other than gzip, deflate or snappy (HTTP 415).
    #[error("content encoding {0:?} is not accepted; send gzip, deflate, snappy or none")]
    UnsupportedEncoding(String),
    /// Decompresses past the limit (HTTP 413).
    #[error(
        "the body decompresses to more than logs.max_decompressed_bytes = {limit} bytes; send smaller batches"
    )]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The compressed data is broken (HTTP 400).
    #[error("cannot decompress the body ({encoding}): {reason}")]
    Decompression {
        /// gzip, deflate or snappy.
        encoding: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// Not a Loki push request / not NDJSON (HTTP 400).
    #[error("malformed body: {0}")]
    Malformed(String),
    /// More lines than allowed (HTTP 400).
    #[error(
        "the request has {lines} lines, over logs.max_lines_per_request = {limit}; send smaller batches"
    )]
    TooManyLines {
        /// Lines in the request.
        lines: usize,
        /// The limit.
        limit: usize,
    },
    /// `?source=` names no configured source (HTTP 400).
    #[error("unknown log source {0:?}; configured sources: {1}")]
    UnknownSource(String, String),
}

/// A rejected line quoted in the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedLine {
    /// Why.
    pub reason: Reject,
    /// The service, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The line, cut to 256 bytes.
    pub line: String,
}

/// What one request did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntakeReport {
    /// The source the lines were counted under.
    pub source: String,
    /// Lines counted in a bucket.
    pub accepted: u64,
    /// Lines rejected, per reason.
    pub rejected: BTreeMap<Reject, u64>,
    /// The first [`MAX_SAMPLED_REJECTS`] rejected lines.
    pub samples: Vec<RejectedLine>,
    /// Rejected lines of known services, per service and reason (for their quality reports).
    #[serde(skip)]
    pub by_service: BTreeMap<String, BTreeMap<Reject, u64>>,
}

impl IntakeReport {
    fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            ..Self::default()
        }
    }

    /// All rejected lines.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Counts a rejected line, quoting it while there is room.
    pub(crate) fn reject(&mut self, reason: Reject, service: Option<&str>, line: &str) {
        *self.rejected.entry(reason).or_default() += 1;
        if let Some(service) = service {
            *self
                .by_service
                .entry(service.to_owned())
                .or_default()
                .entry(reason)
                .or_default() += 1;
        }
        if self.samples.len() < MAX_SAMPLED_REJECTS {
            self.samples.push(RejectedLine {
                reason,
                service: service.map(str::to_owned),
                line: cut(line, SAMPLE_LINE_BYTES).to_owned(),
            });
        }
    }

    /// One line per reason and sample, for plain-text answers (Loki answers in text).
    pub fn describe(&self) -> String {
        let counts: Vec<String> = self
            .rejected
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        let mut text = format!(
            "accepted {} lines, rejected {} ({})",
            self.accepted,
            self.rejected_total(),
            counts.join(", ")
        );
        for sample in &self.samples {
            text.push_str(&format!(
                "\n{}{}: {:?}",
                sample.reason,
                sample
                    .service
                    .as_deref()
                    .map(|s| format!(" (service {s})"))
                    .unwrap_or_default(),
                sample.line
            ));
        }
        text
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A line that parsed, waiting for the aggregator.
struct Observation {
    service: String,
    namespace: Option<String>,
    timestamp_ms: i64,
    parsed: Parsed,
    line_index: usize,
}

/// Collects the lines of one request before they meet the aggregator.
pub(crate) struct Batch<'s> {
    source: &'s SourceSettings,
    max_line_bytes: usize,
    observations: Vec<Observation>,
    /// The namespace the current stream names (Loki pushes), or the record's (NDJSON).
    namespace: Option<String>,
    /// Lines kept for quoting should the aggregator reject them (bounded by the sample count).
    lines: Vec<String>,
    report: IntakeReport,
}

impl<'s> Batch<'s> {
    fn new(source: &'s SourceSettings, max_line_bytes: usize) -> Self {
        Self {
            source,
            max_line_bytes,
            observations: Vec::new(),
            namespace: None,
            lines: Vec::new(),
            report: IntakeReport::new(&source.name),
        }
    }

    /// The stream that the next lines come from names `namespace` (or none).
    pub(crate) fn stream_namespace(&mut self, namespace: Option<&str>) {
        self.namespace = namespace.map(str::to_owned);
    }

    /// A Loki line: service from its stream labels, fields from the line in the source's
    /// format, the entry's time when the line has none.
    pub(crate) fn line(&mut self, service: Option<&str>, entry_ms: i64, line: &str) {
        let service = match checked_service(service) {
            Ok(service) => service,
            Err(reason) => return self.report.reject(reason, None, line),
        };
        if line.len() > self.max_line_bytes {
            return self.report.reject(Reject::LineTooLong, Some(service), line);
        }
        match parse_line(line, self.source.format, &self.source.fields) {
            Ok(parsed) => self.keep(
                service,
                parsed.timestamp_ms.unwrap_or(entry_ms),
                parsed,
                line,
            ),
            Err(reason) => self.report.reject(reason, Some(service), line),
        }
    }

    /// An NDJSON object, already decoded.
    pub(crate) fn object(&mut self, value: &serde_json::Value, now_ms: i64, line: &str) {
        if line.len() > self.max_line_bytes {
            return self.report.reject(Reject::LineTooLong, None, line);
        }
        let fields = &self.source.fields;
        let service = fields
            .service
            .iter()
            .find_map(|p| p.lookup(value))
            .and_then(|v| v.as_str());
        let service = match checked_service(service) {
            Ok(service) => service,
            Err(reason) => return self.report.reject(reason, None, line),
        };
        self.namespace = NAMESPACE_LABELS
            .iter()
            .find_map(|name| value.get(name).and_then(|v| v.as_str()))
            .map(str::to_owned);
        match crate::parse::json::parse_value(value, fields) {
            Ok(parsed) => self.keep(service, parsed.timestamp_ms.unwrap_or(now_ms), parsed, line),
            Err(reason) => self.report.reject(reason, Some(service), line),
        }
    }

    pub(crate) fn reject(&mut self, reason: Reject, line: &str) {
        self.report.reject(reason, None, line);
    }

    fn keep(&mut self, service: &str, timestamp_ms: i64, parsed: Parsed, line: &str) {
        // Only the first few lines are kept for quoting; later rejects are counted only.
        let line_index = if self.lines.len() < MAX_SAMPLED_REJECTS {
            self.lines.push(cut(line, SAMPLE_LINE_BYTES).to_owned());
            self.lines.len() - 1
        } else {
            usize::MAX
        };
        self.observations.push(Observation {
            service: service.to_owned(),
            namespace: self.namespace.clone(),
            timestamp_ms,
            parsed,
            line_index,
        });
    }
}

/// Stream labels (and NDJSON fields) naming the Kubernetes namespace of a service, first present
/// wins: the bucket series get it as `namespace`, so a project's tenant restriction applies.
pub(crate) const NAMESPACE_LABELS: [&str; 4] = [
    "namespace",
    "k8s_namespace_name",
    "kubernetes_namespace",
    "namespace_name",
];

/// The namespace `labels` name, if any (checked like a label value: not empty, bounded).
pub(crate) fn namespace_of(labels: &[(String, String)]) -> Option<&str> {
    NAMESPACE_LABELS.iter().find_map(|name| {
        labels
            .iter()
            .find(|(n, v)| n == name && !v.is_empty() && v.len() <= MAX_SERVICE_BYTES)
            .map(|(_, v)| v.as_str())
    })
}

fn checked_service(service: Option<&str>) -> Result<&str, Reject> {
    match service.map(str::trim) {
        Some(s) if !s.is_empty() && s.len() <= MAX_SERVICE_BYTES => Ok(s),
        _ => Err(Reject::NoService),
    }
}

/// The intake service: settings plus the aggregation state.
#[derive(Debug)]
pub struct LogIntake {
    settings: IntakeSettings,
    aggregator: Mutex<Aggregator>,
    /// Rejected lines per service and reason since start, for at most
    /// `limits.max_services_total` services (later ones are not tracked).
    service_rejects: Mutex<HashMap<String, BTreeMap<Reject, u64>>>,
}

impl LogIntake {
    /// An intake with no lines yet.
    pub fn new(settings: IntakeSettings) -> Self {
        Self {
            aggregator: Mutex::new(Aggregator::new(settings.limits)),
            service_rejects: Mutex::default(),
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &IntakeSettings {
        &self.settings
    }

    /// The source `name` (the endpoint's default when `None`).
    fn source(&self, name: Option<&str>, default: &str) -> Result<SourceSettings, IntakeError> {
        let name = name.filter(|n| !n.is_empty()).unwrap_or(default);
        if let Some(source) = self.settings.sources.iter().find(|s| s.name == name) {
            return Ok(source.clone());
        }
        if name == "loki" || name == "ndjson" {
            return Ok(SourceSettings::named(name));
        }
        let mut known: Vec<&str> = self
            .settings
            .sources
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        known.extend(["loki", "ndjson"]);
        known.sort_unstable();
        known.dedup();
        Err(IntakeError::UnknownSource(
            cut(name, 64).to_owned(),
            known.join(", "),
        ))
    }

    /// Takes one request body. `content_encoding` is the HTTP header; `source` the
    /// `?source=` parameter; `now_ms` the wall clock.
    pub fn push(
        &self,
        kind: BodyKind,
        body: &[u8],
        content_encoding: Option<&str>,
        source: Option<&str>,
        now_ms: i64,
    ) -> Result<IntakeReport, IntakeError> {
        let default = if kind == BodyKind::Ndjson {
            "ndjson"
        } else {
            "loki"
        };
        let source = self.source(source, default)?;
        let max = self.settings.max_decompressed_bytes;
        let body = body::decode(body, content_encoding, kind, max)?;
        let mut batch = Batch::new(&source, self.settings.max_line_bytes);
        let limit = self.settings.max_lines_per_request;
        match kind {
            BodyKind::LokiJson => loki::read_json(&body, limit, &mut batch)?,
            BodyKind::LokiProtobuf => loki::read_protobuf(&body, limit, &mut batch)?,
            BodyKind::Ndjson => ndjson::read(&body, limit, now_ms, &mut batch)?,
        }
        let report = self.observe(batch, now_ms);
        self.remember_rejects(&report);
        Ok(report)
    }

    fn remember_rejects(&self, report: &IntakeReport) {
        if report.by_service.is_empty() {
            return;
        }
        let mut tracked = self
            .service_rejects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cap = self.settings.limits.max_services_total;
        for (service, reasons) in &report.by_service {
            if !tracked.contains_key(service) && tracked.len() >= cap {
                continue;
            }
            let counts = tracked.entry(service.clone()).or_default();
            for (reason, n) in reasons {
                *counts.entry(*reason).or_default() += n;
            }
        }
    }

    /// Lines of `service` rejected since start, per reason.
    pub fn rejected_lines(&self, service: &str) -> BTreeMap<String, u64> {
        self.service_rejects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(service)
            .map(|reasons| {
                reasons
                    .iter()
                    .map(|(reason, n)| (reason.as_str().to_owned(), *n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Hands a parsed batch to the aggregator (one lock for the request).
    fn observe(&self, batch: Batch<'_>, now_ms: i64) -> IntakeReport {
        let Batch {
            source,
            observations,
            lines,
            mut report,
            ..
        } = batch;
        let mut aggregator = self
            .aggregator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for o in observations {
            let outcome = aggregator.observe_in(
                &source.name,
                &o.service,
                o.namespace.as_deref(),
                o.timestamp_ms,
                o.parsed.latency_ms,
                o.parsed.status,
                now_ms,
            );
            match outcome {
                Ok(()) => report.accepted += 1,
                Err(reason) => {
                    // Only the first few parsed lines keep their text (the quotes are few).
                    let line = lines
                        .get(o.line_index)
                        .map_or("(line text not kept)", String::as_str);
                    report.reject(reason, Some(&o.service), line);
                }
            }
        }
        report
    }

    /// Samples of the changed buckets, and final buckets dropped from memory.
    pub fn publish(&self, now_ms: i64) -> Published {
        self.aggregator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .publish(now_ms)
    }

    /// Services and buckets in memory.
    pub fn in_memory(&self) -> (usize, usize) {
        let aggregator = self
            .aggregator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (aggregator.services(), aggregator.buckets())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod service_reject_tests {
    use super::*;

    #[test]
    fn rejected_lines_are_kept_per_service_since_start() {
        let intake = LogIntake::new(IntakeSettings::default());
        let now = chrono::Utc::now().timestamp_millis();
        let ns = (now * 1_000_000).to_string();
        let body = serde_json::json!({"streams": [
            {"stream": {"service": "api"}, "values": [[ns, "not an access log"], [ns, r#"{"latency_ms": -5}"#], [ns, r#"{"latency_ms": 5}"#]]},
            {"stream": {"app": "web"}, "values": [[ns, "garbage"]]},
        ]});
        for _ in 0..2 {
            intake
                .push(
                    BodyKind::LokiJson,
                    body.to_string().as_bytes(),
                    None,
                    None,
                    now,
                )
                .unwrap();
        }
        let api = intake.rejected_lines("api");
        assert_eq!(api.values().sum::<u64>(), 4, "{api:?}");
        assert_eq!(intake.rejected_lines("web").values().sum::<u64>(), 2);
        assert!(intake.rejected_lines("nobody").is_empty());
    }
}
