//! The scrape manager: one loop per target, their health, and the metadata they exposed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pharos_tsdb::{Db, Labels};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{ConfigError, ScrapeConfig, validate_all};
use crate::exposition::MetricMetadata;
use crate::scrape_loop::run_target;
use crate::target::{Target, targets_of};

/// Result of the last scrape of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed (see [`TargetHealth::last_error`]).
    Down,
}

impl Health {
    /// `"unknown"`, `"up"` or `"down"`, as Prometheus' targets API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// What `/api/v1/targets` shows for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHealth {
    /// The job (scrape pool).
    pub job: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// Labels added to every series of the target (`job`, `instance`, static labels).
    pub labels: Labels,
    /// Up, down or not scraped yet.
    pub health: Health,
    /// Why the last scrape failed; `None` after a success.
    pub last_error: Option<String>,
    /// Start of the last scrape, milliseconds since 1970.
    pub last_scrape_ms: Option<i64>,
    /// How long the last scrape took.
    pub last_scrape_duration: Duration,
    /// Samples the last scrape returned.
    pub last_samples_scraped: usize,
    /// Configured interval.
    pub scrape_interval: Duration,
    /// Configured timeout.
    pub scrape_timeout: Duration,
}

/// A target with its health, shared between its loop and readers.
#[derive(Debug)]
pub(crate) struct TargetState {
    pub target: Target,
    health: Mutex<TargetHealth>,
}

impl TargetState {
    pub(crate) fn update(&self, change: impl FnOnce(&mut TargetHealth)) {
        change(&mut self.health.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn snapshot(&self) -> TargetHealth {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// State every loop uses.
#[derive(Debug)]
pub(crate) struct Shared {
    pub db: Arc<Db>,
    pub client: reqwest::Client,
    metadata: Mutex<HashMap<String, MetricMetadata>>,
}

impl Shared {
    pub(crate) fn record_metadata(&self, metadata: &[MetricMetadata]) {
        if metadata.is_empty() {
            return;
        }
        let mut known = self.metadata.lock().unwrap_or_else(PoisonError::into_inner);
        for entry in metadata {
            match known.get_mut(&entry.family) {
                Some(existing) if existing == entry => {}
                Some(existing) => existing.clone_from(entry),
                None => {
                    known.insert(entry.family.clone(), entry.clone());
                }
            }
        }
    }
}

/// Scrapes every configured target into the store, each on its own schedule.
///
/// Cloning is cheap and shares the targets: keep a clone to read [`ScrapeManager::targets`]
/// while another runs [`ScrapeManager::run`].
///
/// ```no_run
/// # async fn example(db: std::sync::Arc<pharos_tsdb::Db>) -> Result<(), pharos_scrape::ConfigError> {
/// use pharos_scrape::{ScrapeConfig, ScrapeManager};
///
/// let job = ScrapeConfig::new("pharos", ["127.0.0.1:8080"])
///     .with_interval(std::time::Duration::from_secs(15));
/// let manager = ScrapeManager::new(db, vec![job], reqwest::Client::new())?;
/// let status = manager.clone();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let task = tokio::spawn(manager.run(async move { let _ = stopped.await; }));
/// println!("{:?}", status.targets());
/// let _ = stop.send(());
/// let _ = task.await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ScrapeManager {
    shared: Arc<Shared>,
    targets: Arc<Vec<Arc<TargetState>>>,
}

impl ScrapeManager {
    /// Validates the jobs and expands them into targets. Nothing is scraped before
    /// [`ScrapeManager::run`].
    pub fn new(
        db: Arc<Db>,
        configs: Vec<ScrapeConfig>,
        client: reqwest::Client,
    ) -> Result<Self, ConfigError> {
        validate_all(&configs)?;
        let mut targets = Vec::new();
        for config in &configs {
            let expanded =
                targets_of(config).map_err(|source| ConfigError::InvalidTargetLabels {
                    job: config.job_name.clone(),
                    source,
                })?;
            for target in expanded {
                let health = TargetHealth {
                    job: target.job.clone(),
                    scrape_url: target.url.clone(),
                    labels: target.labels.clone(),
                    health: Health::Unknown,
                    last_error: None,
                    last_scrape_ms: None,
                    last_scrape_duration: Duration::ZERO,
                    last_samples_scraped: 0,
                    scrape_interval: target.interval,
                    scrape_timeout: target.timeout,
                };
                targets.push(Arc::new(TargetState {
                    target,
                    health: Mutex::new(health),
                }));
            }
        }
        Ok(Self {
            shared: Arc::new(Shared {
                db,
                client,
                metadata: Mutex::new(HashMap::new()),
            }),
            targets: Arc::new(targets),
        })
    }

    /// Every target with the result of its last scrape, in configuration order.
    pub fn targets(&self) -> Vec<TargetHealth> {
        self.targets.iter().map(|state| state.snapshot()).collect()
    }

    /// The latest `# HELP` / `# TYPE` / `# UNIT` of every metric family seen, by family name.
    pub fn metadata(&self) -> Vec<MetricMetadata> {
        let known = self
            .shared
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut metadata: Vec<MetricMetadata> = known.values().cloned().collect();
        metadata.sort_by(|a, b| a.family.cmp(&b.family));
        metadata
    }

    /// Scrapes until `shutdown` completes, then stops every loop (an in-flight scrape is
    /// abandoned) and returns. Needs a Tokio runtime.
    pub async fn run<F: Future>(self, shutdown: F) {
        let (stop, stopped) = watch::channel(false);
        let mut loops = JoinSet::new();
        for state in self.targets.iter() {
            loops.spawn(run_target(
                Arc::clone(&self.shared),
                Arc::clone(state),
                stopped.clone(),
            ));
        }
        tracing::info!(targets = self.targets.len(), "scrape manager started");
        shutdown.await;
        // Receivers also stop when the sender is dropped, so a send error changes nothing.
        let _ = stop.send(true);
        while let Some(joined) = loops.join_next().await {
            if let Err(error) = joined {
                tracing::error!(%error, "a scrape loop ended abnormally");
            }
        }
        tracing::info!("scrape manager stopped");
    }
}
