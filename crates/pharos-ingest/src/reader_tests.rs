use prost::Message as _;

use super::*;
use crate::decode::{DecodeError, decode_protobuf};
use crate::limits::WriteLimits;
use crate::proto::{Label, TimeSeries, WriteRequest};

/// A length-delimited field.
fn bytes_field(number: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(number << 3 | 2, &mut out);
    prost::encoding::encode_varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A varint field.
fn varint_field(number: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(number << 3, &mut out);
    prost::encoding::encode_varint(value, &mut out);
    out
}

fn label(name: &[u8], value: &[u8]) -> Vec<u8> {
    [bytes_field(1, name), bytes_field(2, value)].concat()
}

/// A request of one series made of raw fields.
fn request_of(series_fields: &[Vec<u8>]) -> Vec<u8> {
    bytes_field(1, &series_fields.concat())
}

fn decode(bytes: &[u8]) -> Result<WriteRequest, DecodeError> {
    decode_protobuf(bytes, &WriteLimits::default()).map(|d| d.request.to_write_request())
}

fn protobuf_error(bytes: &[u8]) -> String {
    match decode(bytes) {
        Err(DecodeError::Protobuf(message)) => message,
        other => panic!("expected a protobuf error, got {other:?}"),
    }
}

fn read_one(series: &[u8]) -> Result<(Vec<RawLabel<'_>>, Vec<Sample>), ReadError> {
    let (mut labels, mut samples, mut histograms) = (Vec::new(), Vec::new(), Vec::new());
    read_series(series, 100, &mut labels, &mut samples, &mut histograms)?;
    Ok((labels, samples))
}

#[test]
fn reads_what_prost_encodes() {
    let series = TimeSeries {
        labels: vec![Label::new("__name__", "up"), Label::new("job", "é")],
        samples: vec![
            Sample {
                value: f64::from_bits(0x7ff0_0000_0000_0002),
                timestamp: -5,
            },
            Sample {
                value: -2.5,
                timestamp: i64::MAX,
            },
        ],
        histograms: vec![vec![1, 2, 3]],
    };
    let bytes = series.encode_to_vec();
    let (mut labels, mut samples, mut histograms) = (Vec::new(), Vec::new(), Vec::new());
    let counts = read_series(&bytes, 100, &mut labels, &mut samples, &mut histograms);
    assert_eq!(
        counts,
        Ok(SeriesCounts {
            labels: 2,
            samples: 3
        })
    );
    assert_eq!(
        labels,
        [(&b"__name__"[..], &b"up"[..]), (b"job", "é".as_bytes())]
    );
    let bits: Vec<(u64, i64)> = samples
        .iter()
        .map(|s| (s.value.to_bits(), s.timestamp))
        .collect();
    assert_eq!(
        bits,
        [(0x7ff0_0000_0000_0002, -5), ((-2.5f64).to_bits(), i64::MAX)]
    );
    assert_eq!(histograms, [vec![1, 2, 3]]);

    let metadata = MetricMetadata {
        r#type: 3,
        metric_family_name: "http_request_duration_seconds".into(),
        help: "Latency.".into(),
        unit: "seconds".into(),
    };
    assert_eq!(read_metadata(&metadata.encode_to_vec()), Ok(metadata));
}

#[test]
fn only_the_first_labels_are_kept_but_all_are_counted() {
    let series: Vec<u8> = (0..5)
        .flat_map(|i| bytes_field(1, &label(b"a", &[b'0' + i])))
        .collect();
    let (mut labels, mut samples, mut histograms) = (Vec::new(), Vec::new(), Vec::new());
    let counts = read_series(&series, 2, &mut labels, &mut samples, &mut histograms);
    assert_eq!(counts.map(|c| c.labels), Ok(5));
    assert_eq!(labels, [(&b"a"[..], &b"0"[..]), (b"a", b"1")]);
}

#[test]
fn unknown_fields_are_skipped_everywhere() {
    let exemplar = bytes_field(3, &[0x09, 0, 0, 0, 0, 0, 0, 0, 0]);
    let unknown_in_label = [
        label(b"job", b"a"),
        varint_field(7, 1),
        vec![0x45, 1, 2, 3, 4],
    ]
    .concat();
    let unknown_in_sample = [
        varint_field(2, 1000),
        bytes_field(9, b"x"),
        vec![0x19, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
        vec![0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
    ]
    .concat();
    let body = [
        request_of(&[
            bytes_field(1, &label(b"__name__", b"up")),
            exemplar,
            bytes_field(1, &unknown_in_label),
            varint_field(15, 42),
            bytes_field(2, &unknown_in_sample),
        ]),
        varint_field(5, 1),
        bytes_field(2, b"reserved"),
    ]
    .concat();
    let decoded = decode(&body).unwrap_or_default();
    assert_eq!(
        decoded.timeseries,
        [TimeSeries {
            labels: vec![Label::new("__name__", "up"), Label::new("job", "a")],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 1000
            }],
            histograms: vec![],
        }]
    );
    // Whatever we accept, prost accepts the same way.
    let by_prost = WriteRequest::decode(body.as_slice()).unwrap_or_default();
    assert_eq!(decoded, by_prost);
}

#[test]
fn a_repeated_singular_field_keeps_its_last_value() {
    let twice = [label(b"a", b"1"), bytes_field(2, b"2")].concat();
    let sample = [varint_field(2, 1), varint_field(2, 2)].concat();
    let body = request_of(&[bytes_field(1, &twice), bytes_field(2, &sample)]);
    let decoded = decode(&body).unwrap_or_default();
    assert_eq!(
        decoded,
        WriteRequest::decode(body.as_slice()).unwrap_or_default()
    );
    assert_eq!(decoded.timeseries[0].labels, [Label::new("a", "2")]);
    assert_eq!(decoded.timeseries[0].samples[0].timestamp, 2);
}

#[test]
fn truncated_varints_are_refused() {
    let cases = [
        // A sample whose timestamp varint stops after a continuation byte.
        request_of(&[bytes_field(2, &[0x10, 0x80])]),
        // A series whose key is cut short.
        request_of(&[vec![0x92]]),
        // A label whose length varint never ends.
        request_of(&[[vec![0x0a], vec![0xff; 11]].concat()]),
        // The request itself ends inside a key.
        vec![0x8a],
    ];
    for body in cases {
        let message = protobuf_error(&body);
        assert!(message.contains("invalid varint"), "{message}");
        assert!(WriteRequest::decode(body.as_slice()).is_err());
    }
}

#[test]
fn wrong_wire_types_are_refused_with_the_field_named() {
    let cases: [(Vec<u8>, &str); 6] = [
        (
            request_of(&[varint_field(1, 3)]),
            "field 1 (labels) of a TimeSeries is varint, expected length-delimited",
        ),
        (
            request_of(&[vec![0x11, 0, 0, 0, 0, 0, 0, 0, 0]]),
            "field 2 (samples) of a TimeSeries is fixed64",
        ),
        (
            request_of(&[bytes_field(1, &varint_field(2, 1))]),
            "field 2 (value) of a Label is varint",
        ),
        (
            request_of(&[bytes_field(2, &varint_field(1, 1))]),
            "field 1 (value) of a Sample is varint, expected fixed64",
        ),
        (
            request_of(&[bytes_field(2, &bytes_field(2, b"1"))]),
            "field 2 (timestamp) of a Sample is length-delimited, expected varint",
        ),
        (
            bytes_field(3, &bytes_field(1, b"")),
            "field 1 (type) of a MetricMetadata is length-delimited, expected varint",
        ),
    ];
    for (body, expected) in cases {
        let message = protobuf_error(&body);
        assert!(message.contains(expected), "{message}");
        assert!(
            WriteRequest::decode(body.as_slice()).is_err(),
            "prost accepts {expected}"
        );
    }
    let message = protobuf_error(&varint_field(1, 1));
    assert_eq!(
        message,
        "the timeseries and metadata fields must be length-delimited messages"
    );
}

#[test]
fn overlong_lengths_are_refused() {
    let cases = [
        // A series claiming more bytes than the request holds.
        [vec![0x0a, 0x7f], vec![0; 10]].concat(),
        // A label claiming more than its series holds (the series itself fits).
        request_of(&[vec![0x0a, 0x05, 0x0a, 0x01, b'a']]),
        // A name claiming more than its label holds.
        request_of(&[bytes_field(1, &[0x0a, 0x09, b'a'])]),
        // A length of 2^62.
        [vec![0x0a], vec![0x80; 8], vec![0x40]].concat(),
    ];
    for body in cases {
        let message = protobuf_error(&body);
        assert!(message.contains("claims"), "{message}");
        assert!(WriteRequest::decode(body.as_slice()).is_err());
    }
}

#[test]
fn invalid_utf8_is_a_protobuf_error_naming_the_label() {
    let value = request_of(&[bytes_field(1, &label(b"job", b"a\xffb"))]);
    let error = decode_protobuf(&value, &WriteLimits::default()).unwrap_err();
    assert!(matches!(error, DecodeError::Protobuf(_)));
    assert_eq!(error.limit(), None);
    let message = error.to_string();
    assert!(
        message.starts_with(
            "the body is not a protobuf prometheus.WriteRequest: timeseries 0: the value of label \"job\" is not valid UTF-8"
        ),
        "{message}"
    );
    let name = request_of(&[bytes_field(1, &label(b"\xc3", b"x"))]);
    assert!(protobuf_error(&name).contains("a label name is not valid UTF-8"));
    // An overwritten occurrence counts too, as in prost.
    let overwritten = request_of(&[bytes_field(
        1,
        &[label(b"job", b"\xff"), bytes_field(2, b"ok")].concat(),
    )]);
    assert!(protobuf_error(&overwritten).contains("not valid UTF-8"));
    let help = bytes_field(3, &bytes_field(4, b"\xe2\x82"));
    assert!(protobuf_error(&help).contains("metadata 0: metadata help is not valid UTF-8"));
    for body in [value, name, overwritten, help] {
        assert!(WriteRequest::decode(body.as_slice()).is_err());
    }
}

#[test]
fn a_series_refused_for_a_limit_is_reported_even_with_invalid_utf8() {
    // As before: a refused series is described (lossily), never read as text.
    let limits = WriteLimits {
        max_label_value_length: 2,
        ..WriteLimits::default()
    };
    let body = request_of(&[
        bytes_field(1, &label(b"job", b"\xff\xff\xff")),
        bytes_field(2, &varint_field(2, 1)),
    ]);
    let decoded = decode_protobuf(&body, &limits).unwrap_or_default();
    assert!(decoded.request.is_empty());
    assert_eq!(decoded.report.rejected_total(), 1);
    assert!(decoded.report.errors[0].contains("label value of \"job\" is 3 bytes"));
}

#[test]
fn reading_a_series_never_panics_on_garbage() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in 0..2000usize {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        // Label text is checked once a series is kept, so only count it as accepted then.
        let text = |bytes: &[u8]| std::str::from_utf8(bytes).is_ok();
        let ours = read_one(&bytes)
            .is_ok_and(|(labels, _)| labels.iter().all(|(name, value)| text(name) && text(value)));
        if ours {
            assert!(
                TimeSeries::decode(bytes.as_slice()).is_ok(),
                "prost refuses what we accept: {bytes:?}"
            );
        }
    }
}
