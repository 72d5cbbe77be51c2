//! Metrics mode: the workloads whose pods kube-state-metrics reported in the last 15 minutes,
//! read from the project's default Prometheus datasource through the same resolution, tenant
//! enforcement and query layer as the proxy (so a project only sees its namespaces).
//!
//! A pod belongs to a workload by its owner (`kube_pod_owner`: PyTorchJob, TFJob, Workflow,
//! StatefulSet, the ReplicaSet of a KServe predictor) and its labels (`kube_pod_labels`:
//! `serving.kserve.io/inferenceservice`, `notebook-name`, `app`, `component`); its phase
//! comes from `kube_pod_status_phase`. Which runtime serves an InferenceService, and the model
//! name its dashboards select, come from the runtime metrics its pods export (vLLM, Triton,
//! KServe's model server). Pipelines are the WorkflowTemplates Argo's controller reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{
    Source, Workload, WorkloadList,
    fit::{Runtime, fit},
};
use crate::{identity::Caller, proxy::DatasourceRef, state::AppState};

/// The window the series must have a sample in.
const WINDOW: &str = "15m";

/// The pod labels read (as kube-state-metrics names them).
const POD_LABELS: [&str; 5] = [
    "label_serving_kserve_io_inferenceservice",
    "label_component",
    "label_notebook_name",
    "label_app",
    "label_training_kubeflow_org_job_name",
];

fn queries() -> [String; 8] {
    let w = WINDOW;
    [
        format!(
            "max by (namespace, pod, owner_kind, owner_name) (\
             last_over_time(kube_pod_owner{{owner_kind=~\"PyTorchJob|TFJob|InferenceService|Notebook|StatefulSet|Workflow\"}}[{w}]) \
             or last_over_time(kube_pod_owner{{owner_kind=\"ReplicaSet\", owner_name=~\".+-predictor-.+\"}}[{w}]))"
        ),
        format!(
            "max by (namespace, pod, {}) (last_over_time(kube_pod_labels[{w}]))",
            POD_LABELS.join(", ")
        ),
        format!("max by (namespace, pod, phase) (last_over_time(kube_pod_status_phase[{w}])) == 1"),
        format!(
            "max by (namespace, pod, model_name) (last_over_time(vllm:num_requests_running[{w}]))"
        ),
        format!(
            "max by (namespace, pod, model) (last_over_time(nv_inference_request_success[{w}]))"
        ),
        format!(
            "max by (namespace, pod, model_name) (last_over_time(request_predict_seconds_count[{w}]))"
        ),
        format!(
            "max by (namespace, name) (last_over_time(argo_workflows_workflowtemplate_runtime_count[{w}]))"
        ),
        format!(
            "max by (namespace, name, phase) (increase(argo_workflows_workflowtemplate_triggered_total[{w}])) > 0"
        ),
    ]
}

/// The label sets of an answer's series (`matrix` or `vector`).
fn series(data: &str) -> Vec<BTreeMap<String, String>> {
    let Ok(data) = serde_json::from_str::<Value>(data) else {
        return Vec::new();
    };
    data["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["metric"].as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .collect()
}

type PodKey = (String, String);

fn pod_key(labels: &BTreeMap<String, String>) -> PodKey {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    (get("namespace"), get("pod"))
}

/// How the phases of a workload's pods combine: one running pod makes it run.
fn combine(phases: &[&str]) -> &'static str {
    for phase in ["Running", "Pending", "Failed", "Succeeded"] {
        if phases.contains(&phase) {
            return phase;
        }
    }
    "Unknown"
}

/// The InferenceService a KServe predictor ReplicaSet belongs to (`<isvc>-predictor-<hash>`,
/// `<isvc>-predictor-00001-deployment-<hash>`, `<isvc>-predictor-default-…`).
fn predictor_owner(replica_set: &str) -> Option<&str> {
    replica_set
        .rfind("-predictor-")
        .map(|at| &replica_set[..at])
        .filter(|s| !s.is_empty())
}

