//! The audit log and credentials tables.

use chrono::{DateTime, TimeDelta, Utc};
use pharos_store::{AuditEntry, AuditQuery, Credential, CredentialKind, Store, StoreError};
use serde_json::json;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 123_456_789).unwrap()
}

fn entry(seconds: i64, actor: &str, action: &str, project: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: at(seconds),
        request_id: format!("req-{seconds}"),
        actor: actor.to_owned(),
        action: action.to_owned(),
        resource: "Dashboard".to_owned(),
        project: project.to_owned(),
        name: "gpu".to_owned(),
        result: "ok".to_owned(),
        status: 200,
        client_ip: "10.1.2.3".to_owned(),
        detail: json!({"version": seconds}),
    }
}

fn credential(id: &str, kind: CredentialKind, created: i64) -> Credential {
    Credential {
        id: id.to_owned(),
        kind,
        digest: format!("digest-{id}"),
        owner: "alice".to_owned(),
        project: "team-a".to_owned(),
        target: "gpu".to_owned(),
        scope: json!({"variables": {"namespace": "team-a"}}),
        created_at: at(created),
        expires_at: Some(at(created + 3600)),
        revoked_at: None,
        last_used_at: None,
    }
}

pub async fn audit_entries_round_trip_filter_and_page(store: &Store) {
    for (i, (actor, action, project)) in [
        ("alice", "create", "team-a"),
        ("bob", "login", ""),
        ("alice", "update", "team-a"),
        ("alice", "share.create", "team-a"),
        ("bob", "update", "team-b"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .append_audit(&entry(i as i64, actor, action, project))
            .await
            .unwrap();
    }
    let everything = store
        .audit_log(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(everything.entries.len(), 5);
    assert_eq!(everything.next_cursor, None);
    // Newest first, every field back exactly (nanoseconds included).
    let newest = &everything.entries[0];
    assert_eq!(
        (newest.actor.as_str(), newest.project.as_str()),
        ("bob", "team-b")
    );
    assert_eq!(newest.at, at(4));
    assert_eq!(newest.detail, json!({"version": 4}));
    assert_eq!(newest.client_ip, "10.1.2.3");

    let alice = store
        .audit_log(&AuditQuery {
            actor: "alice".to_owned(),
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = alice.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["share.create", "update"]);
    let rest = store
        .audit_log(&AuditQuery {
            actor: "alice".to_owned(),
            limit: 2,
            before_seq: alice.next_cursor,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = rest.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create"]);
    assert_eq!(rest.next_cursor, None);

    let window = store
        .audit_log(&AuditQuery {
            from: Some(at(1)),
            to: Some(at(3)),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = window.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["update", "login"]);

    let team_b_updates = store
        .audit_log(&AuditQuery {
            action: "update".to_owned(),
            project: "team-b".to_owned(),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(team_b_updates.entries.len(), 1);
}

pub async fn audit_filters_are_bound_not_spliced(store: &Store) {
    store
        .append_audit(&entry(0, "alice", "create", "team-a"))
        .await
        .unwrap();
    let hostile = store
        .audit_log(&AuditQuery {
            actor: "x' OR '1'='1".to_owned(),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(hostile.entries.is_empty());
}

pub async fn audit_retention_purges_old_entries_only(store: &Store) {
    for i in 0..4 {
        store
            .append_audit(&entry(i * 100, "alice", "create", "team-a"))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_audit_before(at(150)).await.unwrap(), 2);
    let left = store
        .audit_log(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let times: Vec<DateTime<Utc>> = left.entries.iter().map(|e| e.at).collect();
    assert_eq!(times, [at(300), at(200)]);
}

pub async fn credentials_are_found_by_digest_listed_and_revoked(store: &Store) {
    let share = credential("s1", CredentialKind::Share, 0);
    store.create_credential(&share).await.unwrap();
    store
        .create_credential(&credential("s2", CredentialKind::Share, 10))
        .await
        .unwrap();
    store
        .create_credential(&credential("t1", CredentialKind::ApiToken, 20))
        .await
        .unwrap();

    let found = store
        .credential_by_digest(CredentialKind::Share, "digest-s1")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&share));
    // The digest of one kind does not answer for another.
    assert_eq!(
        store
            .credential_by_digest(CredentialKind::ApiToken, "digest-s1")
            .await
            .unwrap(),
        None
    );

    let shares = store
        .list_credentials(CredentialKind::Share, "", "team-a", "gpu")
        .await
        .unwrap();
    let ids: Vec<&str> = shares.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["s2", "s1"]);
    assert_eq!(
        store
            .count_credentials_since(CredentialKind::Share, "team-a", "gpu", at(5))
            .await
            .unwrap(),
        1
    );

    assert!(
        store
            .revoke_credential(CredentialKind::Share, "s1", at(30))
            .await
            .unwrap()
    );
    // Twice, or under the wrong kind, changes nothing.
    assert!(
        !store
            .revoke_credential(CredentialKind::Share, "s1", at(40))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_credential(CredentialKind::ApiToken, "s2", at(40))
            .await
            .unwrap()
    );
    store.touch_credential("s2", at(50)).await.unwrap();
    let after = store
        .list_credentials(CredentialKind::Share, "alice", "", "")
        .await
        .unwrap();
    assert_eq!(after[1].revoked_at, Some(at(30)));
    assert_eq!(after[0].revoked_at, None);
    assert_eq!(after[0].last_used_at, Some(at(50)));
}

pub async fn duplicate_credentials_are_refused(store: &Store) {
    store
        .create_credential(&credential("s1", CredentialKind::Share, 0))
        .await
        .unwrap();
    let mut same_digest = credential("s9", CredentialKind::Share, 0);
    same_digest.digest = "digest-s1".to_owned();
    assert!(matches!(
        store.create_credential(&same_digest).await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store
            .create_credential(&credential("s1", CredentialKind::ApiToken, 0))
            .await,
        Err(StoreError::AlreadyExists)
    ));
}

pub async fn expired_and_revoked_credentials_are_purged(store: &Store) {
    let mut never = credential("forever", CredentialKind::ApiToken, 0);
    never.expires_at = None;
    store.create_credential(&never).await.unwrap();
    store
        .create_credential(&credential("old", CredentialKind::Share, 0))
        .await
        .unwrap();
    store
        .create_credential(&credential("fresh", CredentialKind::Share, 10_000))
        .await
        .unwrap();
    store
        .create_credential(&credential("revoked", CredentialKind::Share, 10_000))
        .await
        .unwrap();
    store
        .revoke_credential(CredentialKind::Share, "revoked", at(5_000))
        .await
        .unwrap();
    let purged = store
        .purge_credentials_before(at(0) + TimeDelta::seconds(8_000))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    let mut left: Vec<String> = store
        .list_credentials(CredentialKind::Share, "", "", "")
        .await
        .unwrap()
        .into_iter()
        .chain(
            store
                .list_credentials(CredentialKind::ApiToken, "", "", "")
                .await
                .unwrap(),
        )
        .map(|c| c.id)
        .collect();
    left.sort();
    assert_eq!(left, ["forever", "fresh"]);
}

pub async fn preferences_are_kept_per_user(store: &Store) {
    assert_eq!(store.preferences("alice").await.unwrap(), None);
    let first =
        serde_json::json!({"theme": "dark", "favourites": [{"project": "p", "dashboard": "d"}]});
    store.put_preferences("alice", &first, at(1)).await.unwrap();
    let second = serde_json::json!({"theme": "light"});
    store
        .put_preferences("alice", &second, at(2))
        .await
        .unwrap();
    store.put_preferences("bob", &first, at(2)).await.unwrap();
    assert_eq!(store.preferences("alice").await.unwrap(), Some(second));
    assert_eq!(store.preferences("bob").await.unwrap(), Some(first));
    assert_eq!(
        store.preferences("ALICE").await.unwrap(),
        None,
        "names are exact"
    );
}
