//! Pulling access logs from existing Lokis (`logs.loki_pull`): at start, after the demo's
//! history (if any), each puller backfills its window (`backfill`, 7 days by default) as far as
//! the store can still take it, writing the final buckets in time order; then the "now" writers
//! may start (the returned gate); then every `interval` each puller pulls the newest lines into
//! the running intake, until `stop`.
//!
//! The embedded store refuses samples about an hour behind its newest one, so the backfill
//! must come before anything writes "now" samples: the rules, the thresholds, scraping and the
//! intake's publisher wait for the gate this module opens. See decision 0023.

use std::sync::Arc;
use std::time::Duration;

use pharos_logs::pull::{
    Backfill, LokiClient, PullConfig, PullError, PulledEntry, Tail, backfill_from, chunks, feed,
    store_window,
};
use pharos_logs::{BUCKET_MS, IntakeReport, LogIntake, MetricSample, Reject, SourceSettings};
use pharos_query::LocalMetrics;
use pharos_server::AppState;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

const NS_PER_MS: i64 = 1_000_000;

/// Whether pulls are configured (and can run: the intake is on).
pub fn configured(state: &AppState) -> bool {
    state.settings.logs.enabled && !state.settings.logs.loki_pull.is_empty()
}

/// Starts the pullers. `after` fires once the demo's history is written (`None` without the
/// demo); `ready` is set and the returned receiver fires once every backfill is written.
/// Returns that receiver (for scraping) and the task.
pub fn start(
    state: &AppState,
    intake: Option<Arc<LogIntake>>,
    after: Option<oneshot::Receiver<()>>,
    ready: watch::Sender<bool>,
    stop: watch::Receiver<bool>,
) -> (Option<oneshot::Receiver<()>>, Option<JoinHandle<()>>) {
    let configs = state.settings.logs.pull_configs();
    let pullers = match (intake, state.metrics.clone()) {
        (Some(intake), Some(metrics)) if !configs.is_empty() => Some((intake, metrics)),
        _ => {
            if !configs.is_empty() {
                tracing::warn!(
                    "logs.loki_pull is set but the log intake is off (logs.enabled: false): nothing is pulled"
                );
            }
            None
        }
    };
    if pullers.is_none() && after.is_none() {
        let _ = ready.send(true);
        return (None, None);
    }
    let (ready_once_tx, ready_once) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut stop_wait = stop.clone();
        if let Some(after) = after {
            tokio::select! {
                _ = after => {}
                _ = stop_wait.changed() => return,
            }
        }
        let mut tails = Vec::new();
        if let Some((intake, metrics)) = pullers {
            for config in configs {
                let name = config.name.clone();
                match Puller::new(config, Arc::clone(&intake), Arc::clone(&metrics)) {
                    Ok(mut puller) => {
                        puller.backfill(&stop).await;
                        tails.push(puller);
                    }
                    Err(error) => {
                        metrics::counter!("pharos_logs_pull_errors_total", "source" => name, "reason" => error.reason()).increment(1);
                        tracing::error!(%error, "cannot pull from Loki");
                    }
                }
            }
        }
        let _ = ready.send(true);
        let _ = ready_once_tx.send(());
        let tails: Vec<_> = tails
            .into_iter()
            .map(|puller| tokio::spawn(puller.tail(stop.clone())))
            .collect();
        for tail in tails {
            let _ = tail.await;
        }
    });
    (Some(ready_once), Some(task))
}

