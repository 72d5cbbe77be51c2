//! GPU views over the fleet (`GET /api/v1/gpu/nodes`, `GET /api/v1/gpu/summary`): instant
//! federated queries of six dcgm-exporter gauges (each routed only to clusters with DCGM),
//! folded per GPU, per node and per cluster and model.
//!
//! A GPU is identified by its cluster, node (`Hostname`, or `hostname` from dcgm-exporter's May
//! 2026 rename on) and `UUID` (its `gpu` index when `UUID` is missing). Units follow DCGM:
//! utilisation in %, framebuffer in MiB (answered in bytes), temperature in °C, power in W,
//! `DCGM_FI_DEV_XID_ERRORS` the value of the last XID error (0: none).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::FleetError;
use crate::federate::{
    CLUSTER_LABEL, ClusterOutcome, ClusterReport, Evaluation, FederatedAnswer, FederatedQuery,
    Targets,
};
use crate::service::{Access, FleetService};

/// The dcgm-exporter gauges read, in the order of [`Field`].
pub const GPU_METRICS: [&str; 6] = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
];

const MIB: f64 = 1024.0 * 1024.0;

/// One GPU.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Gpu {
    /// The `gpu` index label.
    pub gpu: String,
    /// The `UUID` label.
    pub uuid: String,
    /// `DCGM_FI_DEV_GPU_UTIL` (%).
    pub utilisation_pct: Option<f64>,
    /// `DCGM_FI_DEV_FB_USED` in bytes.
    pub memory_used_bytes: Option<u64>,
    /// `FB_USED + FB_FREE` in bytes.
    pub memory_total_bytes: Option<u64>,
    /// `DCGM_FI_DEV_GPU_TEMP` (°C).
    pub temperature_c: Option<f64>,
    /// `DCGM_FI_DEV_POWER_USAGE` (W).
    pub power_w: Option<f64>,
    /// The last XID error (0: none).
    pub xid: Option<i64>,
    #[serde(skip)]
    model: String,
    #[serde(skip)]
    fb_free_bytes: Option<u64>,
}

/// One node with its GPUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuNode {
    /// The cluster.
    pub cluster: String,
    /// The node (`Hostname`/`hostname`; empty when the exporter sets neither).
    pub node: String,
    /// `modelName` (the models joined with `, ` when a node mixes them).
    pub gpu_model: String,
    /// How many GPUs.
    pub gpu_count: usize,
    /// Average utilisation over the GPUs that report it (%).
    pub utilisation_pct: Option<f64>,
    /// Sum over the GPUs.
    pub memory_used_bytes: u64,
    /// Sum over the GPUs.
    pub memory_total_bytes: u64,
    /// Hottest GPU (°C).
    pub temperature_c: Option<f64>,
    /// Sum over the GPUs (W).
    pub power_w: f64,
    /// GPUs whose last XID error is not 0.
    pub xid_errors: usize,
    /// The GPUs, by index.
    pub gpus: Vec<Gpu>,
}

/// GPUs of one model in one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuGroup {
    /// The cluster (`null` in the fleet totals).
    pub cluster: Option<String>,
    /// The model (`null` in the fleet totals).
    pub gpu_model: Option<String>,
    /// How many GPUs.
    pub gpus: usize,
    /// How many nodes have them.
    pub nodes: usize,
    /// Average utilisation (%).
    pub avg_utilisation_pct: Option<f64>,
    /// Sum.
    pub memory_used_bytes: u64,
    /// Sum.
    pub memory_total_bytes: u64,
    /// Hottest GPU (°C).
    pub max_temperature_c: Option<f64>,
    /// Sum (W).
    pub power_w: f64,
    /// GPUs whose last XID error is not 0.
    pub xid_errors: usize,
}

/// The GPUs of the asked clusters and how each cluster took part.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuFleet {
    /// Nodes by cluster and name.
    pub nodes: Vec<GpuNode>,
    /// Per cluster: the worst outcome over the six queries.
    pub clusters: BTreeMap<String, ClusterReport>,
    /// What went wrong, per cluster.
    pub warnings: Vec<String>,
}

