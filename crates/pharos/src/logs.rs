//! The access-log intake's lifecycle: created from `logs:`, handed to the router, its changed
//! buckets written to the embedded store every `logs.publish_interval` once the store may take
//! "now" samples (after the demo's history and the Loki backfills), and once more at shutdown
//! (before the store closes) so the open buckets' last lines are kept.

use std::sync::Arc;

use pharos_logs::LogIntake;
use pharos_server::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The intake and its publishing task; `None` when `logs.enabled` is off or there is no store.
/// With `demo`, the simulator's sources (`sim-nginx`, `sim-envoy`) are added unless the
/// configuration names sources of those names itself. Lines are taken at once; buckets are
/// written from when `ready` turns true (or at shutdown).
pub fn start(
    state: &AppState,
    mut stop: watch::Receiver<bool>,
    demo: bool,
    mut ready: watch::Receiver<bool>,
) -> Option<(Arc<LogIntake>, JoinHandle<()>)> {
    let metrics = state.metrics.clone()?;
    let settings = &state.settings.logs;
    let intake = if demo && settings.enabled {
        let mut intake_settings = settings.intake();
        for source in pharos_sim::demo_log_sources() {
            if !intake_settings
                .sources
                .iter()
                .any(|s| s.name == source.name)
            {
                intake_settings.sources.push(source);
            }
        }
        Arc::new(LogIntake::new(intake_settings))
    } else {
        pharos_server::logs::intake(settings)?
    };
    let interval = settings.publish_interval;
    let publisher = Arc::clone(&intake);
    // `logs.forward`: the same samples to a remote-write receiver and/or a Pushgateway.
    let forwarder =
        pharos_server::logs::Forwarder::new(&settings.forward, state.http_client.clone());
    let task = tokio::spawn(async move {
        // Before the history and backfills are written, "now" samples would make the store
        // refuse them.
        tokio::select! {
            _ = ready.wait_for(|ready| *ready) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = ticker.tick() => false,
                _ = stop.changed() => true,
            };
            let now = chrono::Utc::now().timestamp_millis();
            let published = pharos_server::logs::publish_and_forward(
                &publisher,
                &metrics,
                now,
                forwarder.as_ref(),
            )
            .await;
            if let Err(error) = published {
                tracing::warn!(%error, "cannot write latency buckets to the store; retried at the next tick");
            }
            if stopping {
                return;
            }
        }
    });
    tracing::info!(
        lateness = ?settings.lateness,
        "log intake at /loki/api/v1/push and /api/v1/logs/ndjson"
    );
    Some((intake, task))
}
