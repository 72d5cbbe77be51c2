//! The store's public data types: keys, resources as written and as read, queries and
//! preconditions. They are model-agnostic: a kind is just a string and a spec just JSON.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::StoreError;

/// Identifies one resource: `kind` (e.g. "Dashboard"), `project` (`None` for global
/// resources such as `GlobalDatasource` or `Project` itself) and `name`. Names are compared
/// exactly; the server normalises case before calling the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// Resource kind, e.g. "Dashboard".
    pub kind: String,
    /// Owning project, `None` for global resources.
    pub project: Option<String>,
    /// Resource name, unique within (kind, project).
    pub name: String,
}

impl ResourceKey {
    /// A key of a resource that lives inside `project`.
    pub fn project_scoped(
        kind: impl Into<String>,
        project: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ResourceKey {
            kind: kind.into(),
            project: Some(project.into()),
            name: name.into(),
        }
    }

    /// A key of a global resource (no project).
    pub fn global(kind: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceKey {
            kind: kind.into(),
            project: None,
            name: name.into(),
        }
    }

    /// The project as stored: global resources use the empty string so the unique key
    /// (kind, project, name) covers them too.
    pub(crate) fn stored_project(&self) -> &str {
        self.project.as_deref().unwrap_or("")
    }

    /// Rejects keys the schema cannot represent unambiguously.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.kind.is_empty() {
            return Err(StoreError::InvalidInput(
                "the resource kind must not be empty".into(),
            ));
        }
        if self.name.is_empty() {
            return Err(StoreError::InvalidInput(
                "the resource name must not be empty".into(),
            ));
        }
        if self.project.as_deref() == Some("") {
            return Err(StoreError::InvalidInput(
                "the project name must not be empty; use no project for global resources".into(),
            ));
        }
        Ok(())
    }

    /// Rebuilds a key from stored columns ('' project = global).
    pub(crate) fn from_stored(kind: String, project: String, name: String) -> Self {
        ResourceKey {
            kind,
            project: (!project.is_empty()).then_some(project),
            name,
        }
    }
}

impl std::fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.project {
            Some(project) => write!(f, "{} {}/{}", self.kind, project, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A resource as the server hands it to the store on create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    /// Which resource.
    pub key: ResourceKey,
    /// Client-owned metadata fields other than the server-managed ones (e.g. `{"tags": [...]}`).
    pub metadata_extra: Value,
    /// The resource spec, already validated by the server.
    pub spec: Value,
}

/// A resource as read back from the store, with its server-managed metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// Which resource.
    pub key: ResourceKey,
    /// When the resource was first created (kept across updates and restores).
    pub created_at: DateTime<Utc>,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
    /// 0 on create, +1 on every update.
    pub version: u64,
    /// Client-owned metadata fields, as given on the last write.
    pub metadata_extra: Value,
    /// The spec; `None` when listed with `include_spec = false` or returned by `delete`.
    pub spec: Option<Value>,
}

/// Optimistic-concurrency check applied to the currently stored version before a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Write unconditionally.
    #[default]
    None,
    /// ETag / If-Match: the stored version must equal this one, else `PreconditionFailed`.
    IfVersion(u64),
    /// The client sent `metadata.version`: the stored version must not be newer, else
    /// `StaleVersion` (the client would overwrite changes it has not seen).
    NotOlderThan(u64),
}

impl Precondition {
    /// Checks the precondition against the version currently stored.
    pub fn check(self, current: u64) -> Result<(), StoreError> {
        match self {
            Precondition::None => Ok(()),
            Precondition::IfVersion(expected) if expected != current => {
                Err(StoreError::PreconditionFailed { current })
            }
            Precondition::NotOlderThan(sent) if current > sent => {
                Err(StoreError::StaleVersion { sent, current })
            }
            Precondition::IfVersion(_) | Precondition::NotOlderThan(_) => Ok(()),
        }
    }
}

/// Filter for [`Store::list`](crate::Store::list).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// Only resources of this kind.
    pub kind: String,
    /// Only resources of this project; `None` lists every project (and global resources).
    pub project: Option<String>,
    /// Only names starting with this prefix (compared literally: `%` and `_` are not wildcards).
    pub name_prefix: Option<String>,
    /// Whether to read and decode specs; `false` is much cheaper for large listings.
    pub include_spec: bool,
}

/// One entry of a resource's version history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version number.
    pub version: u64,
    /// When that version was written.
    pub updated_at: DateTime<Utc>,
    /// Whether this is the live version (the first entry of the list).
    pub is_current: bool,
    /// Who wrote it (`metadata_extra.updatedBy`), when the writer recorded it.
    pub updated_by: Option<String>,
}

/// A deleted resource waiting in the trash.
#[derive(Debug, Clone, PartialEq)]
pub struct TrashedResource {
    /// The resource as it was when deleted (`spec` is `None` in listings).
    pub resource: StoredResource,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
    /// When it becomes eligible for purging (`deleted_at` + `StoreOptions::trash_retention`).
    pub purge_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_version_requires_exact_match() {
        assert!(Precondition::IfVersion(3).check(3).is_ok());
        assert!(matches!(
            Precondition::IfVersion(2).check(3),
            Err(StoreError::PreconditionFailed { current: 3 })
        ));
        assert!(matches!(
            Precondition::IfVersion(4).check(3),
            Err(StoreError::PreconditionFailed { current: 3 })
        ));
    }

    #[test]
    fn not_older_than_rejects_only_newer_stored_versions() {
        assert!(Precondition::NotOlderThan(3).check(3).is_ok());
        assert!(Precondition::NotOlderThan(5).check(3).is_ok());
        assert!(matches!(
            Precondition::NotOlderThan(2).check(3),
            Err(StoreError::StaleVersion {
                sent: 2,
                current: 3
            })
        ));
    }

    #[test]
    fn empty_project_is_rejected_but_global_is_fine() {
        assert!(
            ResourceKey::global("GlobalDatasource", "prom")
                .validate()
                .is_ok()
        );
        assert!(
            ResourceKey::project_scoped("Dashboard", "", "d")
                .validate()
                .is_err()
        );
        assert!(ResourceKey::global("Dashboard", "").validate().is_err());
    }

    #[test]
    fn stored_project_round_trips() {
        let global = ResourceKey::global("Project", "p1");
        let back = ResourceKey::from_stored(
            global.kind.clone(),
            global.stored_project().to_owned(),
            global.name.clone(),
        );
        assert_eq!(back, global);
        let scoped = ResourceKey::project_scoped("Dashboard", "p1", "d");
        let back = ResourceKey::from_stored(
            scoped.kind.clone(),
            scoped.stored_project().to_owned(),
            scoped.name.clone(),
        );
        assert_eq!(back, scoped);
    }
}
