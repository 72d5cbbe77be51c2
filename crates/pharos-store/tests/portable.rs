//! Export and import of the whole store (backup / restore), between every pair of engines:
//! SQLite → SQLite, SQLite → PostgreSQL, PostgreSQL → SQLite, PostgreSQL → PostgreSQL.
//! PostgreSQL cases are skipped unless `PHAROS_TEST_DATABASE_URL` is set (and fail instead
//! with `PHAROS_REQUIRE_POSTGRES=1`); see `pharos_store::testing`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use pharos_store::testing::fresh_postgres_database;
use pharos_store::{
    AuditEntry, AuditQuery, ConfigManifest, Credential, CredentialKind, ListQuery, NewResource,
    PortableError, Precondition, ResourceKey, SecretCipher, SecretKeySource, Store, StoreConfig,
};
use serde_json::json;

#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

struct Opened {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    /// The SQLite file, for schema checks.
    sqlite_path: Option<std::path::PathBuf>,
}

/// A fresh, empty store of `engine` with `key`; `None` when PostgreSQL is not configured.
async fn open(engine: Engine, key: &str) -> Option<Opened> {
    let (url, dir, sqlite_path) = match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pharos.db");
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Some(dir),
                Some(path),
            )
        }
        Engine::Postgres => (fresh_postgres_database().await?, None, None),
    };
    let config = StoreConfig::new(url, SecretKeySource::Configured(key.to_owned()));
    Some(Opened {
        store: Store::open(&config).await.unwrap(),
        _dir: dir,
        sqlite_path,
    })
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 987_654_321).unwrap()
}

fn dashboard(name: &str) -> ResourceKey {
    ResourceKey::project_scoped("Dashboard", "team-a", name)
}

fn secret() -> ResourceKey {
    ResourceKey::project_scoped("Secret", "team-a", "db")
}

fn new(key: &ResourceKey, spec: serde_json::Value) -> NewResource {
    NewResource {
        key: key.clone(),
        metadata_extra: json!({"tags": ["gpu"]}),
        spec,
    }
}

/// A project, a dashboard with history, a trashed dashboard with history, a secret, a user,
/// audit entries, credentials and preferences.
async fn fill(store: &Store) {
    store
        .create(new(&ResourceKey::global("Project", "team-a"), json!({})))
        .await
        .unwrap();
    store
        .create(new(&dashboard("gpu"), json!({"rev": 0})))
        .await
        .unwrap();
    for rev in 1..=3 {
        store
            .update(
                new(&dashboard("gpu"), json!({"rev": rev})),
                Precondition::None,
            )
            .await
            .unwrap();
    }
    store
        .create(new(&dashboard("old"), json!({"rev": 0})))
        .await
        .unwrap();
    store
        .update(
            new(&dashboard("old"), json!({"rev": 1})),
            Precondition::None,
        )
        .await
        .unwrap();
    store
        .delete(&dashboard("old"), Precondition::None)
        .await
        .unwrap();
    store
        .create(new(
            &secret(),
            json!({"basicAuth": {"password": "hunter2"}}),
        ))
        .await
        .unwrap();
    store
        .create(new(
            &ResourceKey::global("User", "erin"),
            json!({"nativeProvider": {"password": "$argon2id$..."}}),
        ))
        .await
        .unwrap();
    for i in 0..3 {
        store
            .append_audit(&AuditEntry {
                seq: 0,
                at: at(i),
                request_id: format!("req-{i}"),
                actor: "erin".into(),
                action: "update".into(),
                resource: "Dashboard".into(),
                project: "team-a".into(),
                name: "gpu".into(),
                result: "ok".into(),
                status: 200,
                client_ip: "10.0.0.1".into(),
                detail: json!({"version": i}),
            })
            .await
            .unwrap();
    }
    for credential in credentials() {
        store.create_credential(&credential).await.unwrap();
    }
    store
        .put_preferences(
            "erin",
            &json!({"theme": "dark", "timezone": "Europe/Paris"}),
            at(40),
        )
        .await
        .unwrap();
}

