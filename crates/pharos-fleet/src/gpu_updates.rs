//! `GPU_UPDATE` events (topic `gpu`): at a fixed interval, while anyone subscribes to the bus,
//! the GPUs of every cluster with DCGM are read through the federated layer (the same six
//! queries as `GET /api/v1/gpu/summary`) and each cluster's totals are published — GPUs, nodes,
//! average utilisation, memory, hottest GPU, power, GPUs with XID errors. Every replica computes
//! them for its own subscribers, so they are not relayed to the others.

use std::time::Duration;

use serde_json::{Value, json};

use crate::events::{EventType, FleetEvent};
use crate::federate::Targets;
use crate::service::{Access, FleetAction, FleetService};

/// The server's own read of the fleet (no caller: it publishes to subscribers who were
/// checked when they subscribed).
struct Publisher;

impl Access for Publisher {
    fn check(&self, action: FleetAction) -> Result<(), String> {
        match action {
            FleetAction::Read => Ok(()),
            _ => Err("the GPU publisher only reads".to_owned()),
        }
    }
}

impl FleetService {
    /// Publishes one `GPU_UPDATE` per cluster with GPUs; answers how many were published.
    pub async fn publish_gpu_updates(&self) -> usize {
        let fleet = match self
            .gpu_fleet(&Publisher, &Targets::Available, pharos_query::now_ms())
            .await
        {
            Ok(fleet) => fleet,
            Err(error) => {
                tracing::debug!(%error, "GPU update skipped");
                return 0;
            }
        };
        let summary = fleet.summary_json();
        let mut by_cluster: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
        for group in summary["groups"].as_array().into_iter().flatten() {
            if let Some(cluster) = group["cluster"].as_str() {
                by_cluster
                    .entry(cluster.to_owned())
                    .or_default()
                    .push(group.clone());
            }
        }
        let published = by_cluster.len();
        for (cluster, groups) in by_cluster {
            let sum =
                |field: &str| -> f64 { groups.iter().filter_map(|g| g[field].as_f64()).sum() };
            let gpus = sum("gpus");
            let weighted_util: f64 = groups
                .iter()
                .filter_map(|g| Some(g["avg_utilisation_pct"].as_f64()? * g["gpus"].as_f64()?))
                .sum();
            let hottest = groups
                .iter()
                .filter_map(|g| g["max_temperature_c"].as_f64())
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
            let data = json!({
                "gpus": gpus, "nodes": sum("nodes"),
                "avg_utilisation_pct": (gpus > 0.0).then(|| weighted_util / gpus),
                "memory_used_bytes": sum("memory_used_bytes"),
                "memory_total_bytes": sum("memory_total_bytes"),
                "max_temperature_c": hottest, "power_w": sum("power_w"),
                "xid_errors": sum("xid_errors"), "models": groups,
            });
            self.inner
                .bus
                .publish_local(FleetEvent::now(EventType::GpuUpdate, cluster, data));
        }
        published
    }

    /// Publishes GPU updates every `interval` while the bus has subscribers, until aborted.
    pub fn spawn_gpu_updates(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if service.inner.bus.subscribers() > 0 {
                    service.publish_gpu_updates().await;
                }
            }
        })
    }
}
