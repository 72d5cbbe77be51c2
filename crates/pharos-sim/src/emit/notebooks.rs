//! Jupyter notebooks as Kubeflow runs them: a `Notebook` resource, its StatefulSet and pod
//! `<name>-0` whose container has the notebook's name. Mostly idle, with bursts of CPU (and
//! GPU, for the one that has a GPU) while someone runs cells; memory creeps up until the
//! kernel restarts; a notebook idle for long is culled (its kernels stop).
//!
//! Series: cAdvisor and kube-state-metrics through the pod; Jupyter Server's own
//! `/metrics` (`kernel_currently_running_total{type}`, `terminal_currently_running_total`,
//! `jupyter_server_last_activity_timestamp_seconds`, `jupyter_server_started_timestamp_seconds`);
//! Kubeflow's notebook controller (`notebook_running`, `notebook_create_total`,
//! `notebook_create_failed_total` per namespace; `notebook_culling_total` and
//! `last_notebook_culling_timestamp_seconds` per notebook).

use pharos_tsdb::Labels;

use super::{Counter, GIB, Sink, Step, with};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Pod, PodSpec};
use crate::fleet::{TEAM_NAMESPACES, World, series};
use crate::rng::Rng;

/// Notebook users per team namespace.
const USERS: [(usize, &str); 3] = [(0, "alice"), (1, "bob"), (0, "carol")];

/// Idle time after which the controller culls a notebook.
const CULL_AFTER_S: f64 = 2700.0;

/// The notebook controller's per-namespace series, kept by the namespace's first notebook.
#[derive(Debug)]
struct NamespaceCounters {
    running: Labels,
    notebooks: f64,
    created: Counter,
    create_failed: Counter,
}

/// One notebook server.
#[derive(Debug)]
pub(crate) struct Notebook {
    pod: usize,
    gpu: Option<usize>,
    busy: bool,
    memory_gib: f64,
    kernels: f64,
    terminals: f64,
    idle_s: f64,
    last_activity_s: f64,
    started_s: Option<f64>,
    culled: Counter,
    last_culled_s: f64,
    kernels_series: Labels,
    terminals_series: Labels,
    last_activity_series: Labels,
    started_series: Labels,
    last_culled_series: Labels,
    namespace: Option<NamespaceCounters>,
}

impl Notebook {
    /// One notebook per user; the first gets a GPU when one is free.
    pub(crate) fn add_all(
        world: &mut World,
        cluster_index: usize,
        free_gpus: &mut Vec<usize>,
        rng: &mut Rng,
    ) {
        let cluster = world.clusters[cluster_index].clone();
        for (position, (team, user)) in USERS.iter().enumerate() {
            let namespace = TEAM_NAMESPACES[*team];
            let name = format!("jupyter-{user}");
            let gpu = if position == 0 { free_gpus.pop() } else { None };
            let node = match gpu {
                Some(gpu) => world.node_of_gpu(cluster_index, gpu),
                None => cluster
                    .cpu_nodes
                    .get(position % cluster.cpu_nodes.len().max(1))
                    .cloned(),
            };
            let mut spec = PodSpec::running(
                namespace,
                format!("{name}-0"),
                node,
                ("StatefulSet", name.clone()),
                name.clone(),
                "kubeflownotebookswg/jupyter-scipy:v1.9.2",
            );
            spec.gpus = usize::from(gpu.is_some());
            spec.cpu_request = 0.5;
            spec.memory_request_gib = 4.0;
            spec.labels = vec![
                ("label_notebook_name", name.clone()),
                ("label_statefulset", name.clone()),
                ("label_app", name.clone()),
            ];
            let pod = world.add_pod(cluster_index, spec, rng);
            if let Some(gpu) = gpu {
                world.assign_gpu(gpu, pod);
            }
            let (pod_name, instance) = {
                let pod = &world.pods[pod];
                (pod.name.clone(), format!("{}:8888", pod.ip))
            };
            let server = [
                ("cluster", cluster.name.as_str()),
                ("namespace", namespace),
                ("pod", pod_name.as_str()),
                ("job", "jupyter"),
                ("instance", instance.as_str()),
            ];
            // The notebook controller (scraped with honorLabels, so `namespace` is the
            // notebook's) has no pod of the notebook on its series.
            let controller = [
                ("cluster", cluster.name.as_str()),
                ("namespace", namespace),
                ("job", "notebook-controller"),
                ("instance", "notebook-controller-service.kubeflow:8080"),
            ];
            let per_notebook = with(&controller, &[("name", name.as_str())]);
            let first_in_namespace = USERS[..position].iter().all(|(t, _)| t != team);
            let namespace_counters = first_in_namespace.then(|| NamespaceCounters {
                running: series("notebook_running", &controller),
                notebooks: USERS.iter().filter(|(t, _)| t == team).count() as f64,
                created: Counter::new(
                    "notebook_create_total",
                    &controller,
                    rng.between(5, 30) as f64,
                ),
                create_failed: Counter::new(
                    "notebook_create_failed_total",
                    &controller,
                    rng.between(0, 2) as f64,
                ),
            });
            let culled = rng.between(0, 6) as f64;
            world.notebooks.push(Notebook {
                pod,
                gpu,
                busy: rng.chance(0.3),
                memory_gib: rng.range(0.6, 4.0),
                kernels: 1.0,
                terminals: f64::from(u8::from(rng.chance(0.5))),
                idle_s: 0.0,
                last_activity_s: 0.0,
                started_s: None,
                culled: Counter::new("notebook_culling_total", &per_notebook, culled),
                last_culled_s: 0.0,
                kernels_series: series(
                    "kernel_currently_running_total",
                    &with(&server, &[("type", "python3")]),
                ),
                terminals_series: series("terminal_currently_running_total", &server),
                last_activity_series: series(
                    "jupyter_server_last_activity_timestamp_seconds",
                    &server,
                ),
                started_series: series("jupyter_server_started_timestamp_seconds", &server),
                last_culled_series: series(
                    "last_notebook_culling_timestamp_seconds",
                    &per_notebook,
                ),
                namespace: namespace_counters,
            });
        }
    }

