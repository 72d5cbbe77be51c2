//! The simulated fleet: clusters, nodes and the pods of every workload, built once from the
//! seed. Workload modules hold the per-entity state that moves with each tick.

use pharos_tsdb::{Labels, METRIC_NAME_LABEL};

use crate::emit::gpu::{Gpu, GpuModel};
use crate::emit::kube::{Phase, Pod, PodSpec};
use crate::emit::notebooks::Notebook;
use crate::emit::pipelines::Pipeline;
use crate::emit::serving::ModelDeployment;
use crate::emit::training::TrainingRun;
use crate::options::SimOptions;
use crate::rng::Rng;

/// Namespace of the model servers.
pub const SERVING_NAMESPACE: &str = "ml-serving";
/// Namespace of the training jobs.
pub const TRAINING_NAMESPACE: &str = "ml-training";
/// Namespaces of the two teams with notebooks and data pipelines.
pub const TEAM_NAMESPACES: [&str; 2] = ["team-a", "team-b"];

/// Name, UTC offset (hours, for the daily traffic curve) and GPU model of the first clusters.
const CLUSTER_LAYOUT: [(&str, f64, GpuModel); 3] = [
    ("prod-eu-1", 1.0, GpuModel::A100),
    ("prod-us-1", -5.0, GpuModel::H100),
    ("dev-ap-1", 5.5, GpuModel::L4),
];

/// Name, UTC offset and GPU model of the cluster at `index`.
fn cluster_layout(index: usize) -> (String, f64, GpuModel) {
    CLUSTER_LAYOUT
        .get(index)
        .map(|(name, offset, model)| ((*name).to_owned(), *offset, *model))
        .unwrap_or_else(|| (format!("cluster-{}", index + 1), 0.0, GpuModel::A100))
}

/// The UTC offset (hours) of the cluster named `name`, 0 for clusters past the fixed layout.
pub(crate) fn utc_offset_of(name: &str) -> f64 {
    CLUSTER_LAYOUT
        .iter()
        .find(|(cluster, _, _)| *cluster == name)
        .map_or(0.0, |(_, offset, _)| *offset)
}

/// The names of the simulated clusters (the value of every series' `cluster` label).
pub fn cluster_names(options: &SimOptions) -> Vec<String> {
    (0..options.clusters).map(|i| cluster_layout(i).0).collect()
}

/// A cluster and its nodes.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub name: String,
    pub utc_offset_hours: f64,
    pub gpu_model: GpuModel,
    pub gpu_nodes: Vec<Node>,
    pub cpu_nodes: Vec<Node>,
}

/// A Kubernetes node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    pub ip: String,
}

/// Everything simulated, with its state.
#[derive(Debug)]
pub(crate) struct World {
    pub clusters: Vec<Cluster>,
    pub pods: Vec<Pod>,
    pub gpus: Vec<Gpu>,
    pub models: Vec<ModelDeployment>,
    pub trainings: Vec<TrainingRun>,
    pub notebooks: Vec<Notebook>,
    pub pipelines: Vec<Pipeline>,
}

/// A series' label set: `__name__` plus `labels`. Names here are fixed identifiers, valid by
/// construction (a unit test checks every series), so the fallback never happens.
pub(crate) fn series(name: &str, labels: &[(&str, &str)]) -> Labels {
    Labels::new(std::iter::once((METRIC_NAME_LABEL, name)).chain(labels.iter().copied()))
        .unwrap_or_default()
}

/// A histogram bound as the exporter's client library writes it in `le`: Python's
/// `prometheus_client` always has a decimal point (`1.0`, `0.005`), Go's shortest form does not
/// (`1`). PromQL reads both the same.
pub(crate) fn format_le(le: f64, python: bool) -> String {
    if python && le.fract() == 0.0 {
        format!("{le:.1}")
    } else {
        le.to_string()
    }
}

/// Daily traffic curve in `[0.35, 1.0]`, peaking mid-afternoon local time.
pub(crate) fn diurnal(now_ms: i64, utc_offset_hours: f64) -> f64 {
    let hours = now_ms as f64 / 3_600_000.0 + utc_offset_hours;
    let local = hours.rem_euclid(24.0);
    0.675 + 0.325 * (std::f64::consts::TAU * (local - 9.0) / 24.0).sin()
}

