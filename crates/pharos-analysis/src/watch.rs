//! The watch list: named signals (a PromQL query, what entity each of its series is, which
//! methods apply and which changes matter), the topology queries that link entities, and
//! [`scan`], which runs every signal over a window. [`WatchList::default`] covers the real
//! exporter names of an AI platform (and of the built-in simulator): per-model latency and
//! error ratio from Knative's queue-proxy, vLLM, Triton and KServe; utilisation, temperature
//! and power per GPU (dcgm-exporter); training throughput per job; Kafka consumer lag per
//! pipeline. Users configure their own list with the same (serde) format.

use std::collections::BTreeMap;

use pharos_query::{InstantQuery, MetricsBackend};
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::detect::{Anomaly, DetectOptions, Filter, Method, Wanted, corroborated, detect_series};
use crate::graph::{DependencyGraph, Entity, EntityKind};
use crate::query::{fetch, project, sort_by_score};
use crate::series::Series;

/// Signals to watch and how to link their entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchList {
    /// The signals.
    pub signals: Vec<Signal>,
    /// How entities depend on each other.
    #[serde(default)]
    pub topology: Topology,
}

/// One watched signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Unique name (`model_p95_latency`).
    pub name: String,
    /// PromQL returning one series per entity (or several: they are grouped by
    /// `entity_labels`).
    pub query: String,
    /// What a series is.
    pub entity: EntityKind,
    /// The labels that identify the entity (e.g. `cluster`, `model_name`).
    pub entity_labels: Vec<String>,
    /// Methods to run.
    pub methods: Vec<Method>,
    /// Which changes matter.
    #[serde(default, flatten)]
    pub filter: Filter,
    /// Whether its anomalies are alarms or only evidence.
    #[serde(default)]
    pub role: Role,
    /// What the signal means, for reports.
    #[serde(default)]
    pub description: String,
}

/// What a signal's anomalies are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An anomaly is an alarm and can start an incident.
    #[default]
    Primary,
    /// An anomaly only supports a primary anomaly of the same entity at the same time
    /// (GPU temperature and power follow the load: on their own they mean work started).
    Supporting,
}

/// Queries that show which workload runs where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Topology {
    /// One series per GPU allocated to a pod, with the GPU's entity labels plus
    /// `namespace` and `pod` (dcgm-exporter's Kubernetes mapping).
    pub gpu_pods: String,
    /// One series per pod with `cluster`, `namespace`, `pod` and the owner label.
    pub pod_owners: String,
    /// The label of `pod_owners` naming the model server (KServe's InferenceService).
    pub model_owner_label: String,
    /// Rules between kinds.
    pub rules: Vec<crate::graph::KindRule>,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            gpu_pods: "group by (cluster, Hostname, gpu, UUID, namespace, pod) (DCGM_FI_DEV_GPU_UTIL{pod!=\"\"})".to_owned(),
            pod_owners: "group by (cluster, namespace, pod, label_serving_kserve_io_inferenceservice) (kube_pod_labels{label_serving_kserve_io_inferenceservice!=\"\"})".to_owned(),
            model_owner_label: "label_serving_kserve_io_inferenceservice".to_owned(),
            rules: DependencyGraph::with_default_rules().rules,
        }
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `label_replace` giving queue-proxy series (`service_name="<model>-predictor"`) the
/// model's name as `model_name`.
fn from_service(query: &str) -> String {
    format!("label_replace({query}, \"model_name\", \"$1\", \"service_name\", \"(.+)-predictor\")")
}

/// `label_replace` giving Triton series (`model`) a `model_name`.
fn from_model(query: &str) -> String {
    format!("label_replace({query}, \"model_name\", \"$1\", \"model\", \"(.+)\")")
}

