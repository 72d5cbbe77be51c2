//! Pods as kube-state-metrics (`kube_pod_info`, `kube_pod_owner`, `kube_pod_labels`,
//! `kube_pod_status_phase`, `kube_pod_container_status_restarts_total`,
//! `kube_pod_container_resource_requests`) and the kubelet's cAdvisor
//! (`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes`,
//! `container_fs_{reads,writes}_bytes_total`, `container_network_{receive,transmit}_bytes_total`)
//! report them.

use pharos_tsdb::Labels;

use super::{GIB, Sink, Step, with};
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
    pub container: String,
    pub image: &'static str,
    pub phase: Phase,
    /// `nvidia.com/gpu` requested.
    pub gpus: usize,
    /// CPU cores and memory (GiB) requested.
    pub cpu_request: f64,
    pub memory_request_gib: f64,
    /// Kubernetes labels of the pod, already sanitised the way kube-state-metrics writes them
    /// in `kube_pod_labels` (`label_<name>` with `.`, `/` and `-` turned into `_`).
    pub labels: Vec<(&'static str, String)>,
}

impl PodSpec {
    /// A running pod with no GPU, no extra labels and the given requests.
    pub(crate) fn running(
        namespace: &'static str,
        name: String,
        node: Option<Node>,
        owner: (&'static str, String),
        container: impl Into<String>,
        image: &'static str,
    ) -> Self {
        Self {
            namespace,
            name,
            node,
            owner_kind: owner.0,
            owner_name: owner.1,
            container: container.into(),
            image,
            phase: Phase::Running,
            gpus: 0,
            cpu_request: 1.0,
            memory_request_gib: 2.0,
            labels: Vec::new(),
        }
    }
}

/// A pod with its resource usage, which its workload sets each tick.
#[derive(Debug)]
pub(crate) struct Pod {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub container: String,
    pub ip: String,
    pub phase: Phase,
    /// CPU cores in use now.
    pub cpu_cores: f64,
    /// Working set now.
    pub memory_bytes: f64,
    /// Disk reads and writes, bytes per second now.
    pub read_bps: f64,
    pub write_bps: f64,
    /// Network received and sent, bytes per second now.
    pub receive_bps: f64,
    pub transmit_bps: f64,
    /// Mean time between container restarts, seconds.
    pub restart_every_s: f64,
    cpu_seconds_total: f64,
    read_total: f64,
    write_total: f64,
    receive_total: f64,
    transmit_total: f64,
    restarts: f64,
    info_series: Vec<(Labels, f64)>,
    phase_series: Vec<(&'static str, Labels)>,
    restarts_series: Labels,
    cpu_series: Labels,
    memory_series: Labels,
    io_series: [Labels; 4],
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
        let container = [("container", spec.container.as_str())];
        let mut info_series = vec![
            (
                series(
                    "kube_pod_info",
                    &with(
                        &state_metrics,
                        &[
                            ("node", node_name.as_str()),
                            ("host_ip", host_ip.as_str()),
                            ("pod_ip", ip.as_str()),
                            ("created_by_kind", spec.owner_kind),
                            ("created_by_name", spec.owner_name.as_str()),
                            ("priority_class", ""),
                            ("host_network", "false"),
                        ],
                    ),
                ),
                1.0,
            ),
            (
                series(
                    "kube_pod_owner",
                    &with(
                        &state_metrics,
                        &[
                            ("owner_kind", spec.owner_kind),
                            ("owner_name", spec.owner_name.as_str()),
                            ("owner_is_controller", "true"),
                        ],
                    ),
                ),
                1.0,
            ),
            (
                series(
                    "kube_pod_labels",
                    &with(
                        &state_metrics,
                        &spec
                            .labels
                            .iter()
                            .map(|(name, value)| (*name, value.as_str()))
                            .collect::<Vec<_>>(),
                    ),
                ),
                1.0,
            ),
        ];
        let mut requests = vec![
            ("cpu", "core", spec.cpu_request),
            ("memory", "byte", spec.memory_request_gib * GIB),
        ];
        if spec.gpus > 0 {
            requests.push(("nvidia_com_gpu", "integer", spec.gpus as f64));
        }
        for (resource, unit, value) in requests {
            let labels = with(
                &state_metrics,
                &[
                    container[0],
                    ("node", node_name.as_str()),
                    ("resource", resource),
                    ("unit", unit),
                ],
            );
            info_series.push((
                series("kube_pod_container_resource_requests", &labels),
                value,
            ));
        }
        let phase_series = PHASES
            .iter()
            .map(|phase| {
                (
                    *phase,
                    series(
                        "kube_pod_status_phase",
                        &with(&state_metrics, &[("phase", phase)]),
                    ),
                )
            })
            .collect();
        let restarts_series = series(
            "kube_pod_container_status_restarts_total",
            &with(&state_metrics, &container),
        );
        let cadvisor = [
            ("cluster", cluster.name.as_str()),
            ("namespace", spec.namespace),
            ("pod", spec.name.as_str()),
            ("container", spec.container.as_str()),
            ("image", spec.image),
            ("node", node_name.as_str()),
            ("job", "kubelet"),
            ("instance", node_name.as_str()),
            ("metrics_path", "/metrics/cadvisor"),
        ];
        // Network counters belong to the pod's sandbox: no container or image label.
        let network = [
            ("cluster", cluster.name.as_str()),
            ("namespace", spec.namespace),
            ("pod", spec.name.as_str()),
            ("interface", "eth0"),
            ("node", node_name.as_str()),
            ("job", "kubelet"),
            ("instance", node_name.as_str()),
            ("metrics_path", "/metrics/cadvisor"),
        ];
        let disk = with(&cadvisor, &[("device", "/dev/nvme0n1")]);
        let io_series = [
            series("container_fs_reads_bytes_total", &disk),
            series("container_fs_writes_bytes_total", &disk),
            series("container_network_receive_bytes_total", &network),
            series("container_network_transmit_bytes_total", &network),
        ];
        let cpu_series = series("container_cpu_usage_seconds_total", &cadvisor);
        let memory_series = series("container_memory_working_set_bytes", &cadvisor);
        Self {
            cluster: cluster.name.clone(),
            namespace: spec.namespace.to_owned(),
            name: spec.name.clone(),
            container: spec.container.clone(),
            ip,
            phase: spec.phase,
            cpu_cores: 0.0,
            memory_bytes: 0.0,
            read_bps: 0.0,
            write_bps: 0.0,
            receive_bps: 0.0,
            transmit_bps: 0.0,
            restart_every_s: 3.0 * 86_400.0,
            // As if the container had been running for a while before the simulation.
            cpu_seconds_total: rng.range(1_000.0, 50_000.0),
            read_total: rng.range(1e8, 5e9).round(),
            write_total: rng.range(1e7, 1e9).round(),
            receive_total: rng.range(1e8, 5e9).round(),
            transmit_total: rng.range(1e8, 5e9).round(),
            restarts: if rng.chance(0.2) { 1.0 } else { 0.0 },
            info_series,
            phase_series,
            restarts_series,
            cpu_series,
            memory_series,
            io_series,
        }
    }

