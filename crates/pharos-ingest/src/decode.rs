//! Decoding a remote-write body within [`WriteLimits`]: the snappy header's length is checked
//! before decompressing, a first pass over the protobuf wire counts series, samples and
//! metadata, and only then are the series read, one by one, into a [`DecodedRequest`]'s flat
//! buffers (labels stay slices of the body until kept; no string or vector per label or per
//! series). Request-wide limits refuse the request; label limits refuse the series, which the
//! append path then reports as a partial write.

use thiserror::Error;

use crate::append::{RejectReason, WriteReport};
use crate::limits::{Exceeded, Limit, WriteLimits, shorten};
use crate::proto::WriteRequest;
use crate::reader::{
    RawLabel, ReadError, SERIES_HISTOGRAMS, SERIES_LABELS, SERIES_SAMPLES, read_metadata,
    read_series, utf8,
};
use crate::request::DecodedRequest;
use crate::wire::{Fields, Value, WireError, messages};

/// `WriteRequest` field numbers.
const REQUEST_TIMESERIES: u64 = 1;
const REQUEST_METADATA: u64 = 3;
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
    pub request: DecodedRequest,
    /// Refusals so far.
    pub report: WriteReport,
}

impl From<WriteRequest> for DecodedWrite {
    fn from(request: WriteRequest) -> Self {
        Self {
            request: request.into(),
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

/// A malformed message inside the request, with where it is.
fn malformed(what: &str, index: usize, error: ReadError) -> DecodeError {
    DecodeError::Protobuf(format!("{what} {index}: {error}"))
}

/// Decodes an uncompressed `WriteRequest` within `limits`.
pub(crate) fn decode_protobuf(
    bytes: &[u8],
    limits: &WriteLimits,
) -> Result<DecodedWrite, DecodeError> {
    let counts = check_request(bytes, limits)?;
    let mut decoded = DecodedWrite::default();
    let request = &mut decoded.request;
    request.reserve(
        counts.series,
        counts
            .labels
            .min(counts.series.saturating_mul(limits.max_labels_per_series)),
        counts.label_bytes,
        counts.samples,
    );
    // Enough labels to check the count limit and to describe a refused series.
    let keep = limits.max_labels_per_series.max(SHOWN_LABELS);
    let mut labels: Vec<RawLabel<'_>> = Vec::new();
    for (index, series) in messages(bytes, REQUEST_TIMESERIES).enumerate() {
        let series = series?;
        labels.clear();
        let mark = request.mark();
        let read = read_series(
            series,
            keep,
            &mut labels,
            &mut request.samples,
            &mut request.histograms,
        )
        .map_err(|e| malformed("timeseries", index, e))?;
        if let Some(exceeded) = check_labels(&labels, read.labels, limits) {
            request.rollback(mark);
            // A refused series without samples loses nothing and is not reported.
            if read.samples > 0 {
                decoded.report.refuse(exceeded.limit);
            }
            let reason = RejectReason::of_series_limit(exceeded.limit);
            decoded.report.reject(reason, read.samples, || {
                format!(
                    "series {} refused: {exceeded}",
                    describe_labels(&labels, read.labels)
                )
            });
            continue;
        }
        for &(name, value) in &labels {
            let name = utf8(name, || "a label name".to_owned())
                .map_err(|e| malformed("timeseries", index, e))?;
            let value = utf8(value, || format!("the value of label {name:?}"))
                .map_err(|e| malformed("timeseries", index, e))?;
            request.push_label(name, value);
        }
        request.finish_series();
    }
    for (index, metadata) in messages(bytes, REQUEST_METADATA).enumerate() {
        let metadata = read_metadata(metadata?).map_err(|e| malformed("metadata", index, e))?;
        decoded.request.metadata.push(metadata);
    }
    if counts.misplaced {
        return Err(DecodeError::Protobuf(
            "the timeseries and metadata fields must be length-delimited messages".into(),
        ));
    }
    Ok(decoded)
}

/// What the first pass found.
#[derive(Debug, Default)]
struct Counts {
    series: usize,
    /// Float plus histogram samples.
    samples: usize,
    metadata: usize,
    /// Label messages, and their bytes (a bound on the text they hold).
    labels: usize,
    label_bytes: usize,
    /// A series or metadata field that is not length-delimited (refused after the limits).
    misplaced: bool,
}

/// The first pass: request-wide counts, checked against their limits, without reading inside
/// labels or samples.
fn check_request(bytes: &[u8], limits: &WriteLimits) -> Result<Counts, DecodeError> {
    let mut counts = Counts::default();
    for field in Fields::new(bytes) {
        match field? {
            (REQUEST_TIMESERIES, Value::Bytes(series)) => {
                counts.series += 1;
                count_series(series, &mut counts)?;
            }
            (REQUEST_METADATA, Value::Bytes(_)) => counts.metadata += 1,
            (REQUEST_TIMESERIES | REQUEST_METADATA, _) => counts.misplaced = true,
            _ => {}
        }
    }
    let over = |limit: Limit, actual: usize| {
        (actual > limits.value(limit))
            .then(|| DecodeError::Limit(Exceeded::new(limit, actual, limits)))
    };
    if let Some(error) = over(Limit::SeriesPerRequest, counts.series)
        .or_else(|| over(Limit::SamplesPerRequest, counts.samples))
        .or_else(|| over(Limit::MetadataPerRequest, counts.metadata))
    {
        return Err(error);
    }
    Ok(counts)
}

/// Adds one series' samples (float plus histogram) and labels to `counts`.
fn count_series(series: &[u8], counts: &mut Counts) -> Result<(), WireError> {
    for field in Fields::new(series) {
        match field? {
            (SERIES_SAMPLES | SERIES_HISTOGRAMS, Value::Bytes(_)) => {
                counts.samples = counts.samples.saturating_add(1);
            }
            (SERIES_LABELS, Value::Bytes(label)) => {
                counts.labels += 1;
                counts.label_bytes += label.len();
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first label limit one series breaks: too many labels, then the first name or value
/// that is too long. `labels` holds the first labels, all of them when within the count.
fn check_labels(labels: &[RawLabel<'_>], count: usize, limits: &WriteLimits) -> Option<Exceeded> {
    if count > limits.max_labels_per_series {
        return Some(Exceeded::new(Limit::LabelsPerSeries, count, limits));
    }
    labels.iter().find_map(|&(name, value)| {
        if name.len() > limits.max_label_name_length {
            Some(Exceeded::new(Limit::LabelNameLength, name.len(), limits).with_label(name))
        } else if value.len() > limits.max_label_value_length {
            Some(Exceeded::new(Limit::LabelValueLength, value.len(), limits).with_label(name))
        } else {
            None
        }
    })
}

/// A refused series for a message: its first labels, names and values cut short.
fn describe_labels(labels: &[RawLabel<'_>], total: usize) -> String {
    let mut shown: Vec<String> = labels
        .iter()
        .take(SHOWN_LABELS)
        .map(|&(name, value)| format!("{}={:?}", shorten(name), shorten(value)))
        .collect();
    if total > shown.len() {
        shown.push(format!("... {} labels in all", total));
    }
    format!("{{{}}}", shown.join(", "))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
