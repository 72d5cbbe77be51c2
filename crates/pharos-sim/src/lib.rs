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
//! * [`demo_dashboard`] is a Perses dashboard of the fleet on the `local` datasource.
//!
//! Series (all with `cluster`; workload series with `namespace` and `pod`):
//! `DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_FB_FREE`, `DCGM_FI_DEV_GPU_TEMP`,
//! `DCGM_FI_DEV_POWER_USAGE`, `DCGM_FI_DEV_SM_CLOCK` (labels `gpu`, `UUID`, `device`,
//! `modelName`, `Hostname`); `model_inference_requests_total{model,status}`,
//! `model_inference_request_duration_seconds_{bucket,sum,count}`; `training_loss`,
//! `training_accuracy`, `training_samples_per_second`, `training_steps_total`
//! (`training_job`); `pipeline_records_processed_total`, `pipeline_consumer_lag_records`
//! (`pipeline`); `kube_pod_info`, `kube_pod_status_phase`, `container_cpu_usage_seconds_total`,
//! `container_memory_working_set_bytes`.
//!
//! ```
//! use pharos_sim::{SimOptions, Simulator};
//!
//! let mut simulator = Simulator::new(SimOptions::default());
//! let samples = simulator.tick(1_767_225_600_000);
//! assert!(samples.iter().any(|(labels, _)| labels.metric_name() == Some("DCGM_FI_DEV_GPU_UTIL")));
//! ```

mod dashboard;
mod emit;
mod fleet;
mod incidents;
mod options;
mod rng;
mod runner;
mod simulator;

pub use dashboard::{DEMO_DASHBOARD_NAME, DEMO_DATASOURCE, DEMO_PROJECT, demo_dashboard};
pub use fleet::{SERVING_NAMESPACE, TEAM_NAMESPACES, TRAINING_NAMESPACE};
pub use incidents::{Incident, IncidentKind};
pub use options::SimOptions;
pub use runner::{BackfillSummary, run, run_notifying};
pub use simulator::Simulator;
