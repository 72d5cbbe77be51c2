//! Fleet events across replicas through the real Redis: two servers on one store (SQLite, and
//! the real PostgreSQL as a scaled-out deployment runs) with `rate_limit.redis_url`; an event
//! published on one reaches the subscribers of both, each exactly once (a replica skips its own
//! messages), and the cluster registered through one is served by the other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::time::Duration;

use pharos_fleet::{EventType, FleetEvent, Received, Subscription, Topic};

/// The next event about cluster `name` within `wait` (other tests share the Redis channel).
async fn next(
    subscription: &mut Subscription,
    name: &str,
    wait: Duration,
) -> Option<std::sync::Arc<FleetEvent>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, subscription.next()).await {
            Ok(Received::Event(event)) if event.cluster == name => return Some(event),
            Ok(Received::Event(_) | Received::Lagged(_)) => {}
            _ => return None,
        }
    }
}

#[tokio::test]
async fn on_sqlite() {
    replicas_share_events(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn on_postgres() {
    replicas_share_events(common::Backend::Postgres).await;
}

async fn replicas_share_events(backend: common::Backend) {
    let Some(redis) = common::peer_url("REDIS") else {
        return;
    };
    let mut settings = fleet_support::fast_settings();
    settings.rate_limit.redis_url = Some(redis);
    let Some(first) = common::TestApp::new(backend, settings.clone()).await else {
        eprintln!("PHAROS_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    let second = first.replica(settings);
    let mut on_first = first.state.fleet.bus().subscribe(vec![Topic::Clusters]);
    let mut on_second = second.state.fleet.bus().subscribe(vec![Topic::Clusters]);
    // The listeners subscribe to the channel in the background; wait until both are in.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let closed = fleet_support::closed_port().await;
    // A unique name: other runs may share this Redis.
    let name = format!("relay-{}", std::process::id());
    fleet_support::register(&first, fleet_support::cluster(&name, "far_edge", &closed)).await;

    let here = next(&mut on_first, &name, Duration::from_secs(5))
        .await
        .expect("the local event");
    assert_eq!(here.cluster, name);
    assert_eq!(here.event_type, EventType::ClusterRegistered);
    let there = next(&mut on_second, &name, Duration::from_secs(5))
        .await
        .expect("the event through Redis");
    assert_eq!(there.cluster, name);
    assert_eq!(
        there.at, here.at,
        "the same event, not a copy made on the second replica"
    );
    // No echo: the first replica does not get its own event back from Redis.
    let mut echoes = 0;
    while let Some(event) = next(&mut on_first, &name, Duration::from_millis(700)).await {
        if event.event_type == EventType::ClusterRegistered && event.cluster == name {
            echoes += 1;
        }
    }
    assert_eq!(echoes, 0, "the first replica saw its own event twice");
    // One registry: the other replica serves the cluster from the shared store.
    let served = second.get(&format!("/api/v1/clusters/{name}")).await;
    assert_eq!(served.status, axum::http::StatusCode::OK, "{}", served.text);
    assert_eq!(served.body["type"], "far_edge");
}
