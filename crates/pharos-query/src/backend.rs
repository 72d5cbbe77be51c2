//! The one contract every metrics backend meets ([`MetricsBackend`]): evaluate a PromQL
//! instant or range query and answer with the Prometheus `data` section plus its warnings and
//! infos. The embedded store ([`LocalBackend`]) and a remote Prometheus/Thanos
//! ([`crate::PrometheusHttp`]) implement it; [`crate::Cached`] wraps any of them. Consumers
//! (the proxy, share links, later live streams and the assistant) hold an
//! `Arc<dyn MetricsBackend>` and never know which one they have.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use serde_json::value::RawValue;

use crate::{LocalMetrics, QueryError, result_data::ResultData};

/// A boxed future, so backends can be used as trait objects.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `/api/v1/query`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstantQuery {
    /// PromQL (already tenant-enforced when the datasource is restricted).
    pub query: String,
    /// Evaluation time, milliseconds since the epoch.
    pub time_ms: i64,
    /// A shorter timeout than the backend's own, if the client asked for one.
    pub timeout: Option<Duration>,
}

/// `/api/v1/query_range`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RangeQuery {
    /// PromQL (already tenant-enforced when the datasource is restricted).
    pub query: String,
    /// First evaluation, milliseconds since the epoch.
    pub start_ms: i64,
    /// Last evaluation at most this, milliseconds since the epoch.
    pub end_ms: i64,
    /// Resolution, milliseconds (> 0).
    pub step_ms: i64,
    /// A shorter timeout than the backend's own.
    pub timeout: Option<Duration>,
}

/// A successful answer: the Prometheus `data` object (`{"resultType", "result"}`) and the
/// annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAnswer {
    /// `{"resultType": ..., "result": ...}` as JSON text, shared: a cached answer is handed to
    /// every reader, and written out, without being parsed or copied again.
    pub data: ResultData,
    /// The API's `warnings`.
    pub warnings: Vec<String>,
    /// The API's `infos`.
    pub infos: Vec<String>,
    /// Where the answer came from.
    pub served: Served,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Served {
    /// Evaluated by the backend for this request.
    #[default]
    Backend,
    /// Reused from the result cache (or shared with a concurrent identical request).
    Cache,
    /// An older answer kept for outages: the backend failed; `fetched_ms` is when it was
    /// evaluated.
    Stale {
        /// Milliseconds since the epoch.
        fetched_ms: i64,
    },
}

impl QueryAnswer {
    /// Series in a matrix or vector answer (0 for scalars and strings).
    pub fn series_count(&self) -> usize {
        self.data.series_count()
    }

    /// The whole success envelope as the Prometheus API sends it, serialised without copying
    /// the data.
    pub fn envelope_bytes(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Envelope<'a> {
            status: &'static str,
            data: &'a RawValue,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            warnings: &'a [String],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            infos: &'a [String],
        }
        serde_json::to_vec(&Envelope {
            status: "success",
            data: self.data.raw(),
            warnings: &self.warnings,
            infos: &self.infos,
        })
        .unwrap_or_default()
    }

    /// Size in bytes, for the cache's weigher.
    pub fn approximate_bytes(&self) -> usize {
        self.data.get().len()
            + self
                .warnings
                .iter()
                .chain(&self.infos)
                .map(String::len)
                .sum::<usize>()
    }
}

/// Why a backend gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend evaluated and refused the query (bad PromQL, limits, execution error). Not
    /// a reason to serve stale data: the same query would fail again.
    #[error("{message}")]
    Refused {
        /// Prometheus `errorType`: `bad_data`, `execution`, ...
        error_type: String,
        /// The backend's message.
        message: String,
        /// The HTTP status that goes with it.
        status: u16,
    },
    /// The backend did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The backend cannot be reached, failed, or answered something that is not a
    /// Prometheus answer.
    #[error("{0}")]
    Unavailable(String),
    /// Pharos itself is too busy (the embedded store's admission queue).
    #[error("{message}")]
    Overloaded {
        /// What was limited.
        message: String,
        /// When to retry.
        retry_after: Duration,
    },
}

impl BackendError {
    /// Whether a cached older answer should stand in (the backend is down or slow).
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Unavailable(_))
    }

    /// The Prometheus `errorType` of the error answer.
    pub fn error_type(&self) -> &str {
        match self {
            Self::Refused { error_type, .. } => error_type,
            Self::Timeout(_) | Self::Overloaded { .. } => "timeout",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The HTTP status of the error answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused { status, .. } => *status,
            Self::Timeout(_) | Self::Overloaded { .. } => 503,
            Self::Unavailable(_) => 502,
        }
    }
}

impl BackendError {
    /// The failure of `query` in the embedded store, worded as Prometheus words it.
    pub fn from_query(error: QueryError, query: &str) -> Self {
        if let QueryError::Eval(eval) = &error
            && let Some(reason) = eval.refusal_reason()
        {
            metrics::counter!("pharos_refusals_total", "reason" => reason).increment(1);
        }
        if error.is_invalid_query() {
            return Self::Refused {
                error_type: "bad_data".to_owned(),
                message: error.message_for(query),
                status: 400,
            };
        }
        Self::from(error)
    }
}

impl From<QueryError> for BackendError {
    fn from(error: QueryError) -> Self {
        if let Some(retry_after) = error.retry_after() {
            return Self::Overloaded {
                message: error.to_string(),
                retry_after,
            };
        }
        let error_type = error.error_type();
        match error_type.as_str() {
            "timeout" => Self::Timeout(error.to_string()),
            _ => Self::Refused {
                error_type: error_type.as_str().to_owned(),
                message: error.to_string(),
                status: error_type.http_status(),
            },
        }
    }
}

/// A source of PromQL answers.
pub trait MetricsBackend: Send + Sync + fmt::Debug {
    /// Evaluates an instant query.
    fn instant<'a>(
        &'a self,
        query: &'a InstantQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>>;
    /// Evaluates a range query.
    fn range<'a>(
        &'a self,
        query: &'a RangeQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>>;
}

/// The embedded store, in process.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    metrics: Arc<LocalMetrics>,
}

impl LocalBackend {
    /// The backend over `metrics`.
    pub fn new(metrics: Arc<LocalMetrics>) -> Self {
        Self { metrics }
    }
}

fn answer_of(result: &pharos_promql::QueryResult) -> QueryAnswer {
    QueryAnswer {
        data: ResultData::from_serialize(result),
        warnings: result.warnings().into_iter().map(str::to_owned).collect(),
        infos: result.infos().into_iter().map(str::to_owned).collect(),
        served: Served::Backend,
    }
}

impl MetricsBackend for LocalBackend {
    fn instant<'a>(
        &'a self,
        query: &'a InstantQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(async move {
            // Serialising a large result is CPU work: done in the query's worker.
            Ok(self
                .metrics
                .instant_then(&query.query, query.time_ms, query.timeout, |r| {
                    answer_of(&r)
                })
                .await?)
        })
    }

    fn range<'a>(
        &'a self,
        query: &'a RangeQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(async move {
            self.metrics
                .range_then(
                    &query.query,
                    query.start_ms,
                    query.end_ms,
                    query.step_ms,
                    query.timeout,
                    |r| answer_of(&r),
                )
                .await
                .map_err(|e| BackendError::from_query(e, &query.query))
        })
    }
}
