use proptest::prelude::*;
use prost::Message as _;

use super::*;
use crate::codec::encode_write_request;
use crate::proto::{Label, Sample, TimeSeries};

fn series(labels: &[(&str, &str)], samples: usize) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
        samples: (0..samples)
            .map(|i| Sample {
                value: i as f64,
                timestamp: 1000 * i as i64,
            })
            .collect(),
        histograms: vec![],
    }
}

fn request(timeseries: Vec<TimeSeries>) -> WriteRequest {
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

fn decode(request: &WriteRequest, limits: &WriteLimits) -> Result<DecodedWrite, DecodeError> {
    decode_write_request(&encode_write_request(request).unwrap(), limits)
}

fn refused_limit(error: DecodeError) -> (Limit, String) {
    let message = error.to_string();
    match error {
        DecodeError::Limit(exceeded) => (exceeded.limit, message),
        other => panic!("expected a limit refusal, got {other}"),
    }
}

#[test]
fn round_trips_through_snappy_and_protobuf() {
    let sent = request(vec![series(&[("__name__", "up"), ("job", "a")], 2)]);
    let decoded = decode(&sent, &WriteLimits::default()).unwrap();
    assert_eq!(decoded.request, sent);
    assert_eq!(decoded.report, WriteReport::default());
}

#[test]
fn raw_protobuf_without_snappy_is_a_snappy_error() {
    let raw = request(vec![series(&[("__name__", "up")], 1)]).encode_to_vec();
    let error = decode_write_request(&raw, &WriteLimits::default()).unwrap_err();
    assert!(matches!(error, DecodeError::Snappy(_)), "{error}");
    assert!(error.to_string().contains("snappy"), "{error}");
}

#[test]
fn snappy_of_garbage_is_a_protobuf_error() {
    let body = snap::raw::Encoder::new()
        .compress_vec(b"\xff\xff\xff\xff")
        .unwrap();
    let error = decode_write_request(&body, &WriteLimits::default()).unwrap_err();
    assert!(matches!(error, DecodeError::Protobuf(_)), "{error}");
}

#[test]
fn an_announced_size_over_the_limit_is_refused_before_allocating() {
    // A snappy header announcing 1 GiB (varint) followed by nothing.
    let body = [0x80, 0x80, 0x80, 0x80, 0x04];
    let (limit, message) =
        refused_limit(decode_write_request(&body, &WriteLimits::default()).unwrap_err());
    assert_eq!(limit, Limit::DecompressedBytes);
    assert!(
        message.starts_with(
            "remote-write refused: the decompressed body is 1073741824 bytes, limit remote_write.max_decompressed_bytes = 33554432"
        ),
        "{message}"
    );
}

#[test]
fn request_wide_limits_refuse_the_request_and_name_the_limit() {
    let limits = WriteLimits {
        max_series_per_request: 2,
        max_samples_per_request: 5,
        max_metadata_per_request: 1,
        ..WriteLimits::default()
    };
    let three_series = request(vec![
        series(&[("__name__", "a")], 1),
        series(&[("__name__", "b")], 1),
        series(&[("__name__", "c")], 1),
    ]);
    let (limit, message) = refused_limit(decode(&three_series, &limits).unwrap_err());
    assert_eq!(limit, Limit::SeriesPerRequest);
    assert!(
        message.contains("3 series, limit remote_write.max_series_per_request = 2"),
        "{message}"
    );

    let six_samples = request(vec![
        series(&[("__name__", "a")], 3),
        series(&[("__name__", "b")], 3),
    ]);
    let (limit, message) = refused_limit(decode(&six_samples, &limits).unwrap_err());
    assert_eq!(limit, Limit::SamplesPerRequest);
    assert!(
        message.contains("6 samples, limit remote_write.max_samples_per_request = 5"),
        "{message}"
    );

    let metadata = crate::proto::MetricMetadata {
        r#type: 1,
        metric_family_name: "a".into(),
        help: String::new(),
        unit: String::new(),
    };
    let two_metadata = WriteRequest {
        timeseries: vec![],
        metadata: vec![metadata.clone(), metadata],
    };
    let (limit, message) = refused_limit(decode(&two_metadata, &limits).unwrap_err());
    assert_eq!(limit, Limit::MetadataPerRequest);
    assert!(
        message.contains("limit remote_write.max_metadata_per_request = 1"),
        "{message}"
    );
}

#[test]
fn label_limits_refuse_only_the_offending_series() {
    let limits = WriteLimits {
        max_labels_per_series: 3,
        max_label_name_length: 10,
        max_label_value_length: 20,
        ..WriteLimits::default()
    };
    let long_value = "v".repeat(5000);
    let sent = request(vec![
        series(&[("__name__", "good"), ("job", "a")], 2),
        series(&[("__name__", "value"), ("x", &long_value)], 2),
        series(&[("__name__", "name"), ("a_very_long_label_name", "1")], 1),
        series(
            &[("__name__", "many"), ("a", "1"), ("b", "2"), ("c", "3")],
            3,
        ),
    ]);
    let decoded = decode(&sent, &limits).unwrap();
    assert_eq!(
        decoded.request.to_write_request().timeseries,
        [sent.timeseries[0].clone()]
    );
    let report = &decoded.report;
    assert_eq!(
        report.rejected,
        [
            (RejectReason::TooManyLabels, 3),
            (RejectReason::LabelNameTooLong, 1),
            (RejectReason::LabelValueTooLong, 2),
        ]
    );
    assert_eq!(
        report.refused_series,
        [
            (Limit::LabelsPerSeries, 1),
            (Limit::LabelNameLength, 1),
            (Limit::LabelValueLength, 1)
        ]
    );
    let text = report.describe();
    assert!(
        text.contains(
            "label value of \"x\" is 5000 bytes, limit remote_write.max_label_value_length = 20"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "label name \"a_very_long_label_name\" is 22 bytes, limit remote_write.max_label_name_length = 10"
        ),
        "{text}"
    );
    assert!(
        text.contains("the series has 4 labels, limit remote_write.max_labels_per_series = 3"),
        "{text}"
    );
    // The huge value is cut short in the message.
    assert!(text.len() < 2000, "{} bytes: {text}", text.len());
}

#[test]
fn millions_of_empty_labels_are_refused_before_decoding() {
    // 2 bytes per empty label on the wire, 48 bytes each once decoded by prost.
    let mut series_bytes = Vec::new();
    for _ in 0..1_000_000 {
        series_bytes.extend_from_slice(&[0x0a, 0x00]);
    }
    let mut body = vec![0x0a];
    prost::encoding::encode_varint(series_bytes.len() as u64, &mut body);
    body.extend(series_bytes);
    let decoded = decode_protobuf(&body, &WriteLimits::default()).unwrap();
    assert!(decoded.request.is_empty());
    // No samples: nothing lost, nothing reported.
    assert!(decoded.report.is_complete());
}

#[test]
fn series_beyond_the_limit_are_counted_without_being_kept() {
    let limits = WriteLimits {
        max_series_per_request: 1,
        ..WriteLimits::default()
    };
    let body: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 100_000)
        .flatten()
        .collect();
    let (limit, message) = refused_limit(decode_protobuf(&body, &limits).unwrap_err());
    assert_eq!(limit, Limit::SeriesPerRequest);
    assert!(message.contains("100000 series"), "{message}");
}

