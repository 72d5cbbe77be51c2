//! The limits a remote-write request must respect, with the names of the settings that change
//! them, so every refusal can say which limit it hit and how to raise it.

use std::fmt;

/// Limits of one remote-write request. The defaults follow Mimir's per-series limits and leave
/// room for Prometheus' default queue configuration (2,000 samples per send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteLimits {
    /// Largest body after snappy decompression, in bytes. Checked against the length the snappy
    /// header announces, before anything is allocated; it also bounds the compressed body.
    pub max_decompressed_bytes: usize,
    /// Most series (`timeseries` entries) in one request.
    pub max_series_per_request: usize,
    /// Most samples (float and histogram) in one request.
    pub max_samples_per_request: usize,
    /// Most metric metadata entries in one request.
    pub max_metadata_per_request: usize,
    /// Most labels (including `__name__`) of one series.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_length: usize,
    /// Longest label value, in bytes.
    pub max_label_value_length: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 32 * 1024 * 1024,
            max_series_per_request: 50_000,
            max_samples_per_request: 500_000,
            max_metadata_per_request: 50_000,
            max_labels_per_series: 30,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
        }
    }
}

impl WriteLimits {
    /// Largest compressed body worth reading: snappy never shrinks less than this, so a bigger
    /// body cannot decompress within [`WriteLimits::max_decompressed_bytes`].
    pub fn max_compressed_bytes(&self) -> usize {
        snap::raw::max_compress_len(self.max_decompressed_bytes).max(self.max_decompressed_bytes)
    }

    /// The configured value of `limit`.
    pub fn value(&self, limit: Limit) -> usize {
        match limit {
            Limit::DecompressedBytes => self.max_decompressed_bytes,
            Limit::SeriesPerRequest => self.max_series_per_request,
            Limit::SamplesPerRequest => self.max_samples_per_request,
            Limit::MetadataPerRequest => self.max_metadata_per_request,
            Limit::LabelsPerSeries => self.max_labels_per_series,
            Limit::LabelNameLength => self.max_label_name_length,
            Limit::LabelValueLength => self.max_label_value_length,
        }
    }
}

/// One of the [`WriteLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// [`WriteLimits::max_decompressed_bytes`] (refuses the whole request).
    DecompressedBytes,
    /// [`WriteLimits::max_series_per_request`] (refuses the whole request).
    SeriesPerRequest,
    /// [`WriteLimits::max_samples_per_request`] (refuses the whole request).
    SamplesPerRequest,
    /// [`WriteLimits::max_metadata_per_request`] (refuses the whole request).
    MetadataPerRequest,
    /// [`WriteLimits::max_labels_per_series`] (refuses the series).
    LabelsPerSeries,
    /// [`WriteLimits::max_label_name_length`] (refuses the series).
    LabelNameLength,
    /// [`WriteLimits::max_label_value_length`] (refuses the series).
    LabelValueLength,
}

impl Limit {
    /// Every limit, for initialising counters.
    pub const ALL: [Self; 7] = [
        Self::DecompressedBytes,
        Self::SeriesPerRequest,
        Self::SamplesPerRequest,
        Self::MetadataPerRequest,
        Self::LabelsPerSeries,
        Self::LabelNameLength,
        Self::LabelValueLength,
    ];

