//! The store's behaviour, written once and run against every engine by `engine_tests!`.
//! Each case gets a fresh, empty store.

pub mod cases;
pub mod concurrency;
pub mod history_trash;
pub mod identity;

use pharos_store::{NewResource, ResourceKey, Store, StoreOptions, StoredResource};
use serde_json::{Value, json};

/// A store plus whatever keeps its database alive for the test's duration.
pub struct Fixture {
    pub store: Store,
    pub _keep: Option<pharos_store::testing::TempDirGuard>,
}

/// Options for the history-pruning case.
pub fn keep_two_versions() -> StoreOptions {
    StoreOptions {
        max_versions: Some(2),
        ..StoreOptions::default()
    }
}

pub fn dashboard(project: &str, name: &str) -> ResourceKey {
    ResourceKey::project_scoped("Dashboard", project, name)
}

pub fn new_resource(key: &ResourceKey, spec: Value) -> NewResource {
    NewResource {
        key: key.clone(),
        metadata_extra: json!({"tags": ["team-a"]}),
        spec,
    }
}

/// Creates `key` with `{"rev": 0}` and applies `updates` unconditional updates
/// (`{"rev": 1}`, `{"rev": 2}`, ...); returns the last state.
pub async fn create_with_updates(store: &Store, key: &ResourceKey, updates: u64) -> StoredResource {
    let mut last = store
        .create(new_resource(key, json!({"rev": 0})))
        .await
        .unwrap();
    for rev in 1..=updates {
        last = store
            .update(
                new_resource(key, json!({"rev": rev})),
                pharos_store::Precondition::None,
            )
            .await
            .unwrap();
    }
    last
}

/// Generates one `#[tokio::test]` per case for an engine. `$open` is an
/// `async fn(StoreOptions) -> Option<Fixture>`; `None` skips (engine not configured).
#[macro_export]
macro_rules! engine_tests {
    ($open:ident) => {
        $crate::engine_tests!(@default $open;
            cases::create_then_get_round_trips,
            cases::duplicate_create_is_already_exists,
            cases::global_and_project_resources_are_distinct,
            cases::update_bumps_version_and_keeps_created_at,
            cases::update_of_missing_resource_is_not_found,
            cases::if_version_precondition_guards_update_and_delete,
            cases::stale_client_version_is_rejected,
            cases::list_filters_by_kind_and_project_in_order,
            cases::list_name_prefix_is_literal_and_case_sensitive,
            cases::list_without_spec_omits_specs,
            cases::invalid_keys_are_rejected,
            cases::ping_and_backend_name,
            cases::secrets_are_not_stored_in_clear,
            cases::wrong_secret_key_fails_clearly,
            history_trash::delete_moves_to_trash_and_restore_brings_history_back,
            history_trash::restore_from_trash_refuses_to_overwrite_a_live_resource,
            history_trash::deleting_again_replaces_the_older_trash_entry,
            history_trash::non_trashable_delete_is_permanent,
            history_trash::purge_expired_trash_removes_only_old_entries,
            history_trash::history_lists_gets_and_restores_versions,
            history_trash::restore_version_checks_precondition_and_version,
            history_trash::non_versioned_kinds_keep_no_history,
            history_trash::delete_project_cascades_in_one_go,
            concurrency::concurrent_if_version_updates_have_one_winner,
            concurrency::concurrent_creates_have_one_winner,
            identity::audit_entries_round_trip_filter_and_page,
            identity::audit_filters_are_bound_not_spliced,
            identity::audit_retention_purges_old_entries_only,
            identity::credentials_are_found_by_digest_listed_and_revoked,
            identity::duplicate_credentials_are_refused,
            identity::expired_and_revoked_credentials_are_purged,
            identity::preferences_are_kept_per_user
        );
        $crate::engine_tests!(@with $open; history_trash::history_is_pruned_to_max_versions,
            $crate::suite::keep_two_versions());
    };
    (@default $open:ident; $($module:ident :: $case:ident),* $(,)?) => {
        $( $crate::engine_tests!(@with $open; $module::$case, pharos_store::StoreOptions::default()); )*
    };
    (@with $open:ident; $module:ident :: $case:ident, $options:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(fixture) = $open($options).await else {
                eprintln!("skipped: engine not configured");
                return;
            };
            $crate::suite::$module::$case(&fixture.store).await;
        }
    };
}
