//! Latency SLOs of services, without HTTP: this crate owns the service catalog (each service's
//! project, owners, alert threshold with its change history and optional objective, kept in the
//! config store), who may read and change a service ([`Viewer`]), the latency of a service per
//! 5-minute bucket read from the embedded store's `pharos_service_*` gauges (written by
//! `pharos-logs`) with its 7-day baselines and breaches, the data-quality checks that gate a
//! baseline, and the breach alert rule evaluated by the rule engine.
//!
//! The server maps [`SloError`] to HTTP and passes its caller as a [`Viewer`]; the binary writes
//! [`SloService::threshold_samples`] into the store so that rules and dashboards see thresholds.
//! See decision 0022 and `docs/user/latency-slos.md`.

mod access;
mod baseline;
mod buckets;
mod burn;
mod catalog;
mod dashboard;
mod error;
mod latency;
mod model;
mod quality;
mod rules;
mod service;
mod settings;

pub use access::Viewer;
pub use baseline::{BASELINE_DESCRIPTION, WEEK_MS};
pub use burn::{BURN_RATE_METRIC, WINDOWS as BURN_WINDOWS};
pub use catalog::SERVICE_KIND;
pub use dashboard::{DASHBOARD_NAME, service_latency_dashboard};
pub use error::SloError;
pub use latency::{LatencyRange, MAX_RANGE_MS};
pub use model::{
    Bucket, EntryUpdate, Latency, Objective, Quality, QualityCheck, QualityStatus, ServiceEntry,
    ServiceView, ThresholdChange, ThresholdView,
};
pub use rules::{BREACH_RULES, BREACH_RULES_FILE, THRESHOLD_METRIC, export_rule_file};
pub use service::SloService;
pub use settings::{MAX_THRESHOLD_MS, MIN_THRESHOLD_MS, ServiceConfig, SloSettings};
