//! The built-in AI-platform simulator: realistic, continuously moving metrics for a small
//! fleet (three Kubernetes clusters with GPUs, model servers, training jobs, notebooks and data
//! pipelines), written straight into the embedded store, plus a Perses demo dashboard.
//!
//! * [`Simulator`] is pure and deterministic: [`Simulator::tick`] advances the fleet to a time
//!   and returns every series' value; the same [`SimOptions`] and tick times give the same
//!   samples. Counters only go up. [`Simulator::incidents`] lists what went wrong (a latency
//!   spike, an error burst, a GPU stuck at 100 %, a stalled pipeline) and where.
//! * [`run`] backfills recent history ([`SimOptions::backfill`], 6 h by default) and then
//!   appends a tick every interval until shutdown; [`Simulator::backfill`] fills any range.
//! * [`Simulator::export_openmetrics`] writes the same ticks as an OpenMetrics file instead
//!   (for `promtool tsdb create-blocks-from openmetrics` or `pharos tsdb import`).
//! * [`demo_dashboard`] is a Perses dashboard of the fleet on the `local` datasource.
//!
//! The exact names, labels and conventions are listed in `docs/user/templates.md`.
//!
//! Every series has the name and labels of the real exporter that would write it, plus
//! `cluster` (an external label) and the scrape's `job` and `instance`:
//!
//! * GPUs, NVIDIA dcgm-exporter: `DCGM_FI_DEV_{GPU_UTIL,FB_USED,FB_FREE,FB_RESERVED,GPU_TEMP,
//!   POWER_USAGE,SM_CLOCK,MEM_CLOCK,MEM_COPY_UTIL,XID_ERRORS,TOTAL_ENERGY_CONSUMPTION,
//!   PCIE_REPLAY_COUNTER}`, `DCGM_FI_PROF_{GR_ENGINE_ACTIVE,PIPE_TENSOR_ACTIVE,DRAM_ACTIVE}`
//!   (labels `gpu`, `UUID`, `pci_bus_id`, `device`, `modelName`, `Hostname`,
//!   `DCGM_FI_DRIVER_VERSION`; `namespace`, `pod`, `container` when allocated to a pod);
//! * pods, kube-state-metrics: `kube_pod_info`, `kube_pod_owner`, `kube_pod_labels`,
//!   `kube_pod_status_phase`, `kube_pod_container_status_restarts_total`,
//!   `kube_pod_container_resource_requests` (`resource` = cpu, memory, nvidia_com_gpu);
//!   cAdvisor (`job="kubelet"`, `metrics_path="/metrics/cadvisor"`):
//!   `container_cpu_usage_seconds_total`, `container_memory_working_set_bytes`,
//!   `container_fs_{reads,writes}_bytes_total`, `container_network_{receive,transmit}_bytes_total`;
//! * model serving (KServe, namespace `ml-serving`): Knative queue-proxy
//!   `revision_request_count`, `revision_request_latencies` (ms); vLLM `vllm:*` (`llm-chat`);
//!   Triton `nv_inference_*` (`embeddings`); KServe `request_predict_seconds`
//!   (`reranker`, `fraud-detector`);
//! * training (`PyTorchJob`/`TFJob`, namespace `ml-training`): application metrics
//!   `training_loss`, `training_accuracy`, `training_samples_total`,
//!   `training_step_duration_seconds`; the operator's `training_operator_jobs_*_total`;
//! * notebooks (Kubeflow, `team-a`/`team-b`): Jupyter Server's `kernel_currently_running_total`,
//!   `terminal_currently_running_total`, `jupyter_server_last_activity_timestamp_seconds`,
//!   `jupyter_server_started_timestamp_seconds`; the notebook controller's `notebook_running`,
//!   `notebook_create_total`, `notebook_create_failed_total`, `notebook_culling_total`,
//!   `last_notebook_culling_timestamp_seconds`;
//! * pipelines (Argo WorkflowTemplates fed from Kafka): `kafka_consumergroup_lag`,
//!   `kafka_consumergroup_current_offset`, `kafka_topic_partition_current_offset`;
//!   `argo_workflows_*` (controller metrics and the per-step custom histogram
//!   `argo_workflows_step_duration_seconds`); Kubeflow Pipelines' `run_server_*`.
//!
//! ```
//! use pharos_sim::{SimOptions, Simulator};
//!
//! let mut simulator = Simulator::new(SimOptions::default());
//! let samples = simulator.tick(1_767_225_600_000);
//! assert!(samples.iter().any(|(labels, _)| labels.metric_name() == Some("DCGM_FI_DEV_GPU_UTIL")));
//! ```

mod access_logs;
mod dashboard;
mod emit;
mod export;
mod fleet;
mod incidents;
mod options;
mod rng;
mod runner;
mod simulator;

pub use access_logs::{
    AccessLogHistory, AccessLogLine, AccessLogs, DEMO_LOG_SERVICES, DemoLogService,
    SIM_ENVOY_SOURCE, SIM_NGINX_SOURCE, demo_log_sources, loki_push_bodies,
};
pub use dashboard::{DEMO_DASHBOARD_NAME, DEMO_DATASOURCE, DEMO_PROJECT, demo_dashboard};
pub use export::ExportSummary;
pub use fleet::{SERVING_NAMESPACE, TEAM_NAMESPACES, TRAINING_NAMESPACE, cluster_names};
pub use incidents::{Incident, IncidentKind};
pub use options::SimOptions;
pub use runner::{
    ACCESS_LOG_HISTORY, AccessLogSink, BackfillSummary, run, run_notifying, run_with_access_logs,
};
pub use simulator::Simulator;

/// Alerting rules that fire during the simulator's incidents (Prometheus rule file YAML),
/// loaded when the demo runs: `ModelLatencyHigh`, `ModelErrorRateHigh`,
/// `GpuStuckAtFullUtilisation` and `PipelineLagGrowing`.
pub const DEMO_RULES: &str = include_str!("../rules/demo-rules.yml");