fn credentials() -> Vec<Credential> {
    vec![
        Credential {
            id: "tok1".into(),
            kind: CredentialKind::ApiToken,
            digest: "digest-tok1".into(),
            owner: "erin".into(),
            project: "team-a".into(),
            target: String::new(),
            scope: json!({"actions": ["read"]}),
            created_at: at(10),
            expires_at: None,
            revoked_at: None,
            last_used_at: Some(at(11)),
        },
        Credential {
            id: "share1".into(),
            kind: CredentialKind::Share,
            digest: "digest-share1".into(),
            owner: "erin".into(),
            project: "team-a".into(),
            target: "gpu".into(),
            scope: json!({"variables": {"ns": "team-a"}}),
            created_at: at(20),
            expires_at: Some(at(3600)),
            revoked_at: Some(at(30)),
            last_used_at: None,
        },
    ]
}

async fn everything_audited(store: &Store) -> Vec<AuditEntry> {
    store
        .audit_log(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .entries
}

async fn all_of(store: &Store, kind: &str) -> Vec<pharos_store::StoredResource> {
    store
        .list(&ListQuery {
            kind: kind.to_owned(),
            project: None,
            name_prefix: None,
            include_spec: true,
        })
        .await
        .unwrap()
}

/// Asserts that `target` holds exactly what [`fill`] put into `source`.
async fn assert_same_content(source: &Store, target: &Store) {
    for kind in ["Project", "Dashboard", "Secret", "User"] {
        assert_eq!(
            all_of(source, kind).await,
            all_of(target, kind).await,
            "{kind}"
        );
    }
    let secret = target.get(&secret()).await.unwrap().unwrap();
    assert_eq!(
        secret.spec,
        Some(json!({"basicAuth": {"password": "hunter2"}})),
        "the secret decrypts with the same key"
    );
    let versions = target.list_versions(&dashboard("gpu")).await.unwrap();
    assert_eq!(
        versions,
        source.list_versions(&dashboard("gpu")).await.unwrap()
    );
    assert_eq!(versions.len(), 4);
    for version in 0..=3 {
        let old = target
            .get_version(&dashboard("gpu"), version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.spec, Some(json!({"rev": version})));
    }
    assert_eq!(
        target.list_trash("Dashboard", None).await.unwrap(),
        source.list_trash("Dashboard", None).await.unwrap()
    );
    assert_eq!(
        everything_audited(target).await,
        everything_audited(source).await
    );
    for credential in credentials() {
        assert_eq!(
            target
                .credential_by_digest(credential.kind, &credential.digest)
                .await
                .unwrap(),
            Some(credential)
        );
    }
    assert_eq!(
        target.preferences("erin").await.unwrap(),
        Some(json!({"theme": "dark", "timezone": "Europe/Paris"}))
    );
}

/// Exports a filled `from` store and imports it into an empty `to` store with the same key;
/// the content is equal and the imported store keeps working (history, trash, audit order).
async fn round_trip(from: Engine, to: Engine) {
    let key = SecretCipher::generate_key_base64();
    let (Some(source), Some(target)) = (open(from, &key).await, open(to, &key).await) else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    fill(&source.store).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = source.store.export(dir.path()).await.unwrap();
    assert_eq!(manifest.sealed_specs, 1);
    let counts = manifest.row_counts();
    assert_eq!(counts["resources"], 4, "{counts:?}");
    assert_eq!(counts["resource_versions"], 4, "3 of gpu + 1 of old");
    assert_eq!(counts["trash"], 1);
    assert_eq!(counts["audit_log"], 3);
    assert_eq!(counts["credentials"], 2);
    assert_eq!(counts["user_preferences"], 1);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains("hunter2"), "no plaintext secret in {text}");
    }

    let imported = target.store.import(dir.path(), &manifest).await.unwrap();
    assert_eq!(imported, counts);
    assert_same_content(&source.store, &target.store).await;

    // Later writes continue the imported numbering instead of colliding with it.
    let next = target
        .store
        .update(
            new(&dashboard("gpu"), json!({"rev": 4})),
            Precondition::None,
        )
        .await
        .unwrap();
    assert_eq!(next.version, 4);
    let mut entry = everything_audited(&target.store).await[0].clone();
    entry.request_id = "after-restore".into();
    target.store.append_audit(&entry).await.unwrap();
    let newest = &everything_audited(&target.store).await[0];
    assert_eq!(newest.request_id, "after-restore");
    assert!(
        newest.seq > 3,
        "seq {} continues after the imported ones",
        newest.seq
    );
    let back = target
        .store
        .restore_from_trash(&dashboard("old"))
        .await
        .unwrap();
    assert_eq!(back.version, 1);
    assert_eq!(
        target
            .store
            .list_versions(&dashboard("old"))
            .await
            .unwrap()
            .len(),
        2,
        "the trashed dashboard's history came along"
    );
}

