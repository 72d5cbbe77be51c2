//! Fleet events across replicas through the real Redis: two servers on one store with
//! `rate_limit.redis_url`; an event published on one reaches the subscribers of both, each exactly
//! once (a replica skips its own messages).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::time::Duration;

use pharos_fleet::{EventType, FleetEvent, Received, Subscription, Topic};

/// The next event of `subscription` within `wait`.
async fn next(
    subscription: &mut Subscription,
    wait: Duration,
) -> Option<std::sync::Arc<FleetEvent>> {
    match tokio::time::timeout(wait, subscription.next()).await {
        Ok(Received::Event(event)) => Some(event),
        _ => None,
    }
}

#[tokio::test]
async fn an_event_on_one_replica_reaches_the_subscribers_of_every_replica_once() {
    let Some(redis) = common::peer_url("REDIS") else {
        return;
    };
    let mut settings = fleet_support::fast_settings();
    settings.rate_limit.redis_url = Some(redis);
    let first = common::TestApp::new(common::Backend::Sqlite, settings.clone())
        .await
        .unwrap();
    let second = first.replica(settings);
    let mut on_first = first.state.fleet.bus().subscribe(vec![Topic::Clusters]);
    let mut on_second = second.state.fleet.bus().subscribe(vec![Topic::Clusters]);
    // The listeners subscribe to the channel in the background; wait until both are in.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let closed = fleet_support::closed_port().await;
    // A unique name: other runs may share this Redis.
    let name = format!("relay-{}", std::process::id());
    fleet_support::register(&first, fleet_support::cluster(&name, "far_edge", &closed)).await;

    let here = next(&mut on_first, Duration::from_secs(5))
        .await
        .expect("the local event");
    assert_eq!(here.cluster, name);
    assert_eq!(here.event_type, EventType::ClusterRegistered);
    let there = next(&mut on_second, Duration::from_secs(5))
        .await
        .expect("the event through Redis");
    assert_eq!(there.cluster, name);
    assert_eq!(
        there.at, here.at,
        "the same event, not a copy made on the second replica"
    );
    // No echo: the first replica does not get its own event back from Redis.
    let mut echoes = 0;
    while let Some(event) = next(&mut on_first, Duration::from_millis(700)).await {
        if event.event_type == EventType::ClusterRegistered && event.cluster == name {
            echoes += 1;
        }
    }
    assert_eq!(echoes, 0, "the first replica saw its own event twice");
}
