//! Workload discovery (`GET /api/v1/projects/{project}/workloads`): the AI workloads running in
//! a project's namespaces — KServe InferenceServices, Kubeflow PyTorchJobs, TFJobs and
//! Notebooks (or `app=jupyter` StatefulSets), Argo Workflows and WorkflowTemplates — each with
//! the system template that fits it and the variables to instantiate it with.
//!
//! Two sources: the Kubernetes API ([`kube`], when `workloads.kubernetes` is on) lists the
//! custom resources with Pharos's own service account; otherwise kube-state-metrics in the
//! project's default Prometheus datasource ([`metrics`]) tells which pods belong to which
//! workload, through the project's tenant enforcement.

mod fit;
mod kinds;
mod kube;
mod metrics;

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use pharos_auth::rbac::{Action, Scope};
use pharos_model::Kind;
use serde::Serialize;

use crate::{
    error::{ApiError, ApiResult},
    identity::Caller,
    state::AppState,
};

/// The workload routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/projects/{project}/workloads", get(list))
}

/// Where the list came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Source {
    Kubernetes,
    Metrics,
}

/// One workload.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Workload {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `Ready`, `Running`, `Pending`, `Failed`, `Succeeded` or `Unknown`.
    pub status: &'static str,
    /// The system template that fits, when one does.
    pub template: Option<&'static str>,
    /// The values to pass to `POST …/dashboards/from-template` (empty without a template).
    pub variables: BTreeMap<String, String>,
    /// Pods of the workload, when the source tells.
    pub pods: Option<u32>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct WorkloadList {
    pub source: Source,
    pub workloads: Vec<Workload>,
    pub warnings: Vec<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<WorkloadList>> {
    let project = state.resources.normalize(&project);
    // A project the caller cannot see answers exactly like a missing one.
    if !caller.can_see_project(&project) {
        return Err(ApiError::NotFound);
    }
    let row = state
        .resources
        .load_raw(Kind::Project, None, &project)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Action::Read, Some(&project), Scope::Dashboard)?;
    let namespaces = row
        .spec
        .as_ref()
        .map(pharos_model::project_namespaces)
        .unwrap_or_default();
    let mut answer = if state.settings.workloads.kubernetes {
        // Without `spec.namespaces` the project's own name is its namespace (as under
        // `auth: kubernetes`, where a project is a namespace).
        let namespaces = if namespaces.is_empty() {
            vec![project.clone()]
        } else {
            namespaces
        };
        kube::discover(&state, &namespaces).await
    } else {
        metrics::discover(&state, &caller, &project, &namespaces).await
    };
    answer
        .workloads
        .sort_by(|a, b| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)));
    Ok(Json(answer))
}
