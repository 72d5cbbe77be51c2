//! Strict readers of the messages inside a `WriteRequest` (a series, a label, a sample, metric
//! metadata) over the wire fields, in place of prost: whatever prost refuses (a known field
//! with another wire type, a string that is not UTF-8, a truncated field) is refused with the
//! field named; unknown fields (exemplars, for one) are skipped; a repeated singular field
//! keeps its last value, as in protobuf.

use std::str::Utf8Error;

use thiserror::Error;

use crate::limits::shorten;
use crate::proto::{MetricMetadata, Sample};
use crate::wire::{Fields, Value, WireError};

/// `TimeSeries` field numbers.
pub(crate) const SERIES_LABELS: u64 = 1;
pub(crate) const SERIES_SAMPLES: u64 = 2;
pub(crate) const SERIES_HISTOGRAMS: u64 = 4;
/// `Label` field numbers.
const LABEL_NAME: u64 = 1;
const LABEL_VALUE: u64 = 2;
/// `Sample` field numbers.
const SAMPLE_VALUE: u64 = 1;
const SAMPLE_TIMESTAMP: u64 = 2;
/// `MetricMetadata` field numbers.
const METADATA_TYPE: u64 = 1;
const METADATA_FAMILY: u64 = 2;
const METADATA_HELP: u64 = 4;
const METADATA_UNIT: u64 = 5;

/// A message inside the request is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ReadError {
    /// Not protobuf at the wire level.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A known field with another wire type than its declaration's.
    #[error("field {field} ({name}) of a {message} is {found}, expected {expected}")]
    WireType {
        message: &'static str,
        field: u64,
        name: &'static str,
        found: &'static str,
        expected: &'static str,
    },
    /// A string field that is not UTF-8.
    #[error("{what} is not valid UTF-8: {error}")]
    Utf8 { what: String, error: Utf8Error },
}

fn wrong_type(
    message: &'static str,
    field: u64,
    name: &'static str,
    found: &Value<'_>,
    expected: &'static str,
) -> ReadError {
    ReadError::WireType {
        message,
        field,
        name,
        found: found.wire_type(),
        expected,
    }
}

/// `bytes` as text, or an error naming it (`what` is only built on failure).
pub(crate) fn utf8(bytes: &[u8], what: impl FnOnce() -> String) -> Result<&str, ReadError> {
    std::str::from_utf8(bytes).map_err(|error| ReadError::Utf8 {
        what: what(),
        error,
    })
}

/// A label's name and value as raw bytes; UTF-8 is checked once the series is kept (a series
/// refused for a limit is reported with its bytes shown lossily, as before).
pub(crate) type RawLabel<'a> = (&'a [u8], &'a [u8]);

/// What [`read_series`] found besides what it pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeriesCounts {
    /// Labels in the series (only the first `keep` are in the label buffer).
    pub(crate) labels: usize,
    /// Float plus histogram samples.
    pub(crate) samples: usize,
}

/// Reads one `TimeSeries`: its first `keep` labels into `labels` (cleared by the caller, and
/// reused across series), its samples and histograms appended to the request's buffers.
pub(crate) fn read_series<'a>(
    series: &'a [u8],
    keep: usize,
    labels: &mut Vec<RawLabel<'a>>,
    samples: &mut Vec<Sample>,
    histograms: &mut Vec<Vec<u8>>,
) -> Result<SeriesCounts, ReadError> {
    let mut counts = SeriesCounts {
        labels: 0,
        samples: 0,
    };
    for field in Fields::new(series) {
        match field? {
            (SERIES_LABELS, Value::Bytes(label)) => {
                let label = read_label(label)?;
                counts.labels += 1;
                if counts.labels <= keep {
                    labels.push(label);
                }
            }
            (SERIES_SAMPLES, Value::Bytes(sample)) => {
                samples.push(read_sample(sample)?);
                counts.samples += 1;
            }
            (SERIES_HISTOGRAMS, Value::Bytes(histogram)) => {
                histograms.push(histogram.to_vec());
                counts.samples += 1;
            }
            (field @ (SERIES_LABELS | SERIES_SAMPLES | SERIES_HISTOGRAMS), other) => {
                let name = match field {
                    SERIES_LABELS => "labels",
                    SERIES_SAMPLES => "samples",
                    _ => "histograms",
                };
                return Err(wrong_type(
                    "TimeSeries",
                    field,
                    name,
                    &other,
                    "length-delimited",
                ));
            }
            _ => {}
        }
    }
    Ok(counts)
}

