//! A decoded request in flat, request-wide buffers: every kept label name and value back to
//! back in one string, every sample in one vector, and per series only where its labels,
//! samples and histograms end. Decoding allocates a handful of buffers per request instead of
//! two strings per label and three vectors per series, and appending reads `&str` slices.

use std::fmt;

use crate::proto::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};

/// Where one label ends in [`DecodedRequest`]'s text (it starts where the previous one ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LabelEnds {
    name: usize,
    value: usize,
}

/// Where one series ends in the label, sample and histogram buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeriesEnds {
    labels: usize,
    samples: usize,
    histograms: usize,
}

/// Lengths of the buffers before a series, to drop it again if it is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    text: usize,
    labels: usize,
    pub(crate) samples: usize,
    pub(crate) histograms: usize,
}

/// The part of a remote-write request that may go to the store: its series (labels as sent,
/// UTF-8 checked) and its metric metadata. Compares equal to the [`WriteRequest`] it holds.
#[derive(Clone, PartialEq, Default)]
pub struct DecodedRequest {
    /// Type, help and unit of metric families.
    pub metadata: Vec<MetricMetadata>,
    text: String,
    labels: Vec<LabelEnds>,
    pub(crate) samples: Vec<Sample>,
    /// Native histograms, undecoded (rare: the store does not support them yet).
    pub(crate) histograms: Vec<Vec<u8>>,
    series: Vec<SeriesEnds>,
}

/// One series of a [`DecodedRequest`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    text: &'a str,
    labels: &'a [LabelEnds],
    /// Where the first label starts in `text`.
    start: usize,
    samples: &'a [Sample],
    histograms: &'a [Vec<u8>],
}

impl<'a> SeriesView<'a> {
    /// The labels as sent: names and values, in the sender's order, empty values included.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone + 'a {
        let text = self.text;
        let mut start = self.start;
        self.labels.iter().map(move |ends| {
            // Ends are recorded by `push_label`, always at char boundaries of `text`.
            let name = text.get(start..ends.name).unwrap_or_default();
            let value = text.get(ends.name..ends.value).unwrap_or_default();
            start = ends.value;
            (name, value)
        })
    }

    /// Float samples, in the order sent.
    pub fn samples(&self) -> &'a [Sample] {
        self.samples
    }

    /// Native histogram samples, undecoded.
    pub fn histograms(&self) -> &'a [Vec<u8>] {
        self.histograms
    }
}

impl DecodedRequest {
    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there is no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The series, in the order sent.
    pub fn series(&self) -> impl ExactSizeIterator<Item = SeriesView<'_>> + '_ {
        let mut previous = SeriesEnds {
            labels: 0,
            samples: 0,
            histograms: 0,
        };
        self.series.iter().map(move |&ends| {
            let start = previous;
            previous = ends;
            let labels = self.labels.get(start.labels..ends.labels);
            SeriesView {
                text: &self.text,
                labels: labels.unwrap_or_default(),
                start: start
                    .labels
                    .checked_sub(1)
                    .and_then(|i| self.labels.get(i))
                    .map_or(0, |ends| ends.value),
                samples: self
                    .samples
                    .get(start.samples..ends.samples)
                    .unwrap_or_default(),
                histograms: self
                    .histograms
                    .get(start.histograms..ends.histograms)
                    .unwrap_or_default(),
            }
        })
    }

