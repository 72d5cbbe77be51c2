//! The local metrics service: PromQL queries, series and label listings, metadata and
//! statistics over the embedded store, plus the append entry point ingestion uses. Store and
//! engine work is synchronous, so every call runs on tokio's blocking pool; queries, listings
//! and statistics first get a slot from [`Admission`] (appends do not: ingestion must not be
//! refused because dashboards are busy).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use pharos_promql::{Engine, QueryControl, QueryResult};
use pharos_tsdb::{Db, Labels, Matcher};

use crate::admission::{Admission, Slot};
use crate::embedded::EmbeddedSource;
use crate::error::QueryError;
use crate::metadata::{MetadataCatalog, MetricMetadataEntry};
use crate::options::QueryOptions;
use crate::selectors::parse_series_selectors;
use crate::status::TsdbStatus;

/// The embedded store as a metrics backend. Share it behind an `Arc`.
#[derive(Debug)]
pub struct LocalMetrics {
    source: EmbeddedSource,
    options: QueryOptions,
    metadata: MetadataCatalog,
    admission: Admission,
}

/// Cancels a running query when the request that started it goes away (client disconnect
/// drops the handler's future, and with it this guard).
struct CancelOnDrop(QueryControl);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl LocalMetrics {
    /// A service over `db`, evaluating with `options`.
    pub fn new(db: Arc<Db>, options: QueryOptions) -> Self {
        Self {
            source: EmbeddedSource::new(db),
            admission: Admission::new(options.max_concurrent, options.queue_timeout),
            options,
            metadata: MetadataCatalog::default(),
        }
    }

    /// The store.
    pub fn db(&self) -> &Arc<Db> {
        self.source.db()
    }

    /// The query options.
    pub fn options(&self) -> &QueryOptions {
        &self.options
    }

    /// Evaluates `query` at `time_ms` (Prometheus `/api/v1/query`). `timeout` may shorten the
    /// configured one.
    pub async fn instant(
        &self,
        query: &str,
        time_ms: i64,
        timeout: Option<Duration>,
    ) -> Result<QueryResult, QueryError> {
        self.instant_then(query, time_ms, timeout, |result| result)
            .await
    }

