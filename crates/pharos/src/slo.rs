//! Latency SLOs in the binary: the services declared in `slo.services` are put into the
//! catalog at start, and every 15 s each service's threshold is written into the embedded store
//! as `pharos_service_latency_threshold_ms{service}` — what the built-in breach rule compares
//! the P95 with, so a threshold changed through the API applies at the next evaluation.

use std::time::Duration;

use pharos_server::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the thresholds are written (well inside the 5-minute lookback).
const INTERVAL: Duration = Duration::from_secs(15);

/// Applies `slo.services`, then writes the thresholds once `ready` (the demo's history is
/// written: these samples are "now") until `stop`.
pub fn start(
    state: &AppState,
    mut ready: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = state.slo.apply_config().await {
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
            if let Err(error) = pharos_server::services::publish_slo_gauges(&state, now).await {
                tracing::warn!(%error, "cannot write the services' thresholds; retried at the next tick");
            }
        }
    })
}

/// The demo's services (the simulator's access logs) in project `demo`, owned by the first
/// administrator, each with an objective of 99 % within 300 ms, and the "Service latency"
/// dashboard there.
pub async fn seed_demo(state: &AppState) {
    let owners = vec!["admin".to_owned()];
    let mut ids = Vec::new();
    for service in pharos_sim::DEMO_LOG_SERVICES {
        ids.push(service.service.to_owned());
        if let Err(error) = state
            .slo
            .register_if_missing(
                service.service,
                Some(pharos_sim::DEMO_PROJECT),
                &owners,
                Some(pharos_slo::Objective {
                    target: 0.99,
                    threshold_ms: 300,
                    window_days: 30,
                }),
            )
            .await
        {
            tracing::warn!(%error, service = service.service, "cannot register a demo service");
        }
    }
    let dashboard = pharos_slo::service_latency_dashboard(
        pharos_sim::DEMO_PROJECT,
        pharos_sim::DEMO_DATASOURCE,
        &ids,
    );
    if let Err(error) = crate::fleet_demo::create_if_missing(
        state,
        pharos_model::Kind::Dashboard,
        Some(pharos_sim::DEMO_PROJECT),
        pharos_slo::DASHBOARD_NAME,
        dashboard,
    )
    .await
    {
        tracing::warn!(%error, "cannot create the demo's Service latency dashboard");
    }
}
