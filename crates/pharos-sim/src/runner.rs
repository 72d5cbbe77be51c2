//! Writing the simulation into the store: a backfill of recent history, then one tick per
//! interval until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pharos_tsdb::{Db, DbError, Matcher};

use crate::access_logs::{AccessLogHistory, AccessLogLine, AccessLogs, DEMO_LOG_SERVICES};
use crate::options::SimOptions;
use crate::simulator::Simulator;

/// Ticks written per commit during a backfill (10 minutes of 15 s data).
const TICKS_PER_COMMIT: i64 = 40;

/// How much access-log history [`run_with_access_logs`] writes: 7 days of 5-minute buckets.
pub const ACCESS_LOG_HISTORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Receives the live access-log lines of each tick (the binary pushes them into its log
/// intake with [`crate::loki_push_bodies`]).
pub type AccessLogSink = Box<dyn FnMut(Vec<AccessLogLine>) + Send>;

/// What a backfill wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillSummary {
    /// Ticks simulated.
    pub ticks: usize,
    /// Samples stored.
    pub samples: usize,
    /// Samples the store refused (e.g. older than data it already holds).
    pub rejected: usize,
}

impl Simulator {
    /// Simulates every `step` from `from_ms` through `to_ms` and writes the samples to `db`,
    /// committing every few ticks. Counters continue from the simulator's state, so a live
    /// [`Simulator::tick`] can follow.
    pub fn backfill(
        &mut self,
        db: &Db,
        from_ms: i64,
        to_ms: i64,
        step: Duration,
    ) -> Result<BackfillSummary, DbError> {
        let mut summary = BackfillSummary::default();
        let mut times = tick_times(from_ms, to_ms, step).peekable();
        while times.peek().is_some() {
            let mut appender = db.appender();
            let mut ticks = 0;
            for t in times
                .by_ref()
                .take(usize::try_from(TICKS_PER_COMMIT).unwrap_or(1))
            {
                self.tick_with(t, |labels, value| {
                    if appender.append(labels, t, value).is_err() {
                        summary.rejected += 1;
                    }
                });
                ticks += 1;
            }
            let committed = appender.commit()?;
            summary.samples += committed.samples;
            summary.rejected += committed.rejected;
            summary.ticks += ticks;
        }
        Ok(summary)
    }
}

/// The tick times of a backfill (and of [`Simulator::export_openmetrics`]): `from_ms`, then
/// every `step` (at least 1 ms) up to and including `to_ms`.
pub(crate) fn tick_times(from_ms: i64, to_ms: i64, step: Duration) -> impl Iterator<Item = i64> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    std::iter::successors((from_ms <= to_ms).then_some(from_ms), move |&t| {
        t.checked_add(step_ms).filter(|&next| next <= to_ms)
    })
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Newest sample the simulator wrote before (a restart on an existing data directory), so a
/// new run continues after it instead of colliding with it.
fn newest_simulated_sample(db: &Db, from_ms: i64, to_ms: i64) -> Option<i64> {
    db.querier(from_ms, to_ms)
        .select(&[Matcher::equal("__name__", "DCGM_FI_DEV_GPU_UTIL")])
        .ok()?
        .iter()
        .filter_map(|series| series.samples.last().map(|sample| sample.t))
        .max()
}

/// Start of the newest access-log bucket the simulator's services have in the store (a
/// restart: history continues after it).
fn newest_access_log_bucket(db: &Db, from_ms: i64, to_ms: i64) -> Option<i64> {
    db.querier(from_ms, to_ms)
        .select(&[Matcher::equal("__name__", "pharos_service_requests")])
        .ok()?
        .iter()
        .filter(|series| {
            DEMO_LOG_SERVICES.iter().any(|s| {
                series.labels.get("service") == Some(s.service)
                    && series.labels.get("source") == Some(s.source)
            })
        })
        .filter_map(|series| series.samples.last().map(|sample| sample.t))
        .max()
        .map(pharos_logs::bucket_start)
}

/// Writes the access-log buckets due by `t_ms`; failures are logged.
fn write_log_history(history: Option<&mut AccessLogHistory>, db: &Db, t_ms: i64) {
    let Some(history) = history else { return };
    match history.write_until(db, t_ms) {
        Ok(report) if report.rejected > 0 => tracing::warn!(
            rejected = report.rejected,
            error = report.first_error.as_deref().unwrap_or_default(),
            "the store refused simulated access-log buckets"
        ),
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "cannot write simulated access-log history"),
    }
}

/// Runs the simulator against `db`: backfills `options.backfill` of history (skipping time
/// already simulated), then appends one tick every `interval`, on multiples of the interval,
/// until `shutdown` completes. Storage errors are logged, not fatal: the simulator is a demo
/// and must not take the server down.
pub async fn run<F: Future>(db: Arc<Db>, options: SimOptions, interval: Duration, shutdown: F) {
    run_notifying(db, options, interval, shutdown, None).await;
}

/// Like [`run`], and sends on `history_written` once the backfill is done, so writers of
/// current samples (a scraper) can start after it: the store refuses samples far older than
/// the newest one it holds.
pub async fn run_notifying<F: Future>(
    db: Arc<Db>,
    options: SimOptions,
    interval: Duration,
    shutdown: F,
    history_written: Option<tokio::sync::oneshot::Sender<()>>,
) {
    run_with_access_logs(db, options, interval, shutdown, history_written, None).await;
}