impl World {
    /// Lays out the fleet for `options`.
    pub(crate) fn build(options: &SimOptions) -> Self {
        let mut rng = Rng::derive(options.seed, 1);
        let mut world = World {
            clusters: Vec::new(),
            pods: Vec::new(),
            gpus: Vec::new(),
            models: Vec::new(),
            trainings: Vec::new(),
            notebooks: Vec::new(),
            pipelines: Vec::new(),
        };
        for index in 0..options.clusters {
            let (name, utc_offset_hours, gpu_model) = cluster_layout(index);
            let node = |rng: &mut Rng, kind: &str, n: usize| Node {
                name: format!("{kind}-node-{}", n + 1),
                ip: format!(
                    "10.{}.{}.{}",
                    index,
                    rng.between(0, 31),
                    rng.between(2, 254)
                ),
            };
            let cluster = Cluster {
                gpu_nodes: (0..options.gpu_nodes_per_cluster)
                    .map(|n| node(&mut rng, "gpu", n))
                    .collect(),
                cpu_nodes: (0..3).map(|n| node(&mut rng, "cpu", n)).collect(),
                name,
                utc_offset_hours,
                gpu_model,
            };
            let cluster_index = world.clusters.len();
            world.clusters.push(cluster);
            world.populate(cluster_index, options, &mut rng);
        }
        world
    }

    /// Adds the cluster's GPUs and workloads: training first (it needs whole nodes' worth of
    /// GPUs), then model servers, then notebooks and pipelines; spare GPUs stay idle.
    fn populate(&mut self, cluster_index: usize, options: &SimOptions, rng: &mut Rng) {
        let cluster = self.clusters[cluster_index].clone();
        let first_gpu = self.gpus.len();
        for node in &cluster.gpu_nodes {
            for index in 0..options.gpus_per_node {
                self.gpus.push(Gpu::new(rng, &cluster, node, index));
            }
        }
        let mut free_gpus: Vec<usize> = (first_gpu..self.gpus.len()).collect();
        free_gpus.reverse();

        TrainingRun::add(self, cluster_index, &mut free_gpus, rng);
        ModelDeployment::add_all(self, cluster_index, &mut free_gpus, rng);
        Notebook::add_all(self, cluster_index, &mut free_gpus, rng);
        Pipeline::add_all(self, cluster_index, rng);
        // A pod waiting for GPUs that are all taken: what capacity dashboards look for.
        let trial = format!("hparam-sweep-trial-{}", rng.between(3, 19));
        let mut pending = PodSpec::running(
            TRAINING_NAMESPACE,
            format!("{trial}-master-0"),
            None,
            ("PyTorchJob", trial.clone()),
            "pytorch",
            "docker.io/pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
        );
        pending.phase = Phase::Pending;
        pending.gpus = 4;
        pending.cpu_request = 8.0;
        pending.memory_request_gib = 64.0;
        pending.labels = vec![
            ("label_training_kubeflow_org_job_name", trial),
            (
                "label_training_kubeflow_org_replica_type",
                "master".to_owned(),
            ),
            ("label_training_kubeflow_org_replica_index", "0".to_owned()),
        ];
        self.add_pod(cluster_index, pending, rng);
    }

    /// Creates a pod and returns its index.
    pub(crate) fn add_pod(&mut self, cluster_index: usize, spec: PodSpec, rng: &mut Rng) -> usize {
        let pod = Pod::new(&self.clusters[cluster_index], spec, rng);
        self.pods.push(pod);
        self.pods.len() - 1
    }

    /// The node a GPU sits in.
    pub(crate) fn node_of_gpu(&self, cluster_index: usize, gpu: usize) -> Option<Node> {
        let hostname = &self.gpus.get(gpu)?.hostname;
        self.clusters[cluster_index]
            .gpu_nodes
            .iter()
            .find(|node| &node.name == hostname)
            .cloned()
    }

    /// Binds a GPU to a pod (DCGM then reports the pod's namespace and name with it).
    pub(crate) fn assign_gpu(&mut self, gpu: usize, pod: usize) {
        let (namespace, name, container) = {
            let pod = &self.pods[pod];
            (
                pod.namespace.clone(),
                pod.name.clone(),
                pod.container.clone(),
            )
        };
        self.gpus[gpu].assign(&namespace, &name, &container);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_curve_stays_in_range_and_moves() {
        let values: Vec<f64> = (0..24).map(|h| diurnal(h * 3_600_000, 0.0)).collect();
        assert!(values.iter().all(|v| (0.35..=1.0).contains(v)));
        let (min, max) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        assert!(max - min > 0.5, "traffic varies over the day");
    }

    #[test]
    fn fleet_has_the_requested_shape() {
        let options = SimOptions::default();
        let world = World::build(&options);
        assert_eq!(world.clusters.len(), 3);
        assert_eq!(
            world.gpus.len(),
            3 * options.gpu_nodes_per_cluster * options.gpus_per_node
        );
        for namespace in [SERVING_NAMESPACE, TRAINING_NAMESPACE, "team-a", "team-b"] {
            for cluster in &world.clusters {
                assert!(
                    world
                        .pods
                        .iter()
                        .any(|p| p.namespace == namespace && p.cluster == cluster.name),
                    "{namespace} in {}",
                    cluster.name
                );
            }
        }
    }
}
