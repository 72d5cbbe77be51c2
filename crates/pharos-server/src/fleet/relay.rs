//! Fleet events across replicas through Redis pub/sub (`rate_limit.redis_url` set): every event
//! published on one replica is also published on the channel `pharos:fleet:events`, and every
//! replica hands the events of the others to its own subscribers (SSE and WebSocket). Each replica
//! tags what it sends with a random id and skips its own messages, so nothing is delivered twice.
//!
//! Redis is a helper, never a dependency: publishing never blocks the publisher (a bounded queue;
//! when Redis is slow or down the oldest queued events are dropped and counted in
//! `pharos_fleet_relay_dropped_total`), and the listener reconnects every second until Redis is
//! back. Events sent while a replica was not listening are not replayed (as for a slow SSE reader,
//! clients reload on `lagged` or reconnect).

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use pharos_fleet::{EventBus, EventRelay, FleetEvent};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The pub/sub channel.
const CHANNEL: &str = "pharos:fleet:events";
/// Events waiting to be published.
const QUEUE: usize = 1024;
/// Pause before reconnecting to Redis.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: FleetEvent,
}

/// The relay handed to the bus: queues each local event for the publisher task.
struct RedisRelay {
    origin: String,
    queue: mpsc::Sender<Envelope>,
}

impl EventRelay for RedisRelay {
    fn relay(&self, event: &FleetEvent) {
        let envelope = Envelope {
            origin: self.origin.clone(),
            event: event.clone(),
        };
        if self.queue.try_send(envelope).is_err() {
            metrics::counter!("pharos_fleet_relay_dropped_total").increment(1);
        }
    }
}

/// A bus of `capacity` whose events reach the other replicas through Redis at `url`, and which
/// receives theirs. Must be called inside the Tokio runtime (it starts the two Redis tasks).
pub fn bus_with_redis(capacity: usize, url: &str) -> Result<EventBus, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let origin = format!("{:016x}", rand::rng().random::<u64>());
    let (queue, pending) = mpsc::channel(QUEUE);
    let relay = Arc::new(RedisRelay {
        origin: origin.clone(),
        queue,
    });
    let bus = EventBus::new(capacity).with_relay(relay);
    tokio::spawn(publish(client.clone(), pending));
    tokio::spawn(listen(client, origin, bus.clone()));
    Ok(bus)
}

async fn publish(client: redis::Client, mut pending: mpsc::Receiver<Envelope>) {
    let mut connection = None;
    while let Some(envelope) = pending.recv().await {
        let Ok(text) = serde_json::to_string(&envelope) else {
            continue;
        };
        if connection.is_none() {
            connection = redis::aio::ConnectionManager::new(client.clone())
                .await
                .ok();
        }
        let Some(manager) = connection.as_mut() else {
            metrics::counter!("pharos_fleet_relay_dropped_total").increment(1);
            continue;
        };
        let sent: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(text)
            .query_async(manager)
            .await;
        if let Err(error) = sent {
            metrics::counter!("pharos_fleet_relay_dropped_total").increment(1);
            tracing::debug!(%error, "fleet events: cannot publish to Redis");
        }
    }
}

async fn listen(client: redis::Client, origin: String, bus: EventBus) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(error) = pubsub.subscribe(CHANNEL).await {
                    tracing::warn!(%error, "fleet events: cannot subscribe to Redis; retrying");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(text) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Envelope>(&text) {
                            Ok(envelope) if envelope.origin != origin => {
                                bus.deliver_remote(envelope.event);
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::debug!(%error, "fleet events: a message on the channel is not an event");
                            }
                        }
                    }
                    tracing::warn!("fleet events: the Redis subscription ended; reconnecting");
                }
            }
            Err(error) => {
                tracing::debug!(%error, "fleet events: Redis unreachable; retrying");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
