//! Decoding a remote-write body within [`WriteLimits`]: the snappy header's length is checked
//! before decompressing, a first pass over the protobuf wire counts series, samples and
//! metadata and measures labels, and only then does prost decode, series by series, what is
//! within the limits. Request-wide limits refuse the request; label limits refuse the series,
//! which the append path then reports as a partial write.

use prost::Message as _;
use thiserror::Error;

use crate::append::{RejectReason, WriteReport};
use crate::limits::{Exceeded, Limit, WriteLimits, shorten};
use crate::proto::{MetricMetadata, TimeSeries, WriteRequest};
use crate::wire::{Fields, Value, WireError, messages};

/// `WriteRequest` field numbers.
const REQUEST_TIMESERIES: u64 = 1;
const REQUEST_METADATA: u64 = 3;
/// `TimeSeries` field numbers.
const SERIES_LABELS: u64 = 1;
const SERIES_SAMPLES: u64 = 2;
const SERIES_HISTOGRAMS: u64 = 4;
/// `Label` field numbers.
const LABEL_NAME: u64 = 1;
const LABEL_VALUE: u64 = 2;
/// Labels shown when describing a refused series.
const SHOWN_LABELS: usize = 8;

/// The body is not a valid remote-write 1.0 request, or is over a limit (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not a snappy block.
    #[error(
        "the body is not snappy-compressed ({0}); remote-write bodies use the snappy block format, not the framed/stream format"
    )]
    Snappy(String),
    /// The request is over a request-wide limit; nothing of it was stored.
    #[error("remote-write refused: {0}")]
    Limit(Exceeded),
    /// The decompressed bytes are not a `WriteRequest`.
    #[error("the body is not a protobuf prometheus.WriteRequest: {0}")]
    Protobuf(String),
}

impl DecodeError {
    /// The limit that caused the refusal, if one did.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            Self::Limit(exceeded) => Some(exceeded.limit),
            Self::Snappy(_) | Self::Protobuf(_) => None,
        }
    }
}

impl From<WireError> for DecodeError {
    fn from(error: WireError) -> Self {
        Self::Protobuf(error.to_string())
    }
}

/// A decoded request: the series within the limits, and a report already holding the series
/// refused for label limits (the append path adds what the store rejects).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedWrite {
    /// What may go to the store.
    pub request: WriteRequest,
    /// Refusals so far.
    pub report: WriteReport,
}

impl From<WriteRequest> for DecodedWrite {
    fn from(request: WriteRequest) -> Self {
        Self {
            request,
            report: WriteReport::default(),
        }
    }
}

/// Decompresses (snappy block) and decodes a remote-write 1.0 body within `limits`.
pub fn decode_write_request(
    body: &[u8],
    limits: &WriteLimits,
) -> Result<DecodedWrite, DecodeError> {
    let size = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if size > limits.max_decompressed_bytes {
        return Err(DecodeError::Limit(Exceeded::new(
            Limit::DecompressedBytes,
            size,
            limits,
        )));
    }
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    decode_protobuf(&bytes, limits)
}

/// Decodes an uncompressed `WriteRequest` within `limits`.
pub(crate) fn decode_protobuf(
    bytes: &[u8],
    limits: &WriteLimits,
) -> Result<DecodedWrite, DecodeError> {
    let refused = check_request(bytes, limits)?;
    let mut decoded = DecodedWrite::default();
    let mut refused = refused.into_iter().peekable();
    for (index, series) in messages(bytes, REQUEST_TIMESERIES).enumerate() {
        let series = series?;
        if let Some((_, exceeded)) = refused.next_if(|(i, _)| *i == index) {
            // A refused series without samples loses nothing and is not reported.
            let samples = count_samples(series)?;
            if samples > 0 {
                decoded.report.refuse(exceeded.limit);
            }
            let reason = RejectReason::of_series_limit(exceeded.limit);
            decoded.report.reject(reason, samples, || {
                format!(
                    "series {} refused: {exceeded}",
                    describe_wire_labels(series)
                )
            });
            continue;
        }
        decoded
            .request
            .timeseries
            .push(TimeSeries::decode(series).map_err(|e| DecodeError::Protobuf(e.to_string()))?);
    }
    for metadata in messages(bytes, REQUEST_METADATA) {
        decoded.request.metadata.push(
            MetricMetadata::decode(metadata?).map_err(|e| DecodeError::Protobuf(e.to_string()))?,
        );
    }
    // Anything else prost would refuse (a bad wire type for a known field, for example).
    check_other_fields(bytes)?;
    Ok(decoded)
}

