//! `workloads:`: where `GET /api/v1/projects/{project}/workloads` finds the AI workloads of a
//! project — the Kubernetes API (the custom resources themselves) or kube-state-metrics in the
//! project's default Prometheus datasource.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `workloads`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadSettings {
    /// List the custom resources from the Kubernetes API server of `security.kubernetes`
    /// (with Pharos's own service-account token) instead of reading kube-state-metrics.
    /// Off by default: it needs `list` on the workload resources (see docs/user/workloads.md).
    pub kubernetes: bool,
    /// Longest wait for one list request to the API server.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Largest list answer read, in bytes; a larger one is dropped with a warning.
    pub max_list_bytes: usize,
}

impl Default for WorkloadSettings {
    fn default() -> Self {
        Self {
            kubernetes: false,
            timeout: Duration::from_secs(5),
            max_list_bytes: 8 * 1024 * 1024,
        }
    }
}
