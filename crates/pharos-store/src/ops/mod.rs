//! The store's operations, written once for both engines over [`Session`]. Every write runs
//! in one [`WriteSession`] (a transaction) that is committed only when all its statements
//! succeeded; returning early with an error drops it, which rolls back.

pub(crate) mod history;
pub(crate) mod trash;

use crate::codec::{Codec, now_nanos, row_version};
use crate::engine::{HistoryRow, ResourceRow, Session, SpecColumn, TrashRow, WriteSession};
use crate::error::{StoreError, map_insert_error};
use crate::resource::{ListQuery, NewResource, Precondition, ResourceKey, StoredResource};

/// The kind of the global resource that owns a project's resources.
pub const PROJECT_KIND: &str = "Project";

pub(crate) async fn create<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    new: &NewResource,
) -> Result<StoredResource, StoreError> {
    new.key.validate()?;
    let content = codec.encode_content(new)?;
    let now = now_nanos()?;
    let row = ResourceRow {
        uid: uuid::Uuid::new_v4().simple().to_string(),
        kind: new.key.kind.clone(),
        project: new.key.stored_project().to_owned(),
        name: new.key.name.clone(),
        version: 0,
        created_at: now,
        updated_at: now,
        metadata_extra: content.metadata_extra,
        spec: Some(content.spec),
    };
    session.insert_live(&row).await.map_err(map_insert_error)?;
    session.commit().await?;
    echo_written(codec, &row, new)
}

pub(crate) async fn update<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    upd: &NewResource,
    precondition: Precondition,
) -> Result<StoredResource, StoreError> {
    upd.key.validate()?;
    let content = codec.encode_content(upd)?;
    let current = session
        .lock_live(&upd.key)
        .await?
        .ok_or(StoreError::NotFound)?;
    let written = replace_content(
        &mut session,
        codec,
        current,
        content.metadata_extra,
        content.spec,
        precondition,
    )
    .await?;
    session.commit().await?;
    echo_written(codec, &written, upd)
}

pub(crate) async fn get<S: Session>(
    mut session: S,
    codec: &Codec,
    key: &ResourceKey,
) -> Result<Option<StoredResource>, StoreError> {
    session
        .find_live(key)
        .await?
        .map(|row| codec.decode_resource(&row))
        .transpose()
}

pub(crate) async fn list<S: Session>(
    mut session: S,
    codec: &Codec,
    query: &ListQuery,
) -> Result<Vec<StoredResource>, StoreError> {
    session
        .list_live(query)
        .await?
        .iter()
        .map(|row| codec.decode_resource(row))
        .collect()
}

pub(crate) async fn delete<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    key: &ResourceKey,
    precondition: Precondition,
) -> Result<StoredResource, StoreError> {
    key.validate()?;
    let current = session.lock_live(key).await?.ok_or(StoreError::NotFound)?;
    precondition.check(row_version(&current)?)?;
    let deleted_at = now_nanos()?;
    remove(&mut session, codec, &current, deleted_at).await?;
    session.commit().await?;
    codec.decode_metadata(&current)
}

pub(crate) async fn delete_project<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    project: &str,
) -> Result<(), StoreError> {
    if project.is_empty() {
        return Err(StoreError::InvalidInput(
            "the project name must not be empty".into(),
        ));
    }
    let rows = session.lock_project(project, PROJECT_KIND).await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    let deleted_at = now_nanos()?;
    for row in &rows {
        remove(&mut session, codec, row, deleted_at).await?;
    }
    session.commit().await?;
    Ok(())
}

/// Replaces the content of the locked `current` row as a new version. For versioned kinds
/// the previous state goes to the history first (pruned to `max_versions`).
pub(crate) async fn replace_content<S: Session>(
    session: &mut S,
    codec: &Codec,
    current: ResourceRow,
    metadata_extra: String,
    spec: SpecColumn,
    precondition: Precondition,
) -> Result<ResourceRow, StoreError> {
    let current_version = row_version(&current)?;
    precondition.check(current_version)?;
    if codec.options.is_versioned(&current.kind) {
        let previous = HistoryRow {
            resource_uid: current.uid.clone(),
            version: current.version,
            updated_at: current.updated_at,
            metadata_extra: current.metadata_extra.clone(),
            spec: current.spec.clone().ok_or_else(|| {
                StoreError::Corrupt("internal: locked row was read without spec".into())
            })?,
        };
        session.insert_history(&previous).await?;
        if let Some(keep) = codec.options.max_versions {
            session.prune_history(&current.uid, keep).await?;
        }
    }
    let expected_version = current.version;
    let next = ResourceRow {
        version: expected_version + 1,
        updated_at: now_nanos()?,
        metadata_extra,
        spec: Some(spec),
        ..current
    };
    // The row is locked, so this only fails if the engine's locking was bypassed.
    if session.update_live(&next, expected_version).await? == 0 {
        return Err(StoreError::PreconditionFailed {
            current: current_version,
        });
    }
    Ok(next)
}

/// Removes a live resource: trashable kinds move to the trash (replacing an older trash entry
/// of the same name, with its history); others disappear with their history.
async fn remove<S: Session>(
    session: &mut S,
    codec: &Codec,
    row: &ResourceRow,
    deleted_at: i64,
) -> Result<(), StoreError> {
    if codec.options.is_trashable(&row.kind) {
        if let Some(older) = session.lock_trash(&row.key()).await? {
            session.delete_history(&older.resource.uid).await?;
            session.delete_trash(&older.resource.uid).await?;
        }
        let entry = TrashRow {
            resource: row.clone(),
            deleted_at,
        };
        session.insert_trash(&entry).await?;
    } else {
        session.delete_history(&row.uid).await?;
    }
    session.delete_live(&row.uid).await?;
    Ok(())
}

/// The result of a create/update: metadata from the written row, spec from the request
/// (no need to decrypt what was just encrypted).
fn echo_written(
    codec: &Codec,
    row: &ResourceRow,
    new: &NewResource,
) -> Result<StoredResource, StoreError> {
    let mut resource = codec.decode_metadata(row)?;
    resource.spec = Some(new.spec.clone());
    Ok(resource)
}