    /// The request as prost messages (for tests and callers that want owned values).
    pub fn to_write_request(&self) -> WriteRequest {
        WriteRequest {
            timeseries: self
                .series()
                .map(|series| TimeSeries {
                    labels: series.labels().map(|(n, v)| Label::new(n, v)).collect(),
                    samples: series.samples().to_vec(),
                    histograms: series.histograms().to_vec(),
                })
                .collect(),
            metadata: self.metadata.clone(),
        }
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            text: self.text.len(),
            labels: self.labels.len(),
            samples: self.samples.len(),
            histograms: self.histograms.len(),
        }
    }

    /// Drops what was added since `mark`.
    pub(crate) fn rollback(&mut self, mark: Mark) {
        self.text.truncate(mark.text);
        self.labels.truncate(mark.labels);
        self.samples.truncate(mark.samples);
        self.histograms.truncate(mark.histograms);
    }

    /// Room for a request of this size, known from the first pass (bounded by the body).
    pub(crate) fn reserve(&mut self, series: usize, labels: usize, text: usize, samples: usize) {
        self.series.reserve(series);
        self.labels.reserve(labels);
        self.text.reserve(text);
        self.samples.reserve(samples);
    }

    pub(crate) fn push_label(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name = self.text.len();
        self.text.push_str(value);
        self.labels.push(LabelEnds {
            name,
            value: self.text.len(),
        });
    }

    /// Closes the series whose labels, samples and histograms were pushed since the last one.
    pub(crate) fn finish_series(&mut self) {
        self.series.push(SeriesEnds {
            labels: self.labels.len(),
            samples: self.samples.len(),
            histograms: self.histograms.len(),
        });
    }
}

impl From<WriteRequest> for DecodedRequest {
    fn from(request: WriteRequest) -> Self {
        let mut decoded = Self {
            metadata: request.metadata,
            ..Self::default()
        };
        for series in request.timeseries {
            for label in &series.labels {
                decoded.push_label(&label.name, &label.value);
            }
            decoded.samples.extend(series.samples);
            decoded.histograms.extend(series.histograms);
            decoded.finish_series();
        }
        decoded
    }
}

impl PartialEq<WriteRequest> for DecodedRequest {
    fn eq(&self, other: &WriteRequest) -> bool {
        self.metadata == other.metadata
            && self.len() == other.timeseries.len()
            && self.series().zip(&other.timeseries).all(|(ours, theirs)| {
                ours.samples() == theirs.samples.as_slice()
                    && ours.histograms() == theirs.histograms.as_slice()
                    && ours.labels().len() == theirs.labels.len()
                    && ours
                        .labels()
                        .zip(&theirs.labels)
                        .all(|((n, v), label)| n == label.name && v == label.value)
            })
    }
}

/// Shown as the request it holds, not as its buffers.
impl fmt::Debug for DecodedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_write_request(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(timestamp: i64) -> Sample {
        Sample {
            value: timestamp as f64,
            timestamp,
        }
    }

    #[test]
    fn series_read_back_as_pushed() {
        let request = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![Label::new("job", "a"), Label::new("__name__", "up")],
                    samples: vec![sample(1), sample(2)],
                    histograms: vec![],
                },
                TimeSeries {
                    labels: vec![],
                    samples: vec![],
                    histograms: vec![vec![1, 2]],
                },
                TimeSeries {
                    labels: vec![Label::new("é", ""), Label::new("", "ü")],
                    samples: vec![sample(3)],
                    histograms: vec![],
                },
            ],
            metadata: vec![],
        };
        let decoded = DecodedRequest::from(request.clone());
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded, request);
        assert_eq!(decoded.to_write_request(), request);
        let last = decoded
            .series()
            .last()
            .map(|s| s.labels().collect::<Vec<_>>());
        assert_eq!(last, Some(vec![("é", ""), ("", "ü")]));
        let mut other = request;
        other.timeseries[2].labels[1].value = "u".into();
        assert_ne!(decoded, other);
    }

    #[test]
    fn a_rolled_back_series_leaves_no_trace() {
        let mut decoded = DecodedRequest::default();
        decoded.push_label("a", "1");
        decoded.finish_series();
        let mark = decoded.mark();
        decoded.push_label("b", "2");
        decoded.samples.push(sample(1));
        decoded.rollback(mark);
        decoded.push_label("c", "3");
        decoded.finish_series();
        let labels: Vec<Vec<(&str, &str)>> =
            decoded.series().map(|s| s.labels().collect()).collect();
        assert_eq!(labels, [vec![("a", "1")], vec![("c", "3")]]);
        assert!(decoded.samples.is_empty());
    }
}
