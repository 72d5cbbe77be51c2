//! The result cache in front of any [`MetricsBackend`] ([`Cached`]): answers are kept by
//! source and question (enforced query, aligned range, step) for 15 s when they reach "now"
//! and 5 min when they are history; concurrent identical questions share one backend call; and
//! when the backend is down or slow, the last good answer stands in, with a warning that says
//! how old it is.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{Expiry, future::Cache};

use crate::{
    backend::{
        BackendError, BackendFuture, InstantQuery, MetricsBackend, QueryAnswer, RangeQuery, Served,
    },
    shared_tier::{RedisTier, SharedAnswer},
};

/// How long answers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Memory for fresh answers, bytes (estimated from the JSON).
    pub max_bytes: u64,
    /// Lifetime of an answer whose range reaches the last minute (or two steps).
    pub recent_ttl: Duration,
    /// Lifetime of an answer about the past.
    pub historical_ttl: Duration,
    /// How long the last good answer is kept for outages (0: no stale answers).
    pub stale_for: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            recent_ttl: Duration::from_secs(15),
            historical_ttl: Duration::from_secs(300),
            stale_for: Duration::from_secs(3600),
        }
    }
}

struct Entry {
    answer: QueryAnswer,
    fetched_ms: i64,
    ttl: Duration,
}

struct PerEntryLifetime;

impl Expiry<String, Arc<Entry>> for PerEntryLifetime {
    fn expire_after_create(&self, _: &String, entry: &Arc<Entry>, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

fn weight(entry: &Arc<Entry>) -> u32 {
    u32::try_from(entry.answer.approximate_bytes() + 64).unwrap_or(u32::MAX)
}

/// The answers of every source, shared by all requests of the process (and, with Redis, by
/// every replica).
pub struct QueryCache {
    fresh: Cache<String, Arc<Entry>>,
    last_good: Option<Cache<String, Arc<Entry>>>,
    shared: Option<RedisTier>,
    settings: CacheSettings,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache")
            .field("entries", &self.fresh.entry_count())
            .finish_non_exhaustive()
    }
}

impl QueryCache {
    /// An empty cache with `settings`, shared through Redis at `redis_url` when given (an
    /// unusable URL is an error here, at start).
    pub fn with_redis(settings: CacheSettings, redis_url: Option<&str>) -> Result<Self, String> {
        let shared = redis_url.map(RedisTier::new).transpose()?;
        Ok(Self {
            shared,
            ..Self::new(settings)
        })
    }

    /// An empty cache with `settings`, in this process only.
    pub fn new(settings: CacheSettings) -> Self {
        let fresh = Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|_, entry: &Arc<Entry>| weight(entry))
            .expire_after(PerEntryLifetime)
            .build();
        let last_good = (!settings.stale_for.is_zero()).then(|| {
            Cache::builder()
                // Outage answers get a quarter of the memory of fresh ones.
                .max_capacity(settings.max_bytes / 4)
                .weigher(|_, entry: &Arc<Entry>| weight(entry))
                .time_to_live(settings.stale_for)
                .build()
        });
        Self {
            fresh,
            last_good,
            shared: None,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> CacheSettings {
        self.settings
    }
}

/// `inner` behind the shared cache; `source` names the backend in keys (a datasource's URL and
/// a digest of its credentials), so two datasources never share answers.
#[derive(Debug, Clone)]
pub struct Cached {
    inner: Arc<dyn MetricsBackend>,
    cache: Arc<QueryCache>,
    source: String,
}

impl Cached {
    /// Wraps `inner`.
    pub fn new(
        inner: Arc<dyn MetricsBackend>,
        cache: Arc<QueryCache>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            inner,
            cache,
            source: source.into(),
        }
    }

    fn ttl(&self, newest_ms: i64, step_ms: i64) -> Duration {
        let recent_window = (2 * step_ms).max(60_000);
        if newest_ms >= now_ms() - recent_window {
            self.cache.settings.recent_ttl
        } else {
            self.cache.settings.historical_ttl
        }
    }

