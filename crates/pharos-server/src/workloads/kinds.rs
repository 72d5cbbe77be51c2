//! The workload resources the Kubernetes mode lists, and how one listed object becomes a
//! [`Workload`]: its status from its conditions or phase, its pods where the object tells,
//! its template and variables.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    Workload,
    fit::{Runtime, fit, served_model_name},
};

/// One listed resource type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceType {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// A label selector the list is narrowed by.
    pub selector: Option<&'static str>,
}

impl ResourceType {
    /// `GET` path of the list in `namespace`.
    pub(crate) fn path(&self, namespace: &str) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        format!("{base}/namespaces/{namespace}/{}", self.plural)
    }
}

const fn resource(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
) -> ResourceType {
    ResourceType {
        kind,
        group,
        version,
        plural,
        selector: None,
    }
}

/// Everything listed in each namespace.
pub(crate) const RESOURCES: [ResourceType; 7] = [
    resource(
        "InferenceService",
        "serving.kserve.io",
        "v1beta1",
        "inferenceservices",
    ),
    resource("PyTorchJob", "kubeflow.org", "v1", "pytorchjobs"),
    resource("TFJob", "kubeflow.org", "v1", "tfjobs"),
    resource("Notebook", "kubeflow.org", "v1", "notebooks"),
    ResourceType {
        kind: "StatefulSet",
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        selector: Some("app=jupyter"),
    },
    resource("Workflow", "argoproj.io", "v1alpha1", "workflows"),
    resource(
        "WorkflowTemplate",
        "argoproj.io",
        "v1alpha1",
        "workflowtemplates",
    ),
];

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn count(value: &Value, pointer: &str) -> Option<u32> {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// The condition of `kind` (`type`) of an object, as its `status` text.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str())
}

/// An InferenceService: its `Ready` condition; a model that failed to load is `Failed`.
fn inference_service_status(object: &Value) -> &'static str {
    let failed_load = text(object, "/status/modelStatus/transitionStatus") == "BlockedByFailedLoad"
        || text(object, "/status/modelStatus/transitionStatus") == "InvalidSpec"
        || text(object, "/status/modelStatus/states/targetModelState") == "FailedToLoad";
    match condition(object, "Ready") {
        Some("True") => "Ready",
        _ if failed_load => "Failed",
        Some("False") => "Pending",
        _ => "Unknown",
    }
}

/// A Kubeflow job: its newest true condition (Created, Running, Restarting, Succeeded,
/// Failed, Suspended).
fn training_job_status(object: &Value) -> &'static str {
    let newest = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().rev().find(|c| c["status"] == "True"))
        .and_then(|c| c["type"].as_str());
    match newest {
        Some("Created" | "Suspended") => "Pending",
        Some("Running" | "Restarting") => "Running",
        Some("Succeeded") => "Succeeded",
        Some("Failed") => "Failed",
        _ => "Unknown",
    }
}

/// An Argo Workflow's `status.phase` (`Error` is a failure).
fn workflow_status(object: &Value) -> &'static str {
    match text(object, "/status/phase") {
        "Pending" | "" => "Pending",
        "Running" => "Running",
        "Succeeded" => "Succeeded",
        "Failed" | "Error" => "Failed",
        _ => "Unknown",
    }
}

/// A notebook's StatefulSet (or the Notebook's mirror of it): stopped (culled, or scaled to
/// zero) is `Succeeded`, a ready replica `Running`, else `Pending`.
fn replicas_status(object: &Value, stopped: bool) -> &'static str {
    if stopped {
        "Succeeded"
    } else if count(object, "/status/readyReplicas").unwrap_or(0) > 0 {
        "Running"
    } else {
        "Pending"
    }
}

/// The WorkflowTemplate a Workflow was started from, if any.
pub(crate) fn workflow_template_of(object: &Value) -> Option<&str> {
    let label = text(
        object,
        "/metadata/labels/workflows.argoproj.io~1workflow-template",
    );
    let reference = text(object, "/spec/workflowTemplateRef/name");
    [label, reference].into_iter().find(|s| !s.is_empty())
}

