//! The in-process event bus: fleet events (`CLUSTER_*`, `ALERT_*`; GPU updates and anomalies
//! later) fan out to every subscriber through one bounded `tokio::sync::broadcast` channel.
//! A subscriber that reads too slowly loses the oldest events and is told how many
//! ([`Received::Lagged`]); memory never grows with slow readers.
//!
//! The seam for replicas: [`EventBus::with_relay`] hands every locally published event to an
//! [`EventRelay`] (a Redis pub/sub publisher, later), and whatever the relay receives from other
//! replicas comes back in through [`EventBus::deliver_remote`], which broadcasts locally without
//! relaying again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A cluster was registered.
    ClusterRegistered,
    /// A cluster's editable fields changed.
    ClusterUpdated,
    /// A cluster was removed from the registry.
    ClusterDeleted,
    /// A health check saw a different state than the one before.
    ClusterStatusChanged,
    /// A cluster's credentials were set or replaced.
    ClusterCredentialsUpdated,
    /// Discovery found different capabilities.
    ClusterCapabilitiesChanged,
    /// An Alertmanager alert started firing (new, or firing again).
    AlertFired,
    /// An alert resolved.
    AlertResolved,
    /// A cluster's GPUs now (per cluster, at `fleet.gpu_update_interval`).
    GpuUpdate,
    /// An anomaly was found (emitted by anomaly detection).
    AnomalyDetected,
}

impl EventType {
    /// The topic subscribers ask for (`clusters` for every cluster event, `alerts` for alerts).
    pub fn topic(self) -> Topic {
        match self {
            Self::AlertFired | Self::AlertResolved => Topic::Alerts,
            Self::GpuUpdate => Topic::Gpu,
            Self::AnomalyDetected => Topic::Anomalies,
            _ => Topic::Clusters,
        }
    }
}

/// Groups of events a subscriber chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Registry and health events (`CLUSTER_*`).
    Clusters,
    /// Alerts from Alertmanager (`ALERT_FIRED`, `ALERT_RESOLVED`).
    Alerts,
    /// GPU telemetry (`GPU_UPDATE`).
    Gpu,
    /// Anomalies (`ANOMALY_DETECTED`).
    Anomalies,
}

