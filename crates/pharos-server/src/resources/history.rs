//! Beyond Perses: version history and the trash for dashboards. Every update keeps the
//! previous version; a delete moves the dashboard to the trash for `trash.retention`.

use chrono::Duration as ChronoDuration;
use pharos_model::Kind;
use serde_json::{Value, json};

use super::{
    document::to_document,
    service::{ResourceService, Versioned, describe},
};
use crate::{
    error::{ApiError, ApiResult},
    extract::IfMatch,
    identity::Caller,
};
use pharos_auth::rbac::Action;
use pharos_store::Precondition;

impl ResourceService {
    /// Versions of a dashboard, newest first: `[{"version", "updatedAt", "current"}]`.
    pub async fn list_versions(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        name: &str,
    ) -> ApiResult<Vec<Value>> {
        self.authorize(caller, Action::Read, kind, Some(project), name)?;
        let key = self.key(kind, Some(project), name);
        self.ensure_project_exists(&key.project.clone().unwrap_or_default())
            .await?;
        let current = self.store().get(&key).await?.ok_or(ApiError::NotFound)?;
        let versions = self.store().list_versions(&key).await?;
        Ok(versions
            .into_iter()
            .map(|v| {
                json!({
                    "version": v.version,
                    "updatedAt": v.updated_at,
                    "updatedBy": v.updated_by,
                    "current": v.version == current.version,
                })
            })
            .collect())
    }

    /// One version of a dashboard, as a full document.
    pub async fn get_version(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        name: &str,
        version: u64,
    ) -> ApiResult<Versioned> {
        self.authorize(caller, Action::Read, kind, Some(project), name)?;
        let key = self.key(kind, Some(project), name);
        let stored = self
            .store()
            .get_version(&key, version)
            .await?
            .ok_or(ApiError::NotFound)?;
        Ok(Versioned {
            document: to_document(kind, &stored),
            version: stored.version,
        })
    }

    /// Makes an old version current again, as a new version.
    pub async fn restore_version(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        name: &str,
        version: u64,
        if_match: IfMatch,
    ) -> ApiResult<Versioned> {
        self.authorize(caller, Action::Update, kind, Some(project), name)?;
        let key = self.key(kind, Some(project), name);
        let precondition = match if_match {
            IfMatch::Version(v) => Precondition::IfVersion(v),
            IfMatch::Any => Precondition::None,
        };
        let stored = self
            .store()
            .restore_version(&key, version, precondition)
            .await
            .map_err(|e| describe(e, &key))?;
        self.changed();
        Ok(Versioned {
            document: to_document(kind, &stored),
            version: stored.version,
        })
    }

    /// Deleted dashboards of a project, with when they were deleted and will be purged.
    pub async fn list_trash(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        retention: std::time::Duration,
    ) -> ApiResult<Vec<Value>> {
        self.authorize(caller, Action::Read, kind, Some(project), "")?;
        let project = self.normalize(project);
        self.ensure_project_exists(&project).await?;
        let retention = ChronoDuration::from_std(retention).unwrap_or(ChronoDuration::MAX);
        let rows = self
            .store()
            .list_trash(kind.as_str(), Some(&project))
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut doc = to_document(kind, &row.resource);
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert("spec".to_owned(), json!({}));
                    obj.insert(
                        "trash".to_owned(),
                        json!({
                            "deletedAt": row.deleted_at,
                            "purgeAt": row.deleted_at + retention,
                        }),
                    );
                }
                doc
            })
            .collect())
    }

    /// Brings a dashboard back from the trash (409 if a live one took its name).
    pub async fn restore_from_trash(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        name: &str,
    ) -> ApiResult<Versioned> {
        self.authorize(caller, Action::Create, kind, Some(project), name)?;
        let key = self.key(kind, Some(project), name);
        self.ensure_project_exists(&key.project.clone().unwrap_or_default())
            .await?;
        let stored = self.store().restore_from_trash(&key).await?;
        self.changed();
        Ok(Versioned {
            document: to_document(kind, &stored),
            version: stored.version,
        })
    }

    /// Deletes a trashed dashboard for good.
    pub async fn purge_from_trash(
        &self,
        caller: &Caller,
        kind: Kind,
        project: &str,
        name: &str,
    ) -> ApiResult<()> {
        self.authorize(caller, Action::Delete, kind, Some(project), name)?;
        let key = self.key(kind, Some(project), name);
        self.store().purge_from_trash(&key).await?;
        Ok(())
    }
}
