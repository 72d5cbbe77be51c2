//! What one custom resource means for Pharos: create-or-update (project = namespace, name =
//! name, marked with the type's owner tag), the `Available` condition on the CR, deletes, and
//! the sweep of owned resources whose CR is gone.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::error::PharosError;
use crate::kube::{KubeClient, ResourceType};
use crate::pharos::PharosClient;

/// The condition type the operator sets.
pub const CONDITION: &str = "Available";

/// What applying did in Pharos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Created (and the project, when it was missing).
    Created,
    /// The spec differed: replaced.
    Updated,
    /// Already as the CR says: nothing written (no history entry).
    Unchanged,
}

/// Why a CR could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The CR has no usable spec.
    #[error("spec is missing or not an object")]
    NoSpec,
    /// A resource of that name exists in Pharos and was not made by this operator.
    #[error(
        "{kind} {project}/{name} exists in Pharos and was not created by the operator (no tag {tag:?}); it is left alone"
    )]
    NotOwned {
        /// Pharos kind.
        kind: &'static str,
        /// Project.
        project: String,
        /// Name.
        name: String,
        /// The owner tag it lacks.
        tag: String,
    },
    /// Pharos refused or failed.
    #[error(transparent)]
    Pharos(#[from] PharosError),
}

impl ApplyError {
    /// Whether retrying later may help (Pharos down), as opposed to the CR being wrong.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Pharos(e) if e.is_transient())
    }

    /// The condition reason, CamelCase as the Condition schema requires.
    fn reason(&self) -> &'static str {
        match self {
            Self::NoSpec => "InvalidSpec",
            Self::NotOwned { .. } => "NotOwned",
            Self::Pharos(PharosError::Rejected {
                status: 400 | 422, ..
            }) => "InvalidSpec",
            Self::Pharos(PharosError::Rejected {
                status: 401 | 403, ..
            }) => "Forbidden",
            Self::Pharos(PharosError::Rejected { status: 409, .. }) => "Conflict",
            Self::Pharos(PharosError::Rejected { .. }) => "Rejected",
            Self::Pharos(_) => "PharosUnavailable",
        }
    }
}

/// The desired Pharos spec of a CR: `spec.config` (the newer Perses operator shape) when
/// present, else the whole `spec` (the `v1alpha1` dashboard shape).
pub fn desired_spec(cr: &Value) -> Option<&Value> {
    let spec = cr.get("spec").filter(|s| s.is_object())?;
    Some(spec.get("config").filter(|c| c.is_object()).unwrap_or(spec))
}

