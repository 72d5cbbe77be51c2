//! Per service, per 5-minute bucket aligned to the epoch: request count, errors (status ≥ 500)
//! and a latency [`Sketch`]. Bounded: at most `max_services` per source and
//! `max_services_total` overall, and a bucket stays in memory only until its lateness window
//! has passed.
//!
//! [`Aggregator::publish`] turns changed buckets into gauge samples. The embedded store keeps
//! each series strictly in time order (no rewrite of a stored timestamp, nothing older than a
//! series' newest sample), so a bucket starting at `S` is written at a time inside
//! `[S, S + 5 min)`: at the wall clock while it is open, then at `S + 5 min − 1 s + k` for its
//! k-th revision after it ended. A newer bucket is held back for `settle` after it starts, so
//! late lines of the previous bucket still revise it; a late line of a bucket that is no longer
//! the newest one written is kept in memory only and counted (see decision 0021).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::parse::Reject;
use crate::sketch::Sketch;

/// Bucket width: 5 minutes.
pub const BUCKET_MS: i64 = 300_000;
/// Revisions written after a bucket ended go in its last second.
const LAST_SECOND_MS: i64 = 1_000;

/// Bounds and timing of the aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregatorLimits {
    /// Lines of a bucket are accepted until its end plus this; then it is final and dropped.
    pub lateness: Duration,
    /// A new bucket is first written this long after it starts (≤ lateness).
    pub settle: Duration,
    /// Lines further in the future than this are refused.
    pub future_tolerance: Duration,
    /// Distinct services one source may have in memory.
    pub max_services_per_source: usize,
    /// Distinct services over all sources.
    pub max_services_total: usize,
}

impl Default for AggregatorLimits {
    fn default() -> Self {
        Self {
            lateness: Duration::from_secs(600),
            settle: Duration::from_secs(60),
            future_tolerance: Duration::from_secs(300),
            max_services_per_source: 1_000,
            max_services_total: 5_000,
        }
    }
}

/// One bucket's numbers.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Requests.
    pub count: u64,
    /// Requests with status ≥ 500.
    pub errors: u64,
    /// Latencies (ms).
    pub latency: Sketch,
    dirty: bool,
}

#[derive(Debug, Default)]
struct ServiceState {
    buckets: BTreeMap<i64, Bucket>,
    /// The namespace its streams named first (a `namespace` label on its series).
    namespace: Option<String>,
    /// Start of the newest bucket written to the store.
    written: Option<i64>,
    /// Newest sample timestamp written for this service's series.
    last_stamp: Option<i64>,
}

/// A gauge sample to append: metric name, service, source, namespace, ladder step, timestamp
/// (ms), value.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// `pharos_service_*`.
    pub name: &'static str,
    /// `service` label.
    pub service: String,
    /// `source` label.
    pub source: String,
    /// `namespace` label, when the lines' streams named one (so tenant enforcement applies).
    pub namespace: Option<String>,
    /// `le_ms` label of [`FAST_REQUESTS`] samples.
    pub le_ms: Option<u32>,
    /// Unix ms.
    pub timestamp_ms: i64,
    /// Value.
    pub value: f64,
}

/// What a publish pass produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    /// Samples to append, in time order per series.
    pub samples: Vec<MetricSample>,
    /// Revisions of buckets that could not be written any more (a newer bucket was already
    /// stored, or the bucket's last second was used up).
    pub unwritable_revisions: u64,
    /// Buckets dropped from memory (final).
    pub evicted_buckets: u64,
}

/// Requests of a bucket answered within `le_ms` milliseconds, one series per step of
/// [`LATENCY_LADDER_MS`]: the good requests of latency objectives (burn rates).
pub const FAST_REQUESTS: &str = "pharos_service_fast_requests";

/// The latencies [`FAST_REQUESTS`] is counted at; a latency objective's threshold is one of
/// them.
pub const LATENCY_LADDER_MS: [u32; 10] = [50, 100, 150, 200, 250, 300, 400, 500, 750, 1000];

/// Samples written per revision of a bucket.
pub const SAMPLES_PER_BUCKET: usize = METRICS.len() + LATENCY_LADDER_MS.len();

