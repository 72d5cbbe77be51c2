//! Deterministic analysis, no LLM involved.
mod detect;
mod error;
mod series;
mod stats;
mod time;

pub use detect::{Anomaly, DetectOptions, Direction, Filter, Method, Wanted, detect_series};
pub use error::AnalysisError;
pub use series::Series;