fn label_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,12}",
        ".{0,40}",
        Just(String::new()),
        (1usize..4000).prop_map(|n| "x".repeat(n)),
    ]
}

fn arbitrary_request() -> impl Strategy<Value = WriteRequest> {
    let label = (label_text(), label_text()).prop_map(|(n, v)| Label::new(n, v));
    let sample =
        (any::<f64>(), any::<i64>()).prop_map(|(value, timestamp)| Sample { value, timestamp });
    let one_series = (
        prop::collection::vec(label, 0..40),
        prop::collection::vec(sample, 0..20),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..2),
    )
        .prop_map(|(labels, samples, histograms)| TimeSeries {
            labels,
            samples,
            histograms,
        });
    prop::collection::vec(one_series, 0..20).prop_map(request)
}

fn small_limits() -> impl Strategy<Value = WriteLimits> {
    (
        1usize..40,
        1usize..200,
        1usize..50,
        1usize..5000,
        1usize..5000,
    )
        .prop_map(|(series, samples, labels, name, value)| WriteLimits {
            max_series_per_request: series,
            max_samples_per_request: samples,
            max_labels_per_series: labels,
            max_label_name_length: name,
            max_label_value_length: value,
            ..WriteLimits::default()
        })
}

/// Limits that never trigger on the generated inputs.
fn unlimited() -> WriteLimits {
    WriteLimits {
        max_decompressed_bytes: usize::MAX / 2,
        max_series_per_request: usize::MAX,
        max_samples_per_request: usize::MAX,
        max_metadata_per_request: usize::MAX,
        max_labels_per_series: usize::MAX,
        max_label_name_length: usize::MAX,
        max_label_value_length: usize::MAX,
    }
}

