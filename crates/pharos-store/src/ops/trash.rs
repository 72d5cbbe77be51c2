//! The trash of trashable kinds: listing, restoring and purging deleted resources.

use chrono::{DateTime, TimeDelta, Utc};

use crate::codec::{Codec, from_nanos, to_nanos};
use crate::engine::{Session, WriteSession};
use crate::error::{StoreError, map_insert_error};
use crate::resource::{ResourceKey, TrashedResource};

pub(crate) async fn list_trash<S: Session>(
    mut session: S,
    codec: &Codec,
    kind: &str,
    project: Option<&str>,
) -> Result<Vec<TrashedResource>, StoreError> {
    let retention = codec.options.trash_retention;
    session
        .list_trash(kind, project)
        .await?
        .iter()
        .map(|row| {
            let deleted_at = from_nanos(row.deleted_at);
            Ok(TrashedResource {
                resource: codec.decode_metadata(&row.resource)?,
                deleted_at,
                purge_at: purge_time(deleted_at, retention),
            })
        })
        .collect()
}

fn purge_time(deleted_at: DateTime<Utc>, retention: TimeDelta) -> DateTime<Utc> {
    deleted_at
        .checked_add_signed(retention)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Moves the trash entry back to the live resources, with its version, timestamps and
/// history. Fails with `AlreadyExists` if a live resource took the name meanwhile.
pub(crate) async fn restore_from_trash<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    key: &ResourceKey,
) -> Result<crate::resource::StoredResource, StoreError> {
    key.validate()?;
    let entry = session.lock_trash(key).await?.ok_or(StoreError::NotFound)?;
    // Checked first because a failed INSERT would abort a PostgreSQL transaction.
    if session.find_live(key).await?.is_some() {
        return Err(StoreError::AlreadyExists);
    }
    session
        .insert_live(&entry.resource)
        .await
        .map_err(map_insert_error)?;
    session.delete_trash(&entry.resource.uid).await?;
    session.commit().await?;
    codec.decode_resource(&entry.resource)
}

pub(crate) async fn purge_from_trash<S: WriteSession>(
    mut session: S,
    key: &ResourceKey,
) -> Result<(), StoreError> {
    key.validate()?;
    let entry = session.lock_trash(key).await?.ok_or(StoreError::NotFound)?;
    session.delete_history(&entry.resource.uid).await?;
    session.delete_trash(&entry.resource.uid).await?;
    session.commit().await?;
    Ok(())
}

pub(crate) async fn purge_expired_trash<S: WriteSession>(
    mut session: S,
    older_than: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let purged = session.purge_trash_before(to_nanos(older_than)?).await?;
    session.commit().await?;
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_time_is_deletion_plus_retention_and_saturates() {
        let deleted = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            purge_time(deleted, TimeDelta::days(30)),
            DateTime::from_timestamp(1_700_000_000 + 30 * 86_400, 0).unwrap()
        );
        assert_eq!(
            purge_time(DateTime::<Utc>::MAX_UTC, TimeDelta::days(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
