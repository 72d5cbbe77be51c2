//! The backfill: pulled lines of a past window become the final samples of their 5-minute
//! buckets, computed with [`final_bucket_samples`] (the aggregator's own sketch), and handed
//! back in time order chunk by chunk, so the caller can append them as it goes. Only a chunk's
//! lines are in memory, plus the buckets still open to late lines.
//!
//! The embedded store takes nothing more than about an hour behind its newest sample, and
//! nothing older than a series' newest sample; [`store_window`] reads both limits so a restart
//! backfills only what can still be written.

use std::collections::{BTreeMap, HashMap};

use pharos_tsdb::{Db, Matcher};

use super::{PullConfig, PulledEntry};
use crate::aggregate::{BUCKET_MS, MetricSample, bucket_start, final_bucket_samples};
use crate::intake::{IntakeReport, SourceSettings};
use crate::parse::{Reject, parse_line};

/// The longest service name taken (as the intake).
const MAX_SERVICE_BYTES: usize = 256;
/// Kept clear of the store's oldest writable time: the backfill itself takes a while.
const STORE_MARGIN_MS: i64 = 10 * 60_000;

/// What the store can still take for one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreWindow {
    /// The oldest sample time the store takes now (its floor, and about an hour behind its
    /// newest sample); `None` for an empty store.
    pub oldest_writable_ms: Option<i64>,
    /// The newest bucket sample of the source's series already stored.
    pub newest_source_sample_ms: Option<i64>,
}

/// Reads `db`'s limits for `source` at `now_ms`.
pub fn store_window(db: &Db, source: &str, now_ms: i64) -> StoreWindow {
    let stats = db.stats();
    let behind = i64::try_from(db.options().block_duration.as_millis() / 2).unwrap_or(i64::MAX);
    let oldest_writable_ms = stats.head.max_time.map(|max| {
        max.min(now_ms)
            .saturating_sub(behind)
            .max(db.min_valid_time())
    });
    let matchers = [
        Matcher::equal("__name__", "pharos_service_requests"),
        Matcher::equal("source", source),
    ];
    let newest_source_sample_ms = db
        .select(&matchers, i64::MIN / 2, now_ms.saturating_add(BUCKET_MS))
        .ok()
        .and_then(|series| {
            series
                .iter()
                .filter_map(|s| s.samples.last().map(|x| x.t))
                .max()
        });
    StoreWindow {
        oldest_writable_ms,
        newest_source_sample_ms,
    }
}

/// Where a backfill of `window_ms` before `cut_ms` (a bucket boundary) can start: a bucket
/// boundary, not before `cut − window`, after the newest stored bucket of the source, and
/// clear of the store's oldest writable time. Also what was given up, for the log.
pub fn backfill_from(cut_ms: i64, window_ms: i64, store: StoreWindow) -> (i64, Option<String>) {
    let wanted = align_up(cut_ms.saturating_sub(window_ms));
    let mut from = wanted;
    let mut why = None;
    if let Some(newest) = store.newest_source_sample_ms {
        let after = bucket_start(newest) + BUCKET_MS;
        if after > from {
            from = after;
            why = Some("the source's buckets up to then are already stored".to_owned());
        }
    }
    if let Some(oldest) = store.oldest_writable_ms {
        let floor = align_up(oldest.saturating_add(STORE_MARGIN_MS));
        if floor > from {
            from = floor;
            why = Some(
                "the store takes nothing about an hour older than its newest sample".to_owned(),
            );
        }
    }
    (from.min(cut_ms), why.filter(|_| from > wanted))
}

fn align_up(t_ms: i64) -> i64 {
    let start = bucket_start(t_ms);
    if start == t_ms {
        start
    } else {
        start + BUCKET_MS
    }
}

#[derive(Debug, Default)]
struct BucketLines {
    namespace: Option<String>,
    latencies: Vec<f64>,
    errors: u64,
}

/// Buckets of one source built from pulled lines of the window `[from, cut)`.
#[derive(Debug)]
pub struct Backfill {
    config: PullConfig,
    source: SourceSettings,
    max_line_bytes: usize,
    max_services: usize,
    /// bucket start → service → lines.
    buckets: BTreeMap<i64, HashMap<String, BucketLines>>,
    services: std::collections::HashSet<String>,
    /// Buckets before this are written (or before the window): later lines are `too_old`.
    written_before: i64,
    cut_ms: i64,
    report: IntakeReport,
    /// Lines of buckets at or after the cut: the intake's.
    carry: Vec<PulledEntry>,
}