    /// Writes the pod's series; container series only while it runs.
    pub(crate) fn emit(&mut self, step: &mut Step<'_>, sink: &mut Sink<'_>) {
        for (labels, value) in &self.info_series {
            sink(labels, *value);
        }
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
        if self.phase != Phase::Running {
            return;
        }
        if step.rng.chance(step.dt_s / self.restart_every_s.max(1.0)) {
            self.restarts += 1.0;
        }
        sink(&self.restarts_series, self.restarts);
        self.cpu_seconds_total += self.cpu_cores.max(0.0) * step.dt_s;
        sink(&self.cpu_series, self.cpu_seconds_total);
        sink(&self.memory_series, self.memory_bytes.max(0.0).round());
        let noise = step.rng.range(0.8, 1.2);
        // A little background traffic (probes, logs, metrics scrapes) on every pod.
        self.read_total += ((self.read_bps + 2_000.0) * noise * step.dt_s).round();
        self.write_total += ((self.write_bps + 8_000.0) * noise * step.dt_s).round();
        self.receive_total += ((self.receive_bps + 1_500.0) * noise * step.dt_s).round();
        self.transmit_total += ((self.transmit_bps + 3_000.0) * noise * step.dt_s).round();
        let totals = [
            self.read_total,
            self.write_total,
            self.receive_total,
            self.transmit_total,
        ];
        for (labels, value) in self.io_series.iter().zip(totals) {
            sink(labels, value);
        }
    }
}
