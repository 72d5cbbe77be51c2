//! Version history, trash and project deletion.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use pharos_store::{ListQuery, PROJECT_KIND, Precondition, ResourceKey, Store, StoreError};
use serde_json::json;

use super::{create_with_updates, dashboard, new_resource};

fn versions(list: &[pharos_store::VersionInfo]) -> Vec<u64> {
    list.iter().map(|v| v.version).collect()
}

fn trash_names(list: &[pharos_store::TrashedResource]) -> Vec<String> {
    list.iter()
        .map(|t| {
            format!(
                "{}/{}",
                t.resource.key.project.as_deref().unwrap_or("-"),
                t.resource.key.name
            )
        })
        .collect()
}

pub async fn delete_moves_to_trash_and_restore_brings_history_back(store: &Store) {
    let key = dashboard("p1", "cpu");
    let last = create_with_updates(store, &key, 2).await;
    let deleted = store.delete(&key, Precondition::None).await.unwrap();
    assert_eq!(deleted.version, 2);
    assert!(store.get(&key).await.unwrap().is_none());
    assert!(matches!(
        store.list_versions(&key).await,
        Err(StoreError::NotFound)
    ));

    let trash = store.list_trash("Dashboard", Some("p1")).await.unwrap();
    assert_eq!(trash_names(&trash), ["p1/cpu"]);
    let entry = &trash[0];
    assert_eq!(entry.resource.version, 2);
    assert_eq!(entry.purge_at - entry.deleted_at, TimeDelta::days(30));
    assert!(entry.deleted_at >= last.updated_at);
    assert!(
        store
            .list_trash("Dashboard", Some("p2"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_trash("Dashboard", None).await.unwrap().len(), 1);

    let restored = store.restore_from_trash(&key).await.unwrap();
    assert_eq!(restored, last, "restored exactly as it was deleted");
    assert_eq!(store.get(&key).await.unwrap().unwrap(), last);
    assert!(
        store
            .list_trash("Dashboard", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        versions(&store.list_versions(&key).await.unwrap()),
        [2, 1, 0]
    );
    let v0 = store.get_version(&key, 0).await.unwrap().unwrap();
    assert_eq!(v0.spec, Some(json!({"rev": 0})));

    // Delete again and purge: gone for good, history included.
    store.delete(&key, Precondition::None).await.unwrap();
    store.purge_from_trash(&key).await.unwrap();
    assert!(
        store
            .list_trash("Dashboard", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.restore_from_trash(&key).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.purge_from_trash(&key).await,
        Err(StoreError::NotFound)
    ));
    // A new resource with the same name starts without the old history.
    store
        .create(new_resource(&key, json!({"fresh": true})))
        .await
        .unwrap();
    assert_eq!(versions(&store.list_versions(&key).await.unwrap()), [0]);
}

pub async fn restore_from_trash_refuses_to_overwrite_a_live_resource(store: &Store) {
    let key = dashboard("p1", "cpu");
    store
        .create(new_resource(&key, json!({"old": true})))
        .await
        .unwrap();
    store.delete(&key, Precondition::None).await.unwrap();
    store
        .create(new_resource(&key, json!({"new": true})))
        .await
        .unwrap();

    let err = store.restore_from_trash(&key).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().spec,
        Some(json!({"new": true}))
    );
    assert_eq!(
        store.list_trash("Dashboard", None).await.unwrap().len(),
        1,
        "entry kept"
    );
}

pub async fn deleting_again_replaces_the_older_trash_entry(store: &Store) {
    let key = dashboard("p1", "cpu");
    store
        .create(new_resource(&key, json!({"gen": 1})))
        .await
        .unwrap();
    store.delete(&key, Precondition::None).await.unwrap();
    create_with_updates(store, &key, 1).await;
    store.delete(&key, Precondition::None).await.unwrap();

    let trash = store.list_trash("Dashboard", None).await.unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].resource.version, 1);
    let restored = store.restore_from_trash(&key).await.unwrap();
    assert_eq!(restored.spec, Some(json!({"rev": 1})));
    assert_eq!(versions(&store.list_versions(&key).await.unwrap()), [1, 0]);
}

