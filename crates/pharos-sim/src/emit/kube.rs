//! Pods as kube-state-metrics (`kube_pod_info`, `kube_pod_status_phase`) and cAdvisor
//! (`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes`) report them.

use pharos_tsdb::Labels;

use super::{Sink, Step};
use crate::fleet::{Cluster, Node, series};
use crate::rng::Rng;

/// A pod's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Running,
}

/// Every phase kube-state-metrics exports a series for.
const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
        }
    }
}

/// What a workload asks for when it creates a pod.
#[derive(Debug, Clone)]
pub(crate) struct PodSpec {
    pub namespace: &'static str,
    pub name: String,
    /// `None` while the pod is not scheduled.
    pub node: Option<Node>,
    pub owner_kind: &'static str,
    pub owner_name: String,
    pub container: &'static str,
    pub phase: Phase,
}

/// A pod with its resource usage, which its workload sets each tick.
#[derive(Debug)]
pub(crate) struct Pod {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub container: &'static str,
    pub ip: String,
    pub phase: Phase,
    /// CPU cores in use now.
    pub cpu_cores: f64,
    /// Working set now.
    pub memory_bytes: f64,
    cpu_seconds_total: f64,
    info_series: Labels,
    phase_series: Vec<(&'static str, Labels)>,
    cpu_series: Labels,
    memory_series: Labels,
}

impl Pod {
    pub(crate) fn new(cluster: &Cluster, spec: PodSpec, rng: &mut Rng) -> Self {
        let uid = format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        );
        let (node_name, host_ip) = spec
            .node
            .as_ref()
            .map_or((String::new(), String::new()), |node| {
                (node.name.clone(), node.ip.clone())
            });
        let ip = if spec.node.is_some() {
            format!(
                "10.{}.{}.{}",
                128 + rng.between(0, 63),
                rng.between(0, 255),
                rng.between(2, 254)
            )
        } else {
            String::new()
        };
        let state_metrics = [
            ("cluster", cluster.name.as_str()),
            ("namespace", spec.namespace),
            ("pod", spec.name.as_str()),
            ("uid", uid.as_str()),
            ("job", "kube-state-metrics"),
            ("instance", "kube-state-metrics.monitoring:8080"),
        ];
        let mut info = state_metrics.to_vec();
        info.extend([
            ("node", node_name.as_str()),
            ("host_ip", host_ip.as_str()),
            ("pod_ip", ip.as_str()),
            ("created_by_kind", spec.owner_kind),
            ("created_by_name", spec.owner_name.as_str()),
        ]);
        let phase_series = PHASES
            .iter()
            .map(|phase| {
                let mut labels = state_metrics.to_vec();
                labels.push(("phase", phase));
                (*phase, series("kube_pod_status_phase", &labels))
            })
            .collect();
        let cadvisor = [
            ("cluster", cluster.name.as_str()),
            ("namespace", spec.namespace),
            ("pod", spec.name.as_str()),
            ("container", spec.container),
            ("node", node_name.as_str()),
            ("job", "kubelet"),
            ("instance", node_name.as_str()),
            ("metrics_path", "/metrics/cadvisor"),
        ];
        let info_series = series("kube_pod_info", &info);
        let cpu_series = series("container_cpu_usage_seconds_total", &cadvisor);
        let memory_series = series("container_memory_working_set_bytes", &cadvisor);
        Self {
            cluster: cluster.name.clone(),
            namespace: spec.namespace.to_owned(),
            name: spec.name,
            container: spec.container,
            ip,
            phase: spec.phase,
            cpu_cores: 0.0,
            memory_bytes: 0.0,
            // As if the container had been running for a while before the simulation.
            cpu_seconds_total: rng.range(1_000.0, 50_000.0),
            info_series,
            phase_series,
            cpu_series,
            memory_series,
        }
    }

    /// Writes the pod's series; container series only while it runs.
    pub(crate) fn emit(&mut self, step: &Step<'_>, sink: &mut Sink<'_>) {
        sink(&self.info_series, 1.0);
        for (phase, labels) in &self.phase_series {
            sink(
                labels,
                if *phase == self.phase.as_str() {
                    1.0
                } else {
                    0.0
                },
            );
        }
        if self.phase == Phase::Running {
            self.cpu_seconds_total += self.cpu_cores.max(0.0) * step.dt_s;
            sink(&self.cpu_series, self.cpu_seconds_total);
            sink(&self.memory_series, self.memory_bytes.max(0.0).round());
        }
    }
}