/// The names of the metrics written per bucket (besides [`FAST_REQUESTS`]).
pub const METRICS: [&str; 5] = [
    "pharos_service_requests",
    "pharos_service_errors",
    "pharos_service_latency_p50_ms",
    "pharos_service_latency_p95_ms",
    "pharos_service_latency_p99_ms",
];

/// The aggregation state.
#[derive(Debug, Default)]
pub struct Aggregator {
    limits: AggregatorLimits,
    /// source → service → state.
    sources: HashMap<String, HashMap<String, ServiceState>>,
    services_total: usize,
}

/// Start of the 5-minute bucket holding `t` (aligned to the Unix epoch).
pub fn bucket_start(t_ms: i64) -> i64 {
    t_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(limits: AggregatorLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Distinct services in memory.
    pub fn services(&self) -> usize {
        self.services_total
    }

    /// Buckets in memory.
    pub fn buckets(&self) -> usize {
        self.sources
            .values()
            .flat_map(|s| s.values())
            .map(|s| s.buckets.len())
            .sum()
    }

    /// A bucket's numbers, for tests and later the latency API.
    pub fn bucket(&self, source: &str, service: &str, start_ms: i64) -> Option<&Bucket> {
        self.sources
            .get(source)?
            .get(service)?
            .buckets
            .get(&start_ms)
    }

    /// Counts one request. `now_ms` is the wall clock.
    pub fn observe(
        &mut self,
        source: &str,
        service: &str,
        timestamp_ms: i64,
        latency_ms: f64,
        status: Option<u16>,
        now_ms: i64,
    ) -> Result<(), Reject> {
        self.observe_in(
            source,
            service,
            None,
            timestamp_ms,
            latency_ms,
            status,
            now_ms,
        )
    }

    /// [`Aggregator::observe`] for a service whose stream named its `namespace`. The first
    /// namespace seen for a service is kept (its series must not change labels mid-bucket).
    #[allow(clippy::too_many_arguments)]
    pub fn observe_in(
        &mut self,
        source: &str,
        service: &str,
        namespace: Option<&str>,
        timestamp_ms: i64,
        latency_ms: f64,
        status: Option<u16>,
        now_ms: i64,
    ) -> Result<(), Reject> {
        if timestamp_ms > now_ms.saturating_add(ms(self.limits.future_tolerance)) {
            return Err(Reject::TooFarInFuture);
        }
        let start = bucket_start(timestamp_ms);
        if start + BUCKET_MS + ms(self.limits.lateness) <= now_ms {
            return Err(Reject::TooOld);
        }
        let per_source = self.limits.max_services_per_source;
        let total_full = self.services_total >= self.limits.max_services_total;
        let services = self.sources.entry(source.to_owned()).or_default();
        if !services.contains_key(service) {
            if services.len() >= per_source || total_full {
                return Err(Reject::TooManyServices);
            }
            self.services_total += 1;
        }
        let state = services.entry(service.to_owned()).or_default();
        if state.namespace.is_none()
            && let Some(namespace) = namespace.filter(|n| !n.is_empty())
        {
            state.namespace = Some(namespace.to_owned());
        }
        let bucket = state.buckets.entry(start).or_default();
        bucket.count += 1;
        if status.is_some_and(|s| s >= 500) {
            bucket.errors += 1;
        }
        bucket.latency.add(latency_ms);
        bucket.dirty = true;
        Ok(())
    }

    /// Samples for every changed bucket that may be written at `now_ms`, then drops final
    /// buckets (and services left without any) from memory.
    pub fn publish(&mut self, now_ms: i64) -> Published {
        let mut out = Published::default();
        let (settle, lateness) = (ms(self.limits.settle), ms(self.limits.lateness));
        for (source, services) in &mut self.sources {
            for (service, state) in services.iter_mut() {
                publish_service(source, service, state, now_ms, settle, &mut out);
                let before = state.buckets.len();
                state
                    .buckets
                    .retain(|start, _| start + BUCKET_MS + lateness > now_ms);
                out.evicted_buckets += (before - state.buckets.len()) as u64;
            }
            let before = services.len();
            services.retain(|_, state| !state.buckets.is_empty());
            self.services_total -= before - services.len();
        }
        self.sources.retain(|_, services| !services.is_empty());
        out
    }
}

fn publish_service(
    source: &str,
    service: &str,
    state: &mut ServiceState,
    now_ms: i64,
    settle: i64,
    out: &mut Published,
) {
    for (&start, bucket) in state.buckets.iter_mut() {
        if !bucket.dirty {
            continue;
        }
        if state.written.is_some_and(|w| start < w) {
            bucket.dirty = false;
            out.unwritable_revisions += 1;
            continue;
        }
        let newer = state.written.is_some_and(|w| start > w);
        if newer && now_ms < start + settle {
            // Held back: the previous bucket may still be revised by late lines.
            break;
        }
        let end = start + BUCKET_MS;
        let natural = now_ms.clamp(start, end - LAST_SECOND_MS);
        let stamp = state.last_stamp.map_or(natural, |l| natural.max(l + 1));
        if stamp >= end {
            bucket.dirty = false;
            out.unwritable_revisions += 1;
            continue;
        }
        let labels = SeriesLabels {
            source,
            service,
            namespace: state.namespace.as_deref(),
        };
        push_samples(&labels, bucket, stamp, &mut out.samples);
        bucket.dirty = false;
        state.written = Some(start);
        state.last_stamp = Some(stamp);
    }
}

/// The labels of a service's series.
struct SeriesLabels<'a> {
    source: &'a str,
    service: &'a str,
    namespace: Option<&'a str>,
}

