//! The Prometheus remote-write 1.0 receiver, without HTTP: the protobuf messages, the body
//! codec (snappy block + protobuf, header checks) and the append path into the embedded store.
//!
//! The HTTP handler (in `pharos-server`) calls, in order: [`check_headers`] (a failure is
//! HTTP 415), [`decode_write_request`] with the configured [`WriteLimits`] (a failure is HTTP
//! 400; a request-wide limit refuses the whole request before anything is allocated for it),
//! then [`append_write_request`] on a blocking thread. The decoder reads the protobuf wire
//! format itself, into a few request-wide buffers ([`DecodedRequest`]), and the append path
//! hands the store borrowed label slices: a series already stored costs no allocation. Series
//! over a label limit are refused one by one and reported with the store's rejections. The
//! returned [`WriteReport`] is complete (HTTP 204) only when every sample was stored; samples
//! are durable when it returns, because the store's commit writes and fsyncs its WAL first.
//!
//! ```
//! use pharos_ingest::{Label, Sample, TimeSeries, WriteLimits, WriteRequest,
//!     append_write_request, decode_write_request, encode_write_request};
//!
//! let request = WriteRequest {
//!     timeseries: vec![TimeSeries {
//!         labels: vec![Label::new("__name__", "up"), Label::new("job", "api")],
//!         samples: vec![Sample { value: 1.0, timestamp: 1_000 }],
//!         histograms: vec![],
//!     }],
//!     metadata: vec![],
//! };
//! let body = encode_write_request(&request)?;
//! let dir = tempfile::tempdir()?;
//! let db = pharos_tsdb::Db::open(dir.path(), pharos_tsdb::Options::default())?;
//! let decoded = decode_write_request(&body, &WriteLimits::default())?;
//! let report = append_write_request(&db, &decoded)?;
//! assert!(report.is_complete());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod append;
mod codec;
mod decode;
mod limits;
mod proto;
mod reader;
mod request;
mod wire;

#[cfg(test)]
mod bench_tests;

pub use append::{MAX_REPORTED_ERRORS, RejectReason, WriteReport, append_write_request};
pub use codec::{
    CONTENT_ENCODING, CONTENT_TYPE, MediaTypeError, PROTO_MESSAGE_V1, check_headers,
    encode_write_request,
};
pub use decode::{DecodeError, DecodedWrite, decode_write_request};
pub use limits::{Exceeded, Limit, WriteLimits};
pub use proto::{Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest};
pub use request::{DecodedRequest, SeriesView};
