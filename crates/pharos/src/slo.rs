//! Latency SLOs in the binary: the services declared in `slo.services` are put into the
//! catalog at start, and every 15 s each service's threshold is written into the embedded store
//! as `pharos_service_latency_threshold_ms{service}` — what the built-in breach rule compares
//! the P95 with, so a threshold changed through the API applies at the next evaluation.

use std::sync::Arc;
use std::time::Duration;

use pharos_query::LocalMetrics;
use pharos_server::AppState;
use pharos_tsdb::Labels;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the thresholds are written (well inside the 5-minute lookback).
const INTERVAL: Duration = Duration::from_secs(15);

/// Applies `slo.services`, then writes the thresholds once `ready` (the demo's history is
/// written: these samples are "now") until `stop`.
pub fn start(
    state: &AppState,
    metrics: Arc<LocalMetrics>,
    mut ready: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let slo = state.slo.clone();
    tokio::spawn(async move {
        if let Err(error) = slo.apply_config().await {
            tracing::warn!(%error, "cannot apply slo.services to the service catalog");
        }
        if ready.wait_for(|ready| *ready).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            let now = chrono::Utc::now().timestamp_millis();
            match slo.threshold_samples(now).await {
                Ok(samples) => write(&metrics, samples, now).await,
                Err(error) => tracing::warn!(%error, "cannot read the services' thresholds"),
            }
        }
    })
}

async fn write(metrics: &LocalMetrics, samples: Vec<(String, f64)>, now: i64) {
    let written = metrics
        .append(move |db| {
            let mut appender = db.appender();
            for (service, threshold) in &samples {
                if let Ok(labels) = Labels::new([
                    ("__name__", pharos_slo::THRESHOLD_METRIC),
                    ("service", service.as_str()),
                ]) {
                    // A refusal (clock went back) only skips this tick's sample.
                    let _ = appender.append(&labels, now, *threshold);
                }
            }
            appender.commit()
        })
        .await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::warn!(%error, "cannot write the services' thresholds"),
        Err(error) => tracing::warn!(%error, "cannot write the services' thresholds"),
    }
}
