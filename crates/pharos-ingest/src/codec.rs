//! The remote-write 1.0 body: header checks, snappy block decompression and protobuf decoding
//! (and the reverse, for clients and tests).

use prost::Message as _;
use thiserror::Error;

use crate::proto::WriteRequest;

/// The content type of a remote-write 1.0 body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The only content encoding remote-write 1.0 uses.
pub const CONTENT_ENCODING: &str = "snappy";
/// The protobuf message remote-write 1.0 sends (the `proto=` content-type parameter).
pub const PROTO_MESSAGE_V1: &str = "prometheus.WriteRequest";
/// Largest decompressed body accepted; the compressed size is limited by the HTTP layer.
pub const MAX_DECOMPRESSED_BYTES: usize = 256 * 1024 * 1024;

/// The request headers announce something other than remote-write 1.0 (HTTP 415).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MediaTypeError {
    /// Not `application/x-protobuf`.
    #[error(
        "expected application/x-protobuf as the first (media) part, got {0:?} content-type; remote-write bodies are snappy-compressed protobuf"
    )]
    ContentType(String),
    /// A protobuf message other than `prometheus.WriteRequest` (remote-write 2.0, for example).
    #[error(
        "{0} protobuf message is not accepted by this server; accepted prometheus.WriteRequest (remote-write 1.0): set protobuf_message: prometheus.WriteRequest in the sender's remote_write config"
    )]
    ProtoMessage(String),
    /// A compression other than snappy.
    #[error("{0} encoding (compression) is not accepted by this server; only snappy is acceptable")]
    ContentEncoding(String),
}

/// The body is not a valid remote-write 1.0 request (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not a snappy block.
    #[error(
        "the body is not snappy-compressed ({0}); remote-write bodies use the snappy block format, not the framed/stream format"
    )]
    Snappy(String),
    /// The decompressed body would be too large.
    #[error(
        "the decompressed body would be {size} bytes, over the {limit}-byte limit; send smaller batches (max_samples_per_send)"
    )]
    TooLarge {
        /// Announced decompressed size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The decompressed bytes are not a `WriteRequest`.
    #[error("the body is not a protobuf prometheus.WriteRequest: {0}")]
    Protobuf(String),
}

/// Checks the `Content-Type` and `Content-Encoding` headers the way Prometheus does: a missing
/// content type or encoding means remote-write 1.0 with snappy.
pub fn check_headers(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<(), MediaTypeError> {
    if let Some(content_type) = content_type.map(str::trim).filter(|t| !t.is_empty()) {
        let mut parts = content_type.split(';');
        let media = parts.next().unwrap_or_default().trim();
        if !media.eq_ignore_ascii_case(CONTENT_TYPE) {
            return Err(MediaTypeError::ContentType(content_type.to_owned()));
        }
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            if key.trim().eq_ignore_ascii_case("proto") && value != PROTO_MESSAGE_V1 {
                return Err(MediaTypeError::ProtoMessage(value.to_owned()));
            }
        }
    }
    match content_encoding.map(str::trim).filter(|e| !e.is_empty()) {
        Some(encoding) if !encoding.eq_ignore_ascii_case(CONTENT_ENCODING) => {
            Err(MediaTypeError::ContentEncoding(encoding.to_owned()))
        }
        _ => Ok(()),
    }
}

/// Decompresses (snappy block) and decodes a remote-write 1.0 body.
pub fn decode_write_request(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let size = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if size > MAX_DECOMPRESSED_BYTES {
        return Err(DecodeError::TooLarge {
            size,
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    WriteRequest::decode(bytes.as_slice()).map_err(|e| DecodeError::Protobuf(e.to_string()))
}

/// Encodes and compresses a request as a remote-write 1.0 sender does.
pub fn encode_write_request(request: &WriteRequest) -> Result<Vec<u8>, DecodeError> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .map_err(|e| DecodeError::Snappy(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Label, Sample, TimeSeries};

    fn request() -> WriteRequest {
        WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label::new("__name__", "up")],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 5,
                }],
                histograms: vec![],
            }],
            metadata: vec![],
        }
    }

    #[test]
    fn round_trips_through_snappy_and_protobuf() {
        let body = encode_write_request(&request()).unwrap();
        assert_eq!(decode_write_request(&body).unwrap(), request());
    }

    #[test]
    fn raw_protobuf_without_snappy_is_a_snappy_error() {
        let raw = prost::Message::encode_to_vec(&request());
        let error = decode_write_request(&raw).unwrap_err();
        assert!(matches!(error, DecodeError::Snappy(_)), "{error}");
        assert!(error.to_string().contains("snappy"), "{error}");
    }

    #[test]
    fn snappy_of_garbage_is_a_protobuf_error() {
        let body = snap::raw::Encoder::new()
            .compress_vec(b"\xff\xff\xff\xff")
            .unwrap();
        let error = decode_write_request(&body).unwrap_err();
        assert!(matches!(error, DecodeError::Protobuf(_)), "{error}");
    }

    #[test]
    fn an_announced_size_over_the_limit_is_refused_before_allocating() {
        // A snappy header announcing 1 GiB (varint) followed by nothing.
        let body = [0x80, 0x80, 0x80, 0x80, 0x04];
        assert!(matches!(
            decode_write_request(&body),
            Err(DecodeError::TooLarge { size, .. }) if size == 1 << 30
        ));
    }

    #[test]
    fn headers_follow_prometheus_defaults() {
        assert_eq!(check_headers(None, None), Ok(()));
        assert_eq!(
            check_headers(Some("application/x-protobuf"), Some("snappy")),
            Ok(())
        );
        assert_eq!(
            check_headers(
                Some("application/x-protobuf;proto=prometheus.WriteRequest"),
                None
            ),
            Ok(())
        );
        assert!(matches!(
            check_headers(Some("application/json"), Some("snappy")),
            Err(MediaTypeError::ContentType(t)) if t == "application/json"
        ));
        assert!(matches!(
            check_headers(Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"), None),
            Err(MediaTypeError::ProtoMessage(m)) if m == "io.prometheus.write.v2.Request"
        ));
        assert!(matches!(
            check_headers(Some("application/x-protobuf"), Some("gzip")),
            Err(MediaTypeError::ContentEncoding(e)) if e == "gzip"
        ));
    }
}
