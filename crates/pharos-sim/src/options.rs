//! What fleet to simulate.

use std::time::Duration;

/// Simulator settings. Two simulators with equal options produce identical series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Seed of every random choice: fleet layout, noise, incidents.
    pub seed: u64,
    /// Number of Kubernetes clusters (default 3).
    pub clusters: usize,
    /// GPU nodes per cluster (default 3).
    pub gpu_nodes_per_cluster: usize,
    /// GPUs per GPU node (default 4).
    pub gpus_per_node: usize,
    /// How much history [`crate::run`] writes before going live (default 6 h); zero for none.
    pub backfill: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            clusters: 3,
            gpu_nodes_per_cluster: 3,
            gpus_per_node: 4,
            backfill: Duration::from_secs(6 * 3600),
        }
    }
}