impl GpuFleet {
    /// Whether no asked cluster answered although one was asked.
    pub fn all_failed(&self) -> bool {
        crate::federate::none_answered(&self.clusters)
    }

    /// `GET /api/v1/gpu/nodes`: `{"nodes": [...], "clusters": {...}, "warnings"?}`.
    pub fn nodes_json(&self) -> Value {
        let mut body = json!({"nodes": self.nodes, "clusters": self.clusters});
        if !self.warnings.is_empty() {
            body["warnings"] = json!(self.warnings);
        }
        body
    }

    /// `GET /api/v1/gpu/summary`: `{"groups": [by cluster and model], "totals": {...},
    /// "clusters": {...}, "warnings"?}`.
    pub fn summary_json(&self) -> Value {
        let all: Vec<(&GpuNode, &Gpu)> = self.gpus_by(|_, _| ()).into_values().flatten().collect();
        let groups = self.model_groups();
        let mut totals = serde_json::to_value(fold(None, None, &all)).unwrap_or(Value::Null);
        if let Value::Object(totals) = &mut totals {
            totals.remove("cluster");
            totals.remove("gpu_model");
            let clusters: std::collections::BTreeSet<&str> =
                self.nodes.iter().map(|n| n.cluster.as_str()).collect();
            totals.insert("clusters".into(), json!(clusters.len()));
        }
        let mut body = json!({"groups": groups, "totals": totals, "clusters": self.clusters});
        if !self.warnings.is_empty() {
            body["warnings"] = json!(self.warnings);
        }
        body
    }
}

impl GpuFleet {
    /// Every GPU with its node, grouped by `key`.
    fn gpus_by<K: Ord>(
        &self,
        key: impl Fn(&GpuNode, &Gpu) -> K,
    ) -> BTreeMap<K, Vec<(&GpuNode, &Gpu)>> {
        let mut groups: BTreeMap<K, Vec<(&GpuNode, &Gpu)>> = BTreeMap::new();
        for node in &self.nodes {
            for gpu in &node.gpus {
                groups.entry(key(node, gpu)).or_default().push((node, gpu));
            }
        }
        groups
    }

    /// One group per cluster and model.
    fn model_groups(&self) -> Vec<GpuGroup> {
        self.gpus_by(|node, gpu| (node.cluster.clone(), gpu.model.clone()))
            .into_iter()
            .map(|((cluster, model), gpus)| fold(Some(cluster), Some(model), &gpus))
            .collect()
    }

    /// Per cluster: its totals (model `null`) and its groups by model.
    pub(crate) fn cluster_totals(&self) -> Vec<(GpuGroup, Vec<GpuGroup>)> {
        let models = self.model_groups();
        self.gpus_by(|node, _| node.cluster.clone())
            .into_iter()
            .map(|(cluster, gpus)| {
                let of_cluster = models
                    .iter()
                    .filter(|g| g.cluster.as_deref() == Some(cluster.as_str()))
                    .cloned()
                    .collect();
                (fold(Some(cluster), None, &gpus), of_cluster)
            })
            .collect()
    }
}

fn fold(cluster: Option<String>, gpu_model: Option<String>, gpus: &[(&GpuNode, &Gpu)]) -> GpuGroup {
    let nodes: std::collections::BTreeSet<(&str, &str)> = gpus
        .iter()
        .map(|(n, _)| (n.cluster.as_str(), n.node.as_str()))
        .collect();
    let utilisation: Vec<f64> = gpus.iter().filter_map(|(_, g)| g.utilisation_pct).collect();
    GpuGroup {
        cluster,
        gpu_model,
        gpus: gpus.len(),
        nodes: nodes.len(),
        avg_utilisation_pct: average(&utilisation),
        memory_used_bytes: gpus.iter().filter_map(|(_, g)| g.memory_used_bytes).sum(),
        memory_total_bytes: gpus.iter().filter_map(|(_, g)| g.memory_total_bytes).sum(),
        max_temperature_c: max(gpus.iter().filter_map(|(_, g)| g.temperature_c)),
        power_w: gpus
            .iter()
            .filter_map(|(_, g)| g.power_w)
            .fold(0.0, |a, b| a + b),
        xid_errors: gpus
            .iter()
            .filter(|(_, g)| g.xid.is_some_and(|x| x != 0))
            .count(),
    }
}

