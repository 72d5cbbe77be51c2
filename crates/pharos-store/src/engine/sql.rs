//! SQL shared by both engines. SQLite (through sqlx) accepts PostgreSQL's `$N` placeholders,
//! so only statements that really differ live in the engine modules (row locking, prefix
//! matching, how write transactions begin).

macro_rules! live_columns {
    () => {
        "uid, kind, project, name, version, created_at, updated_at, metadata_extra"
    };
}

macro_rules! find_live {
    () => {
        concat!(
            "SELECT ",
            live_columns!(),
            ", spec_sealed, spec FROM resources WHERE kind = $1 AND project = $2 AND name = $3"
        )
    };
}

macro_rules! project_live {
    () => {
        concat!(
            "SELECT ",
            live_columns!(),
            ", spec_sealed, spec FROM resources WHERE project = $1 OR (kind = $2 AND project = '' AND name = $1) ORDER BY kind, name"
        )
    };
}

macro_rules! find_trash {
    () => {
        concat!(
            "SELECT ",
            live_columns!(),
            ", deleted_at, spec_sealed, spec FROM trash WHERE kind = $1 AND project = $2 AND name = $3"
        )
    };
}

/// A live resource with its spec, by key.
pub(crate) const FIND_LIVE: &str = find_live!();
/// Same, locking the row until the transaction ends (PostgreSQL).
pub(crate) const FIND_LIVE_FOR_UPDATE: &str = concat!(find_live!(), " FOR UPDATE");

/// Every live resource of a project ($1) plus the Project row itself (kind $2, global).
pub(crate) const PROJECT_LIVE: &str = project_live!();
/// Same, locking the rows (PostgreSQL).
pub(crate) const PROJECT_LIVE_FOR_UPDATE: &str = concat!(project_live!(), " FOR UPDATE");

/// A trash entry with its spec, by key.
pub(crate) const FIND_TRASH: &str = find_trash!();
/// Same, locking the row (PostgreSQL).
pub(crate) const FIND_TRASH_FOR_UPDATE: &str = concat!(find_trash!(), " FOR UPDATE");

/// Start of a listing without specs; continued with the kind bind and optional filters.
pub(crate) const LIST_META_BY_KIND: &str =
    concat!("SELECT ", live_columns!(), " FROM resources WHERE kind = ");
/// Start of a listing with specs.
pub(crate) const LIST_FULL_BY_KIND: &str = concat!(
    "SELECT ",
    live_columns!(),
    ", spec_sealed, spec FROM resources WHERE kind = "
);
/// Start of a trash listing (never with specs).
pub(crate) const LIST_TRASH_BY_KIND: &str = concat!(
    "SELECT ",
    live_columns!(),
    ", deleted_at FROM trash WHERE kind = "
);
/// Listings are ordered by project, then name (global resources first: project '').
pub(crate) const ORDER_BY_PROJECT_NAME: &str = " ORDER BY project, name";

pub(crate) const INSERT_LIVE: &str = "INSERT INTO resources \
     (uid, kind, project, name, version, created_at, updated_at, metadata_extra, spec_sealed, spec) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Compare-and-set on the version, so a lost race can never overwrite silently.
pub(crate) const UPDATE_LIVE: &str = "UPDATE resources \
     SET version = $2, updated_at = $3, metadata_extra = $4, spec_sealed = $5, spec = $6 \
     WHERE uid = $1 AND version = $7";

pub(crate) const DELETE_LIVE: &str = "DELETE FROM resources WHERE uid = $1";

pub(crate) const HISTORY_STAMPS: &str = "SELECT version, updated_at, metadata_extra FROM resource_versions \
     WHERE resource_uid = $1 ORDER BY version DESC";

pub(crate) const FIND_HISTORY: &str = "SELECT version, updated_at, metadata_extra, spec_sealed, spec FROM resource_versions \
     WHERE resource_uid = $1 AND version = $2";

pub(crate) const INSERT_HISTORY: &str = "INSERT INTO resource_versions \
     (resource_uid, version, updated_at, metadata_extra, spec_sealed, spec) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Keeps the newest $2 history entries of resource $1.
pub(crate) const PRUNE_HISTORY: &str = "DELETE FROM resource_versions WHERE resource_uid = $1 \
     AND version NOT IN (SELECT version FROM resource_versions WHERE resource_uid = $1 \
     ORDER BY version DESC LIMIT $2)";

pub(crate) const DELETE_HISTORY: &str = "DELETE FROM resource_versions WHERE resource_uid = $1";

pub(crate) const INSERT_TRASH: &str = "INSERT INTO trash \
     (uid, kind, project, name, version, created_at, updated_at, deleted_at, metadata_extra, \
     spec_sealed, spec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub(crate) const DELETE_TRASH: &str = "DELETE FROM trash WHERE uid = $1";

/// History of trash entries deleted before $1 (run before `PURGE_TRASH_BEFORE`).
pub(crate) const PURGE_HISTORY_OF_TRASH_BEFORE: &str = "DELETE FROM resource_versions \
     WHERE resource_uid IN (SELECT uid FROM trash WHERE deleted_at < $1)";

pub(crate) const PURGE_TRASH_BEFORE: &str = "DELETE FROM trash WHERE deleted_at < $1";

/// The stored `spec` text of a live resource (tests check that secrets are sealed).
#[cfg(any(test, feature = "testing"))]
pub(crate) const RAW_SPEC: &str =
    "SELECT spec FROM resources WHERE kind = $1 AND project = $2 AND name = $3";

/// `LIKE` pattern matching names that start with `prefix` literally (`\` is the escape).
pub(crate) fn like_prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_prefixes_are_escaped() {
        assert_eq!(like_prefix_pattern("a_b%c\\d"), "a\\_b\\%c\\\\d%");
        assert_eq!(like_prefix_pattern(""), "%");
    }
}
