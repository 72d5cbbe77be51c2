//! Deterministic analysis, no LLM involved: finding incidents in metric series and
//! explaining them. Transport-agnostic: the server maps these calls to HTTP, events and
//! assistant tools; every call reads metrics through a [`pharos_query::MetricsBackend`].
//!
//! * Detection ([`detect_series`], pure; [`detect_query`] over a PromQL range plus the
//!   history its baselines need): four [`Method`]s — a robust z-score against the same time
//!   on previous days and the recent past (`seasonal_zscore`), a shift of a window median
//!   (`level_shift`), a value repeated implausibly long (`stuck`) and an abrupt change of
//!   slope (`rate_of_change`). Anomalous points merge into [`Anomaly`] intervals;
//!   [`DetectOptions`] tunes and bounds the work (series, points, anomalies).
//! * The watch list ([`WatchList`], serde; [`WatchList::default`] over real exporter names)
//!   says which signals to scan, what entity each series is and which changes matter;
//!   [`scan`] runs it over a window.
//! * Root-cause analysis ([`explain`]; [`explain_anomalies`], pure) groups anomalies along
//!   the [`DependencyGraph`] (GPU → model server / training job, pipeline → training) and
//!   ranks suspects with cited [`Evidence`]; [`RcaReport::markdown`] for people, serde for
//!   machines.
//! * [`Detector`] scans again and again for the background job, reporting each anomaly once.
//! * [`evaluate`] scores detections against injected incidents (the simulator's ground
//!   truth); `examples/evaluate.rs` is the measured run (`docs/user/anomaly-detection.md`).
//!
//! ```
//! use pharos_analysis::{DetectOptions, Filter, Method, Series, detect_series};
//!
//! // A latency that jumps six-fold for ten minutes.
//! let points = (0..300)
//!     .map(|i| {
//!         let wiggle = [0.0, 1.0, -1.0, 0.5, -0.5][i % 5];
//!         let value = 50.0 + wiggle + if (250..260).contains(&i) { 250.0 } else { 0.0 };
//!         (i as i64 * 60_000, value)
//!     })
//!     .collect();
//! let series = Series { labels: Default::default(), points };
//! let found = detect_series(
//!     &series, 60_000, 200 * 60_000, 299 * 60_000,
//!     &[Method::SeasonalZscore], &Filter::default(), &DetectOptions::default(),
//! )?;
//! assert_eq!(found.len(), 1);
//! assert_eq!((found[0].start_ms, found[0].end_ms), (250 * 60_000, 259 * 60_000));
//! # Ok::<(), pharos_analysis::AnalysisError>(())
//! ```

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