#[allow(clippy::cast_precision_loss)]
fn average(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn max(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn mib_to_bytes(mib: f64) -> u64 {
    (mib.max(0.0) * MIB).round() as u64
}

fn label<'a>(metric: &'a serde_json::Map<String, Value>, names: &[&str]) -> &'a str {
    names
        .iter()
        .find_map(|n| metric.get(*n).and_then(Value::as_str))
        .unwrap_or("")
}

/// Folds the six answers (in [`GPU_METRICS`] order) into nodes.
pub fn fold_answers(answers: Vec<FederatedAnswer>) -> GpuFleet {
    let mut clusters: BTreeMap<String, ClusterReport> = BTreeMap::new();
    let mut warnings: Vec<String> = Vec::new();
    // (cluster, node, gpu key) -> GPU
    let mut gpus: BTreeMap<(String, String, String), Gpu> = BTreeMap::new();
    for (field, answer) in answers.into_iter().enumerate() {
        for (name, report) in answer.clusters {
            let entry = clusters.entry(name).or_insert_with(|| report.clone());
            entry.latency_ms = entry.latency_ms.max(report.latency_ms);
            if rank(report.status) > rank(entry.status) {
                entry.status = report.status;
                entry.error = report.error.clone();
            }
        }
        for warning in answer.warnings {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        for series in answer.result {
            let Some(metric) = series.get("metric").and_then(Value::as_object) else {
                continue;
            };
            let Some(value) = series
                .get("value")
                .and_then(|v| v.get(1))
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
            else {
                continue;
            };
            let cluster = label(metric, &[CLUSTER_LABEL]).to_owned();
            let node = label(metric, &["Hostname", "hostname"]).to_owned();
            let index = label(metric, &["gpu"]).to_owned();
            let uuid = label(metric, &["UUID"]).to_owned();
            let key = if uuid.is_empty() {
                index.clone()
            } else {
                uuid.clone()
            };
            let gpu = gpus.entry((cluster, node, key)).or_insert_with(|| Gpu {
                gpu: index,
                uuid,
                model: label(metric, &["modelName"]).to_owned(),
                ..Gpu::default()
            });
            match field {
                0 => gpu.utilisation_pct = Some(value),
                1 => gpu.memory_used_bytes = Some(mib_to_bytes(value)),
                2 => gpu.fb_free_bytes = Some(mib_to_bytes(value)),
                3 => gpu.temperature_c = Some(value),
                4 => gpu.power_w = Some(value),
                #[allow(clippy::cast_possible_truncation)]
                _ => gpu.xid = Some(value as i64),
            }
        }
    }
    let mut nodes: BTreeMap<(String, String), Vec<Gpu>> = BTreeMap::new();
    for ((cluster, node, _), mut gpu) in gpus {
        if let (Some(used), Some(free)) = (gpu.memory_used_bytes, gpu.fb_free_bytes) {
            gpu.memory_total_bytes = Some(used.saturating_add(free));
        }
        nodes.entry((cluster, node)).or_default().push(gpu);
    }
    let nodes = nodes
        .into_iter()
        .map(|((cluster, node), mut gpus)| {
            gpus.sort_by(|a, b| {
                let index = |g: &Gpu| g.gpu.parse::<u64>().unwrap_or(u64::MAX);
                index(a).cmp(&index(b)).then_with(|| a.uuid.cmp(&b.uuid))
            });
            let mut models: Vec<&str> = gpus.iter().map(|g| g.model.as_str()).collect();
            models.sort_unstable();
            models.dedup();
            let utilisation: Vec<f64> = gpus.iter().filter_map(|g| g.utilisation_pct).collect();
            GpuNode {
                gpu_model: models.join(", "),
                gpu_count: gpus.len(),
                utilisation_pct: average(&utilisation),
                memory_used_bytes: gpus.iter().filter_map(|g| g.memory_used_bytes).sum(),
                memory_total_bytes: gpus.iter().filter_map(|g| g.memory_total_bytes).sum(),
                temperature_c: max(gpus.iter().filter_map(|g| g.temperature_c)),
                power_w: gpus
                    .iter()
                    .filter_map(|g| g.power_w)
                    .fold(0.0, |a, b| a + b),
                xid_errors: gpus
                    .iter()
                    .filter(|g| g.xid.is_some_and(|x| x != 0))
                    .count(),
                cluster,
                node,
                gpus,
            }
        })
        .collect();
    GpuFleet {
        nodes,
        clusters,
        warnings,
    }
}

fn rank(outcome: ClusterOutcome) -> u8 {
    match outcome {
        ClusterOutcome::Ok => 0,
        ClusterOutcome::Skipped => 1,
        ClusterOutcome::Timeout => 2,
        ClusterOutcome::Error => 3,
    }
}

impl FleetService {
    /// The GPUs of `targets` now: six instant federated queries in parallel, folded (read on
    /// the registry needed).
    pub async fn gpu_fleet(
        &self,
        access: &dyn Access,
        targets: &Targets,
        now_ms: i64,
    ) -> Result<GpuFleet, FleetError> {
        let ask = |metric: &str| {
            let query = FederatedQuery {
                query: metric.to_owned(),
                evaluation: Evaluation::Instant { time_ms: now_ms },
                targets: targets.clone(),
                timeout: None,
                needs_dcgm: true,
            };
            async move { self.federated_query(access, &query).await }
        };
        let [m0, m1, m2, m3, m4, m5] = GPU_METRICS;
        let (a0, a1, a2, a3, a4, a5) =
            tokio::join!(ask(m0), ask(m1), ask(m2), ask(m3), ask(m4), ask(m5));
        let answers = vec![a0?, a1?, a2?, a3?, a4?, a5?];
        Ok(fold_answers(answers))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn answer(series: Vec<Value>) -> FederatedAnswer {
        FederatedAnswer {
            result_type: "vector".into(),
            result: series,
            clusters: BTreeMap::from([(
                "a".to_owned(),
                ClusterReport {
                    status: ClusterOutcome::Ok,
                    latency_ms: 3,
                    error: None,
                },
            )]),
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    fn series(name: &str, gpu: &str, host: (&str, &str), value: &str) -> Value {
        json!({"metric": {"__name__": name, "gpu": gpu, "UUID": format!("GPU-{gpu}"),
            "modelName": "NVIDIA H100 80GB HBM3", host.0: host.1, "cluster": "a"},
            "value": [1.0, value]})
    }

    #[test]
    fn gpus_fold_into_nodes_and_groups() {
        let old = ("Hostname", "n1");
        let new = ("hostname", "n2");
        let per = |value: [&str; 3]| {
            vec![
                series("x", "0", old, value[0]),
                series("x", "1", old, value[1]),
                series("x", "0", new, value[2]),
            ]
        };
        let fleet = fold_answers(vec![
            answer(per(["10", "30", "50"])),
            answer(per(["1024", "0", "1"])),
            answer(per(["1024", "2048", "1"])),
            answer(per(["40", "70", "55"])),
            answer(per(["100", "200.5", "300"])),
            answer(per(["0", "79", "0"])),
        ]);
        assert_eq!(fleet.nodes.len(), 2);
        let n1 = &fleet.nodes[0];
        assert_eq!((n1.node.as_str(), n1.gpu_count), ("n1", 2));
        assert_eq!(n1.utilisation_pct, Some(20.0));
        assert_eq!(n1.memory_used_bytes, 1024 * 1024 * 1024);
        assert_eq!(n1.memory_total_bytes, 4 * 1024 * 1024 * 1024);
        assert_eq!(n1.temperature_c, Some(70.0));
        assert!((n1.power_w - 300.5).abs() < 1e-9);
        assert_eq!(n1.xid_errors, 1);
        assert_eq!(n1.gpus[1].xid, Some(79));
        let summary = fleet.summary_json();
        assert_eq!(summary["groups"][0]["gpus"], 3);
        assert_eq!(summary["groups"][0]["nodes"], 2);
        assert_eq!(summary["totals"]["clusters"], 1);
        assert_eq!(summary["totals"]["max_temperature_c"], 70.0);
    }
}
