//! Ingestion by pulling: parsers for the Prometheus text exposition format 0.0.4 and
//! OpenMetrics 1.0, the scrape manager that polls targets into the embedded store, and
//! OpenMetrics backfill.
//!
//! * [`exposition`] parses either format ([`exposition::parse`] for a whole body,
//!   [`exposition::LineParser`] for a stream).
//! * [`ScrapeManager`] scrapes the targets of [`ScrapeConfig`]s (Prometheus' `scrape_configs`
//!   shape with `static_configs`; [`parse_scrape_configs`] reads a `prometheus.yml`). Per
//!   target it writes `up`, `scrape_duration_seconds` and `scrape_samples_scraped` with the
//!   target's `job` and `instance` labels, writes staleness markers for series that disappear
//!   or when the target goes down, and stamps samples with the scheduled scrape time so they
//!   lie exactly one interval apart. [`ScrapeManager::targets`] reports each target's health.
//! * [`import_openmetrics`] backfills an OpenMetrics file the way
//!   `promtool tsdb create-blocks-from openmetrics` reads it.
//!
//! ```no_run
//! # async fn example(db: std::sync::Arc<pharos_tsdb::Db>) -> Result<(), Box<dyn std::error::Error>> {
//! let configs = pharos_scrape::parse_scrape_configs(&std::fs::read_to_string("prometheus.yml")?)?;
//! let manager = pharos_scrape::ScrapeManager::new(db, configs, reqwest::Client::new())?;
//! manager.run(tokio::signal::ctrl_c()).await;
//! # Ok(()) }
//! ```

mod batch;
mod config;
pub mod exposition;
mod import;
mod manager;
mod scrape_loop;
mod target;
mod timing;

pub use batch::{SAMPLES_SCRAPED_METRIC, SCRAPE_DURATION_METRIC, UP_METRIC};
pub use config::{
    ConfigError, DEFAULT_METRICS_PATH, DEFAULT_SCRAPE_INTERVAL, DEFAULT_SCRAPE_TIMEOUT, Scheme,
    ScrapeConfig, StaticConfig, parse_scrape_configs, validate_all,
};
pub use exposition::{Format, MetricMetadata, MetricType, ParseError, ParsedSample};
pub use import::{ImportError, ImportSummary, import_openmetrics};
pub use manager::{Health, ScrapeManager, TargetHealth};
pub use target::{INSTANCE_LABEL, JOB_LABEL};