impl Default for WatchList {
    fn default() -> Self {
        let model = names(&["cluster", "model_name"]);
        let gpu = names(&["cluster", "Hostname", "gpu", "UUID"]);
        let latency = Filter {
            direction: Wanted::Up,
            min_delta: 0.0,
            min_relative_delta: 1.0,
        };
        let errors = Filter {
            direction: Wanted::Up,
            min_delta: 0.05,
            min_relative_delta: 0.0,
        };
        let level = vec![Method::SeasonalZscore, Method::LevelShift];
        let signal = |name: &str,
                      query: String,
                      entity: EntityKind,
                      labels: &[String],
                      methods: &[Method],
                      filter: &Filter,
                      description: &str| Signal {
            name: name.to_owned(),
            query,
            entity,
            entity_labels: labels.to_vec(),
            methods: methods.to_vec(),
            filter: filter.clone(),
            role: Role::Primary,
            description: description.to_owned(),
        };
        let supporting = |s: Signal| Signal {
            role: Role::Supporting,
            ..s
        };
        let signals = vec![
            signal(
                "model_p95_latency",
                from_service("histogram_quantile(0.95, sum by (cluster, service_name, le) (rate(revision_request_latencies_bucket[5m])))"),
                EntityKind::ModelServer, &model, &level, &latency,
                "P95 request latency at Knative's queue-proxy (ms), per model",
            ),
            signal(
                "model_mean_latency",
                from_service("sum by (cluster, service_name) (rate(revision_request_latencies_sum[5m])) / sum by (cluster, service_name) (rate(revision_request_latencies_count[5m]))"),
                EntityKind::ModelServer, &model, &level, &latency,
                "mean request latency at Knative's queue-proxy (ms), per model",
            ),
            signal(
                "model_error_ratio",
                from_service("sum by (cluster, service_name) (rate(revision_request_count{response_code_class=\"5xx\"}[5m])) / sum by (cluster, service_name) (rate(revision_request_count[5m]))"),
                EntityKind::ModelServer, &model, &level, &errors,
                "share of requests answered with 5xx at Knative's queue-proxy, per model",
            ),
            signal(
                "vllm_p95_e2e_latency",
                "histogram_quantile(0.95, sum by (cluster, model_name, le) (rate(vllm:e2e_request_latency_seconds_bucket[5m])))".to_owned(),
                EntityKind::ModelServer, &model, &level, &latency,
                "vLLM P95 end-to-end request latency (s)",
            ),
            signal(
                "triton_mean_latency",
                from_model("sum by (cluster, model) (rate(nv_inference_request_summary_us_sum[5m])) / sum by (cluster, model) (rate(nv_inference_request_summary_us_count[5m]))"),
                EntityKind::ModelServer, &model, &level, &latency,
                "Triton mean request latency (µs)",
            ),
            signal(
                "triton_error_ratio",
                from_model("sum by (cluster, model) (rate(nv_inference_request_failure[5m])) / (sum by (cluster, model) (rate(nv_inference_request_success[5m])) + sum by (cluster, model) (rate(nv_inference_request_failure[5m])))"),
                EntityKind::ModelServer, &model, &level, &errors,
                "share of failed Triton requests",
            ),
            signal(
                "kserve_p95_predict_latency",
                "histogram_quantile(0.95, sum by (cluster, model_name, le) (rate(request_predict_seconds_bucket[5m])))".to_owned(),
                EntityKind::ModelServer, &model, &level, &latency,
                "KServe model server P95 predict latency (s)",
            ),
            signal(
                "gpu_utilisation",
                "DCGM_FI_DEV_GPU_UTIL".to_owned(),
                EntityKind::Gpu, &gpu, &[Method::Stuck],
                &Filter { direction: Wanted::Up, ..Filter::default() },
                "GPU utilisation (%): a GPU pinned at full utilisation while its work stalls",
            ),
            supporting(signal(
                "gpu_temperature",
                "DCGM_FI_DEV_GPU_TEMP".to_owned(),
                EntityKind::Gpu, &gpu, &level,
                &Filter { direction: Wanted::Up, min_delta: 6.0, min_relative_delta: 0.0 },
                "GPU temperature (°C), supporting a primary anomaly of the GPU; rises of less than 6 °C are ignored",
            )),
            supporting(signal(
                "gpu_power",
                "DCGM_FI_DEV_POWER_USAGE".to_owned(),
                EntityKind::Gpu, &gpu, &[Method::LevelShift],
                &Filter { direction: Wanted::Up, min_delta: 0.0, min_relative_delta: 0.25 },
                "GPU power draw (W), supporting a primary anomaly of the GPU; rises of less than 25 % are ignored",
            )),
            signal(
                "training_throughput",
                "sum by (cluster, namespace, pod) (rate(training_samples_total[5m]))".to_owned(),
                EntityKind::TrainingJob, &names(&["cluster", "namespace", "pod"]),
                &[Method::SeasonalZscore, Method::LevelShift, Method::RateOfChange],
                &Filter { direction: Wanted::Down, min_delta: 0.0, min_relative_delta: 0.5 },
                "training samples per second, per job (pod)",
            ),
            signal(
                "pipeline_lag",
                "sum by (cluster, namespace, consumergroup) (kafka_consumergroup_lag)".to_owned(),
                EntityKind::Pipeline, &names(&["cluster", "consumergroup"]),
                &[Method::SeasonalZscore, Method::LevelShift, Method::RateOfChange],
                &Filter { direction: Wanted::Up, min_delta: 0.0, min_relative_delta: 2.0 },
                "Kafka consumer-group lag (records), per pipeline",
            ),
        ];
        Self {
            signals,
            topology: Topology::default(),
        }
    }
}

