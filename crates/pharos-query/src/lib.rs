//! Metrics backends and the local metrics service: everything that answers "what does this
//! PromQL / selector return" for the server.
//!
//! * [`MetricsBackend`] is the one query contract; [`LocalBackend`] (the embedded store, in
//!   process) and [`PrometheusHttp`] (a remote Prometheus-compatible API) implement it, and
//!   [`Cached`] wraps any of them with the shared [`QueryCache`] (TTL by recency, coalescing of
//!   identical questions, the last good answer during outages). [`plan_range`] picks the step
//!   and aligns the range.
//! * [`EmbeddedSource`] is the embedded store (`pharos-tsdb`) seen through the engine's
//!   [`pharos_promql::SeriesSource`] contract.
//! * [`LocalMetrics`] is the service the HTTP layer calls: instant and range queries with the
//!   configured limits ([`QueryOptions`]), series / label listings for `match[]` selectors,
//!   metadata recorded from ingestion, head statistics ([`TsdbStatus`]) and the append entry
//!   point. Everything runs on tokio's blocking pool; a query is cancelled when its caller's
//!   future is dropped.
//! * [`Admission`] bounds how many queries and listings evaluate at once
//!   (`query.max_concurrent`) and how long the rest wait (`query.queue_timeout`) before
//!   [`QueryError::Overloaded`].
//! * Errors are [`QueryError`]s, each with the Prometheus API error type.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use pharos_query::{LocalMetrics, QueryOptions};
//! use pharos_tsdb::{Db, Labels, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let metrics = LocalMetrics::new(Arc::new(Db::open(dir.path(), Options::default())?),
//!     QueryOptions::default());
//! metrics
//!     .append(|db| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
//!         let mut appender = db.appender();
//!         appender.append(&Labels::new([("__name__", "up"), ("job", "api")])?, 1_000, 1.0)?;
//!         Ok(appender.commit()?)
//!     })
//!     .await?
//!     .map_err(|e| e.to_string())?;
//! let result = metrics.instant("up", 10_000, None).await?;
//! assert_eq!(result.to_api_response()["data"]["result"][0]["value"][1], "1");
//! # Ok(())
//! # }
//! ```

mod admission;
mod alert_match;
mod backend;
mod cache;
mod embedded;
mod error;
mod local;
mod metadata;
mod options;
mod remote;
mod result_data;
mod selectors;
mod shared_tier;
mod status;
mod step;
pub mod trace_context;

pub use admission::{Admission, QUEUE_TIMEOUT_REASON, Slot};
pub use alert_match::{Threshold, threshold_of};
pub use backend::{
    BackendError, BackendFuture, InstantQuery, LocalBackend, MetricsBackend, QueryAnswer,
    RangeQuery, Served,
};
pub use cache::{CacheSettings, Cached, QueryCache, now_ms};
pub use embedded::{EmbeddedSource, to_engine_labels, to_engine_series, to_store_matchers};
pub use error::QueryError;
pub use local::LocalMetrics;
pub use metadata::{MAX_ENTRIES_PER_FAMILY, MAX_FAMILIES, MetricMetadataEntry};
pub use options::{MAX_POINTS_PER_SERIES, QueryOptions};
pub use remote::{PrometheusHttp, read_envelope};
pub use result_data::ResultData;
pub use selectors::parse_series_selectors;
pub use status::{HeadStatus, TsdbStatus};
pub use step::{STEP_LADDER_MS, plan_range};
