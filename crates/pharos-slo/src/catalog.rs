//! The catalog in the config store: one global resource of kind [`SERVICE_KIND`] per service,
//! named by its id, the spec a [`ServiceEntry`]. Works on SQLite and PostgreSQL alike with no
//! migration; the Perses routes do not serve this kind.

use pharos_store::{
    ListQuery, NewResource, Precondition, ResourceKey, Store, StoreError, StoredResource,
};
use serde_json::json;

use crate::error::SloError;
use crate::model::ServiceEntry;

/// The store kind of a service.
pub const SERVICE_KIND: &str = "LatencyService";

/// An entry and the stored version it was read at.
pub(crate) struct Versioned {
    pub entry: ServiceEntry,
    pub version: u64,
}

fn entry_of(resource: StoredResource) -> Result<Versioned, SloError> {
    let name = resource.key.name;
    let corrupt = |why: String| SloError::Corrupt {
        name: name.clone(),
        why,
    };
    let spec = resource
        .spec
        .ok_or_else(|| corrupt("the spec is missing".to_owned()))?;
    let entry: ServiceEntry = serde_json::from_value(spec).map_err(|e| corrupt(e.to_string()))?;
    Ok(Versioned {
        entry,
        version: resource.version,
    })
}

/// Every entry; one that cannot be read is logged and left out.
pub(crate) async fn list(store: &Store) -> Result<Vec<ServiceEntry>, SloError> {
    let resources = store
        .list(&ListQuery {
            kind: SERVICE_KIND.to_owned(),
            project: None,
            name_prefix: None,
            include_spec: true,
        })
        .await?;
    let mut entries = Vec::with_capacity(resources.len());
    for resource in resources {
        match entry_of(resource) {
            Ok(versioned) => entries.push(versioned.entry),
            Err(error) => tracing::warn!(%error, "skipping an unreadable service entry"),
        }
    }
    Ok(entries)
}

/// The entry of `id`, if any.
pub(crate) async fn get(store: &Store, id: &str) -> Result<Option<Versioned>, SloError> {
    match store.get(&ResourceKey::global(SERVICE_KIND, id)).await? {
        Some(resource) => entry_of(resource).map(Some),
        None => Ok(None),
    }
}

/// Writes `entry`: created when `version` is `None`, else replaced if still at `version`.
/// `Ok(false)` when somebody else wrote first (the caller reads again and retries).
pub(crate) async fn put(
    store: &Store,
    entry: &ServiceEntry,
    version: Option<u64>,
) -> Result<bool, SloError> {
    let new = NewResource {
        key: ResourceKey::global(SERVICE_KIND, &entry.id),
        metadata_extra: json!({}),
        spec: serde_json::to_value(entry).map_err(|e| SloError::Invalid(e.to_string()))?,
    };
    let written = match version {
        None => store.create(new).await.map(|_| ()),
        Some(version) => store
            .update(new, Precondition::IfVersion(version))
            .await
            .map(|_| ()),
    };
    match written {
        Ok(()) => Ok(true),
        Err(StoreError::AlreadyExists | StoreError::PreconditionFailed { .. }) => Ok(false),
        Err(other) => Err(SloError::Store(other)),
    }
}