impl WatchList {
    /// Checks names, queries and entity labels; the error names the signal to fix.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.signals {
            let bad = |what: &str| {
                Err(AnalysisError::InvalidOptions(format!(
                    "watch signal `{}`: {what}",
                    s.name
                )))
            };
            if s.name.is_empty() || !seen.insert(&s.name) {
                return bad("needs a unique, non-empty name");
            }
            if s.query.trim().is_empty() {
                return bad("needs a query");
            }
            if s.entity_labels.is_empty() || s.methods.is_empty() {
                return bad("needs entity_labels and at least one method");
            }
        }
        if self.signals.len() > 200 {
            return Err(AnalysisError::InvalidOptions(
                "a watch list holds at most 200 signals".to_owned(),
            ));
        }
        Ok(())
    }

    /// The entity labels of the first signal of `kind` (used for topology edges).
    pub fn entity_labels(&self, kind: EntityKind) -> Vec<String> {
        self.signals
            .iter()
            .find(|s| s.entity == kind)
            .map(|s| s.entity_labels.clone())
            .unwrap_or_default()
    }
}

/// How far apart a supporting anomaly and the primary one it supports may be.
const SUPPORT_SLACK_MS: i64 = 5 * 60_000;

/// What [`scan`] found (supporting anomalies only where they support a primary one).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scan {
    /// Anomalies of every signal, strongest first, each with its signal, query and entity.
    pub anomalies: Vec<Anomaly>,
    /// Signals that failed (the others still ran).
    pub warnings: Vec<String>,
}

