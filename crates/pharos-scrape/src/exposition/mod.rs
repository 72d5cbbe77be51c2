//! The two pull formats Prometheus understands: the text exposition format 0.0.4 and
//! OpenMetrics 1.0. Both parse line by line into [`Entry`]s ([`LineParser`], for streaming
//! input such as a backfill file) or into a whole [`Exposition`] ([`parse`], for a scrape body).
//!
//! What the formats differ in, and how it is handled here:
//! * timestamps are integer milliseconds in the text format and (possibly fractional) seconds
//!   in OpenMetrics; both come out as milliseconds;
//! * OpenMetrics must end with `# EOF`, allows no blank lines and no free-form comments, and
//!   may carry exemplars after ` # `, which are skipped;
//! * classic histograms and summaries are plain samples (`_bucket{le}`, `_sum`, `_count`,
//!   `{quantile}`), and so are OpenMetrics `_created` samples, as in Prometheus 2.

mod lexer;
mod line;

use std::collections::HashMap;

use pharos_tsdb::{LabelError, Labels, METRIC_NAME_LABEL};
use thiserror::Error;

pub use line::{Entry, LineParser};

/// The wire format of an exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    PrometheusText,
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// Picks the parser for an HTTP `Content-Type`, as Prometheus does: OpenMetrics only when
    /// the target announces it, the text format for anything else (including no header).
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        match content_type {
            Some(value)
                if value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/openmetrics-text") =>
            {
                Self::OpenMetrics
            }
            _ => Self::PrometheusText,
        }
    }
}

/// The type a `# TYPE` line declares for a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// A monotonically increasing value.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A classic histogram (`_bucket{le}`, `_sum`, `_count`).
    Histogram,
    /// An OpenMetrics gauge histogram (`_bucket{le}`, `_gsum`, `_gcount`).
    GaugeHistogram,
    /// Quantiles with `_sum` and `_count`.
    Summary,
    /// An OpenMetrics info metric (`_info`, value 1).
    Info,
    /// An OpenMetrics state set (one series per state, value 0 or 1).
    StateSet,
    /// No type given (`untyped` in the text format, `unknown` in OpenMetrics).
    #[default]
    Unknown,
}

impl MetricType {
    /// The spelling Prometheus' metadata API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
            Self::Unknown => "unknown",
        }
    }

    fn parse(format: Format, word: &str) -> Option<Self> {
        let parsed = match (format, word) {
            (_, "counter") => Self::Counter,
            (_, "gauge") => Self::Gauge,
            (_, "histogram") => Self::Histogram,
            (_, "summary") => Self::Summary,
            (Format::PrometheusText, "untyped") => Self::Unknown,
            (Format::OpenMetrics, "unknown") => Self::Unknown,
            (Format::OpenMetrics, "gaugehistogram") => Self::GaugeHistogram,
            (Format::OpenMetrics, "info") => Self::Info,
            (Format::OpenMetrics, "stateset") => Self::StateSet,
            _ => return None,
        };
        Some(parsed)
    }

    fn expected(format: Format) -> &'static str {
        match format {
            Format::PrometheusText => "counter, gauge, histogram, summary, untyped",
            Format::OpenMetrics => {
                "counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown"
            }
        }
    }
}

/// What `# HELP`, `# TYPE` and `# UNIT` lines said about one metric family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// Family name (for a counter in OpenMetrics, without `_total`).
    pub family: String,
    /// Declared type, [`MetricType::Unknown`] when there was no `# TYPE`.
    pub metric_type: MetricType,
    /// Help text, empty when there was no `# HELP`.
    pub help: String,
    /// Unit (OpenMetrics only), empty when there was no `# UNIT`.
    pub unit: String,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// The metric name (series name, e.g. `http_requests_total` or `latency_bucket`).
    pub name: String,
    /// Labels in the order they were written, without the metric name; values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value; NaN and ±Inf are allowed.
    pub value: f64,
    /// Explicit timestamp in milliseconds since 1970, if the line had one.
    pub timestamp_ms: Option<i64>,
}

