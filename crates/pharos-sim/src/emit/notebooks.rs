//! Jupyter notebooks: mostly idle, with bursts of CPU (and GPU, for the one that has a GPU)
//! while someone runs cells; memory creeps up until the kernel restarts.

use super::{GIB, Step};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Phase, Pod, PodSpec};
use crate::fleet::{TEAM_NAMESPACES, World};
use crate::rng::Rng;

/// Notebook users per team namespace.
const USERS: [(usize, &str); 3] = [(0, "alice"), (1, "bob"), (0, "carol")];

/// One notebook server.
#[derive(Debug)]
pub(crate) struct Notebook {
    pod: usize,
    gpu: Option<usize>,
    busy: bool,
    memory_gib: f64,
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
            let gpu = if position == 0 { free_gpus.pop() } else { None };
            let node = match gpu {
                Some(gpu) => world.node_of_gpu(cluster_index, gpu),
                None => cluster
                    .cpu_nodes
                    .get(position % cluster.cpu_nodes.len().max(1))
                    .cloned(),
            };
            let pod = world.add_pod(
                cluster_index,
                PodSpec {
                    namespace: TEAM_NAMESPACES[*team],
                    name: format!("jupyter-{user}-0"),
                    node,
                    owner_kind: "StatefulSet",
                    owner_name: format!("jupyter-{user}"),
                    container: "notebook",
                    phase: Phase::Running,
                },
                rng,
            );
            if let Some(gpu) = gpu {
                world.assign_gpu(gpu, pod);
            }
            world.notebooks.push(Notebook {
                pod,
                gpu,
                busy: rng.chance(0.3),
                memory_gib: rng.range(0.6, 4.0),
            });
        }
    }

    pub(crate) fn step(&mut self, step: &mut Step<'_>, pods: &mut [Pod], gpus: &mut [Gpu]) {
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
            self.memory_gib = (self.memory_gib + step.dt_s * step.rng.range(0.0, 0.004)).min(14.0);
        }
        // Now and then the kernel restarts (or the user restarts it) and memory drops.
        if step.rng.chance(step.dt_s / (4.0 * 3600.0)) {
            self.memory_gib = step.rng.range(0.5, 0.9);
        }
        let pod = &mut pods[self.pod];
        pod.cpu_cores = if self.busy {
            1.0 + 2.5 * step.rng.unit()
        } else {
            0.02 + 0.05 * step.rng.unit()
        };
        pod.memory_bytes = self.memory_gib * GIB;
        if let Some(gpu) = self.gpu {
            gpus[gpu].load = if self.busy {
                step.rng.range(0.3, 0.8)
            } else {
                0.0
            };
            gpus[gpu].memory_fraction = if self.busy { 0.45 } else { 0.12 };
        }
    }
}