/// The gauges of `bucket` at `stamp`, in [`METRICS`] order, then [`FAST_REQUESTS`] per step of
/// the ladder.
fn push_samples(
    labels: &SeriesLabels<'_>,
    bucket: &Bucket,
    stamp: i64,
    samples: &mut Vec<MetricSample>,
) {
    let quantile = |q| bucket.latency.quantile(q).unwrap_or(0.0);
    let values = [
        bucket.count as f64,
        bucket.errors as f64,
        quantile(0.5),
        quantile(0.95),
        quantile(0.99),
    ];
    let sample = |name, le_ms, value| MetricSample {
        name,
        service: labels.service.to_owned(),
        source: labels.source.to_owned(),
        namespace: labels.namespace.map(str::to_owned),
        le_ms,
        timestamp_ms: stamp,
        value,
    };
    for (name, value) in METRICS.into_iter().zip(values) {
        samples.push(sample(name, None, value));
    }
    for le in LATENCY_LADDER_MS {
        let fast = bucket.latency.count_at_most(f64::from(le)) as f64;
        samples.push(sample(FAST_REQUESTS, Some(le), fast));
    }
}

/// The samples [`Aggregator::publish`] writes for the final revision of the bucket starting at
/// `bucket_start_ms` (aligned down to [`BUCKET_MS`]) when its first write happens after it
/// ended: one per [`METRICS`] name, stamped `start + 5 min − 1 s`, from the same sketch. For
/// writers of history (the simulator) that have the latencies of a bucket, not its lines:
/// `latencies_ms` are its requests, `errors` how many of them had a status ≥ 500; `namespace`
/// what its streams would name.
pub fn final_bucket_samples(
    source: &str,
    service: &str,
    namespace: Option<&str>,
    bucket_start_ms: i64,
    latencies_ms: &[f64],
    errors: u64,
) -> Vec<MetricSample> {
    let start = bucket_start(bucket_start_ms);
    let mut bucket = Bucket {
        count: latencies_ms.len() as u64,
        errors,
        ..Bucket::default()
    };
    for &latency in latencies_ms {
        bucket.latency.add(latency);
    }
    let mut samples = Vec::with_capacity(SAMPLES_PER_BUCKET);
    let labels = SeriesLabels {
        source,
        service,
        namespace,
    };
    push_samples(
        &labels,
        &bucket,
        start + BUCKET_MS - LAST_SECOND_MS,
        &mut samples,
    );
    samples
}

#[cfg(test)]
mod tests;