    /// The configuration key, as written in messages.
    pub fn setting(self) -> &'static str {
        match self {
            Self::DecompressedBytes => "remote_write.max_decompressed_bytes",
            Self::SeriesPerRequest => "remote_write.max_series_per_request",
            Self::SamplesPerRequest => "remote_write.max_samples_per_request",
            Self::MetadataPerRequest => "remote_write.max_metadata_per_request",
            Self::LabelsPerSeries => "remote_write.max_labels_per_series",
            Self::LabelNameLength => "remote_write.max_label_name_length",
            Self::LabelValueLength => "remote_write.max_label_value_length",
        }
    }

    /// The `reason` label of `pharos_refusals_total` for a refusal caused by this limit.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DecompressedBytes => "remote_write_body_too_large",
            Self::SeriesPerRequest => "remote_write_too_many_series",
            Self::SamplesPerRequest => "remote_write_too_many_samples",
            Self::MetadataPerRequest => "remote_write_too_many_metadata",
            Self::LabelsPerSeries => "remote_write_too_many_labels",
            Self::LabelNameLength => "remote_write_label_name_too_long",
            Self::LabelValueLength => "remote_write_label_value_too_long",
        }
    }

    /// What a sender should change, appended to the refusal message.
    fn advice(self) -> &'static str {
        match self {
            Self::DecompressedBytes | Self::SeriesPerRequest | Self::SamplesPerRequest => {
                "send smaller batches (lower queue_config.max_samples_per_send) or raise the limit"
            }
            Self::MetadataPerRequest => {
                "send fewer metadata entries per request (metadata_config.max_samples_per_send)"
            }
            Self::LabelsPerSeries | Self::LabelNameLength | Self::LabelValueLength => {
                "drop or shorten the label with write_relabel_configs, or raise the limit"
            }
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.setting())
    }
}

/// A limit that a request or one of its series went over: which one, by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The limit.
    pub limit: Limit,
    /// What the request had (bytes, a count, or a length).
    pub actual: usize,
    /// The configured limit.
    pub allowed: usize,
    /// For label limits: the label's name (cut to a readable length).
    pub label: Option<String>,
}

impl Exceeded {
    pub(crate) fn new(limit: Limit, actual: usize, limits: &WriteLimits) -> Self {
        Self {
            limit,
            actual,
            allowed: limits.value(limit),
            label: None,
        }
    }

    pub(crate) fn with_label(mut self, name: &[u8]) -> Self {
        self.label = Some(shorten(name));
        self
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            limit,
            actual,
            allowed,
            label,
        } = self;
        let label = label.as_deref().unwrap_or_default();
        match limit {
            Limit::DecompressedBytes => write!(f, "the decompressed body is {actual} bytes")?,
            Limit::SeriesPerRequest => write!(f, "the request has {actual} series")?,
            Limit::SamplesPerRequest => write!(f, "the request has {actual} samples")?,
            Limit::MetadataPerRequest => write!(f, "the request has {actual} metadata entries")?,
            Limit::LabelsPerSeries => write!(f, "the series has {actual} labels")?,
            Limit::LabelNameLength => write!(f, "label name {label:?} is {actual} bytes")?,
            Limit::LabelValueLength => write!(f, "label value of {label:?} is {actual} bytes")?,
        }
        write!(f, ", limit {limit} = {allowed}; {}", limit.advice())
    }
}

/// How many bytes of a name or value a message shows.
const SHOWN_BYTES: usize = 64;

/// Bytes as text for a message, cut to [`SHOWN_BYTES`] (a 200 MiB value must not end up in a
/// log line or an HTTP answer).
pub(crate) fn shorten(bytes: &[u8]) -> String {
    if bytes.len() <= SHOWN_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..SHOWN_BYTES]).into_owned();
    text.push_str(&format!("... ({} bytes)", bytes.len()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit_its_value_and_the_label() {
        let limits = WriteLimits::default();
        let exceeded =
            Exceeded::new(Limit::LabelValueLength, 209_715_200, &limits).with_label(b"x");
        assert_eq!(
            exceeded.to_string(),
            "label value of \"x\" is 209715200 bytes, limit remote_write.max_label_value_length = 2048; drop or shorten the label with write_relabel_configs, or raise the limit"
        );
    }

    #[test]
    fn long_names_are_cut_in_messages() {
        let name = vec![b'a'; 5000];
        let shown = shorten(&name);
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("... (5000 bytes)"), "{shown}");
    }

    #[test]
    fn the_compressed_bound_admits_every_body_within_the_decompressed_limit() {
        let limits = WriteLimits {
            max_decompressed_bytes: 1000,
            ..WriteLimits::default()
        };
        let incompressible: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let body = snap::raw::Encoder::new()
            .compress_vec(&incompressible)
            .unwrap();
        assert!(body.len() <= limits.max_compressed_bytes());
    }
}