/// The first pass: request-wide counts against their limits, and the series (by index) that
/// break a label limit.
fn check_request(
    bytes: &[u8],
    limits: &WriteLimits,
) -> Result<Vec<(usize, Exceeded)>, DecodeError> {
    let mut series_count = 0usize;
    let mut samples = 0usize;
    let mut metadata = 0usize;
    let mut refused = Vec::new();
    for field in Fields::new(bytes) {
        match field? {
            (REQUEST_TIMESERIES, Value::Bytes(series)) => {
                if series_count < limits.max_series_per_request
                    && let Some(exceeded) = check_labels(series, limits)?
                {
                    refused.push((series_count, exceeded));
                }
                series_count += 1;
                samples = samples.saturating_add(count_samples(series)?);
            }
            (REQUEST_METADATA, Value::Bytes(_)) => metadata += 1,
            _ => {}
        }
    }
    let over = |limit: Limit, actual: usize| {
        (actual > limits.value(limit))
            .then(|| DecodeError::Limit(Exceeded::new(limit, actual, limits)))
    };
    if let Some(error) = over(Limit::SeriesPerRequest, series_count)
        .or_else(|| over(Limit::SamplesPerRequest, samples))
        .or_else(|| over(Limit::MetadataPerRequest, metadata))
    {
        return Err(error);
    }
    Ok(refused)
}

/// Float plus histogram samples of one series.
fn count_samples(series: &[u8]) -> Result<usize, DecodeError> {
    let mut count = 0;
    for field in Fields::new(series) {
        if let (SERIES_SAMPLES | SERIES_HISTOGRAMS, Value::Bytes(_)) = field? {
            count += 1;
        }
    }
    Ok(count)
}

/// The first label limit one series breaks: too many labels, then the first name or value
/// that is too long.
fn check_labels(series: &[u8], limits: &WriteLimits) -> Result<Option<Exceeded>, DecodeError> {
    let mut labels = 0usize;
    let mut first_too_long: Option<Exceeded> = None;
    for label in messages(series, SERIES_LABELS) {
        labels += 1;
        if first_too_long.is_some() {
            continue;
        }
        let (name, value) = label_parts(label?)?;
        if name.len() > limits.max_label_name_length {
            first_too_long =
                Some(Exceeded::new(Limit::LabelNameLength, name.len(), limits).with_label(name));
        } else if value.len() > limits.max_label_value_length {
            first_too_long =
                Some(Exceeded::new(Limit::LabelValueLength, value.len(), limits).with_label(name));
        }
    }
    if labels > limits.max_labels_per_series {
        return Ok(Some(Exceeded::new(Limit::LabelsPerSeries, labels, limits)));
    }
    Ok(first_too_long)
}

/// A label's name and value (the last occurrence of each wins, as in protobuf).
fn label_parts(label: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    let (mut name, mut value): (&[u8], &[u8]) = (b"", b"");
    for field in Fields::new(label) {
        match field? {
            (LABEL_NAME, Value::Bytes(bytes)) => name = bytes,
            (LABEL_VALUE, Value::Bytes(bytes)) => value = bytes,
            _ => {}
        }
    }
    Ok((name, value))
}

/// A refused series for a message: its first labels, names and values cut short.
fn describe_wire_labels(series: &[u8]) -> String {
    let mut shown = Vec::new();
    let mut total = 0usize;
    for label in messages(series, SERIES_LABELS) {
        total += 1;
        if shown.len() < SHOWN_LABELS
            && let Ok(Ok((name, value))) = label.map(label_parts)
        {
            shown.push(format!("{}={:?}", shorten(name), shorten(value)));
        }
    }
    if total > shown.len() {
        shown.push(format!("... {} labels in all", total));
    }
    format!("{{{}}}", shown.join(", "))
}

/// Fields of the request other than series and metadata must still be well-formed.
fn check_other_fields(bytes: &[u8]) -> Result<(), DecodeError> {
    for field in Fields::new(bytes) {
        match field? {
            (REQUEST_TIMESERIES | REQUEST_METADATA, Value::Bytes(_)) => {}
            (REQUEST_TIMESERIES | REQUEST_METADATA, _) => {
                return Err(DecodeError::Protobuf(
                    "the timeseries and metadata fields must be length-delimited messages".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