/// Byte-level damage: flip, insert, delete or truncate at generated positions.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(position, kind, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let at = position % bytes.len();
        match kind % 4 {
            0 => bytes[at] ^= byte | 1,
            1 => bytes.insert(at, byte),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// What the decoder keeps respects every limit, and what it refuses is accounted for.
    #[test]
    fn decoded_requests_respect_the_limits(sent in arbitrary_request(), limits in small_limits()) {
        match decode(&sent, &limits) {
            Ok(decoded) => {
                let request = decoded.request.to_write_request();
                prop_assert!(request.timeseries.len() <= limits.max_series_per_request);
                for series in &request.timeseries {
                    prop_assert!(series.labels.len() <= limits.max_labels_per_series);
                    for label in &series.labels {
                        prop_assert!(label.name.len() <= limits.max_label_name_length);
                        prop_assert!(label.value.len() <= limits.max_label_value_length);
                    }
                }
                let kept: usize = request.timeseries.iter()
                    .map(|s| s.samples.len() + s.histograms.len()).sum();
                let sent_samples: usize = sent.timeseries.iter()
                    .map(|s| s.samples.len() + s.histograms.len()).sum();
                prop_assert!(sent_samples <= limits.max_samples_per_request);
                prop_assert_eq!(kept + decoded.report.rejected_total(), sent_samples);
            }
            Err(DecodeError::Limit(exceeded)) => {
                prop_assert!(exceeded.actual > exceeded.allowed);
                prop_assert_eq!(exceeded.allowed, limits.value(exceeded.limit));
            }
            Err(other) => prop_assert!(false, "a valid request failed: {}", other),
        }
    }

    /// Without limits the decoder agrees with prost on valid requests.
    #[test]
    fn without_limits_decoding_equals_prost(sent in arbitrary_request()) {
        let decoded = decode(&sent, &unlimited()).unwrap();
        // Compared as bytes: NaN samples are never equal to themselves.
        prop_assert_eq!(decoded.request.to_write_request().encode_to_vec(), sent.encode_to_vec());
    }

    /// Damaged bodies never panic; whatever decodes is what prost decodes.
    #[test]
    fn damaged_protobuf_never_panics(
        sent in arbitrary_request(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let bytes = mutate(sent.encode_to_vec(), &edits);
        if let Ok(decoded) = decode_protobuf(&bytes, &unlimited()) {
            let by_prost = WriteRequest::decode(bytes.as_slice());
            prop_assert!(by_prost.is_ok(), "prost refuses what we accepted");
            if let Ok(by_prost) = by_prost {
                prop_assert_eq!(
                    decoded.request.to_write_request().encode_to_vec(),
                    by_prost.encode_to_vec()
                );
            }
        }
        let _ = decode_protobuf(&bytes, &WriteLimits::default());
    }

    /// Arbitrary and damaged snappy bodies never panic and give a sane error.
    #[test]
    fn arbitrary_bodies_never_panic(
        raw in prop::collection::vec(any::<u8>(), 0..2048),
        sent in arbitrary_request(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        for body in [raw.clone(), mutate(encode_write_request(&sent).unwrap(), &edits)] {
            if let Err(error) = decode_write_request(&body, &WriteLimits::default()) {
                let message = error.to_string();
                prop_assert!(!message.is_empty() && message.len() < 2000, "{}", message);
            }
        }
    }
}