impl Backfill {
    /// A backfill of `[from_ms, cut_ms)` (bucket boundaries) for `config`, parsing lines as
    /// `source` does, with the intake's line and service limits.
    pub fn new(
        config: PullConfig,
        source: SourceSettings,
        max_line_bytes: usize,
        max_services: usize,
        from_ms: i64,
        cut_ms: i64,
    ) -> Self {
        let report = IntakeReport {
            source: source.name.clone(),
            ..IntakeReport::default()
        };
        Self {
            config,
            source,
            max_line_bytes,
            max_services,
            buckets: BTreeMap::new(),
            services: Default::default(),
            written_before: from_ms,
            cut_ms,
            report,
            carry: Vec::new(),
        }
    }

    /// Counts `entries` into their buckets (rejects counted per reason).
    pub fn add(&mut self, entries: Vec<PulledEntry>) {
        for entry in entries {
            self.add_one(entry);
        }
    }

    fn add_one(&mut self, entry: PulledEntry) {
        let labels = &entry.labels;
        if self.config.schema_of(labels).is_err() {
            return self.report.reject(Reject::UnknownSchema, None, &entry.line);
        }
        let service = self
            .source
            .service_labels
            .iter()
            .find_map(|name| labels.get(name))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && s.len() <= MAX_SERVICE_BYTES);
        let Some(service) = service else {
            return self.report.reject(Reject::NoService, None, &entry.line);
        };
        if entry.line.len() > self.max_line_bytes {
            let reason = Reject::LineTooLong;
            return self.report.reject(reason, Some(service), &entry.line);
        }
        let parsed = match parse_line(&entry.line, self.source.format, &self.source.fields) {
            Ok(parsed) => parsed,
            Err(reason) => return self.report.reject(reason, Some(service), &entry.line),
        };
        let timestamp = parsed
            .timestamp_ms
            .unwrap_or(entry.timestamp_ns.div_euclid(1_000_000));
        let start = bucket_start(timestamp);
        if start >= self.cut_ms {
            self.carry.push(entry);
            return;
        }
        if start < self.written_before {
            return self
                .report
                .reject(Reject::TooOld, Some(service), &entry.line);
        }
        if !self.services.contains(service) {
            if self.services.len() >= self.max_services {
                let reason = Reject::TooManyServices;
                return self.report.reject(reason, Some(service), &entry.line);
            }
            self.services.insert(service.to_owned());
        }
        let bucket = self
            .buckets
            .entry(start)
            .or_default()
            .entry(service.to_owned())
            .or_default();
        if bucket.namespace.is_none() {
            bucket.namespace = crate::intake::namespace_of(
                &labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>(),
            )
            .map(str::to_owned);
        }
        bucket.latencies.push(parsed.latency_ms);
        if parsed.status.is_some_and(|s| s >= 500) {
            bucket.errors += 1;
        }
        self.report.accepted += 1;
    }

    /// The final samples of every bucket that ended by `t_ms`, in time order; later lines of
    /// those buckets are rejected as `too_old`.
    pub fn finish_before(&mut self, t_ms: i64) -> Vec<MetricSample> {
        let limit = bucket_start(t_ms.min(self.cut_ms));
        let mut samples = Vec::new();
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() >= limit {
                break;
            }
            let (start, services) = entry.remove_entry();
            let mut services: Vec<_> = services.into_iter().collect();
            services.sort_by(|a, b| a.0.cmp(&b.0));
            for (service, lines) in services {
                samples.extend(final_bucket_samples(
                    &self.source.name,
                    &service,
                    lines.namespace.as_deref(),
                    start,
                    &lines.latencies,
                    lines.errors,
                ));
            }
        }
        self.written_before = self.written_before.max(limit);
        samples
    }

    /// Moves the cut later (the clock moved into a newer bucket while the backfill ran): lines
    /// held for the intake that now fall before it are counted here.
    pub fn extend(&mut self, cut_ms: i64) {
        if cut_ms <= self.cut_ms {
            return;
        }
        self.cut_ms = cut_ms;
        let carry = std::mem::take(&mut self.carry);
        self.add(carry);
    }

    /// The remaining buckets' samples, what was counted and rejected, and the lines that
    /// belong to buckets at or after the cut (for the intake).
    pub fn finish(mut self) -> (Vec<MetricSample>, IntakeReport, Vec<PulledEntry>) {
        let samples = self.finish_before(self.cut_ms);
        (samples, self.report, self.carry)
    }

    /// Lines counted and rejected so far.
    pub fn report(&self) -> &IntakeReport {
        &self.report
    }
}
