//! The remote-write 1.0 protobuf messages (`prometheus.WriteRequest` and what it contains),
//! declared by hand with prost's derive so no `protoc` is needed at build time. Field numbers
//! follow Prometheus' `prompb/remote.proto` and `prompb/types.proto`.

/// One remote-write request: series with their samples, and optionally metric metadata
/// (Prometheus sends metadata in separate requests).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series and their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Type, help and unit of metric families.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// One series: its labels (normally sorted, `__name__` included) and samples in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The series' labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples, kept undecoded: the store does not support them yet, so they
    /// are only counted and reported (exemplars, field 3, are skipped entirely).
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

/// One label.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One float sample.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value (NaN payloads, including Prometheus' stale marker, are kept bit for bit).
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Metadata of one metric family.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MetricMetadata {
    /// The family's type.
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    /// The family name (without `_bucket`, `_total`... suffixes for histograms and summaries).
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// The HELP text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// The UNIT, often empty.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Metric family types, numbered as in `prompb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Untyped.
    Unknown = 0,
    /// Counter.
    Counter = 1,
    /// Gauge.
    Gauge = 2,
    /// Classic histogram.
    Histogram = 3,
    /// Gauge histogram.
    GaugeHistogram = 4,
    /// Summary.
    Summary = 5,
    /// Info.
    Info = 6,
    /// State set.
    StateSet = 7,
}

impl MetricType {
    /// The name the Prometheus metadata API uses (`counter`, `gaugehistogram`, ...).
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }
}

impl MetricMetadata {
    /// The type, `Unknown` for numbers this version does not know.
    pub fn metric_type(&self) -> MetricType {
        MetricType::try_from(self.r#type).unwrap_or(MetricType::Unknown)
    }
}

impl Label {
    /// A label from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// Bytes as Prometheus' Go client writes them for one series `up{job="a"}` with the sample
    /// (1.0, 1000): hand-assembled from the field numbers and wire types.
    fn prometheus_bytes() -> Vec<u8> {
        let label = |name: &[u8], value: &[u8]| {
            let mut inner = vec![0x0a, name.len() as u8];
            inner.extend_from_slice(name);
            inner.extend_from_slice(&[0x12, value.len() as u8]);
            inner.extend_from_slice(value);
            let mut out = vec![0x0a, inner.len() as u8];
            out.extend(inner);
            out
        };
        let mut series = label(b"__name__", b"up");
        series.extend(label(b"job", b"a"));
        let mut sample = vec![0x09];
        sample.extend_from_slice(&1.0f64.to_le_bytes());
        sample.extend_from_slice(&[0x10, 0xe8, 0x07]); // varint 1000
        series.extend_from_slice(&[0x12, sample.len() as u8]);
        series.extend(sample);
        let mut request = vec![0x0a, series.len() as u8];
        request.extend(series);
        request
    }

    #[test]
    fn decodes_the_wire_format_prometheus_sends() {
        let request = WriteRequest::decode(prometheus_bytes().as_slice()).unwrap();
        assert_eq!(request.timeseries.len(), 1);
        let series = &request.timeseries[0];
        assert_eq!(
            series.labels,
            [Label::new("__name__", "up"), Label::new("job", "a")]
        );
        assert_eq!(
            series.samples,
            [Sample {
                value: 1.0,
                timestamp: 1000
            }]
        );
        assert_eq!(request.encode_to_vec(), prometheus_bytes());
    }

    #[test]
    fn metric_types_use_the_prompb_numbers_and_api_names() {
        let metadata = MetricMetadata {
            r#type: 4,
            metric_family_name: "queue".into(),
            help: String::new(),
            unit: String::new(),
        };
        assert_eq!(metadata.metric_type(), MetricType::GaugeHistogram);
        assert_eq!(metadata.metric_type().api_name(), "gaugehistogram");
        let unknown_number = MetricMetadata {
            r#type: 42,
            ..metadata
        };
        assert_eq!(unknown_number.metric_type(), MetricType::Unknown);
    }
}