    /// [`instant`](Self::instant), then `finish` on the result in the same worker and slot:
    /// turning a large result into its wire form is CPU work that must not run on the async
    /// threads (where it would delay every other request, health probes included).
    #[tracing::instrument(
        name = "promql evaluation",
        skip_all,
        fields(promql.kind = "instant", promql.query = %crate::trace_context::bounded_query(query))
    )]
    pub async fn instant_then<T: Send + 'static>(
        &self,
        query: &str,
        time_ms: i64,
        timeout: Option<Duration>,
        finish: impl FnOnce(QueryResult) -> T + Send + 'static,
    ) -> Result<T, QueryError> {
        let engine = Engine::new(self.options.engine_options(timeout));
        let (source, query) = (self.source.clone(), query.to_owned());
        let control = QueryControl::new();
        let _cancel = CancelOnDrop(control.clone());
        self.run_admitted(move || {
            engine
                .instant_with(&source, &query, time_ms, &control)
                .map(finish)
                .map_err(QueryError::from)
        })
        .await?
    }

    /// Evaluates `query` from `start_ms` to `end_ms` every `step_ms`
    /// (Prometheus `/api/v1/query_range`).
    pub async fn range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        timeout: Option<Duration>,
    ) -> Result<QueryResult, QueryError> {
        self.range_then(query, start_ms, end_ms, step_ms, timeout, |result| result)
            .await
    }

    /// [`range`](Self::range), then `finish` on the result in the same worker and slot (see
    /// [`instant_then`](Self::instant_then)).
    #[tracing::instrument(
        name = "promql evaluation",
        skip_all,
        fields(
            promql.kind = "range",
            promql.query = %crate::trace_context::bounded_query(query),
            promql.step_ms = step_ms,
        )
    )]
    pub async fn range_then<T: Send + 'static>(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        timeout: Option<Duration>,
        finish: impl FnOnce(QueryResult) -> T + Send + 'static,
    ) -> Result<T, QueryError> {
        let engine = Engine::new(self.options.engine_options(timeout));
        let (source, query) = (self.source.clone(), query.to_owned());
        let control = QueryControl::new();
        let _cancel = CancelOnDrop(control.clone());
        self.run_admitted(move || {
            engine
                .range_with(&source, &query, start_ms, end_ms, step_ms, &control)
                .map(finish)
                .map_err(QueryError::from)
        })
        .await?
    }

    /// Label sets of the series matching any of the `match[]` selectors with samples in
    /// `[start_ms, end_ms]`, sorted. At least one selector is required.
    pub async fn series(
        &self,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        if selectors.is_empty() {
            return Err(QueryError::BadSelector(
                "no match[] parameter provided".into(),
            ));
        }
        let sets = parse_series_selectors(selectors)?;
        let db = Arc::clone(self.db());
        self.run_admitted(move || {
            let mut all: BTreeSet<Labels> = BTreeSet::new();
            for set in &sets {
                all.extend(db.series(set, start_ms, end_ms)?);
            }
            Ok(all.into_iter().collect())
        })
        .await?
    }

    /// Label names of the series matching any selector (every series when there is none)
    /// with samples in the range, sorted.
    pub async fn label_names(
        &self,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, QueryError> {
        let sets = selector_sets(selectors)?;
        let db = Arc::clone(self.db());
        self.run_admitted(move || union(&sets, |set| db.label_names(set, start_ms, end_ms)))
            .await?
    }

    /// Values of label `name` among the series matching any selector (every series when there
    /// is none) with samples in the range, sorted.
    pub async fn label_values(
        &self,
        name: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, QueryError> {
        let sets = selector_sets(selectors)?;
        let (db, name) = (Arc::clone(self.db()), name.to_owned());
        self.run_admitted(move || union(&sets, |set| db.label_values(&name, set, start_ms, end_ms)))
            .await?
    }

    /// Metric metadata recorded from ingestion: every family, or only `metric`; at most
    /// `limit` families and `limit_per_metric` entries each (`None`: no limit).
    pub fn metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
        limit_per_metric: Option<usize>,
    ) -> BTreeMap<String, Vec<MetricMetadataEntry>> {
        self.metadata.list(metric, limit, limit_per_metric)
    }

    /// Remembers what a sender said about a metric family.
    pub fn record_metadata(&self, family: &str, entry: MetricMetadataEntry) {
        self.metadata.record(family, entry);
    }

    /// Head statistics and the `limit` largest entries of each cardinality list.
    pub async fn tsdb_status(&self, limit: usize) -> Result<TsdbStatus, QueryError> {
        let db = Arc::clone(self.db());
        self.run_admitted(move || TsdbStatus::compute(&db, limit).map_err(QueryError::from))
            .await?
    }

    /// Runs an append batch (`f` appends and commits) on the blocking pool: commits write and
    /// fsync the WAL, which must not stall the async runtime.
    pub async fn append<T, F>(&self, f: F) -> Result<T, QueryError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> T + Send + 'static,
    {
        let db = Arc::clone(self.db());
        run_blocking(move || f(&db)).await
    }

    /// Waits for an evaluation slot, then runs `f` on the blocking pool. The slot goes with
    /// `f`, so it is only free again when the work has stopped: a query whose client left
    /// keeps its slot until the engine notices the cancellation.
    async fn run_admitted<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, QueryError> {
        let slot: Slot = self.admission.admit().await?;
        run_blocking(move || {
            let _slot = slot;
            f()
        })
        .await
    }
}

/// Matcher sets of optional selectors: no selector means one empty set (everything).
fn selector_sets(selectors: &[String]) -> Result<Vec<Vec<Matcher>>, QueryError> {
    if selectors.is_empty() {
        Ok(vec![Vec::new()])
    } else {
        parse_series_selectors(selectors)
    }
}

/// Sorted union of `read` over every matcher set.
fn union(
    sets: &[Vec<Matcher>],
    read: impl Fn(&[Matcher]) -> Result<Vec<String>, pharos_tsdb::DbError>,
) -> Result<Vec<String>, QueryError> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for set in sets {
        all.extend(read(set)?);
    }
    Ok(all.into_iter().collect())
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, QueryError> {
    tokio::task::spawn_blocking(f).await.map_err(|error| {
        tracing::error!(%error, "query worker failed");
        QueryError::Worker(error.to_string())
    })
}