/// `(namespace, name)` of a CR.
pub fn identity(cr: &Value) -> (String, String) {
    let text = |field: &str| {
        cr["metadata"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (text("namespace"), text("name"))
}

fn has_tag(document: &Value, tag: &str) -> bool {
    document["metadata"]["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t == tag))
}

/// Applies CRs to Pharos and reports on them.
#[derive(Debug, Clone)]
pub struct Reconciler {
    pharos: PharosClient,
    kube: KubeClient,
}

impl Reconciler {
    /// A reconciler over the two clients.
    pub fn new(pharos: PharosClient, kube: KubeClient) -> Self {
        Self { pharos, kube }
    }

    /// The Pharos client.
    pub fn pharos(&self) -> &PharosClient {
        &self.pharos
    }

    /// Applies the CR and records the outcome in its status. `false` when something
    /// transient failed (Pharos or the status patch) and the CR should be tried again.
    pub async fn reconcile(&self, resource: &ResourceType, cr: &Value) -> bool {
        let (namespace, name) = identity(cr);
        let outcome = self.apply(resource, cr).await;
        let mut settled = true;
        let (status, reason, message) = match &outcome {
            Ok(applied) => {
                tracing::info!(resource = %resource.name(), %namespace, %name, ?applied, "applied");
                (
                    "True",
                    "Applied",
                    format!(
                        "applied to Pharos as {} {namespace}/{name}",
                        resource.target.kind()
                    ),
                )
            }
            Err(error) => {
                settled = !error.is_transient();
                tracing::warn!(resource = %resource.name(), %namespace, %name, %error, "not applied");
                ("False", error.reason(), error.to_string())
            }
        };
        let generation = cr["metadata"]["generation"].as_i64().unwrap_or(0);
        let Some(conditions) = next_conditions(cr, status, reason, &message, generation) else {
            return settled;
        };
        match self
            .kube
            .patch_status(
                resource,
                &namespace,
                &name,
                &json!({ "conditions": conditions }),
            )
            .await
        {
            Ok(_) => settled,
            Err(error) => {
                tracing::warn!(resource = %resource.name(), %namespace, %name, %error, "status not written");
                false
            }
        }
    }

    /// Creates or updates the Pharos resource of a CR.
    pub async fn apply(&self, resource: &ResourceType, cr: &Value) -> Result<Applied, ApplyError> {
        let (project, name) = identity(cr);
        let spec = desired_spec(cr).ok_or(ApplyError::NoSpec)?;
        let target = resource.target;
        let tag = resource.owner_tag();
        self.pharos.ensure_project(&project).await?;
        let document = |tags: Value| {
            json!({
                "kind": target.kind(),
                "metadata": {"name": name, "project": project, "tags": tags},
                "spec": spec,
            })
        };
        match self.pharos.get(target, &project, &name).await? {
            None => {
                self.pharos
                    .create(target, &project, &document(json!([tag])))
                    .await?;
                Ok(Applied::Created)
            }
            Some(current) if !has_tag(&current, &tag) => Err(ApplyError::NotOwned {
                kind: target.kind(),
                project,
                name,
                tag,
            }),
            // Skipping equal specs keeps the history free of no-op versions.
            Some(current) if current["spec"] == *spec => Ok(Applied::Unchanged),
            Some(current) => {
                // Tags added by hand are kept.
                let tags = current["metadata"]["tags"].clone();
                self.pharos
                    .update(target, &project, &name, &document(tags))
                    .await?;
                Ok(Applied::Updated)
            }
        }
    }

    /// Deletes the Pharos resource of a deleted CR, if this operator made it.
    pub async fn remove(&self, resource: &ResourceType, cr: &Value) -> Result<(), PharosError> {
        let (project, name) = identity(cr);
        let target = resource.target;
        let current = match self.pharos.get(target, &project, &name).await {
            Ok(current) => current,
            // The project is gone (or hidden): so is the resource.
            Err(PharosError::Rejected { status: 400, .. }) => None,
            Err(e) => return Err(e),
        };
        match current {
            Some(document) if has_tag(&document, &resource.owner_tag()) => {
                let deleted = self.pharos.delete(target, &project, &name).await?;
                tracing::info!(resource = %resource.name(), %project, %name, deleted, "CR deleted");
            }
            Some(_) => {
                tracing::info!(resource = %resource.name(), %project, %name, "CR deleted; its Pharos namesake is not the operator's, left alone");
            }
            None => {}
        }
        Ok(())
    }

    /// Deletes every Pharos resource carrying the type's owner tag whose CR is not in
    /// `present` (`(namespace, name)` pairs of a fresh list); the number deleted.
    pub async fn sweep(
        &self,
        resource: &ResourceType,
        present: &HashSet<(String, String)>,
    ) -> Result<usize, PharosError> {
        let tag = resource.owner_tag();
        let mut deleted = 0;
        for document in self.pharos.list(resource.target).await? {
            if !has_tag(&document, &tag) {
                continue;
            }
            let project = document["metadata"]["project"].as_str().unwrap_or_default();
            let name = document["metadata"]["name"].as_str().unwrap_or_default();
            if present.contains(&(project.to_owned(), name.to_owned())) {
                continue;
            }
            if self.pharos.delete(resource.target, project, name).await? {
                tracing::info!(resource = %resource.name(), %project, %name, "deleted: its CR is gone");
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

/// The CR's conditions with `Available` set; `None` when it already says exactly that (so
/// the operator's own status writes do not cause more writes).
fn next_conditions(
    cr: &Value,
    status: &str,
    reason: &str,
    message: &str,
    generation: i64,
) -> Option<Vec<Value>> {
    let mut conditions: Vec<Value> = cr["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let existing = conditions.iter().position(|c| c["type"] == CONDITION);
    let previous = existing.map(|i| conditions[i].clone());
    if let Some(previous) = &previous
        && previous["status"] == status
        && previous["reason"] == reason
        && previous["message"] == message
        && previous["observedGeneration"].as_i64() == Some(generation)
    {
        return None;
    }
    // The transition time moves only when the status does.
    let transition = match &previous {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    let condition = json!({
        "type": CONDITION,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": transition,
    });
    match existing {
        Some(index) => conditions[index] = condition,
        None => conditions.push(condition),
    }
    Some(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_spec_or_its_config() {
        let v1alpha1 = json!({"spec": {"duration": "1h", "panels": {}}});
        assert_eq!(desired_spec(&v1alpha1), Some(&v1alpha1["spec"]));
        let with_config = json!({"spec": {"config": {"plugin": {}}, "client": {}}});
        assert_eq!(
            desired_spec(&with_config),
            Some(&with_config["spec"]["config"])
        );
        assert_eq!(desired_spec(&json!({"metadata": {}})), None);
    }

    #[test]
    fn conditions_change_only_when_the_outcome_does() {
        let cr = json!({"metadata": {"generation": 2}, "status": {"conditions": [
            {"type": "Ready", "status": "True"},
        ]}});
        let Some(first) = next_conditions(&cr, "True", "Applied", "ok", 2) else {
            panic!("a new condition must be written");
        };
        assert_eq!(first.len(), 2, "other condition types are kept");
        let written = json!({"metadata": {"generation": 2}, "status": {"conditions": first}});
        assert_eq!(next_conditions(&written, "True", "Applied", "ok", 2), None);
        let Some(newer) = next_conditions(&written, "True", "Applied", "ok", 3) else {
            panic!("a new generation must be recorded");
        };
        assert_eq!(newer[1]["observedGeneration"], 3);
        assert_eq!(
            newer[1]["lastTransitionTime"],
            first[1]["lastTransitionTime"]
        );
    }
}