/// What one pod says about its workload.
fn workload_of_pod(
    owner_kind: &str,
    owner_name: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<(&'static str, String)> {
    let label = |name: &str| {
        labels
            .and_then(|l| l.get(name))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    match owner_kind {
        "PyTorchJob" => Some(("PyTorchJob", owner_name.to_owned())),
        "TFJob" => Some(("TFJob", owner_name.to_owned())),
        "InferenceService" => Some(("InferenceService", owner_name.to_owned())),
        "Notebook" => Some(("Notebook", owner_name.to_owned())),
        "Workflow" => Some(("Workflow", owner_name.to_owned())),
        "ReplicaSet" => {
            // Transformer and explainer pods carry the label too; only the predictor serves.
            if label("label_component").is_some_and(|c| c != "predictor") {
                return None;
            }
            let name = label("label_serving_kserve_io_inferenceservice")
                .or_else(|| predictor_owner(owner_name).map(str::to_owned))?;
            Some(("InferenceService", name))
        }
        "StatefulSet" => {
            if let Some(notebook) = label("label_notebook_name") {
                return Some(("Notebook", notebook));
            }
            // Without any of the labels read (kube-state-metrics exports none unless they are
            // allow-listed) a StatefulSet is taken for a notebook, as the notebook template
            // does; with labels, only `app=jupyter` is.
            let unlabelled = POD_LABELS.iter().all(|l| label(l).is_none());
            (unlabelled || label("label_app").as_deref() == Some("jupyter"))
                .then(|| ("StatefulSet", owner_name.to_owned()))
        }
        _ => None,
    }
}

/// Runs the queries and joins their answers.
pub(super) async fn discover(
    state: &AppState,
    caller: &Caller,
    project: &str,
    namespaces: &[String],
) -> WorkloadList {
    let mut answer = WorkloadList {
        source: Source::Metrics,
        workloads: Vec::new(),
        warnings: Vec::new(),
    };
    let reference = match crate::shares::datasource_for(state, project, &json!({}), None).await {
        Ok(reference) => reference,
        Err(e) => {
            answer.warnings.push(format!(
                "no Prometheus datasource to read kube-state-metrics from: {e}"
            ));
            return answer;
        }
    };
    if let Err(e) = reference.authorize(caller) {
        answer.warnings.push(format!(
            "you may not query the project's default datasource: {e}"
        ));
        return answer;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let asks = queries().map(|query| run(state, reference.clone(), query, now));
    let results = futures::future::join_all(asks).await;
    let mut answers = Vec::new();
    for result in results {
        match result {
            Ok(rows) => answers.push(rows),
            Err(warning) => {
                if !answer.warnings.contains(&warning) {
                    answer.warnings.push(warning);
                }
                answers.push(Vec::new());
            }
        }
    }
    let in_project = |labels: &BTreeMap<String, String>| {
        namespaces.is_empty()
            || labels
                .get("namespace")
                .is_some_and(|n| namespaces.contains(n))
    };
    for rows in &mut answers {
        rows.retain(|labels| in_project(labels));
    }
    answer.workloads = join(&answers);
    answer
}

async fn run(
    state: &AppState,
    reference: DatasourceRef,
    query: String,
    now: i64,
) -> Result<Vec<BTreeMap<String, String>>, String> {
    let question = pharos_query::RangeQuery {
        query,
        start_ms: now,
        end_ms: now,
        step_ms: 15_000,
        timeout: Some(std::time::Duration::from_secs(10)),
    };
    crate::proxy::range_through(state, reference, question)
        .await
        .map(|answer| series(answer.data.get()))
        .map_err(|failure| {
            format!(
                "cannot read kube-state-metrics from the project's datasource ({}): {}",
                failure.error_type, failure.message
            )
        })
}

/// Joins owners, labels, phases, runtime metrics and pipelines into workloads.
fn join(answers: &[Vec<BTreeMap<String, String>>]) -> Vec<Workload> {
    let [
        owners,
        labels,
        phases,
        vllm,
        triton,
        kserve,
        pipelines,
        triggered,
    ] = answers
    else {
        return Vec::new();
    };
    let labels: HashMap<PodKey, &BTreeMap<String, String>> =
        labels.iter().map(|l| (pod_key(l), l)).collect();
    let phases: HashMap<PodKey, String> = phases
        .iter()
        .map(|l| (pod_key(l), l.get("phase").cloned().unwrap_or_default()))
        .collect();
    let model_of = |rows: &Vec<BTreeMap<String, String>>, label: &str| -> HashMap<PodKey, String> {
        rows.iter()
            .filter_map(|l| Some((pod_key(l), l.get(label)?.clone())))
            .collect()
    };
    let runtimes = [
        (Runtime::Vllm, model_of(vllm, "model_name")),
        (Runtime::Triton, model_of(triton, "model")),
        (Runtime::KServe, model_of(kserve, "model_name")),
    ];
    // (namespace, kind, name) → its pods.
    let mut found: BTreeMap<(String, &'static str, String), BTreeSet<String>> = BTreeMap::new();
    for owner in owners {
        let key = pod_key(owner);
        let get = |k: &str| owner.get(k).map_or("", String::as_str);
        if let Some((kind, name)) = workload_of_pod(
            get("owner_kind"),
            get("owner_name"),
            labels.get(&key).copied(),
        ) {
            found
                .entry((key.0.clone(), kind, name))
                .or_default()
                .insert(key.1);
        }
    }
    let templates: BTreeSet<(String, String)> = pipelines
        .iter()
        .filter_map(|l| Some((l.get("namespace")?.clone(), l.get("name")?.clone())))
        .collect();
    let template_of_run = |namespace: &str, run: &str| {
        templates
            .iter()
            .filter(|(ns, t)| ns == namespace && run.starts_with(&format!("{t}-")))
            .map(|(_, t)| t.clone())
            .max_by_key(String::len)
    };
    let mut out = Vec::new();
    let mut runs_of: BTreeMap<(String, String), Vec<&'static str>> = BTreeMap::new();
    for ((namespace, kind, name), pods) in &found {
        let pod_phases: Vec<&str> = pods
            .iter()
            .filter_map(|p| phases.get(&(namespace.clone(), p.clone())))
            .map(String::as_str)
            .collect();
        let status = combine(&pod_phases);
        let (runtime, value) = match *kind {
            "InferenceService" => runtimes
                .iter()
                .find_map(|(runtime, models)| {
                    pods.iter()
                        .find_map(|p| models.get(&(namespace.clone(), p.clone())))
                        .map(|model| (Some(*runtime), Some(model.clone())))
                })
                .unwrap_or((None, Some(name.clone()))),
            "Workflow" => match template_of_run(namespace, name) {
                Some(template) => {
                    runs_of
                        .entry((namespace.clone(), template))
                        .or_default()
                        .push(status);
                    continue;
                }
                None => (None, None),
            },
            _ => (None, Some(name.clone())),
        };
        let template_kind = if *kind == "StatefulSet" {
            "Notebook"
        } else {
            kind
        };
        let (template, variables) = fit(template_kind, namespace, runtime, value.as_deref());
        out.push(Workload {
            kind: (*kind).to_owned(),
            name: name.clone(),
            namespace: namespace.clone(),
            status,
            template,
            variables,
            pods: u32::try_from(pods.len()).ok(),
        });
    }
    for (namespace, name) in &templates {
        let runs = runs_of.get(&(namespace.clone(), name.clone()));
        let ended: BTreeSet<&str> = triggered
            .iter()
            .filter(|l| l.get("namespace") == Some(namespace) && l.get("name") == Some(name))
            .filter_map(|l| l.get("phase").map(String::as_str))
            .collect();
        let status = match runs.map(|r| combine(r)) {
            Some(running @ ("Running" | "Pending")) => running,
            _ if ended.contains("Failed") || ended.contains("Error") => "Failed",
            _ if ended.contains("Running") => "Running",
            _ if ended.contains("Succeeded") => "Succeeded",
            Some(other) => other,
            None => "Unknown",
        };
        let (template, variables) = fit("WorkflowTemplate", namespace, None, Some(name));
        out.push(Workload {
            kind: "WorkflowTemplate".to_owned(),
            name: name.clone(),
            namespace: namespace.clone(),
            status,
            template,
            variables,
            pods: u32::try_from(runs.map_or(0, Vec::len)).ok(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictor_replica_sets_name_their_inference_service() {
        assert_eq!(
            predictor_owner("llm-chat-predictor-00001-deployment-5d8f9"),
            Some("llm-chat")
        );
        assert_eq!(predictor_owner("fraud-predictor-7c9b"), Some("fraud"));
        assert_eq!(predictor_owner("web-7c9b"), None);
    }

    #[test]
    fn pods_combine_into_one_status() {
        assert_eq!(combine(&["Succeeded", "Running"]), "Running");
        assert_eq!(combine(&["Failed", "Succeeded"]), "Failed");
        assert_eq!(combine(&[]), "Unknown");
    }
}
