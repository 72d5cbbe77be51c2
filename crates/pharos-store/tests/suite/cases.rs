//! Create, read, update, list, preconditions, key validation and secrets.

use pharos_store::testing::{random_secret_key, raw_spec_column, with_secret_key};
use pharos_store::{ListQuery, Precondition, ResourceKey, Store, StoreError};
use serde_json::json;

use super::{create_with_updates, dashboard, new_resource};

pub async fn create_then_get_round_trips(store: &Store) {
    let key = dashboard("p1", "cpu");
    let spec = json!({"display": {"name": "CPU"}, "panels": {}, "duration": "1h"});
    let created = store
        .create(new_resource(&key, spec.clone()))
        .await
        .unwrap();
    assert_eq!(created.version, 0);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(created.spec.as_ref(), Some(&spec));

    let fetched = store
        .get(&key)
        .await
        .unwrap()
        .expect("created resource is readable");
    // Exact equality includes the nanoseconds of both timestamps.
    assert_eq!(fetched, created);
    assert_eq!(fetched.metadata_extra, json!({"tags": ["team-a"]}));
    assert!(
        store
            .get(&dashboard("p1", "other"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn duplicate_create_is_already_exists(store: &Store) {
    let key = dashboard("p1", "cpu");
    store
        .create(new_resource(&key, json!({"a": 1})))
        .await
        .unwrap();
    let err = store
        .create(new_resource(&key, json!({"a": 2})))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    // The failed create left the original untouched.
    let kept = store.get(&key).await.unwrap().unwrap();
    assert_eq!(kept.spec, Some(json!({"a": 1})));
    // Same name in another project or of another kind is a different resource.
    store
        .create(new_resource(&dashboard("p2", "cpu"), json!({})))
        .await
        .unwrap();
    let datasource = ResourceKey::project_scoped("Datasource", "p1", "cpu");
    store
        .create(new_resource(&datasource, json!({})))
        .await
        .unwrap();
}

pub async fn global_and_project_resources_are_distinct(store: &Store) {
    let global = ResourceKey::global("Datasource", "prom");
    let scoped = ResourceKey::project_scoped("Datasource", "p1", "prom");
    store
        .create(new_resource(&global, json!({"scope": "global"})))
        .await
        .unwrap();
    store
        .create(new_resource(&scoped, json!({"scope": "project"})))
        .await
        .unwrap();
    let err = store
        .create(new_resource(&global, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    let fetched = store.get(&global).await.unwrap().unwrap();
    assert_eq!(fetched.key.project, None);
    assert_eq!(fetched.spec, Some(json!({"scope": "global"})));
    let fetched = store.get(&scoped).await.unwrap().unwrap();
    assert_eq!(fetched.spec, Some(json!({"scope": "project"})));
}

pub async fn update_bumps_version_and_keeps_created_at(store: &Store) {
    let key = dashboard("p1", "cpu");
    let created = store
        .create(new_resource(&key, json!({"rev": 0})))
        .await
        .unwrap();
    let mut changed = new_resource(&key, json!({"rev": 1}));
    changed.metadata_extra = json!({"tags": ["team-b"]});
    let updated = store.update(changed, Precondition::None).await.unwrap();
    assert_eq!(updated.version, 1);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);

    let fetched = store.get(&key).await.unwrap().unwrap();
    assert_eq!(fetched, updated);
    assert_eq!(fetched.spec, Some(json!({"rev": 1})));
    assert_eq!(fetched.metadata_extra, json!({"tags": ["team-b"]}));
}

pub async fn update_of_missing_resource_is_not_found(store: &Store) {
    let key = dashboard("p1", "ghost");
    let err = store
        .update(new_resource(&key, json!({})), Precondition::None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(
        store.get(&key).await.unwrap().is_none(),
        "update must not create"
    );
}

pub async fn if_version_precondition_guards_update_and_delete(store: &Store) {
    let key = dashboard("p1", "cpu");
    create_with_updates(store, &key, 1).await;

    let err = store
        .update(
            new_resource(&key, json!({"rev": "lost"})),
            Precondition::IfVersion(0),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { current: 1 }),
        "{err:?}"
    );
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().spec,
        Some(json!({"rev": 1}))
    );

    let updated = store
        .update(
            new_resource(&key, json!({"rev": 2})),
            Precondition::IfVersion(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);

    let err = store
        .delete(&key, Precondition::IfVersion(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { current: 2 }),
        "{err:?}"
    );
    assert!(
        store.get(&key).await.unwrap().is_some(),
        "failed delete keeps the resource"
    );
    let deleted = store
        .delete(&key, Precondition::IfVersion(2))
        .await
        .unwrap();
    assert_eq!(deleted.version, 2);
    assert!(store.get(&key).await.unwrap().is_none());
}

pub async fn stale_client_version_is_rejected(store: &Store) {
    let key = dashboard("p1", "cpu");
    create_with_updates(store, &key, 2).await;
    let err = store
        .update(
            new_resource(&key, json!({"rev": "old"})),
            Precondition::NotOlderThan(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StaleVersion {
                sent: 1,
                current: 2
            }
        ),
        "{err:?}"
    );
    let updated = store
        .update(
            new_resource(&key, json!({"rev": 3})),
            Precondition::NotOlderThan(2),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 3);
}

fn names(resources: &[pharos_store::StoredResource]) -> Vec<String> {
    resources
        .iter()
        .map(|r| format!("{}/{}", r.key.project.as_deref().unwrap_or("-"), r.key.name))
        .collect()
}

fn query(kind: &str, project: Option<&str>, prefix: Option<&str>) -> ListQuery {
    ListQuery {
        kind: kind.into(),
        project: project.map(Into::into),
        name_prefix: prefix.map(Into::into),
        include_spec: true,
    }
}

pub async fn list_filters_by_kind_and_project_in_order(store: &Store) {
    for (project, name) in [("pb", "z"), ("pa", "y"), ("pb", "a"), ("pa", "b")] {
        store
            .create(new_resource(&dashboard(project, name), json!({})))
            .await
            .unwrap();
    }
    let ds = ResourceKey::project_scoped("Datasource", "pa", "prom");
    store.create(new_resource(&ds, json!({}))).await.unwrap();

    let all = store.list(&query("Dashboard", None, None)).await.unwrap();
    assert_eq!(names(&all), ["pa/b", "pa/y", "pb/a", "pb/z"]);
    let pb = store
        .list(&query("Dashboard", Some("pb"), None))
        .await
        .unwrap();
    assert_eq!(names(&pb), ["pb/a", "pb/z"]);
    let datasources = store.list(&query("Datasource", None, None)).await.unwrap();
    assert_eq!(names(&datasources), ["pa/prom"]);
    assert!(
        store
            .list(&query("Dashboard", Some("nope"), None))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn list_name_prefix_is_literal_and_case_sensitive(store: &Store) {
    for name in ["a_b", "axb", "a%c", "abc", "Abd", "a\\d"] {
        store
            .create(new_resource(&dashboard("p", name), json!({})))
            .await
            .unwrap();
    }
    let list = async |prefix: &str| {
        store
            .list(&query("Dashboard", Some("p"), Some(prefix)))
            .await
    };
    assert_eq!(names(&list("a_").await.unwrap()), ["p/a_b"]);
    assert_eq!(names(&list("a%").await.unwrap()), ["p/a%c"]);
    assert_eq!(names(&list("a\\").await.unwrap()), ["p/a\\d"]);
    assert_eq!(names(&list("A").await.unwrap()), ["p/Abd"]);
    // Byte order: '%' < '\\' < '_' < 'b' < 'x'; "Abd" does not start with lowercase "a".
    assert_eq!(
        names(&list("a").await.unwrap()),
        ["p/a%c", "p/a\\d", "p/a_b", "p/abc", "p/axb"]
    );
    assert!(list("ab_").await.unwrap().is_empty());
}

pub async fn list_without_spec_omits_specs(store: &Store) {
    create_with_updates(store, &dashboard("p", "one"), 2).await;
    store
        .create(new_resource(&dashboard("p", "two"), json!({"x": 1})))
        .await
        .unwrap();
    let mut q = query("Dashboard", Some("p"), None);
    q.include_spec = false;
    let light = store.list(&q).await.unwrap();
    assert_eq!(names(&light), ["p/one", "p/two"]);
    assert!(light.iter().all(|r| r.spec.is_none()));
    assert_eq!(light[0].version, 2);
    assert_eq!(light[0].metadata_extra, json!({"tags": ["team-a"]}));

    q.include_spec = true;
    let full = store.list(&q).await.unwrap();
    assert_eq!(full[0].spec, Some(json!({"rev": 2})));
    assert_eq!(full[1].spec, Some(json!({"x": 1})));
    // Apart from the spec, both listings agree.
    let stripped: Vec<_> = full
        .into_iter()
        .map(|r| pharos_store::StoredResource { spec: None, ..r })
        .collect();
    assert_eq!(stripped, light);
}

pub async fn invalid_keys_are_rejected(store: &Store) {
    let empty_project = ResourceKey::project_scoped("Dashboard", "", "x");
    let err = store
        .create(new_resource(&empty_project, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    let empty_name = dashboard("p", "");
    let err = store
        .create(new_resource(&empty_name, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
}

pub async fn ping_and_backend_name(store: &Store) {
    store.ping().await.unwrap();
    assert!(["sqlite", "postgres"].contains(&store.backend_name()));
}

pub async fn secrets_are_not_stored_in_clear(store: &Store) {
    let key = ResourceKey::project_scoped("Secret", "p1", "prom-auth");
    let spec = json!({"basicAuth": {"username": "admin", "password": "hunter2-very-secret"}});
    store
        .create(new_resource(&key, spec.clone()))
        .await
        .unwrap();
    let raw = raw_spec_column(store, &key).await.unwrap().unwrap();
    assert!(!raw.contains("hunter2-very-secret"), "raw column: {raw}");
    assert!(!raw.contains("basicAuth"), "raw column: {raw}");
    assert_eq!(store.get(&key).await.unwrap().unwrap().spec, Some(spec));

    let changed = json!({"basicAuth": {"username": "admin", "password": "second-password"}});
    store
        .update(new_resource(&key, changed.clone()), Precondition::None)
        .await
        .unwrap();
    let raw = raw_spec_column(store, &key).await.unwrap().unwrap();
    assert!(!raw.contains("second-password"), "raw column: {raw}");
    assert_eq!(store.get(&key).await.unwrap().unwrap().spec, Some(changed));

    let global = ResourceKey::global("GlobalSecret", "shared");
    store
        .create(new_resource(&global, json!({"token": "tok-123456"})))
        .await
        .unwrap();
    let raw = raw_spec_column(store, &global).await.unwrap().unwrap();
    assert!(!raw.contains("tok-123456"), "raw column: {raw}");

    // Non-secret kinds stay readable JSON in the database.
    let ds = ResourceKey::project_scoped("Datasource", "p1", "prom");
    store
        .create(new_resource(&ds, json!({"url": "http://prom:9090"})))
        .await
        .unwrap();
    let raw = raw_spec_column(store, &ds).await.unwrap().unwrap();
    assert!(raw.contains("http://prom:9090"), "raw column: {raw}");
}

pub async fn wrong_secret_key_fails_clearly(store: &Store) {
    let key = ResourceKey::project_scoped("Secret", "p1", "prom-auth");
    store
        .create(new_resource(&key, json!({"password": "hunter2"})))
        .await
        .unwrap();
    let wrong = with_secret_key(store, &random_secret_key()).unwrap();

    let err = wrong.get(&key).await.unwrap_err();
    match &err {
        StoreError::Crypto(message) => assert!(message.contains("secret key"), "{message}"),
        other => panic!("expected a Crypto error, got {other:?}"),
    }
    assert!(!err.to_string().contains("hunter2"));
    let mut q = query("Secret", Some("p1"), None);
    assert!(matches!(wrong.list(&q).await, Err(StoreError::Crypto(_))));
    // Metadata-only listings never decrypt, so they work without the right key...
    q.include_spec = false;
    assert_eq!(names(&wrong.list(&q).await.unwrap()), ["p1/prom-auth"]);
    // ...and the right key still reads the secret.
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().spec,
        Some(json!({"password": "hunter2"}))
    );
    // A secret whose key was lost can still be deleted.
    wrong.delete(&key, Precondition::None).await.unwrap();
    assert!(store.get(&key).await.unwrap().is_none());
}
