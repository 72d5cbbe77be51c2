//! The service catalog's records and the API's answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most threshold changes kept per service (older ones stay in the audit log).
pub const MAX_THRESHOLD_HISTORY: usize = 200;

/// A latency objective: `target` of the requests under `threshold_ms` over `window_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The share of requests that must be fast enough, e.g. 0.99.
    pub target: f64,
    /// What "fast enough" means.
    pub threshold_ms: u32,
    /// The compliance window.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
}

fn default_window_days() -> u32 {
    30
}

impl Objective {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.target > 0.0 && self.target < 1.0) {
            return Err(format!(
                "target must lie strictly between 0 and 1 (0.99 means 99 %); got {}",
                self.target
            ));
        }
        if !pharos_logs::LATENCY_LADDER_MS.contains(&self.threshold_ms) {
            return Err(format!(
                "threshold_ms must be one of {:?} ms (the steps requests are counted at); got {}",
                pharos_logs::LATENCY_LADDER_MS,
                self.threshold_ms
            ));
        }
        if !(1..=90).contains(&self.window_days) {
            return Err(format!(
                "window_days must be between 1 and 90; got {}",
                self.window_days
            ));
        }
        Ok(())
    }
}

/// One change of a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChange {
    /// The new value.
    pub threshold_ms: u32,
    /// Who changed it.
    pub changed_by: String,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// A service as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// The `service` label value.
    pub id: String,
    /// The project whose members may read it.
    #[serde(default)]
    pub project: Option<String>,
    /// User names, or `group:<name>`.
    #[serde(default)]
    pub owners: Vec<String>,
    /// The alert threshold on the 5-minute P95.
    pub threshold_ms: u32,
    /// An optional objective.
    #[serde(default)]
    pub objective: Option<Objective>,
    /// Threshold changes, newest first (at most [`MAX_THRESHOLD_HISTORY`]).
    #[serde(default)]
    pub threshold_history: Vec<ThresholdChange>,
}

/// What an administrator (or the project's editor) may change besides the threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryUpdate {
    /// The project; absent keeps it.
    #[serde(default)]
    pub project: Option<String>,
    /// The owners; absent keeps them.
    #[serde(default)]
    pub owners: Option<Vec<String>>,
    /// The objective; absent keeps it, `null` in `clear_objective` removes it.
    #[serde(default)]
    pub objective: Option<Objective>,
    /// Removes the objective.
    #[serde(default)]
    pub clear_objective: bool,
}

/// A service id: a `service` label value that is also one URL path segment.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a service id: 1 to 128 of letters, digits, '-', '_', '.', ':'",
            id.chars().take(140).collect::<String>()
        ))
    }
}

/// An owner: a user name or `group:<name>`, non-empty and printable.
pub(crate) fn check_owner(owner: &str) -> Result<(), String> {
    let name = owner.strip_prefix("group:").unwrap_or(owner);
    if name.trim().is_empty() || owner.len() > 256 || owner.chars().any(char::is_control) {
        return Err(format!(
            "{:?} is not an owner: a user name or group:<name>",
            owner.chars().take(60).collect::<String>()
        ));
    }
    Ok(())
}

/// One 5-minute bucket (or a coarser step's worst bucket) of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Its start.
    pub start: DateTime<Utc>,
    /// Requests.
    pub count: f64,
    /// Requests answered with status ≥ 500.
    pub errors: f64,
    /// Latency quantiles.
    pub p50_ms: Option<f64>,
    /// The 95th percentile.
    pub p95_ms: Option<f64>,
    /// The 99th percentile.
    pub p99_ms: Option<f64>,
    /// The median of the 5-minute P95s of the 7 days before the bucket.
    pub baseline_p95_ms: Option<f64>,
    /// The mean of the 5-minute P95s within half an hour of the same time one week earlier.
    pub same_time_last_week_p95_ms: Option<f64>,
    /// Whether the P95 exceeds the threshold.
    pub breach: bool,
}

/// `ok`, or why a service's numbers cannot be trusted yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityStatus {
    /// Every check passed.
    Ok,
    /// Fewer buckets than a baseline needs.
    InsufficientData,
    /// A check on the data failed.
    Failing,
}

/// One data-quality check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityCheck {
    /// Its name.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// A service's data-quality report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// Overall.
    pub status: QualityStatus,
    /// Each check.
    pub checks: Vec<QualityCheck>,
    /// Log lines of this service the intake refused, per reason (filled by the server, which
    /// holds the intake).
    pub rejected_lines: std::collections::BTreeMap<String, u64>,
}

/// `GET /api/services/{id}/latency`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// The service.
    pub service: String,
    /// Its threshold.
    pub threshold_ms: u32,
    /// The window asked for.
    pub from: DateTime<Utc>,
    /// Its end.
    pub to: DateTime<Utc>,
    /// The width of a returned bucket.
    pub step_seconds: i64,
    /// How the baseline is computed.
    pub baseline: &'static str,
    /// Buckets with requests, oldest first.
    pub buckets: Vec<Bucket>,
    /// Data quality over the window.
    pub quality: Quality,
}

/// A service as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    /// The `service` label value.
    pub id: String,
    /// Its project.
    pub project: Option<String>,
    /// Its owners.
    pub owners: Vec<String>,
    /// Whether the caller is one of them.
    pub owned: bool,
    /// Whether the caller may change its threshold.
    pub can_edit: bool,
    /// Its threshold.
    pub threshold_ms: u32,
    /// Its objective.
    pub objective: Option<Objective>,
    /// The log sources it comes from.
    pub sources: Vec<String>,
    /// The newest bucket of the last day.
    pub last_bucket: Option<Bucket>,
    /// The baseline now.
    pub baseline_p95_ms: Option<f64>,
    /// Breach buckets in the last 24 hours.
    pub breaches_24h: usize,
    /// Data quality over the last 7 days.
    pub quality: Quality,
    /// Whether the catalog has an entry (services only seen in logs have none).
    pub registered: bool,
    /// The objective's burn rate per window (`5m` … `3d`), when it has one and requests.
    pub burn_rates: std::collections::BTreeMap<&'static str, f64>,
    /// Where its dashboard is (filled by the server, which knows the UI's routes).
    pub dashboard: Option<String>,
}

/// `GET /api/services/{id}/alert-threshold`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdView {
    /// The service.
    pub service: String,
    /// The threshold.
    pub threshold_ms: u32,
    /// Who set it last (none: the default).
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Option<DateTime<Utc>>,
    /// Changes, newest first.
    pub history: Vec<ThresholdChange>,
}

impl ThresholdView {
    /// The view of `entry`.
    pub fn of(entry: &ServiceEntry) -> Self {
        let last = entry.threshold_history.first();
        Self {
            service: entry.id.clone(),
            threshold_ms: entry.threshold_ms,
            updated_by: last.map(|c| c.changed_by.clone()),
            updated_at: last.map(|c| c.changed_at),
            history: entry.threshold_history.clone(),
        }
    }
}