    pub(crate) fn step(
        &mut self,
        step: &mut Step<'_>,
        pods: &mut [Pod],
        gpus: &mut [Gpu],
        sink: &mut Sink<'_>,
    ) {
        let now_s = step.now_ms as f64 / 1000.0;
        let started = *self
            .started_s
            .get_or_insert_with(|| now_s - step.rng.range(3_600.0, 5.0 * 86_400.0));
        if self.last_activity_s == 0.0 {
            self.last_activity_s = now_s - step.rng.range(60.0, 1_200.0);
            self.last_culled_s = started - step.rng.range(3_600.0, 86_400.0);
        }
        // Busy spells last ~15 min, idle ones ~30 min.
        let switch = if self.busy {
            step.dt_s / 900.0
        } else {
            step.dt_s / 1800.0
        };
        if step.rng.chance(switch) {
            self.busy = !self.busy;
        }
        if self.busy {
            self.idle_s = 0.0;
            self.last_activity_s = now_s - step.rng.range(0.0, 20.0);
            self.memory_gib = (self.memory_gib + step.dt_s * step.rng.range(0.0, 0.004)).min(14.0);
            if self.kernels == 0.0 {
                self.kernels = 1.0;
            } else if step.rng.chance(step.dt_s / 1800.0) {
                self.kernels = (self.kernels + 1.0).min(3.0);
            }
        } else {
            self.idle_s += step.dt_s;
            if self.idle_s > CULL_AFTER_S && self.kernels > 0.0 {
                // Culled: the controller stops the idle kernels.
                self.kernels = 0.0;
                self.culled.add(1.0);
                self.last_culled_s = now_s;
                self.memory_gib = step.rng.range(0.3, 0.5);
            }
        }
        // Now and then the kernel restarts (or the user restarts it) and memory drops.
        if step.rng.chance(step.dt_s / (4.0 * 3600.0)) {
            self.memory_gib = step.rng.range(0.5, 0.9);
        }
        if step.rng.chance(step.dt_s / 3600.0) {
            self.terminals = f64::from(u8::from(self.terminals == 0.0));
        }
        let pod = &mut pods[self.pod];
        pod.cpu_cores = if self.busy {
            1.0 + 2.5 * step.rng.unit()
        } else {
            0.02 + 0.05 * step.rng.unit()
        };
        pod.memory_bytes = self.memory_gib * GIB;
        // Reading data sets and writing results while busy; pulling packages now and then.
        pod.read_bps = if self.busy {
            step.rng.range(2e6, 40e6)
        } else {
            0.0
        };
        pod.write_bps = if self.busy {
            step.rng.range(2e5, 5e6)
        } else {
            0.0
        };
        pod.receive_bps = if self.busy {
            step.rng.range(1e5, 8e6)
        } else {
            500.0
        };
        pod.transmit_bps = if self.busy {
            step.rng.range(2e4, 4e5)
        } else {
            300.0
        };
        if let Some(gpu) = self.gpu {
            gpus[gpu].load = if self.busy {
                step.rng.range(0.3, 0.8)
            } else {
                0.0
            };
            gpus[gpu].memory_fraction = if self.busy { 0.45 } else { 0.12 };
        }
        sink(&self.kernels_series, self.kernels);
        sink(&self.terminals_series, self.terminals);
        sink(&self.last_activity_series, self.last_activity_s.round());
        sink(&self.started_series, started.round());
        self.culled.emit(sink);
        sink(&self.last_culled_series, self.last_culled_s.round());
        if let Some(namespace) = &mut self.namespace {
            if step.rng.chance(step.dt_s / 21_600.0) {
                namespace.created.add(1.0);
            }
            sink(&namespace.running, namespace.notebooks);
            namespace.created.emit(sink);
            namespace.create_failed.emit(sink);
        }
    }
}
