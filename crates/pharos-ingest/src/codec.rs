//! The remote-write 1.0 envelope: header checks, and encoding a request as a sender does (for
//! clients and tests). Decoding, which must respect limits, is in `decode`.

use prost::Message as _;
use thiserror::Error;

use crate::decode::DecodeError;
use crate::proto::WriteRequest;

/// The content type of a remote-write 1.0 body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The only content encoding remote-write 1.0 uses.
pub const CONTENT_ENCODING: &str = "snappy";
/// The protobuf message remote-write 1.0 sends (the `proto=` content-type parameter).
pub const PROTO_MESSAGE_V1: &str = "prometheus.WriteRequest";

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

/// Encodes and compresses a request as a remote-write 1.0 sender does.
pub fn encode_write_request(request: &WriteRequest) -> Result<Vec<u8>, DecodeError> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .map_err(|e| DecodeError::Snappy(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
