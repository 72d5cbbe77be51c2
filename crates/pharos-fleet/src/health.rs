//! Health state kept in memory per replica (current status, the last transitions), the
//! background checker that checks each cluster at its type's interval, refresh (discovery plus
//! a check) and the Pharos metrics of the fleet:
//!
//! * `pharos_fleet_cluster_up{cluster,type}`: 1 when healthy or degraded, 0 otherwise;
//! * `pharos_fleet_cluster_status{cluster,state}`: 1 for the current state, 0 for the others;
//! * `pharos_fleet_health_check_seconds{type}`: how long checks take.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::error::FleetError;
use crate::events::EventType;
use crate::model::{ClusterRecord, ClusterStatus, ClusterType, HealthState, StatusTransition};
use crate::probe::{self, HealthResult};
use crate::registry;
use crate::service::FleetService;

/// What this replica knows about one cluster's health.
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    pub(crate) status: ClusterStatus,
    /// Newest first, at most `FleetOptions::history`.
    history: VecDeque<StatusTransition>,
    last_check: Option<Instant>,
    in_flight: bool,
}

impl Runtime {
    fn new() -> Self {
        Self {
            status: ClusterStatus::unknown(),
            history: VecDeque::new(),
            last_check: None,
            in_flight: false,
        }
    }
}

/// `GET /api/v1/clusters/{id}/status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The cluster.
    pub cluster: String,
    /// Its current status.
    pub status: ClusterStatus,
    /// Its last transitions, newest first.
    pub history: Vec<StatusTransition>,
}

impl FleetService {
    /// Starts keeping health state for `name` (a no-op when it is kept already).
    pub(crate) fn track(&self, name: &str) {
        if let Ok(mut runtime) = self.inner.runtime.lock() {
            runtime.entry(name.to_owned()).or_insert_with(Runtime::new);
        }
    }

    /// Drops the health state of a deleted cluster and zeroes its metrics.
    pub(crate) fn forget(&self, name: &str, cluster_type: ClusterType) {
        if let Ok(mut runtime) = self.inner.runtime.lock() {
            runtime.remove(name);
        }
        metrics::gauge!("pharos_fleet_cluster_up", "cluster" => name.to_owned(), "type" => cluster_type.as_str())
            .set(0.0);
        for state in HealthState::ALL {
            metrics::gauge!("pharos_fleet_cluster_status", "cluster" => name.to_owned(), "state" => state.as_str())
                .set(0.0);
        }
    }

    pub(crate) fn report_of(&self, name: &str) -> StatusReport {
        let (status, history) = self
            .inner
            .runtime
            .lock()
            .ok()
            .and_then(|runtime| {
                runtime
                    .get(name)
                    .map(|r| (r.status.clone(), r.history.iter().cloned().collect()))
            })
            .unwrap_or_else(|| (ClusterStatus::unknown(), Vec::new()));
        StatusReport {
            cluster: name.to_owned(),
            status,
            history,
        }
    }

    /// Records a check's result: status, history, metrics, and an event when the state changed.
    /// A cluster deleted meanwhile is left alone.
    pub(crate) fn record(&self, name: &str, cluster_type: ClusterType, result: &HealthResult) {
        metrics::histogram!("pharos_fleet_health_check_seconds", "type" => cluster_type.as_str())
            .record(result.latency.as_secs_f64());
        let latency_ms = u64::try_from(result.latency.as_millis()).unwrap_or(u64::MAX);
        let now = Utc::now();
        let changed = {
            let Ok(mut runtime) = self.inner.runtime.lock() else {
                return;
            };
            let Some(entry) = runtime.get_mut(name) else {
                return;
            };
            let from = entry.status.state;
            entry.status = ClusterStatus {
                state: result.state,
                reason: result.reason.clone(),
                checked_at: Some(now),
                latency_ms: Some(latency_ms),
            };
            entry.last_check = Some(Instant::now());
            (from != result.state).then(|| {
                entry.history.push_front(StatusTransition {
                    from,
                    to: result.state,
                    reason: result.reason.clone(),
                    at: now,
                    latency_ms: Some(latency_ms),
                });
                entry.history.truncate(self.inner.options.history.max(1));
                from
            })
        };
        let up = matches!(result.state, HealthState::Healthy | HealthState::Degraded);
        metrics::gauge!("pharos_fleet_cluster_up", "cluster" => name.to_owned(), "type" => cluster_type.as_str())
            .set(if up { 1.0 } else { 0.0 });
        for state in HealthState::ALL {
            metrics::gauge!("pharos_fleet_cluster_status", "cluster" => name.to_owned(), "state" => state.as_str())
                .set(if state == result.state { 1.0 } else { 0.0 });
        }
        if let Some(from) = changed {
            tracing::info!(cluster = name, from = from.as_str(), to = result.state.as_str(), reason = %result.reason, "cluster status changed");
            self.publish(
                EventType::ClusterStatusChanged,
                name,
                json!({"from": from, "to": result.state, "reason": result.reason,
                    "latency_ms": latency_ms}),
            );
        }
    }