#[tokio::test]
async fn sqlite_to_sqlite_keeps_everything() {
    round_trip(Engine::Sqlite, Engine::Sqlite).await;
}

#[tokio::test]
async fn sqlite_to_postgres_keeps_everything() {
    round_trip(Engine::Sqlite, Engine::Postgres).await;
}

#[tokio::test]
async fn postgres_to_sqlite_keeps_everything() {
    round_trip(Engine::Postgres, Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_to_postgres_keeps_everything() {
    round_trip(Engine::Postgres, Engine::Postgres).await;
}

/// A filled store's export, in a directory that lives as long as the returned guard.
async fn exported(key: &str) -> (tempfile::TempDir, ConfigManifest, Opened) {
    let source = open(Engine::Sqlite, key).await.unwrap();
    fill(&source.store).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = source.store.export(dir.path()).await.unwrap();
    (dir, manifest, source)
}

async fn refusals_on(engine: Engine) {
    let key = SecretCipher::generate_key_base64();
    let (dir, manifest, _source) = exported(&key).await;

    // A store that already holds data is refused as a whole, and keeps its data.
    let Some(busy) = open(engine, &key).await else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    busy.store
        .put_preferences("zoe", &json!({"theme": "light"}), at(50))
        .await
        .unwrap();
    let err = busy.store.import(dir.path(), &manifest).await.unwrap_err();
    assert!(matches!(err, PortableError::NotEmpty(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("user_preferences: 1 rows") && message.contains("empty"),
        "{message}"
    );
    assert!(all_of(&busy.store, "Dashboard").await.is_empty());
    assert_eq!(
        busy.store.non_empty_tables().await.unwrap(),
        vec![("user_preferences".to_owned(), 1)]
    );

    // Another key: refused before anything is written, saying what to bring.
    let other = open(engine, &SecretCipher::generate_key_base64())
        .await
        .unwrap();
    let err = other.store.import(dir.path(), &manifest).await.unwrap_err();
    assert!(
        matches!(err, PortableError::KeyMismatch { sealed: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("secret.key"), "{err}");
    assert!(other.store.non_empty_tables().await.unwrap().is_empty());

    // A damaged line in the last table rolls back every table before it.
    let target = open(engine, &key).await.unwrap();
    let prefs = dir.path().join("user_preferences.jsonl");
    let good = std::fs::read_to_string(&prefs).unwrap();
    std::fs::write(&prefs, "{\"username\": \"erin\", \"document\": 7}\n").unwrap();
    let err = target
        .store
        .import(dir.path(), &manifest)
        .await
        .unwrap_err();
    assert!(matches!(err, PortableError::Invalid(_)), "{err}");
    assert!(
        err.to_string().contains("user_preferences.jsonl line 1"),
        "{err}"
    );
    assert!(target.store.non_empty_tables().await.unwrap().is_empty());

    // A file shorter than its manifest says (a truncated archive) is refused too.
    std::fs::write(&prefs, "").unwrap();
    let err = target
        .store
        .import(dir.path(), &manifest)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("manifest says 1"), "{err}");
    assert!(target.store.non_empty_tables().await.unwrap().is_empty());

    // A newer format is refused before any file is read.
    std::fs::write(&prefs, good).unwrap();
    let mut newer = manifest.clone();
    newer.format_version += 1;
    let err = target.store.import(dir.path(), &newer).await.unwrap_err();
    assert!(err.to_string().contains("format version"), "{err}");
    target.store.import(dir.path(), &manifest).await.unwrap();
}

#[tokio::test]
async fn sqlite_refuses_non_empty_targets_other_keys_and_damaged_files() {
    refusals_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_refuses_non_empty_targets_other_keys_and_damaged_files() {
    refusals_on(Engine::Postgres).await;
}

/// A table added by a migration but missing from the export list would silently be left out
/// of every backup.
#[tokio::test]
async fn every_table_of_the_schema_is_exported() {
    let key = SecretCipher::generate_key_base64();
    let opened = open(Engine::Sqlite, &key).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = opened.store.export(dir.path()).await.unwrap();
    let mut exported: Vec<String> = manifest.tables.iter().map(|t| t.name.clone()).collect();
    exported.sort();
    let url = format!(
        "sqlite://{}",
        opened.sqlite_path.as_ref().unwrap().display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let schema: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(exported, schema);
}