impl Topic {
    /// Every topic that exists today.
    pub const ALL: [Topic; 4] = [Topic::Clusters, Topic::Alerts, Topic::Gpu, Topic::Anomalies];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Clusters => "clusters",
            Topic::Alerts => "alerts",
            Topic::Gpu => "gpu",
            Topic::Anomalies => "anomalies",
        }
    }

    /// The topic called `name`, if any.
    pub fn parse(name: &str) -> Option<Topic> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One event: `{"type", "cluster", "at", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// To which cluster.
    pub cluster: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Details (depends on the type; documented in docs/user/fleet.md).
    pub data: Value,
}

impl FleetEvent {
    /// An event that happens now.
    pub fn now(event_type: EventType, cluster: impl Into<String>, data: Value) -> Self {
        Self {
            event_type,
            cluster: cluster.into(),
            at: Utc::now(),
            data,
        }
    }
}

/// Carries events to other replicas (e.g. Redis pub/sub). Must not block: queue and return.
pub trait EventRelay: Send + Sync {
    /// Sends an event published on this replica to the others.
    fn relay(&self, event: &FleetEvent);
}

/// The bus. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<FleetEvent>>,
    relay: Option<Arc<dyn EventRelay>>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.sender.receiver_count())
            .field("relay", &self.relay.is_some())
            .finish()
    }
}

/// What a subscriber gets next.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// The next event.
    Event(Arc<FleetEvent>),
    /// The subscriber fell behind; this many older events were dropped for it.
    Lagged(u64),
    /// The bus is gone (the server is stopping).
    Closed,
}

/// One subscription, filtered to some topics.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<FleetEvent>>,
    topics: Vec<Topic>,
}

impl Subscription {
    /// Waits for the next event of a subscribed topic.
    pub async fn next(&mut self) -> Received {
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.topics.contains(&event.event_type.topic()) => {
                    return Received::Event(event);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    metrics::counter!("pharos_fleet_events_dropped_total").increment(missed);
                    return Received::Lagged(missed);
                }
                Err(broadcast::error::RecvError::Closed) => return Received::Closed,
            }
        }
    }
}

impl EventBus {
    /// A bus that keeps at most `capacity` events for the slowest subscriber.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            relay: None,
        }
    }

    /// Also hands every local event to `relay`.
    #[must_use]
    pub fn with_relay(mut self, relay: Arc<dyn EventRelay>) -> Self {
        self.relay = Some(relay);
        self
    }

    /// Publishes an event on this replica (and relays it to the others).
    pub fn publish(&self, event: FleetEvent) {
        if let Some(relay) = &self.relay {
            relay.relay(&event);
        }
        self.deliver_remote(event);
    }

    /// Broadcasts an event that every replica computes for itself (so relaying it would
    /// deliver copies), to this replica's subscribers only.
    pub fn publish_local(&self, event: FleetEvent) {
        self.deliver_remote(event);
    }

    /// Broadcasts an event that came from another replica, without relaying it back.
    pub fn deliver_remote(&self, event: FleetEvent) {
        metrics::counter!("pharos_fleet_events_total", "type" => event_type_name(event.event_type))
            .increment(1);
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.sender.send(Arc::new(event));
    }

    /// Subscribes to `topics` from now on.
    pub fn subscribe(&self, topics: Vec<Topic>) -> Subscription {
        Subscription {
            receiver: self.sender.subscribe(),
            topics,
        }
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

fn event_type_name(event_type: EventType) -> &'static str {
    match event_type {
        EventType::ClusterRegistered => "CLUSTER_REGISTERED",
        EventType::ClusterUpdated => "CLUSTER_UPDATED",
        EventType::ClusterDeleted => "CLUSTER_DELETED",
        EventType::ClusterStatusChanged => "CLUSTER_STATUS_CHANGED",
        EventType::ClusterCredentialsUpdated => "CLUSTER_CREDENTIALS_UPDATED",
        EventType::ClusterCapabilitiesChanged => "CLUSTER_CAPABILITIES_CHANGED",
        EventType::AlertFired => "ALERT_FIRED",
        EventType::AlertResolved => "ALERT_RESOLVED",
        EventType::GpuUpdate => "GPU_UPDATE",
        EventType::AnomalyDetected => "ANOMALY_DETECTED",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn slow_subscribers_lose_old_events_and_are_told() {
        let bus = EventBus::new(4);
        let mut slow = bus.subscribe(vec![Topic::Clusters]);
        for i in 0..10 {
            bus.publish(FleetEvent::now(
                EventType::ClusterUpdated,
                format!("c{i}"),
                Value::Null,
            ));
        }
        assert_eq!(slow.next().await, Received::Lagged(6));
        match slow.next().await {
            Received::Event(event) => assert_eq!(event.cluster, "c6"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_serialise_with_screaming_types() {
        let event = FleetEvent::now(EventType::ClusterStatusChanged, "a", Value::Null);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "CLUSTER_STATUS_CHANGED");
        assert_eq!(
            serde_json::to_value(EventType::ClusterCapabilitiesChanged).unwrap(),
            event_type_name(EventType::ClusterCapabilitiesChanged)
        );
    }

    #[tokio::test]
    async fn a_relay_sees_local_events_but_not_remote_ones() {
        #[derive(Default)]
        struct Recorder(Mutex<Vec<String>>);
        impl EventRelay for Recorder {
            fn relay(&self, event: &FleetEvent) {
                self.0.lock().unwrap().push(event.cluster.clone());
            }
        }
        let recorder = Arc::new(Recorder::default());
        let bus = EventBus::new(8).with_relay(recorder.clone());
        let mut sub = bus.subscribe(vec![Topic::Clusters]);
        bus.publish(FleetEvent::now(
            EventType::ClusterDeleted,
            "local",
            Value::Null,
        ));
        bus.deliver_remote(FleetEvent::now(
            EventType::ClusterDeleted,
            "remote",
            Value::Null,
        ));
        assert!(matches!(sub.next().await, Received::Event(e) if e.cluster == "local"));
        assert!(matches!(sub.next().await, Received::Event(e) if e.cluster == "remote"));
        assert_eq!(*recorder.0.lock().unwrap(), vec!["local".to_owned()]);
    }
}
