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
        let clusters = fleet.cluster_totals();
        let published = clusters.len();
        for (totals, models) in clusters {
            let Some(cluster) = totals.cluster.clone() else {
                continue;
            };
            let mut data = serde_json::to_value(&totals).unwrap_or(Value::Null);
            if let Value::Object(fields) = &mut data {
                // The event names the cluster; a cluster's totals have no single model.
                fields.remove("cluster");
                fields.remove("gpu_model");
                fields.insert("models".to_owned(), json!(models));
            }
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