/// Runs every signal of `watch` over `[start_ms, end_ms]` at `step_ms`.
pub async fn scan(
    backend: &dyn MetricsBackend,
    watch: &WatchList,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    options: &DetectOptions,
) -> Result<Scan, AnalysisError> {
    watch.validate()?;
    options.validate()?;
    let mut out = Scan::default();
    for signal in &watch.signals {
        let fetched = match fetch(
            backend,
            &signal.query,
            start_ms,
            end_ms,
            Some(step_ms),
            options,
        )
        .await
        {
            Ok(f) => f,
            Err(error @ (AnalysisError::InvalidRange(_) | AnalysisError::InvalidStep(_))) => {
                return Err(error);
            }
            Err(error) => {
                out.warnings
                    .push(format!("signal `{}`: {error}", signal.name));
                continue;
            }
        };
        for series in &fetched.series {
            let found = match detect_series(
                series,
                fetched.step_ms,
                start_ms,
                end_ms,
                &signal.methods,
                &signal.filter,
                options,
            ) {
                Ok(found) => found,
                Err(error) => {
                    out.warnings
                        .push(format!("signal `{}`: {error}", signal.name));
                    break;
                }
            };
            let entity = Entity {
                kind: signal.entity,
                labels: project(&series.labels, &signal.entity_labels),
            };
            out.anomalies.extend(found.into_iter().map(|mut a| {
                if !series.labels.contains_key("__name__") {
                    a.summary = a.summary.replacen("the series", &signal.name, 1);
                }
                a.signal = Some(signal.name.clone());
                a.query = Some(signal.query.clone());
                a.entity = Some(entity.clone());
                a.supporting = signal.role == Role::Supporting;
                a
            }));
        }
    }
    out.anomalies = corroborated(std::mem::take(&mut out.anomalies), SUPPORT_SLACK_MS);
    sort_by_score(&mut out.anomalies);
    Ok(out)
}

/// Reads the topology at `at_ms` into a dependency graph (edges GPU → model server and
/// GPU → training job, plus the list's rules). Failing topology queries give a graph with
/// the rules only, and a warning.
pub async fn topology(
    backend: &dyn MetricsBackend,
    watch: &WatchList,
    at_ms: i64,
) -> (DependencyGraph, Vec<String>) {
    let mut warnings = Vec::new();
    let mut rows = |answer: Result<Vec<Series>, String>, what: &str| match answer {
        Ok(series) => series
            .into_iter()
            .map(|s| s.labels)
            .collect::<Vec<BTreeMap<String, String>>>(),
        Err(error) => {
            warnings.push(format!("topology ({what}): {error}"));
            Vec::new()
        }
    };
    let gpu_pods = rows(
        instant(backend, &watch.topology.gpu_pods, at_ms).await,
        "GPU pods",
    );
    let owners = rows(
        instant(backend, &watch.topology.pod_owners, at_ms).await,
        "pod owners",
    );
    let mut graph = DependencyGraph {
        edges: Vec::new(),
        rules: watch.topology.rules.clone(),
    };
    graph.add_topology(
        &gpu_pods,
        &owners,
        &watch.entity_labels(EntityKind::Gpu),
        &watch.entity_labels(EntityKind::ModelServer),
        &watch.entity_labels(EntityKind::TrainingJob),
        &watch.topology.model_owner_label,
    );
    (graph, warnings)
}

async fn instant(
    backend: &dyn MetricsBackend,
    query: &str,
    at_ms: i64,
) -> Result<Vec<Series>, String> {
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    let answer = backend
        .instant(&InstantQuery {
            query: query.to_owned(),
            time_ms: at_ms,
            timeout: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    Series::from_answer(&answer).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_list_is_valid_and_round_trips_through_json() {
        let watch = WatchList::default();
        watch.validate().unwrap();
        let json = serde_json::to_value(&watch).unwrap();
        assert_eq!(json["signals"][0]["entity"], "model_server");
        assert_eq!(json["signals"][0]["direction"], "up");
        let back: WatchList = serde_json::from_value(json).unwrap();
        assert_eq!(back, watch);
        let custom: WatchList = serde_json::from_value(serde_json::json!({
            "signals": [{"name": "lag", "query": "kafka_consumergroup_lag",
                "entity": "pipeline", "entity_labels": ["cluster", "consumergroup"],
                "methods": ["rate_of_change"], "direction": "up"}]
        }))
        .unwrap();
        custom.validate().unwrap();
        assert_eq!(custom.topology, Topology::default());
        let mut twice = custom.clone();
        twice.signals.push(custom.signals[0].clone());
        assert!(twice.validate().is_err());
    }
}
