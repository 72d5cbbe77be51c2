//! The embedded metrics store's lifecycle in the process: open (with WAL replay), periodic
//! maintenance on a blocking thread, self-monitoring gauges, and a clean close at shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use pharos_tsdb::{Db, DbStats};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cli::TsdbSettings;

/// How often blocks are cut, compacted and expired.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
/// How long shutdown waits for in-flight queries to release the store before closing it.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Opens the store (replaying its WAL, which can take a while, hence the blocking thread).
pub async fn open(settings: &TsdbSettings) -> anyhow::Result<Arc<Db>> {
    let path = settings.path.clone();
    let options = settings.options.clone();
    let started = Instant::now();
    let db = tokio::task::spawn_blocking(move || Db::open(&path, options))
        .await
        .context("the metrics store's open thread failed")?
        .with_context(|| {
            format!(
                "cannot open the metrics store in {}",
                settings.path.display()
            )
        })?;
    let stats = db.stats();
    record_gauges(&stats);
    tracing::info!(
        path = %settings.path.display(),
        series = stats.head.num_series,
        blocks = stats.blocks.len(),
        wal_records_replayed = stats.replay.records,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "metrics store ready"
    );
    Ok(Arc::new(db))
}

/// Runs `maintenance()` every minute on a blocking thread until `stop` turns true; a run in
/// progress is finished first.
pub fn spawn_maintenance(db: Arc<Db>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + MAINTENANCE_INTERVAL,
            MAINTENANCE_INTERVAL,
        );
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            let db = Arc::clone(&db);
            let run = tokio::task::spawn_blocking(move || {
                let report = db.maintenance();
                (report, db.stats())
            })
            .await;
            match run {
                Ok((Ok(report), stats)) => {
                    record_gauges(&stats);
                    if report != pharos_tsdb::MaintenanceReport::default() {
                        tracing::info!(?report, "metrics store maintenance");
                    }
                }
                Ok((Err(error), _)) => {
                    tracing::warn!(%error, "metrics store maintenance failed; retrying next minute");
                }
                Err(error) => tracing::error!(%error, "metrics store maintenance thread failed"),
            }
        }
    })
}

/// Writes a WAL checkpoint and closes the store once nothing else holds it. Skipping the
/// checkpoint loses nothing (every acknowledged sample is in the WAL); it only makes the next
/// start replay more.
pub async fn close(mut db: Arc<Db>) {
    let deadline = Instant::now() + CLOSE_WAIT;
    loop {
        match Arc::try_unwrap(db) {
            Ok(owned) => {
                match tokio::task::spawn_blocking(move || owned.close()).await {
                    Ok(Ok(())) => tracing::info!("metrics store closed"),
                    Ok(Err(error)) => tracing::warn!(%error, "metrics store close failed"),
                    Err(error) => tracing::error!(%error, "metrics store close thread failed"),
                }
                return;
            }
            Err(shared) if Instant::now() >= deadline => {
                tracing::warn!(
                    holders = Arc::strong_count(&shared),
                    "metrics store still in use at shutdown; closing without a checkpoint"
                );
                return;
            }
            Err(shared) => {
                db = shared;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Self-monitoring: store size in `/metrics`.
fn record_gauges(stats: &DbStats) {
    metrics::gauge!("pharos_tsdb_head_series").set(stats.head.num_series as f64);
    metrics::gauge!("pharos_tsdb_head_samples").set(stats.head.num_samples as f64);
    metrics::gauge!("pharos_tsdb_blocks").set(stats.blocks.len() as f64);
    metrics::gauge!("pharos_tsdb_storage_blocks_bytes").set(stats.blocks_bytes as f64);
    metrics::gauge!("pharos_tsdb_wal_bytes").set(stats.wal_bytes as f64);
}
