//! Optimistic concurrency under real contention.

use pharos_store::{Precondition, Store, StoreError};
use serde_json::json;

use super::{dashboard, new_resource};

const WRITERS: usize = 20;

pub async fn concurrent_if_version_updates_have_one_winner(store: &Store) {
    let key = dashboard("p1", "contended");
    store
        .create(new_resource(&key, json!({"writer": null})))
        .await
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (store, key) = (store.clone(), key.clone());
        tasks.spawn(async move {
            let update = new_resource(&key, json!({"writer": writer}));
            (
                writer,
                store.update(update, Precondition::IfVersion(0)).await,
            )
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (writer, Ok(written)) => {
                assert_eq!(written.version, 1);
                winners.push(writer);
            }
            (_, Err(StoreError::PreconditionFailed { current: 1 })) => {}
            (_, Err(other)) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.spec, Some(json!({"writer": winners[0]})));
    let history = store.list_versions(&key).await.unwrap();
    assert_eq!(history.len(), 2, "one past version for the one update");
}

pub async fn concurrent_creates_have_one_winner(store: &Store) {
    let key = dashboard("p1", "raced");
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (store, key) = (store.clone(), key.clone());
        tasks.spawn(async move {
            store
                .create(new_resource(&key, json!({"writer": writer})))
                .await
        });
    }
    let mut created = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::AlreadyExists) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created, 1);
}
