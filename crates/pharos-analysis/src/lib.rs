//! Deterministic analysis, no LLM involved.
mod detect;
mod detector;
mod error;
mod evaluate;
mod graph;
mod query;
mod rca;
mod series;
mod stats;
mod time;
mod watch;

pub use detect::{
    Anomaly, DetectOptions, Direction, Filter, Method, Wanted, corroborated, detect_series,
};
pub use detector::{Detector, DetectorOptions};
pub use error::AnalysisError;
pub use evaluate::{
    DetectedIncident, Evaluation, KindScore, TruthIncident, detected_incidents, evaluate,
    identifies,
};
pub use graph::{DependencyGraph, Entity, EntityKind, KindRule};
pub use query::{AnomalyReport, History, default_step_ms, detect_query};
pub use rca::{
    AlertInput, Evidence, RcaIncident, RcaOptions, RcaReport, Suspect, Window, explain,
    explain_anomalies,
};
pub use series::Series;
pub use watch::{Role, Scan, Signal, Topology, WatchList, scan, topology};
