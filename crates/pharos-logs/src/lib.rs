//! Latency from access logs, without HTTP: this crate owns the log intake (Loki push bodies in
//! JSON and protobuf + snappy, NDJSON, gzip/deflate with a decompression bound), the access-log
//! parsers (nginx, Envoy/Istio, Traefik, HAProxy, JSON, logfmt), the per-service 5-minute
//! latency buckets (count, errors, P50/P95/P99 from a mergeable DDSketch-style sketch) and the
//! gauges written from them into the embedded store (`pharos_service_*`).
//!
//! The server's handlers call [`LogIntake::push_loki`] or [`LogIntake::push_ndjson`] with the
//! body read up to [`IntakeSettings::max_body_bytes`]; the binary calls
//! [`LogIntake::publish`] on a timer (and once at shutdown) with the store. Bad lines are
//! rejected one by one and counted per [`Reject`] reason; good lines of the same request are
//! kept. See decision 0021 and `docs/user/latency-from-logs.md`.
//!
//! [`pull`] pulls lines from an existing Loki (`query_range`, paged and chunked): a backfill
//! straight into final bucket samples, then a tail into the intake (decision 0023).

pub mod aggregate;
mod intake;
pub mod parse;
pub mod pull;
pub mod sketch;
mod store;

pub use aggregate::{
    AggregatorLimits, BUCKET_MS, FAST_REQUESTS, LATENCY_LADDER_MS, METRICS, MetricSample,
    Published, SAMPLES_PER_BUCKET, bucket_start, final_bucket_samples,
};
pub use intake::loki::{
    Entry, LabelPair, PushRequest, Stream, Timestamp, encode_push_request, parse_labels,
};
pub use intake::{
    BodyKind, IntakeError, IntakeReport, IntakeSettings, LogIntake, MAX_SAMPLED_REJECTS,
    RejectedLine, SourceSettings,
};
pub use parse::{Format, JsonFields, Parsed, Reject, parse_line};
pub use store::{StoreReport, append_samples};