/// A label's name and value (empty when absent).
fn read_label(label: &[u8]) -> Result<RawLabel<'_>, ReadError> {
    let (mut name, mut value): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let mut repeated = false;
    for field in Fields::new(label) {
        match field? {
            (LABEL_NAME, Value::Bytes(bytes)) => repeated |= name.replace(bytes).is_some(),
            (LABEL_VALUE, Value::Bytes(bytes)) => repeated |= value.replace(bytes).is_some(),
            (field @ (LABEL_NAME | LABEL_VALUE), other) => {
                let what = if field == LABEL_NAME { "name" } else { "value" };
                return Err(wrong_type("Label", field, what, &other, "length-delimited"));
            }
            _ => {}
        }
    }
    // prost checks every occurrence of a string, not only the one kept: so do we, in the rare
    // label that repeats one (the kept ones are checked with the series).
    if repeated {
        check_repeated_strings(label)?;
    }
    Ok((name.unwrap_or_default(), value.unwrap_or_default()))
}

/// Checks every occurrence of a label's name and value for UTF-8.
fn check_repeated_strings(label: &[u8]) -> Result<(), ReadError> {
    for field in Fields::new(label) {
        if let (LABEL_NAME | LABEL_VALUE, Value::Bytes(bytes)) = field? {
            utf8(bytes, || {
                format!("a repeated label field {:?}", shorten(bytes))
            })?;
        }
    }
    Ok(())
}

/// One float sample.
fn read_sample(sample: &[u8]) -> Result<Sample, ReadError> {
    let mut read = Sample {
        value: 0.0,
        timestamp: 0,
    };
    for field in Fields::new(sample) {
        match field? {
            (SAMPLE_VALUE, Value::Fixed64(bits)) => read.value = f64::from_bits(bits),
            // int64 travels as its two's complement in a varint.
            (SAMPLE_TIMESTAMP, Value::Varint(raw)) => read.timestamp = raw as i64,
            (SAMPLE_VALUE, other) => {
                return Err(wrong_type(
                    "Sample",
                    SAMPLE_VALUE,
                    "value",
                    &other,
                    "fixed64",
                ));
            }
            (SAMPLE_TIMESTAMP, other) => {
                return Err(wrong_type(
                    "Sample",
                    SAMPLE_TIMESTAMP,
                    "timestamp",
                    &other,
                    "varint",
                ));
            }
            _ => {}
        }
    }
    Ok(read)
}

/// One metadata entry (rare and small: its strings are owned, as the caller keeps them).
pub(crate) fn read_metadata(metadata: &[u8]) -> Result<MetricMetadata, ReadError> {
    let mut read = MetricMetadata {
        r#type: 0,
        metric_family_name: String::new(),
        help: String::new(),
        unit: String::new(),
    };
    for field in Fields::new(metadata) {
        let (number, value) = field?;
        let (name, target) = match number {
            // An enum travels as an int32 varint: the low 32 bits, as prost reads it.
            METADATA_TYPE => match value {
                Value::Varint(raw) => {
                    read.r#type = raw as i32;
                    continue;
                }
                other => {
                    return Err(wrong_type(
                        "MetricMetadata",
                        number,
                        "type",
                        &other,
                        "varint",
                    ));
                }
            },
            METADATA_FAMILY => ("metric_family_name", &mut read.metric_family_name),
            METADATA_HELP => ("help", &mut read.help),
            METADATA_UNIT => ("unit", &mut read.unit),
            _ => continue,
        };
        let Value::Bytes(bytes) = value else {
            return Err(wrong_type(
                "MetricMetadata",
                number,
                name,
                &value,
                "length-delimited",
            ));
        };
        *target = utf8(bytes, || format!("metadata {name}"))?.to_owned();
    }
    Ok(read)
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