impl ParsedSample {
    /// The series' label set including `__name__`. Fails when a label breaks Prometheus' rules
    /// (for example a `__name__` label next to the metric name).
    pub fn to_labels(&self) -> Result<Labels, LabelError> {
        Labels::new(
            std::iter::once((METRIC_NAME_LABEL, self.name.as_str()))
                .chain(self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
        )
    }
}

/// A whole parsed exposition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition {
    /// Samples in input order.
    pub samples: Vec<ParsedSample>,
    /// Metadata per family, in the order families were first mentioned.
    pub metadata: Vec<MetricMetadata>,
}

/// A parse failure with the 1-based line it happened on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with the line.
    pub problem: Problem,
}

/// What is wrong with an exposition line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// The metric name breaks `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    /// A label name breaks `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: label names must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName(String),
    /// A label name is not followed by `=`.
    #[error("expected '=' after label name {0:?}")]
    ExpectedEquals(String),
    /// A label value does not start with `"`.
    #[error("the value of label {0:?} must be a double-quoted string")]
    ExpectedQuote(String),
    /// A label value has no closing quote.
    #[error("unterminated value of label {0:?}: add the closing '\"'")]
    UnterminatedValue(String),
    /// The label set has no closing brace.
    #[error("unterminated label set: close it with '}}'")]
    UnterminatedLabels,
    /// Something other than `,` or `}` follows a label value.
    #[error("expected ',' or '}}' after the value of label {0:?}")]
    ExpectedCommaOrBrace(String),
    /// The same label name appears twice in one sample.
    #[error("duplicate label {0:?}: each label may appear only once per sample")]
    DuplicateLabel(String),
    /// The line ends after the metric name and labels.
    #[error("missing sample value: write `<metric>{{labels}} <value> [timestamp]`")]
    MissingValue,
    /// The value is not a number.
    #[error("invalid sample value {0:?}: use a number, NaN, +Inf or -Inf")]
    InvalidValue(String),
    /// The timestamp is not in the format's unit.
    #[error("invalid timestamp {0:?}: {1}")]
    InvalidTimestamp(String, &'static str),
    /// Text after the timestamp.
    #[error("unexpected text {0:?} after the sample")]
    TrailingText(String),
    /// A `# HELP`, `# TYPE` or `# UNIT` line without a metric name.
    #[error("invalid # {0} line: expected `# {0} <metric name> <text>`")]
    InvalidMetadata(&'static str),
    /// `# TYPE` names a type the format does not have.
    #[error("unknown metric type {0:?}: expected one of {1}")]
    UnknownType(String, &'static str),
    /// OpenMetrics comment other than HELP, TYPE, UNIT and EOF.
    #[error("unknown comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF lines")]
    UnknownComment,
    /// OpenMetrics blank line.
    #[error("empty line: OpenMetrics does not allow blank lines")]
    EmptyLine,
    /// A line after `# EOF`.
    #[error("content after # EOF: nothing may follow the end marker")]
    AfterEof,
    /// OpenMetrics input without `# EOF`.
    #[error(
        "missing # EOF: OpenMetrics input must end with a `# EOF` line (is the file truncated?)"
    )]
    MissingEof,
}

/// Parses a whole exposition body.
pub fn parse(format: Format, body: &str) -> Result<Exposition, ParseError> {
    let mut parser = LineParser::new(format);
    let mut exposition = Exposition::default();
    let mut families: HashMap<String, usize> = HashMap::new();
    for line in body.lines() {
        match parser.parse_line(line)? {
            None => {}
            Some(Entry::Sample(sample)) => exposition.samples.push(sample),
            Some(Entry::Help { family, text }) => {
                metadata_of(&mut exposition.metadata, &mut families, family).help = text;
            }
            Some(Entry::Type {
                family,
                metric_type,
            }) => {
                metadata_of(&mut exposition.metadata, &mut families, family).metric_type =
                    metric_type;
            }
            Some(Entry::Unit { family, unit }) => {
                metadata_of(&mut exposition.metadata, &mut families, family).unit = unit;
            }
        }
    }
    parser.finish()?;
    Ok(exposition)
}

/// The metadata entry of `family`, created on first mention so the order follows the input.
fn metadata_of<'a>(
    metadata: &'a mut Vec<MetricMetadata>,
    families: &mut HashMap<String, usize>,
    family: String,
) -> &'a mut MetricMetadata {
    let index = *families.entry(family.clone()).or_insert_with(|| {
        metadata.push(MetricMetadata {
            family,
            ..MetricMetadata::default()
        });
        metadata.len() - 1
    });
    &mut metadata[index]
}