    /// The answer to the question `key`. `loose` names the same question for any window of the
    /// same length and step: a relative range moves on every step, and during an outage the
    /// last good answer of an earlier window is better than none.
    async fn answer(
        &self,
        key: String,
        loose: Option<String>,
        ttl: Duration,
        fetch: BackendFuture<'_, Result<QueryAnswer, BackendError>>,
    ) -> Result<QueryAnswer, BackendError> {
        if ttl.is_zero() {
            return fetch.await;
        }
        let fetched_here = AtomicBool::new(false);
        let from_replica = AtomicBool::new(false);
        let shared = self.cache.shared.as_ref();
        let stale_for = self.cache.settings.stale_for;
        let outcome = self
            .cache
            .fresh
            .try_get_with(key.clone(), async {
                // Another replica may have answered the same question already.
                if let Some(stored) = match shared {
                    Some(tier) => tier.get("fresh", &key).await,
                    None => None,
                } {
                    let left = stored.expires_ms - now_ms();
                    if left > 0 {
                        from_replica.store(true, Ordering::Relaxed);
                        return Ok(Arc::new(Entry {
                            answer: stored.answer,
                            fetched_ms: stored.fetched_ms,
                            ttl: Duration::from_millis(u64::try_from(left).unwrap_or(1)),
                        }));
                    }
                }
                fetched_here.store(true, Ordering::Relaxed);
                let answer = fetch.await?;
                let fetched_ms = now_ms();
                if let Some(tier) = shared {
                    let stored = SharedAnswer {
                        answer: answer.clone(),
                        fetched_ms,
                        expires_ms: fetched_ms + i64::try_from(ttl.as_millis()).unwrap_or(0),
                    };
                    tier.set("fresh", &key, &stored, ttl).await;
                    if !stale_for.is_zero() {
                        for stale_key in std::iter::once(&key).chain(loose.as_ref()) {
                            tier.set("stale", stale_key, &stored, stale_for).await;
                        }
                    }
                }
                Ok::<_, BackendError>(Arc::new(Entry {
                    answer,
                    fetched_ms,
                    ttl,
                }))
            })
            .await;
        let served =
            if fetched_here.load(Ordering::Relaxed) && !from_replica.load(Ordering::Relaxed) {
                Served::Backend
            } else {
                Served::Cache
            };
        match outcome {
            Ok(entry) => {
                if served == Served::Backend
                    && let Some(last_good) = &self.cache.last_good
                {
                    if let Some(loose) = &loose {
                        last_good.insert(loose.clone(), Arc::clone(&entry)).await;
                    }
                    last_good.insert(key, Arc::clone(&entry)).await;
                }
                Ok(QueryAnswer {
                    served,
                    ..entry.answer.clone()
                })
            }
            Err(error) => {
                let error = BackendError::clone(&error);
                let mut stale = None;
                if error.is_outage() {
                    for stale_key in std::iter::once(&key).chain(loose.as_ref()) {
                        if let Some(last_good) = &self.cache.last_good {
                            stale = last_good.get(stale_key).await;
                        }
                        if let (None, Some(tier)) = (&stale, shared) {
                            stale = tier.get("stale", stale_key).await.map(|stored| {
                                Arc::new(Entry {
                                    answer: stored.answer,
                                    fetched_ms: stored.fetched_ms,
                                    ttl,
                                })
                            });
                        }
                        if stale.is_some() {
                            break;
                        }
                    }
                }
                let Some(entry) = stale else {
                    return Err(error);
                };
                metrics::counter!("pharos_query_stale_answers_total").increment(1);
                let mut answer = entry.answer.clone();
                answer.warnings.push(format!(
                    "data from {} UTC: the backend is unreachable or slow ({error})",
                    clock_text(entry.fetched_ms)
                ));
                answer.served = Served::Stale {
                    fetched_ms: entry.fetched_ms,
                };
                Ok(answer)
            }
        }
    }
}

impl MetricsBackend for Cached {
    fn instant<'a>(
        &'a self,
        query: &'a InstantQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        let key = format!(
            "{}\u{0}instant\u{0}{}\u{0}{}",
            self.source, query.time_ms, query.query
        );
        let ttl = self.ttl(query.time_ms, 0);
        Box::pin(self.answer(key, None, ttl, self.inner.instant(query)))
    }

    fn range<'a>(
        &'a self,
        query: &'a RangeQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        let key = format!(
            "{}\u{0}range\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.source, query.start_ms, query.end_ms, query.step_ms, query.query
        );
        let loose = format!(
            "{}\u{0}range-window\u{0}{}\u{0}{}\u{0}{}",
            self.source,
            query.end_ms - query.start_ms,
            query.step_ms,
            query.query
        );
        let ttl = self.ttl(query.end_ms, query.step_ms);
        Box::pin(self.answer(key, Some(loose), ttl, self.inner.range(query)))
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-12-06 14:02:05`.
fn clock_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use serde_json::json;

    use super::*;

    /// A backend that counts calls, answers slowly, and can be switched off.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        down: AtomicBool,
    }

    impl MetricsBackend for Counting {
        fn instant<'a>(
            &'a self,
            _: &'a InstantQuery,
        ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
            Box::pin(async { Err(BackendError::Unavailable("instant".to_owned())) })
        }

        fn range<'a>(
            &'a self,
            query: &'a RangeQuery,
        ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
            Box::pin(async move {
                let call = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                if self.down.load(Ordering::SeqCst) {
                    return Err(BackendError::Unavailable("connection refused".to_owned()));
                }
                if query.query == "bad(" {
                    return Err(BackendError::Refused {
                        error_type: "bad_data".to_owned(),
                        message: "parse error".to_owned(),
                        status: 400,
                    });
                }
                Ok(QueryAnswer {
                    data: crate::ResultData::from_serialize(
                        &json!({"resultType": "matrix", "result": [{"metric": {}, "values": [[1, format!("{call}")]]}]}),
                    ),
                    warnings: Vec::new(),
                    infos: Vec::new(),
                    served: Served::Backend,
                })
            })
        }
    }

    fn range(query: &str, end_ms: i64) -> RangeQuery {
        RangeQuery {
            query: query.to_owned(),
            start_ms: end_ms - 3_600_000,
            end_ms,
            step_ms: 15_000,
            timeout: None,
        }
    }

    fn cached(backend: &Arc<Counting>, settings: CacheSettings) -> Cached {
        Cached::new(
            Arc::clone(backend) as Arc<dyn MetricsBackend>,
            Arc::new(QueryCache::new(settings)),
            "prom-a",
        )
    }

    #[tokio::test]
    async fn concurrent_identical_queries_cost_one_backend_call() {
        let backend = Arc::new(Counting::default());
        let cached = cached(&backend, CacheSettings::default());
        let question = range("up", now_ms());
        let answers = futures_join(&cached, &question, 20).await;
        assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            answers
                .iter()
                .filter(|a| a.served == Served::Backend)
                .count(),
            1
        );
        assert!(answers.iter().all(|a| a.data == answers[0].data));
        // Later loads hit the cache.
        let again = cached
            .range(&question)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.served, Served::Cache);
        assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
        // Another question is another call.
        let other = cached.range(&range("up{job=\"a\"}", now_ms())).await;
        assert!(other.is_ok());
        assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
    }

    async fn futures_join(cached: &Cached, question: &RangeQuery, n: usize) -> Vec<QueryAnswer> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (cached, question) = (cached.clone(), question.clone());
            tasks.spawn(async move { cached.range(&question).await });
        }
        let mut answers = Vec::new();
        while let Some(done) = tasks.join_next().await {
            answers.push(
                done.unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
        answers
    }

    #[tokio::test]
    async fn recent_answers_expire_sooner_than_history() {
        let backend = Arc::new(Counting::default());
        let settings = CacheSettings {
            recent_ttl: Duration::from_millis(100),
            historical_ttl: Duration::from_secs(60),
            ..CacheSettings::default()
        };
        let cached = cached(&backend, settings);
        let live = range("up", now_ms());
        let history = range("up", now_ms() - 86_400_000);
        for question in [&live, &history] {
            assert!(cached.range(question).await.is_ok());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            cached.range(&history).await.map(|a| a.served),
            Ok(Served::Cache)
        );
        assert_eq!(
            cached.range(&live).await.map(|a| a.served),
            Ok(Served::Backend)
        );
    }

    #[tokio::test]
    async fn an_outage_serves_the_last_good_answer_with_its_age_and_refusals_are_not_hidden() {
        let backend = Arc::new(Counting::default());
        let settings = CacheSettings {
            recent_ttl: Duration::from_millis(50),
            ..CacheSettings::default()
        };
        let cached = cached(&backend, settings);
        let question = range("up", now_ms());
        let good = cached
            .range(&question)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        backend.down.store(true, Ordering::SeqCst);
        let stale = cached
            .range(&question)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(stale.served, Served::Stale { .. }));
        assert_eq!(stale.data, good.data);
        let warning = stale.warnings.last().cloned().unwrap_or_default();
        assert!(
            warning.starts_with("data from ") && warning.contains("connection refused"),
            "{warning}"
        );
        // The window of a relative range moves on; the last answer of the same span stands in.
        let moved = cached
            .range(&range("up", now_ms() + 60_000))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(moved.served, Served::Stale { .. }));
        assert_eq!(moved.data, good.data);
        // A question never answered has nothing to fall back on.
        let unseen = cached.range(&range("never", now_ms())).await;
        assert!(matches!(unseen, Err(BackendError::Unavailable(_))));
        // A refused query is the client's problem: no stale answer hides it.
        backend.down.store(false, Ordering::SeqCst);
        let refused = cached.range(&range("bad(", now_ms())).await;
        assert!(matches!(
            refused,
            Err(BackendError::Refused { status: 400, .. })
        ));
    }
}