pub async fn non_trashable_delete_is_permanent(store: &Store) {
    let key = ResourceKey::project_scoped("Datasource", "p1", "prom");
    store.create(new_resource(&key, json!({}))).await.unwrap();
    let deleted = store.delete(&key, Precondition::None).await.unwrap();
    assert_eq!(deleted.key, key);
    assert!(deleted.spec.is_none());
    assert!(store.get(&key).await.unwrap().is_none());
    assert!(
        store
            .list_trash("Datasource", None)
            .await
            .unwrap()
            .is_empty()
    );
    let err = store.delete(&key, Precondition::None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub async fn purge_expired_trash_removes_only_old_entries(store: &Store) {
    let old = dashboard("p1", "old");
    let recent = dashboard("p1", "recent");
    create_with_updates(store, &old, 1).await;
    store
        .create(new_resource(&recent, json!({})))
        .await
        .unwrap();
    store.delete(&old, Precondition::None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.delete(&recent, Precondition::None).await.unwrap();

    assert_eq!(store.purge_expired_trash(cutoff).await.unwrap(), 1);
    let trash = store.list_trash("Dashboard", None).await.unwrap();
    assert_eq!(trash_names(&trash), ["p1/recent"]);
    // The purged entry's history went with it: a new "old" starts fresh.
    store.create(new_resource(&old, json!({}))).await.unwrap();
    assert_eq!(versions(&store.list_versions(&old).await.unwrap()), [0]);

    assert_eq!(store.purge_expired_trash(cutoff).await.unwrap(), 0);
    let later = Utc::now() + TimeDelta::seconds(1);
    assert_eq!(store.purge_expired_trash(later).await.unwrap(), 1);
    assert!(
        store
            .list_trash("Dashboard", None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn history_lists_gets_and_restores_versions(store: &Store) {
    let key = dashboard("p1", "cpu");
    let current = create_with_updates(store, &key, 3).await;
    let list = store.list_versions(&key).await.unwrap();
    assert_eq!(versions(&list), [3, 2, 1, 0]);
    assert!(list[0].is_current && list[1..].iter().all(|v| !v.is_current));
    assert_eq!(list[0].updated_at, current.updated_at);
    assert!(list.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));

    let v1 = store.get_version(&key, 1).await.unwrap().unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.spec, Some(json!({"rev": 1})));
    assert_eq!(v1.created_at, current.created_at);
    assert_eq!(v1.updated_at, list[2].updated_at);
    assert_eq!(store.get_version(&key, 3).await.unwrap().unwrap(), current);
    assert!(store.get_version(&key, 9).await.unwrap().is_none());
    assert!(
        store
            .get_version(&dashboard("p1", "nope"), 0)
            .await
            .unwrap()
            .is_none()
    );

    let restored = store
        .restore_version(&key, 1, Precondition::IfVersion(3))
        .await
        .unwrap();
    assert_eq!(restored.version, 4);
    assert_eq!(restored.spec, Some(json!({"rev": 1})));
    assert_eq!(restored.created_at, current.created_at);
    assert_eq!(store.get(&key).await.unwrap().unwrap(), restored);
    assert_eq!(
        versions(&store.list_versions(&key).await.unwrap()),
        [4, 3, 2, 1, 0]
    );
    // The state before the restore is now a past version.
    let v3 = store.get_version(&key, 3).await.unwrap().unwrap();
    assert_eq!(v3.spec, Some(json!({"rev": 3})));
}

pub async fn restore_version_checks_precondition_and_version(store: &Store) {
    let key = dashboard("p1", "cpu");
    create_with_updates(store, &key, 2).await;
    let err = store
        .restore_version(&key, 0, Precondition::IfVersion(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { current: 2 }),
        "{err:?}"
    );
    let err = store
        .restore_version(&key, 7, Precondition::None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .restore_version(&dashboard("p1", "nope"), 0, Precondition::None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().version,
        2,
        "nothing written"
    );
}

pub async fn history_is_pruned_to_max_versions(store: &Store) {
    let key = dashboard("p1", "cpu");
    create_with_updates(store, &key, 5).await;
    // max_versions = 2: the live version plus the two newest past ones.
    assert_eq!(
        versions(&store.list_versions(&key).await.unwrap()),
        [5, 4, 3]
    );
    assert!(store.get_version(&key, 2).await.unwrap().is_none());
    assert_eq!(
        store.get_version(&key, 3).await.unwrap().unwrap().spec,
        Some(json!({"rev": 3}))
    );
}

pub async fn non_versioned_kinds_keep_no_history(store: &Store) {
    let key = ResourceKey::project_scoped("Datasource", "p1", "prom");
    create_with_updates(store, &key, 3).await;
    assert_eq!(versions(&store.list_versions(&key).await.unwrap()), [3]);
    assert!(store.get_version(&key, 1).await.unwrap().is_none());
}

pub async fn delete_project_cascades_in_one_go(store: &Store) {
    let project = ResourceKey::global(PROJECT_KIND, "p1");
    store
        .create(new_resource(&project, json!({})))
        .await
        .unwrap();
    create_with_updates(store, &dashboard("p1", "cpu"), 1).await;
    let datasource = ResourceKey::project_scoped("Datasource", "p1", "prom");
    store
        .create(new_resource(&datasource, json!({})))
        .await
        .unwrap();
    let other_project = ResourceKey::global(PROJECT_KIND, "p2");
    store
        .create(new_resource(&other_project, json!({})))
        .await
        .unwrap();
    store
        .create(new_resource(&dashboard("p2", "cpu"), json!({})))
        .await
        .unwrap();
    let global_ds = ResourceKey::global("GlobalDatasource", "p1");
    store
        .create(new_resource(&global_ds, json!({})))
        .await
        .unwrap();

    store.delete_project("p1").await.unwrap();

    assert!(store.get(&project).await.unwrap().is_none());
    assert!(store.get(&dashboard("p1", "cpu")).await.unwrap().is_none());
    assert!(store.get(&datasource).await.unwrap().is_none());
    // Dashboards are trashable: they wait in the trash, history included.
    let trash = store.list_trash("Dashboard", None).await.unwrap();
    assert_eq!(trash_names(&trash), ["p1/cpu"]);
    assert!(
        store
            .list_trash("Datasource", None)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing outside the project was touched (not even a global resource named "p1").
    assert!(store.get(&other_project).await.unwrap().is_some());
    assert!(store.get(&dashboard("p2", "cpu")).await.unwrap().is_some());
    assert!(store.get(&global_ds).await.unwrap().is_some());
    let left = store
        .list(&ListQuery {
            kind: "Datasource".into(),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(left.is_empty());

    assert!(matches!(
        store.delete_project("p1").await,
        Err(StoreError::NotFound)
    ));
    store
        .restore_from_trash(&dashboard("p1", "cpu"))
        .await
        .unwrap();
    assert_eq!(
        versions(&store.list_versions(&dashboard("p1", "cpu")).await.unwrap()),
        [1, 0]
    );
}
