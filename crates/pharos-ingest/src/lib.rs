//! The Prometheus remote-write 1.0 receiver, without HTTP: the protobuf messages, the body
//! codec (snappy block + protobuf, header checks) and the append path into the embedded store.
//!
//! The HTTP handler (in `pharos-server`) calls, in order: [`check_headers`] (a failure is
//! HTTP 415), [`decode_write_request`] (a failure is HTTP 400), then [`append_write_request`]
//! on a blocking thread. The returned [`WriteReport`] is complete (HTTP 204) only when every
//! sample was stored; samples are durable when it returns, because the store's commit writes
//! and fsyncs its WAL first.
//!
//! ```
//! use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, append_write_request,
//!     decode_write_request, encode_write_request};
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
//! let report = append_write_request(&db, &decode_write_request(&body)?)?;
//! assert!(report.is_complete());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod append;
mod codec;
mod proto;

pub use append::{MAX_REPORTED_ERRORS, RejectReason, WriteReport, append_write_request};
pub use codec::{
    CONTENT_ENCODING, CONTENT_TYPE, DecodeError, MAX_DECOMPRESSED_BYTES, MediaTypeError,
    PROTO_MESSAGE_V1, check_headers, decode_write_request, encode_write_request,
};
pub use proto::{Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest};