/// Like [`run_notifying`], and with `access_logs` the demo services' access logs too
/// ([`crate::DEMO_LOG_SERVICES`]): [`ACCESS_LOG_HISTORY`] of 5-minute buckets written into
/// `db` with the rest of the history (before `history_written` fires), then every tick the
/// lines of the requests since the previous one handed to `access_logs`, starting at the
/// bucket after the last one written, so lines and history join without a gap or overlap.
pub async fn run_with_access_logs<F: Future>(
    db: Arc<Db>,
    options: SimOptions,
    interval: Duration,
    shutdown: F,
    history_written: Option<tokio::sync::oneshot::Sender<()>>,
    mut access_logs: Option<AccessLogSink>,
) {
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let backfill_ms = i64::try_from(options.backfill.as_millis()).unwrap_or(0);
    let mut shutdown = std::pin::pin!(shutdown);
    let now = now_ms();
    let end = now - now.rem_euclid(interval_ms);
    let start = end.saturating_sub(backfill_ms);
    let from =
        newest_simulated_sample(&db, start, now).map_or(start, |newest| newest + interval_ms);
    let mut log_history = access_logs.as_ref().map(|_| {
        let week_ago =
            now.saturating_sub(i64::try_from(ACCESS_LOG_HISTORY.as_millis()).unwrap_or(0));
        let log_from = newest_access_log_bucket(&db, week_ago, now)
            .map_or(week_ago, |newest| newest + pharos_logs::BUCKET_MS);
        AccessLogHistory::plan(&options, log_from, from, now)
    });
    let mut live_logs = log_history
        .as_ref()
        .map(|history| AccessLogs::new(options.seed, history.end_ms()));
    let mut simulator = Simulator::new(options);
    // Access-log buckets older than the simulator's first tick go first: the store refuses
    // samples far behind its newest one, so everything is written in time order.
    if let Some(history) = log_history.take() {
        let db_for_logs = Arc::clone(&db);
        let job = tokio::task::spawn_blocking(move || {
            let mut history = history;
            write_log_history(Some(&mut history), &db_for_logs, from - 1);
            history
        });
        tokio::select! {
            biased;
            _ = &mut shutdown => return,
            joined = job => match joined {
                Ok(history) => log_history = Some(history),
                Err(error) => tracing::error!(%error, "the access-log history failed"),
            },
        }
    }
    let mut next = from;
    // Backfill in slices so shutdown is honoured within a slice.
    while next <= end {
        let slice_end = (next + interval_ms * TICKS_PER_COMMIT * 6).min(end);
        let db_for_slice = Arc::clone(&db);
        let mut history = log_history.take();
        let job = tokio::task::spawn_blocking(move || {
            // Log buckets in time order with the ticks: those due before the slice first (a
            // slice is an hour, as far as the store lets a write lag behind its newest).
            write_log_history(history.as_mut(), &db_for_slice, next - 1);
            let result = simulator.backfill(&db_for_slice, next, slice_end, interval);
            write_log_history(history.as_mut(), &db_for_slice, slice_end);
            (simulator, history, result)
        });
        tokio::select! {
            biased;
            _ = &mut shutdown => return,
            joined = job => match joined {
                Ok((returned, history, result)) => {
                    simulator = returned;
                    log_history = history;
                    match result {
                        Ok(summary) if summary.rejected > 0 => tracing::warn!(rejected = summary.rejected, "the store refused simulated samples"),
                        Ok(_) => {}
                        Err(error) => tracing::error!(%error, "cannot write simulated history"),
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "the simulator's backfill failed; simulator stopped");
                    return;
                }
            },
        }
        next = slice_end + interval_ms;
    }
    if let Some(mut history) = log_history.take() {
        let db_for_logs = Arc::clone(&db);
        let _ = tokio::task::spawn_blocking(move || {
            write_log_history(Some(&mut history), &db_for_logs, i64::MAX);
        })
        .await;
    }
    tracing::info!(
        from_ms = from,
        to_ms = end,
        "simulated history written; simulator is live"
    );
    if let Some(history_written) = history_written {
        let _ = history_written.send(());
    }

    loop {
        let now = now_ms();
        let wait = Duration::from_millis(u64::try_from(next - now).unwrap_or(0));
        tokio::select! {
            biased;
            _ = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
        let t = next;
        let db_for_tick = Arc::clone(&db);
        let job = tokio::task::spawn_blocking(move || {
            let mut appender = db_for_tick.appender();
            let mut rejected = 0_usize;
            simulator.tick_with(t, |labels, value| {
                if appender.append(labels, t, value).is_err() {
                    rejected += 1;
                }
            });
            (simulator, appender.commit(), rejected)
        });
        match job.await {
            Ok((returned, committed, rejected)) => {
                simulator = returned;
                if let (Some(logs), Some(sink)) = (live_logs.as_mut(), access_logs.as_mut()) {
                    sink(logs.lines_until(t, simulator.incidents()));
                }
                if let Err(error) = committed {
                    tracing::error!(%error, "cannot write simulated samples");
                } else if rejected > 0 {
                    tracing::warn!(rejected, "the store refused simulated samples");
                }
            }
            Err(error) => {
                tracing::error!(%error, "a simulator tick failed; simulator stopped");
                return;
            }
        }
        // Skip ticks missed while the machine was busy or asleep rather than replaying them.
        let now = now_ms();
        next = (t + interval_ms).max(now - now.rem_euclid(interval_ms));
        if next <= t {
            next = t + interval_ms;
        }
    }
}