/// One listed object of `resource` as a workload (its namespace is the list's).
pub(crate) fn workload_of(resource: &ResourceType, object: &Value, namespace: &str) -> Workload {
    let name = text(object, "/metadata/name").to_owned();
    let mut runtime = None;
    let mut value = Some(name.clone());
    let mut template_kind = resource.kind;
    let (status, pods) = match resource.kind {
        "InferenceService" => {
            runtime = Some(Runtime::of_inference_service(object));
            value = Some(served_model_name(object, &name));
            (inference_service_status(object), None)
        }
        "PyTorchJob" | "TFJob" => {
            let active = object
                .pointer("/status/replicaStatuses")
                .and_then(Value::as_object)
                .map(|all| {
                    all.values()
                        .filter_map(|r| count(r, "/active"))
                        .sum::<u32>()
                });
            (training_job_status(object), active)
        }
        "Notebook" => {
            let stopped = object
                .pointer("/metadata/annotations/kubeflow-resource-stopped")
                .is_some();
            (
                replicas_status(object, stopped),
                count(object, "/status/readyReplicas"),
            )
        }
        "StatefulSet" => {
            template_kind = "Notebook";
            let stopped = count(object, "/spec/replicas") == Some(0);
            (
                replicas_status(object, stopped),
                count(object, "/status/replicas"),
            )
        }
        "Workflow" => {
            value = workflow_template_of(object).map(str::to_owned);
            (workflow_status(object), None)
        }
        _ => ("Unknown", None),
    };
    let (template, variables) = fit(template_kind, namespace, runtime, value.as_deref());
    Workload {
        kind: resource.kind.to_owned(),
        name,
        namespace: namespace.to_owned(),
        status,
        template,
        variables,
        pods,
    }
}

/// Folds the objects of one namespace into workloads: a Notebook's own StatefulSet is not
/// listed twice, and the Workflows a listed WorkflowTemplate started give it their newest
/// run's status instead of appearing one by one.
pub(crate) fn fold(namespace: &str, listed: Vec<(ResourceType, Vec<Value>)>) -> Vec<Workload> {
    let names_of = |kind: &str| -> Vec<String> {
        listed
            .iter()
            .filter(|(r, _)| r.kind == kind)
            .flat_map(|(_, items)| items.iter().map(|o| text(o, "/metadata/name").to_owned()))
            .collect()
    };
    let notebooks = names_of("Notebook");
    let templates = names_of("WorkflowTemplate");
    // The newest run (by creation time) of each listed WorkflowTemplate.
    let mut newest_run: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    let mut out = Vec::new();
    for (resource, items) in &listed {
        for object in items {
            let name = text(object, "/metadata/name");
            if resource.kind == "StatefulSet" && notebooks.iter().any(|n| n == name) {
                continue;
            }
            if resource.kind == "Workflow"
                && let Some(template) = workflow_template_of(object)
                && templates.iter().any(|t| t == template)
            {
                let created = text(object, "/metadata/creationTimestamp").to_owned();
                let status = workflow_status(object);
                let entry = newest_run
                    .entry(template.to_owned())
                    .or_insert((created.clone(), status));
                if created >= entry.0 {
                    *entry = (created, status);
                }
                continue;
            }
            out.push(workload_of(resource, object, namespace));
        }
    }
    for workload in &mut out {
        if workload.kind == "WorkflowTemplate" {
            workload.status = newest_run
                .get(&workload.name)
                .map_or("Unknown", |(_, status)| *status);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_from_conditions_and_phases() {
        let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(inference_service_status(&ready), "Ready");
        let loading = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(inference_service_status(&loading), "Pending");
        assert_eq!(inference_service_status(&json!({})), "Unknown");
        let job = json!({"status": {"conditions": [
            {"type": "Created", "status": "True"}, {"type": "Running", "status": "False"},
            {"type": "Succeeded", "status": "True"}]}});
        assert_eq!(training_job_status(&job), "Succeeded");
        assert_eq!(
            workflow_status(&json!({"status": {"phase": "Error"}})),
            "Failed"
        );
    }
}
