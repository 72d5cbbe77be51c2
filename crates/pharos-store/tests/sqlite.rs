//! The engine suite against SQLite, plus SQLite-specific behaviour (files, key file, WAL).

#[cfg(test)] // marks the shared suite as test code (clippy: unwrap allowed in tests)
mod suite;

use pharos_store::testing::{TempDirGuard, sqlite_store_with};
use pharos_store::{
    NewResource, ResourceKey, SecretKeySource, Store, StoreConfig, StoreError, StoreOptions,
};
use serde_json::json;
use suite::Fixture;

async fn open(options: StoreOptions) -> Option<Fixture> {
    let (store, dir): (Store, TempDirGuard) = sqlite_store_with(options).await;
    Some(Fixture {
        store,
        _keep: Some(dir),
    })
}

engine_tests!(open);

#[tokio::test]
async fn data_and_generated_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("data/pharos.db").display()
        ),
        SecretKeySource::KeyFile(dir.path().join("data/secret.key")),
    );
    config.max_connections = 2;
    let key = ResourceKey::project_scoped("Secret", "p", "s");
    let spec = json!({"password": "hunter2"});
    {
        let store = Store::open(&config).await.unwrap();
        store
            .create(NewResource {
                key: key.clone(),
                metadata_extra: json!({}),
                spec: spec.clone(),
            })
            .await
            .unwrap();
        assert!(
            dir.path().join("data/pharos.db-wal").exists(),
            "WAL journal in use"
        );
        store.close().await;
    }
    assert!(dir.path().join("data/secret.key").exists());
    let reopened = Store::open(&config).await.unwrap();
    assert_eq!(reopened.get(&key).await.unwrap().unwrap().spec, Some(spec));
}

#[tokio::test]
async fn in_memory_database_works() {
    let config = StoreConfig::new(
        "sqlite::memory:",
        pharos_store::testing::random_secret_key(),
    );
    let store = Store::open(&config).await.unwrap();
    let key = ResourceKey::global("Project", "p");
    store
        .create(NewResource {
            key: key.clone(),
            metadata_extra: json!({}),
            spec: json!({}),
        })
        .await
        .unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
}

#[tokio::test]
async fn bad_configuration_is_reported_as_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());

    let bad_key = StoreConfig::new(
        url.clone(),
        SecretKeySource::Configured("dG9vIHNob3J0".into()),
    );
    let err = Store::open(&bad_key).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Config(ref m) if m.contains("32 bytes")),
        "{err}"
    );

    let bad_url = StoreConfig::new("mysql://db/x", pharos_store::testing::random_secret_key());
    let err = Store::open(&bad_url).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Config(ref m) if m.contains("sqlite://")),
        "{err}"
    );
}
