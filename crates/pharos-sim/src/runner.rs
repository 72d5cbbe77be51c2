//! Writing the simulation into the store: a backfill of recent history, then one tick per
//! interval until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pharos_tsdb::{Db, DbError, Matcher};

use crate::options::SimOptions;
use crate::simulator::Simulator;

/// Ticks written per commit during a backfill (10 minutes of 15 s data).
const TICKS_PER_COMMIT: i64 = 40;

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
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
        let mut summary = BackfillSummary::default();
        let mut t = from_ms;
        while t <= to_ms {
            let mut appender = db.appender();
            let mut ticks = 0;
            while t <= to_ms && ticks < TICKS_PER_COMMIT {
                self.tick_with(t, |labels, value| {
                    if appender.append(labels, t, value).is_err() {
                        summary.rejected += 1;
                    }
                });
                ticks += 1;
                t = t.saturating_add(step_ms);
            }
            let committed = appender.commit()?;
            summary.samples += committed.samples;
            summary.rejected += committed.rejected;
            summary.ticks += usize::try_from(ticks).unwrap_or(0);
        }
        Ok(summary)
    }
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
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let backfill_ms = i64::try_from(options.backfill.as_millis()).unwrap_or(0);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut simulator = Simulator::new(options);

    let now = now_ms();
    let end = now - now.rem_euclid(interval_ms);
    let start = end.saturating_sub(backfill_ms);
    let from =
        newest_simulated_sample(&db, start, now).map_or(start, |newest| newest + interval_ms);
    let mut next = from;
    // Backfill in slices so shutdown is honoured within a slice.
    while next <= end {
        let slice_end = (next + interval_ms * TICKS_PER_COMMIT * 6).min(end);
        let db_for_slice = Arc::clone(&db);
        let job = tokio::task::spawn_blocking(move || {
            let result = simulator.backfill(&db_for_slice, next, slice_end, interval);
            (simulator, result)
        });
        tokio::select! {
            biased;
            _ = &mut shutdown => return,
            joined = job => match joined {
                Ok((returned, result)) => {
                    simulator = returned;
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
