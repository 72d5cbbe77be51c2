//! Persistence of the registry in the config store, as two global kinds that the Perses routes
//! do not serve: `Cluster` (spec: the editable fields plus the last discovered capabilities)
//! and `ClusterCredentials` (same name as the cluster; encrypted at rest because the store
//! lists it in `StoreOptions::encrypted_kinds`; its type is kept in plain metadata so listings
//! need not decrypt anything). Works on SQLite and PostgreSQL alike, with no migration.

use std::collections::HashMap;

use pharos_store::{
    ListQuery, NewResource, Precondition, ResourceKey, Store, StoreError, StoredResource,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::credentials::Credentials;
use crate::error::FleetError;
use crate::model::{Capabilities, ClusterRecord, ClusterSpec};

/// The store kind of a cluster.
pub const CLUSTER_KIND: &str = "Cluster";
/// The store kind of a cluster's credentials (must be in `StoreOptions::encrypted_kinds`).
pub const CREDENTIALS_KIND: &str = "ClusterCredentials";

/// The spec as stored.
#[derive(Serialize, Deserialize)]
struct StoredSpec {
    #[serde(flatten)]
    spec: ClusterSpec,
    #[serde(default)]
    capabilities: Capabilities,
}

fn record_of(resource: StoredResource) -> Result<ClusterRecord, FleetError> {
    let name = resource.key.name;
    let corrupt = |why: String| FleetError::Corrupt {
        name: name.clone(),
        why,
    };
    let spec = resource
        .spec
        .ok_or_else(|| corrupt("the spec is missing".to_owned()))?;
    let stored: StoredSpec = serde_json::from_value(spec).map_err(|e| corrupt(e.to_string()))?;
    Ok(ClusterRecord {
        name: name.clone(),
        spec: stored.spec,
        capabilities: stored.capabilities,
        created_at: resource.created_at,
        updated_at: resource.updated_at,
    })
}

fn spec_value(spec: &ClusterSpec, capabilities: &Capabilities) -> Result<Value, FleetError> {
    serde_json::to_value(StoredSpec {
        spec: spec.clone(),
        capabilities: capabilities.clone(),
    })
    .map_err(|e| FleetError::Invalid(e.to_string()))
}

fn named(error: StoreError, name: &str) -> FleetError {
    match error {
        StoreError::NotFound => FleetError::NotFound(name.to_owned()),
        StoreError::AlreadyExists => FleetError::AlreadyExists(name.to_owned()),
        other => FleetError::Store(other),
    }
}

/// Every cluster, by name. A record that cannot be read is logged and left out.
pub async fn list(store: &Store) -> Result<Vec<ClusterRecord>, FleetError> {
    let resources = store
        .list(&ListQuery {
            kind: CLUSTER_KIND.to_owned(),
            project: None,
            name_prefix: None,
            include_spec: true,
        })
        .await?;
    let mut records: Vec<ClusterRecord> = resources
        .into_iter()
        .filter_map(|resource| match record_of(resource) {
            Ok(record) => Some(record),
            Err(error) => {
                tracing::warn!(%error, "skipping an unreadable cluster");
                None
            }
        })
        .collect();
    records.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(records)
}

/// One cluster.
pub async fn get(store: &Store, name: &str) -> Result<ClusterRecord, FleetError> {
    match store.get(&ResourceKey::global(CLUSTER_KIND, name)).await? {
        Some(resource) => record_of(resource),
        None => Err(FleetError::NotFound(name.to_owned())),
    }
}

/// Registers a cluster; `AlreadyExists` for a taken name.
pub async fn create(
    store: &Store,
    name: &str,
    spec: &ClusterSpec,
) -> Result<ClusterRecord, FleetError> {
    let resource = store
        .create(NewResource {
            key: ResourceKey::global(CLUSTER_KIND, name),
            metadata_extra: json!({}),
            spec: spec_value(spec, &Capabilities::default())?,
        })
        .await
        .map_err(|e| named(e, name))?;
    record_of(resource)
}

/// Replaces the spec and capabilities of a cluster.
pub async fn update(
    store: &Store,
    name: &str,
    spec: &ClusterSpec,
    capabilities: &Capabilities,
) -> Result<ClusterRecord, FleetError> {
    let resource = store
        .update(
            NewResource {
                key: ResourceKey::global(CLUSTER_KIND, name),
                metadata_extra: json!({}),
                spec: spec_value(spec, capabilities)?,
            },
            Precondition::None,
        )
        .await
        .map_err(|e| named(e, name))?;
    record_of(resource)
}

/// Removes a cluster and its credentials.
pub async fn delete(store: &Store, name: &str) -> Result<(), FleetError> {
    store
        .delete(&ResourceKey::global(CLUSTER_KIND, name), Precondition::None)
        .await
        .map_err(|e| named(e, name))?;
    match store
        .delete(
            &ResourceKey::global(CREDENTIALS_KIND, name),
            Precondition::None,
        )
        .await
    {
        Ok(_) | Err(StoreError::NotFound) => Ok(()),
        Err(other) => Err(FleetError::Store(other)),
    }
}

/// Sets (or replaces) the credentials of cluster `name`.
pub async fn put_credentials(
    store: &Store,
    name: &str,
    credentials: &Credentials,
) -> Result<(), FleetError> {
    let new = NewResource {
        key: ResourceKey::global(CREDENTIALS_KIND, name),
        metadata_extra: json!({"credentialsType": credentials.kind()}),
        spec: serde_json::to_value(credentials).map_err(|e| FleetError::Invalid(e.to_string()))?,
    };
    match store.create(new.clone()).await {
        Ok(_) => Ok(()),
        Err(StoreError::AlreadyExists) => {
            store.update(new, Precondition::None).await?;
            Ok(())
        }
        Err(other) => Err(FleetError::Store(other)),
    }
}

/// The credentials of cluster `name`, decrypted.
pub async fn credentials(store: &Store, name: &str) -> Result<Option<Credentials>, FleetError> {
    let Some(resource) = store
        .get(&ResourceKey::global(CREDENTIALS_KIND, name))
        .await?
    else {
        return Ok(None);
    };
    let spec = resource.spec.unwrap_or(Value::Null);
    serde_json::from_value(spec)
        .map(Some)
        .map_err(|e| FleetError::Corrupt {
            name: name.to_owned(),
            why: format!("credentials: {e}"),
        })
}

/// The credentials type of every cluster that has credentials (nothing is decrypted).
pub async fn credential_kinds(store: &Store) -> Result<HashMap<String, String>, FleetError> {
    let resources = store
        .list(&ListQuery {
            kind: CREDENTIALS_KIND.to_owned(),
            project: None,
            name_prefix: None,
            include_spec: false,
        })
        .await?;
    Ok(resources
        .into_iter()
        .map(|r| {
            let kind = r
                .metadata_extra
                .get("credentialsType")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned();
            (r.key.name, kind)
        })
        .collect())
}
