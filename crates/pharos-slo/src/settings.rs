//! The `slo:` settings: the default threshold, whether breaches alert, and services declared in
//! the configuration (their project and owners; the threshold given there is the initial one).

use serde::{Deserialize, Serialize};

use crate::model::Objective;

/// The lowest threshold a service may have (seed 004).
pub const MIN_THRESHOLD_MS: u32 = 50;
/// The highest threshold a service may have (seed 004).
pub const MAX_THRESHOLD_MS: u32 = 1000;

/// `slo:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SloSettings {
    /// The threshold of a service nobody has set one for.
    pub default_threshold_ms: u32,
    /// Evaluate the built-in `ServiceLatencyBreach` alert (and send it to the Alertmanagers).
    pub breach_alerts: bool,
    /// Services declared here: created at start if missing; their project and owners are set
    /// from here at every start.
    pub services: Vec<ServiceConfig>,
}

impl Default for SloSettings {
    fn default() -> Self {
        Self {
            default_threshold_ms: 300,
            breach_alerts: true,
            services: Vec::new(),
        }
    }
}

/// One service under `slo.services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The `service` label value.
    pub id: String,
    /// The project whose members may read it.
    #[serde(default)]
    pub project: Option<String>,
    /// User names, or `group:<name>` for everyone in a group.
    #[serde(default)]
    pub owners: Vec<String>,
    /// The initial threshold (changes through the API are kept).
    #[serde(default)]
    pub threshold_ms: Option<u32>,
    /// An optional latency objective.
    #[serde(default)]
    pub objective: Option<Objective>,
}

impl SloSettings {
    /// Checks the values, naming the setting to fix.
    pub fn validate(&self) -> Result<(), String> {
        check_threshold(self.default_threshold_ms)
            .map_err(|e| format!("slo.default_threshold_ms: {e}"))?;
        let mut seen = std::collections::BTreeSet::new();
        for (index, service) in self.services.iter().enumerate() {
            let at = format!("slo.services[{index}]");
            crate::model::check_id(&service.id).map_err(|e| format!("{at}.id: {e}"))?;
            if !seen.insert(service.id.as_str()) {
                return Err(format!("{at}.id: {:?} is declared twice", service.id));
            }
            if let Some(threshold) = service.threshold_ms {
                check_threshold(threshold).map_err(|e| format!("{at}.threshold_ms: {e}"))?;
            }
            for owner in &service.owners {
                crate::model::check_owner(owner).map_err(|e| format!("{at}.owners: {e}"))?;
            }
            if let Some(objective) = &service.objective {
                objective
                    .validate()
                    .map_err(|e| format!("{at}.objective: {e}"))?;
            }
        }
        Ok(())
    }
}

/// `Ok` when `ms` lies within the bounds.
pub(crate) fn check_threshold(ms: u32) -> Result<(), String> {
    if (MIN_THRESHOLD_MS..=MAX_THRESHOLD_MS).contains(&ms) {
        Ok(())
    } else {
        Err(format!(
            "must be between {MIN_THRESHOLD_MS} and {MAX_THRESHOLD_MS} ms; got {ms}"
        ))
    }
}
