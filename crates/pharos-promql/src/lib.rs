//! The PromQL evaluator: instant and range evaluation of the float language over the
//! promql-parser AST, against any storage that implements the series-source trait.
//!
//! This crate owns the query *semantics* (Prometheus 3 rules for lookback, staleness,
//! `offset`/`@`, subqueries, vector matching, aggregations and every classic function),
//! the query limits (timeout, samples in memory, series loaded) and the Prometheus HTTP
//! API JSON shape of results. It owns no storage: [`SeriesSource`] is the read contract
//! a store implements, and [`MemorySource`] is a small in-memory implementation used by
//! tests and the conformance runner.
//!
//! ```
//! use pharos_promql::{Engine, EngineOptions, Labels, MemorySource};
//!
//! let mut src = MemorySource::new();
//! src.add_sample(Labels::from_pairs([("__name__", "up"), ("job", "api")]), 0, 1.0);
//! let engine = Engine::new(EngineOptions::default());
//! let result = engine.instant(&src, "sum(up)", 10_000).unwrap();
//! assert_eq!(
//!     serde_json::to_string(&result).unwrap(),
//!     r#"{"resultType":"vector","result":[{"metric":{},"value":[10,"1"]}]}"#
//! );
//! ```

mod annotations;
mod engine;
mod error;
mod labels;
mod position;
mod storage;
mod value;

pub use annotations::{Annotation, AnnotationKind};
pub use engine::{Engine, EngineOptions, QueryControl};
pub use error::{ErrorType, EvalError};
pub use labels::{Label, Labels, METRIC_NAME};
pub use pharos_promql_syntax::SyntaxError;
pub use storage::{
    LabelMatcher, MatchKind, MemorySource, STALE_NAN_BITS, Series, SeriesSource, StepWindows,
    is_stale_nan, stale_nan,
};
pub use value::{InstantSample, QueryResult, QueryValue, RangeSeries, format_float};