    /// Runs one health check of `record` and records it.
    pub(crate) async fn check(&self, record: &ClusterRecord) -> Result<(), FleetError> {
        let timing = self.inner.options.timing(record.spec.cluster_type);
        let connection = self.connection_of(record).await?;
        let result = probe::check_health(
            &connection,
            timing.timeout,
            self.inner.options.max_answer_bytes,
        )
        .await;
        self.record(&record.name, record.spec.cluster_type, &result);
        if result.state != HealthState::Unreachable {
            self.poll_alerts(&connection, timing.timeout).await;
        }
        Ok(())
    }

    /// Discovery and a health check at once; stores changed capabilities (and says so).
    pub(crate) async fn refresh_record(
        &self,
        record: ClusterRecord,
    ) -> Result<ClusterRecord, FleetError> {
        let timing = self.inner.options.timing(record.spec.cluster_type);
        let connection = self.connection_of(&record).await?;
        let max = self.inner.options.max_answer_bytes;
        let (found, health) = tokio::join!(
            probe::discover(&connection, timing.timeout, max),
            probe::check_health(&connection, timing.timeout, max),
        );
        self.record(&record.name, record.spec.cluster_type, &health);
        if health.state != HealthState::Unreachable {
            self.poll_alerts(&connection, timing.timeout).await;
        }
        let changed = found.differs_from(&record.capabilities);
        // Re-read: a PUT may have changed the spec while discovery ran.
        let current = registry::get(&self.inner.store, &record.name).await?;
        let updated =
            registry::update(&self.inner.store, &record.name, &current.spec, &found).await?;
        if changed {
            self.publish(
                EventType::ClusterCapabilitiesChanged,
                &record.name,
                json!({"capabilities": found, "previous": record.capabilities}),
            );
        }
        Ok(updated)
    }

    /// Runs [`refresh_record`](Self::refresh_record) for `name` without waiting for it.
    pub(crate) fn refresh_in_background(&self, name: &str) {
        let (service, name) = (self.clone(), name.to_owned());
        tokio::spawn(async move {
            let outcome = match registry::get(&service.inner.store, &name).await {
                Ok(record) => service.refresh_record(record).await.map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                tracing::debug!(cluster = %name, %error, "background refresh ended early");
            }
        });
    }

    /// Checks every registered cluster at its type's interval until the task is aborted.
    /// At most `max_concurrent_checks` run at once; a cluster is never checked twice at once.
    pub fn spawn_health_checks(&self) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        let limit = Arc::new(Semaphore::new(
            self.inner.options.max_concurrent_checks.max(1),
        ));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(service.inner.options.tick());
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Owned by the loop: aborting the checker aborts the checks in flight too.
            let mut running = tokio::task::JoinSet::new();
            loop {
                ticker.tick().await;
                while running.try_join_next().is_some() {}
                let records = match registry::list(&service.inner.store).await {
                    Ok(records) => records,
                    Err(error) => {
                        tracing::warn!(%error, "fleet health checker cannot list clusters");
                        continue;
                    }
                };
                for record in service.due(&records) {
                    let (service, limit) = (service.clone(), Arc::clone(&limit));
                    running.spawn(async move {
                        let _permit = limit.acquire_owned().await;
                        if let Err(error) = service.check(&record).await {
                            tracing::warn!(cluster = %record.name, %error, "health check failed to run");
                        }
                        service.finish(&record.name);
                    });
                }
            }
        })
    }

    /// The clusters whose check is due, marked in flight; forgets clusters deleted elsewhere.
    fn due(&self, records: &[ClusterRecord]) -> Vec<ClusterRecord> {
        let Ok(mut runtime) = self.inner.runtime.lock() else {
            return Vec::new();
        };
        let names: HashSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
        runtime.retain(|name, entry| entry.in_flight || names.contains(name.as_str()));
        records
            .iter()
            .filter(|record| {
                let interval = self.inner.options.timing(record.spec.cluster_type).interval;
                let entry = runtime
                    .entry(record.name.clone())
                    .or_insert_with(Runtime::new);
                let due =
                    !entry.in_flight && entry.last_check.is_none_or(|at| at.elapsed() >= interval);
                entry.in_flight |= due;
                due
            })
            .cloned()
            .collect()
    }

    fn finish(&self, name: &str) {
        if let Ok(mut runtime) = self.inner.runtime.lock()
            && let Some(entry) = runtime.get_mut(name)
        {
            entry.in_flight = false;
            entry.last_check = Some(Instant::now());
        }
    }
}
