//! Version history of versioned kinds: listing, reading and restoring past versions.

use crate::codec::{Codec, from_nanos, row_version, to_stored_version};
use crate::engine::{Session, WriteSession};
use crate::error::StoreError;
use crate::ops::replace_content;
use crate::resource::{Precondition, ResourceKey, StoredResource, VersionInfo};

/// The live version first, then the history, newest first.
pub(crate) async fn list_versions<S: Session>(
    mut session: S,
    key: &ResourceKey,
) -> Result<Vec<VersionInfo>, StoreError> {
    let live = session.find_live(key).await?.ok_or(StoreError::NotFound)?;
    let stamps = session.history_stamps(&live.uid).await?;
    let mut versions = Vec::with_capacity(stamps.len() + 1);
    versions.push(VersionInfo {
        version: row_version(&live)?,
        updated_at: from_nanos(live.updated_at),
        is_current: true,
        updated_by: author(&live.metadata_extra),
    });
    // The two reads are separate statements: an update committed in between would show its
    // previous version twice, so history entries not older than the live one are skipped.
    for stamp in stamps.iter().filter(|stamp| stamp.version < live.version) {
        versions.push(VersionInfo {
            version: u64::try_from(stamp.version)
                .map_err(|_| StoreError::Corrupt(format!("{key} has a negative past version")))?,
            updated_at: from_nanos(stamp.updated_at),
            is_current: false,
            updated_by: author(&stamp.metadata_extra),
        });
    }
    Ok(versions)
}

/// The writer recorded in a version's metadata (`updatedBy`), if any.
fn author(metadata_extra: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(metadata_extra)
        .ok()?
        .get("updatedBy")?
        .as_str()
        .map(str::to_owned)
}

/// A past version, or the live one if `version` is current; `None` if either is unknown.
pub(crate) async fn get_version<S: Session>(
    mut session: S,
    codec: &Codec,
    key: &ResourceKey,
    version: u64,
) -> Result<Option<StoredResource>, StoreError> {
    let Some(live) = session.find_live(key).await? else {
        return Ok(None);
    };
    let stored_version = to_stored_version(version)?;
    if live.version == stored_version {
        return codec.decode_resource(&live).map(Some);
    }
    let Some(past) = session.find_history(&live.uid, stored_version).await? else {
        return Ok(None);
    };
    let mut resource = codec.decode_metadata(&live)?;
    resource.version = version;
    resource.updated_at = from_nanos(past.updated_at);
    resource.metadata_extra = crate::codec::decode_json(&past.metadata_extra, "metadata", key)?;
    resource.spec = Some(codec.decode_spec(key, &past.spec)?);
    Ok(Some(resource))
}

/// Writes the spec and metadata of `version` as a new version (the live one goes to history).
pub(crate) async fn restore_version<S: WriteSession>(
    mut session: S,
    codec: &Codec,
    key: &ResourceKey,
    version: u64,
    precondition: Precondition,
) -> Result<StoredResource, StoreError> {
    key.validate()?;
    let current = session.lock_live(key).await?.ok_or(StoreError::NotFound)?;
    // Check before looking up the old version, so a stale client gets 412, not 404.
    precondition.check(row_version(&current)?)?;
    let stored_version = to_stored_version(version)?;
    let (metadata_extra, spec) = if current.version == stored_version {
        let spec = current
            .spec
            .clone()
            .ok_or_else(|| StoreError::Corrupt("internal: locked row read without spec".into()))?;
        (current.metadata_extra.clone(), spec)
    } else {
        let past = session
            .find_history(&current.uid, stored_version)
            .await?
            .ok_or(StoreError::NotFound)?;
        (past.metadata_extra, past.spec)
    };
    // The sealed spec is reused as is: it is bound to the same resource key.
    let written = replace_content(
        &mut session,
        codec,
        current,
        metadata_extra,
        spec,
        Precondition::None,
    )
    .await?;
    session.commit().await?;
    codec.decode_resource(&written)
}
