//! Scrape configuration in the shape of Prometheus' `scrape_configs` (static targets only),
//! with Prometheus' defaults and checks.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use pharos_tsdb::{LabelError, is_valid_label_name};
use serde::Deserialize;
use serde::de::IgnoredAny;
use thiserror::Error;

/// Prometheus' default `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Prometheus' default `scrape_timeout`.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Prometheus' default `metrics_path`.
pub const DEFAULT_METRICS_PATH: &str = "/metrics";

/// Why a scrape configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The YAML does not have the expected shape.
    #[error("invalid scrape configuration: {0}")]
    Yaml(String),
    /// A scrape config has no `job_name`.
    #[error("a scrape config has an empty job_name: every scrape config needs a unique job_name")]
    EmptyJobName,
    /// Two scrape configs share a `job_name`.
    #[error("job_name {0:?} is used by more than one scrape config: job names must be unique")]
    DuplicateJob(String),
    /// A duration field could not be parsed.
    #[error("job {job:?}: {field}: {message}")]
    InvalidDuration {
        /// The job.
        job: String,
        /// The field, e.g. `scrape_interval`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `scrape_interval` is zero.
    #[error("job {0:?}: scrape_interval must be greater than zero")]
    ZeroInterval(String),
    /// `scrape_timeout` is longer than `scrape_interval`.
    #[error(
        "job {job:?}: scrape_timeout {timeout:?} is greater than scrape_interval {interval:?}; lower the timeout or raise the interval"
    )]
    TimeoutExceedsInterval {
        /// The job.
        job: String,
        /// Configured timeout.
        timeout: Duration,
        /// Configured interval.
        interval: Duration,
    },
    /// `metrics_path` does not start with `/`.
    #[error("job {job:?}: metrics_path {path:?} must start with '/'")]
    InvalidMetricsPath {
        /// The job.
        job: String,
        /// The configured path.
        path: String,
    },
    /// A target is not `host` or `host:port`.
    #[error("job {job:?}: target {target:?} {reason}")]
    InvalidTarget {
        /// The job.
        job: String,
        /// The offending target.
        target: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The target labels of a job do not form a valid label set.
    #[error("job {job:?}: {source}")]
    InvalidTargetLabels {
        /// The job.
        job: String,
        /// What is wrong with the labels.
        #[source]
        source: LabelError,
    },
    /// A static label name breaks Prometheus' rules or is reserved.
    #[error(
        "job {job:?}: label name {name:?} is not allowed: use [a-zA-Z_][a-zA-Z0-9_]* without the reserved __ prefix"
    )]
    InvalidLabel {
        /// The job.
        job: String,
        /// The offending name.
        name: String,
    },
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP (the default).
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One `static_configs` entry: targets sharing extra labels.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses (or just `host`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every series of these targets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One scrape job, as a `scrape_configs` entry of `prometheus.yml`.
///
/// Deserialising fills Prometheus' defaults (interval 1m, timeout 10s but at most the interval,
/// `/metrics`, `http`, `honor_timestamps: true`); fields Pharos does not support (relabelling,
/// service discovery, auth) are ignored with a warning in the log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawScrapeConfig")]
pub struct ScrapeConfig {
    /// The `job` label of every series from this job.
    pub job_name: String,
    /// Time between two scrapes of a target.
    pub scrape_interval: Duration,
    /// How long a scrape may take; at most `scrape_interval`.
    pub scrape_timeout: Duration,
    /// HTTP path of the metrics, `/metrics` by default.
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// On a clash between a scraped label and a target label (`job`, `instance`, static
    /// labels): `true` keeps the scraped value, `false` keeps the target's and renames the
    /// scraped one to `exported_<name>`.
    pub honor_labels: bool,
    /// Use timestamps the target exposes (`true`, the default) or the scrape time.
    pub honor_timestamps: bool,
    /// The targets.
    pub static_configs: Vec<StaticConfig>,
}

impl ScrapeConfig {
    /// A job scraping `targets` with Prometheus' defaults.
    pub fn new(
        job_name: impl Into<String>,
        targets: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            job_name: job_name.into(),
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            metrics_path: DEFAULT_METRICS_PATH.to_owned(),
            scheme: Scheme::Http,
            honor_labels: false,
            honor_timestamps: true,
            static_configs: vec![StaticConfig {
                targets: targets.into_iter().map(Into::into).collect(),
                labels: BTreeMap::new(),
            }],
        }
    }

    /// Sets the interval, and the timeout to at most the interval.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.scrape_interval = interval;
        self.scrape_timeout = self.scrape_timeout.min(interval);
        self
    }

    /// Checks the job the way Prometheus does when it loads its configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let job = &self.job_name;
        if job.is_empty() {
            return Err(ConfigError::EmptyJobName);
        }
        if self.scrape_interval.is_zero() {
            return Err(ConfigError::ZeroInterval(job.clone()));
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(ConfigError::TimeoutExceedsInterval {
                job: job.clone(),
                timeout: self.scrape_timeout,
                interval: self.scrape_interval,
            });
        }
        if !self.metrics_path.starts_with('/') {
            return Err(ConfigError::InvalidMetricsPath {
                job: job.clone(),
                path: self.metrics_path.clone(),
            });
        }
        for static_config in &self.static_configs {
            for target in &static_config.targets {
                check_target(target).map_err(|reason| ConfigError::InvalidTarget {
                    job: job.clone(),
                    target: target.clone(),
                    reason,
                })?;
            }
            if let Some(name) = static_config
                .labels
                .keys()
                .find(|name| !is_valid_label_name(name) || name.starts_with("__"))
            {
                return Err(ConfigError::InvalidLabel {
                    job: job.clone(),
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Checks that a list of jobs is valid on its own and as a whole (unique job names).
pub fn validate_all(configs: &[ScrapeConfig]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for config in configs {
        config.validate()?;
        if !seen.insert(config.job_name.as_str()) {
            return Err(ConfigError::DuplicateJob(config.job_name.clone()));
        }
    }
    Ok(())
}

/// A target address is `host` or `host:port`, never a URL.
fn check_target(target: &str) -> Result<(), &'static str> {
    if target.is_empty() {
        return Err("is empty: write host:port");
    }
    if target.contains("://") {
        return Err("must be host:port without a scheme; set `scheme` on the job instead");
    }
    if target.contains(['/', '?', '#', ' ']) {
        return Err("must be host:port without a path; set `metrics_path` on the job instead");
    }
    let port = if let Some(bracketed) = target.strip_prefix('[') {
        let Some((_, after)) = bracketed.split_once(']') else {
            return Err("has an unclosed '[': write IPv6 addresses as [::1]:9100");
        };
        match after.strip_prefix(':') {
            Some(port) => port,
            None if after.is_empty() => return Ok(()),
            None => return Err("must be host:port"),
        }
    } else {
        match target.split_once(':') {
            None => return Ok(()),
            Some((_, port)) if port.contains(':') => {
                return Err("is an IPv6 address: write it in brackets, e.g. [::1]:9100");
            }
            Some((_, port)) => port,
        }
    };
    if port.parse::<u16>().is_err() {
        return Err("has an invalid port: use a number from 0 to 65535");
    }
    Ok(())
}

/// Parses the `scrape_configs` of a Prometheus configuration file (a whole `prometheus.yml`
/// is fine: `global.scrape_interval` / `global.scrape_timeout` apply, other sections are
/// ignored). Returns the jobs validated.
pub fn parse_scrape_configs(yaml: &str) -> Result<Vec<ScrapeConfig>, ConfigError> {
    let file: RawFile =
        serde_saphyr::from_str(yaml).map_err(|error| ConfigError::Yaml(error.to_string()))?;
    let global = Defaults::from_global(&file.global)?;
    let configs = file
        .scrape_configs
        .into_iter()
        .map(|raw| raw.resolve(&global))
        .collect::<Result<Vec<_>, _>>()?;
    validate_all(&configs)?;
    Ok(configs)
}

#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(default)]
    global: RawGlobal,
    #[serde(default)]
    scrape_configs: Vec<RawScrapeConfig>,
    /// rule_files, alerting, remote_write...: not ours to interpret.
    #[serde(flatten)]
    _other: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct RawGlobal {
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    #[serde(flatten)]
    _other: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct RawScrapeConfig {
    #[serde(default)]
    job_name: String,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    metrics_path: Option<String>,
    #[serde(default)]
    scheme: Scheme,
    #[serde(default)]
    honor_labels: bool,
    honor_timestamps: Option<bool>,
    #[serde(default)]
    static_configs: Vec<StaticConfig>,
    #[serde(flatten)]
    unsupported: BTreeMap<String, IgnoredAny>,
}

/// Interval and timeout a job inherits when it sets none.
struct Defaults {
    interval: Duration,
    timeout: Duration,
}

impl Defaults {
    fn from_global(global: &RawGlobal) -> Result<Self, ConfigError> {
        let parse = |field, value: &Option<String>, default| {
            value.as_deref().map_or(Ok(default), |text| {
                pharos_model::parse_duration(text).map_err(|message| ConfigError::InvalidDuration {
                    job: "global".to_owned(),
                    field,
                    message,
                })
            })
        };
        Ok(Self {
            interval: parse(
                "scrape_interval",
                &global.scrape_interval,
                DEFAULT_SCRAPE_INTERVAL,
            )?,
            timeout: parse(
                "scrape_timeout",
                &global.scrape_timeout,
                DEFAULT_SCRAPE_TIMEOUT,
            )?,
        })
    }
}

impl RawScrapeConfig {
    fn resolve(self, defaults: &Defaults) -> Result<ScrapeConfig, ConfigError> {
        if !self.unsupported.is_empty() {
            let fields: Vec<&str> = self.unsupported.keys().map(String::as_str).collect();
            tracing::warn!(
                job = %self.job_name,
                ?fields,
                "ignoring scrape config fields Pharos does not support"
            );
        }
        let job = self.job_name;
        let duration = |field, value: Option<String>| {
            value
                .map(|text| {
                    pharos_model::parse_duration(&text).map_err(|message| {
                        ConfigError::InvalidDuration {
                            job: job.clone(),
                            field,
                            message,
                        }
                    })
                })
                .transpose()
        };
        let scrape_interval =
            duration("scrape_interval", self.scrape_interval)?.unwrap_or(defaults.interval);
        // As Prometheus: an unset timeout is the global one, but never longer than the interval.
        let scrape_timeout = duration("scrape_timeout", self.scrape_timeout)?
            .unwrap_or_else(|| defaults.timeout.min(scrape_interval));
        let config = ScrapeConfig {
            job_name: job,
            scrape_interval,
            scrape_timeout,
            metrics_path: self
                .metrics_path
                .unwrap_or_else(|| DEFAULT_METRICS_PATH.to_owned()),
            scheme: self.scheme,
            honor_labels: self.honor_labels,
            honor_timestamps: self.honor_timestamps.unwrap_or(true),
            static_configs: self.static_configs,
        };
        config.validate()?;
        Ok(config)
    }
}

impl TryFrom<RawScrapeConfig> for ScrapeConfig {
    type Error = ConfigError;

    fn try_from(raw: RawScrapeConfig) -> Result<Self, Self::Error> {
        raw.resolve(&Defaults {
            interval: DEFAULT_SCRAPE_INTERVAL,
            timeout: DEFAULT_SCRAPE_TIMEOUT,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEERS_CONFIG: &str = include_str!("../tests/fixtures/prometheus.yml");

    #[test]
    fn a_whole_prometheus_yml_yields_its_jobs_with_global_defaults() {
        let configs = parse_scrape_configs(PEERS_CONFIG).unwrap();
        let jobs: Vec<&str> = configs.iter().map(|c| c.job_name.as_str()).collect();
        assert_eq!(jobs, ["pushgateway", "static"]);
        let pushgateway = &configs[0];
        assert!(pushgateway.honor_labels);
        assert_eq!(pushgateway.scrape_interval, Duration::from_secs(1));
        // Global timeout 10s is capped at the 1s interval.
        assert_eq!(pushgateway.scrape_timeout, Duration::from_secs(1));
        assert_eq!(pushgateway.static_configs[0].targets, ["127.0.0.1:19091"]);
        assert_eq!(configs[1].metrics_path, "/metrics.txt");
        assert!(!configs[1].honor_labels);
        assert!(configs[1].honor_timestamps);
    }

    #[test]
    fn a_single_job_deserialises_with_prometheus_defaults() {
        let yaml = "job_name: node\nstatic_configs:\n  - targets: ['a:9100', 'b:9100']\n    labels: {env: prod}\n";
        let config: ScrapeConfig = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(config.scrape_interval, DEFAULT_SCRAPE_INTERVAL);
        assert_eq!(config.scrape_timeout, DEFAULT_SCRAPE_TIMEOUT);
        assert_eq!(config.metrics_path, "/metrics");
        assert_eq!(config.scheme, Scheme::Http);
        assert_eq!(config.static_configs[0].labels["env"], "prod");
        assert_eq!(config, {
            let mut expected = ScrapeConfig::new("node", ["a:9100", "b:9100"]);
            expected.static_configs[0]
                .labels
                .insert("env".into(), "prod".into());
            expected
        });
    }

    #[test]
    fn invalid_jobs_are_explained() {
        let cases = [
            (
                "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
                "greater than scrape_interval",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    scrape_interval: 5 s\n",
                "not a valid duration",
            ),
            (
                "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
                "more than one scrape config",
            ),
            (
                "scrape_configs:\n  - static_configs: []\n",
                "empty job_name",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:1']\n",
                "without a scheme",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:1/metrics']\n",
                "without a path",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:http']\n",
                "invalid port",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:1']\n        labels: {'bad-name': v}\n",
                "not allowed",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n",
                "must start with '/'",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
                "invalid scrape configuration",
            ),
        ];
        for (yaml, expected) in cases {
            let error = parse_scrape_configs(yaml).unwrap_err().to_string();
            assert!(error.contains(expected), "{yaml}: {error}");
        }
    }

    #[test]
    fn target_addresses_follow_host_port() {
        assert!(check_target("localhost:9090").is_ok());
        assert!(check_target("localhost").is_ok());
        assert!(check_target("[::1]:9090").is_ok());
        assert!(check_target("::1").is_err());
        assert!(check_target("").is_err());
    }

    #[test]
    fn with_interval_keeps_the_timeout_within_the_interval() {
        let config = ScrapeConfig::new("a", ["x:1"]).with_interval(Duration::from_secs(2));
        assert_eq!(config.scrape_timeout, Duration::from_secs(2));
        assert!(config.validate().is_ok());
    }
}