struct Puller {
    client: LokiClient,
    source: SourceSettings,
    intake: Arc<LogIntake>,
    metrics: Arc<LocalMetrics>,
    tail: Tail,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Puller {
    fn new(
        config: PullConfig,
        intake: Arc<LogIntake>,
        metrics: Arc<LocalMetrics>,
    ) -> Result<Self, PullError> {
        let source = intake
            .settings()
            .sources
            .iter()
            .find(|s| s.name == config.source)
            .cloned()
            .or_else(|| {
                matches!(config.source.as_str(), "loki" | "ndjson")
                    .then(|| SourceSettings::named(&config.source))
            })
            .ok_or_else(|| PullError::Config {
                name: config.name.clone(),
                reason: format!("source {:?} is not an intake source", config.source),
            })?;
        Ok(Self {
            client: LokiClient::new(config)?,
            source,
            intake,
            metrics,
            tail: Tail::new(0),
        })
    }

    fn config(&self) -> &PullConfig {
        self.client.config()
    }

    fn error(&self, error: &PullError) {
        metrics::counter!("pharos_logs_pull_errors_total", "source" => self.config().source.clone(), "reason" => error.reason()).increment(1);
    }

    fn pulled(&self, entries: usize) {
        metrics::counter!("pharos_logs_pull_lines_total", "source" => self.config().source.clone())
            .increment(entries as u64);
    }

    /// Backfills up to the current bucket, again while the clock moved into a newer one.
    async fn backfill(&mut self, stop: &watch::Receiver<bool>) {
        let config = self.config().clone();
        let mut cut = pharos_logs::bucket_start(now_ms());
        let window = store_window(self.metrics.db(), &config.source, now_ms());
        let wanted = i64::try_from(config.backfill.as_millis()).unwrap_or(i64::MAX);
        let (from, why) = backfill_from(cut, wanted, window);
        if let Some(why) = why {
            tracing::warn!(
                puller = %config.name,
                wanted_from = %rfc3339(cut.saturating_sub(wanted)),
                from = %rfc3339(from),
                "the Loki backfill starts later than logs.loki_pull.backfill asks: {why}; the lines before are not pulled"
            );
        }
        let settings = self.intake.settings();
        let lateness = i64::try_from(settings.limits.lateness.as_millis()).unwrap_or(0);
        let mut backfill = Backfill::new(
            config.clone(),
            self.source.clone(),
            settings.max_line_bytes,
            settings.limits.max_services_per_source,
            from,
            cut,
        );
        let started = std::time::Instant::now();
        let (mut start, mut buckets, mut entries) = (from, 0usize, 0usize);
        while start < cut && !*stop.borrow() {
            for (chunk_start, chunk_end) in chunks(start * NS_PER_MS, cut * NS_PER_MS, config.chunk)
            {
                if *stop.borrow() {
                    break;
                }
                let outcome = self
                    .client
                    .pull_range(chunk_start, chunk_end, |page| {
                        entries += page.len();
                        self.pulled(page.len());
                        backfill.add(page);
                    })
                    .await;
                if let Err(error) = outcome {
                    self.error(&error);
                    tracing::warn!(
                        puller = %config.name, %error,
                        from = %rfc3339(chunk_start / NS_PER_MS), to = %rfc3339(chunk_end / NS_PER_MS),
                        "cannot pull this part of the Loki backfill; its lines are missing"
                    );
                    if matches!(
                        error,
                        PullError::BadQuery(_) | PullError::Unauthorized { .. }
                    ) {
                        break;
                    }
                }
                let samples = backfill.finish_before(chunk_end / NS_PER_MS - lateness);
                buckets += self.write(samples).await;
            }
            // The clock may have moved into a newer bucket meanwhile: backfill up to it too.
            let now_cut = pharos_logs::bucket_start(now_ms());
            start = cut;
            if now_cut > cut {
                backfill.extend(now_cut);
            }
            cut = now_cut.max(cut);
        }
        let (samples, report, carry) = backfill.finish();
        buckets += self.write(samples).await;
        count(&report);
        let carried = match feed(&self.intake, &config, &carry, now_ms()) {
            Ok(report) => {
                count(&report);
                report.accepted
            }
            Err(error) => {
                tracing::warn!(puller = %config.name, %error, "the intake refused pulled lines");
                0
            }
        };
        self.tail = Tail::new(cut * NS_PER_MS);
        metrics::gauge!("pharos_logs_pull_lag_seconds", "source" => config.source.clone())
            .set(((now_ms() - cut) as f64 / 1_000.0).max(0.0));
        tracing::info!(
            puller = %config.name,
            source = %config.source,
            from = %rfc3339(from),
            to = %rfc3339(cut),
            entries,
            accepted = report.accepted,
            rejected = report.rejected_total(),
            bucket_samples = buckets,
            carried_into_the_intake = carried,
            seconds = started.elapsed().as_secs_f64(),
            "Loki backfill written"
        );
        if report.rejected_total() > 0 {
            tracing::warn!(puller = %config.name, report = %report.describe(), "lines of the Loki backfill were rejected");
        }
    }

    /// Appends samples (already in time order); the number of samples stored.
    async fn write(&self, samples: Vec<MetricSample>) -> usize {
        if samples.is_empty() {
            return 0;
        }
        let outcome = self
            .metrics
            .append(move |db| pharos_logs::append_samples(db, &samples))
            .await;
        match outcome {
            Ok(Ok(report)) => {
                metrics::counter!("pharos_tsdb_appended_samples_total", "source" => "logs")
                    .increment(report.appended as u64);
                if let Some(error) = &report.first_error {
                    tracing::warn!(puller = %self.config().name, rejected = report.rejected, %error, "the store refused backfilled latency samples");
                }
                report.appended
            }
            Ok(Err(error)) => {
                tracing::warn!(puller = %self.config().name, %error, "cannot write backfilled latency samples");
                0
            }
            Err(error) => {
                tracing::warn!(puller = %self.config().name, %error, "cannot write backfilled latency samples");
                0
            }
        }
    }

    /// Every `interval`: the lines since the cursor (less the overlap) into the intake.
    async fn tail(mut self, mut stop: watch::Receiver<bool>) {
        let config = self.config().clone();
        let overlap = i64::try_from(config.overlap.as_nanos()).unwrap_or(0);
        let oldest_useful =
            self.intake.settings().limits.lateness + Duration::from_millis(BUCKET_MS as u64);
        let mut ticker = tokio::time::interval(config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            let now = now_ms();
            let (mut start, end) = self.tail.window(overlap, now * NS_PER_MS);
            let useful = (now - i64::try_from(oldest_useful.as_millis()).unwrap_or(0)) * NS_PER_MS;
            if start < useful {
                tracing::warn!(
                    puller = %config.name, from = %rfc3339(start / NS_PER_MS), to = %rfc3339(useful / NS_PER_MS),
                    "Loki lines this old are past logs.lateness: not pulled"
                );
                start = useful;
            }
            let mut entries: Vec<PulledEntry> = Vec::new();
            match self
                .client
                .pull_range(start, end, |page| entries.extend(page))
                .await
            {
                Ok(_) => {
                    let fresh = self.tail.fresh(entries);
                    self.pulled(fresh.len());
                    match feed(&self.intake, &config, &fresh, now_ms()) {
                        Ok(report) => count(&report),
                        Err(error) => {
                            tracing::warn!(puller = %config.name, %error, "the intake refused pulled lines")
                        }
                    }
                    self.tail.advance(end, overlap);
                }
                Err(error) => {
                    self.error(&error);
                    tracing::warn!(puller = %config.name, %error, "cannot pull from Loki; retried at the next interval");
                }
            }
            let lag = (now * NS_PER_MS - self.tail.cursor_ns()) as f64 / 1e9;
            metrics::gauge!("pharos_logs_pull_lag_seconds", "source" => config.source.clone())
                .set(lag.max(0.0));
        }
    }
}

/// Self-monitoring of pulled lines, as the push routes count theirs.
fn count(report: &IntakeReport) {
    metrics::counter!("pharos_logs_lines_total", "source" => report.source.clone())
        .increment(report.accepted);
    for reason in Reject::ALL {
        let n = report.rejected.get(&reason).copied().unwrap_or(0);
        metrics::counter!("pharos_logs_rejected_lines_total", "reason" => reason.as_str())
            .increment(n);
    }
}

fn rfc3339(t_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t_ms)
        .map_or_else(|| t_ms.to_string(), |t| t.to_rfc3339())
}
