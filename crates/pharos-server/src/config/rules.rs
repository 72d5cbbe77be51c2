//! `rules:`: the Prometheus rule files the embedded store evaluates, and the Alertmanagers
//! their alerts go to. See docs/user/rules.md.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `rules`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RulesSettings {
    /// Rule files: paths, or patterns with `*`/`?` in the file name (`/etc/pharos/rules/*.yml`).
    pub files: Vec<String>,
    /// Interval of groups that set none (Prometheus `evaluation_interval`).
    #[serde(with = "duration_text")]
    pub evaluation_interval: Duration,
    /// Base URLs of Alertmanagers (`http://alertmanager:9093`); alerts go to each of them.
    pub alertmanagers: Vec<String>,
    /// This server's URL as people reach it, for the alerts' `generatorURL` (default: the
    /// listen address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Labels added to every alert sent (unless the alert has the label) and offered to
    /// templates as `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// A firing alert is sent again at most this often (Prometheus `--rules.alert.resend-delay`).
    #[serde(with = "duration_text")]
    pub resend_delay: Duration,
    /// Alerts waiting for the Alertmanagers; past this the oldest are dropped (and counted).
    pub queue_capacity: usize,
    /// Longest one request to an Alertmanager may take.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
}

impl Default for RulesSettings {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            evaluation_interval: Duration::from_secs(15),
            alertmanagers: Vec::new(),
            external_url: None,
            external_labels: BTreeMap::new(),
            resend_delay: Duration::from_secs(60),
            queue_capacity: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

impl RulesSettings {
    /// Intervals positive, URLs absolute http(s) URLs, label names valid.
    pub fn validate(&self) -> Result<(), String> {
        if self.evaluation_interval.is_zero() {
            return Err("rules.evaluation_interval must be positive".to_owned());
        }
        if self.timeout.is_zero() {
            return Err("rules.timeout must be positive".to_owned());
        }
        self.alertmanager_urls()?;
        if let Some(url) = &self.external_url {
            http_url(url).map_err(|e| format!("rules.external_url: {e}"))?;
        }
        for name in self.external_labels.keys() {
            let mut chars = name.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "rules.external_labels: {name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                ));
            }
        }
        Ok(())
    }

    /// The Alertmanager base URLs, parsed.
    pub fn alertmanager_urls(&self) -> Result<Vec<url::Url>, String> {
        self.alertmanagers
            .iter()
            .map(|text| http_url(text).map_err(|e| format!("rules.alertmanagers: {e}")))
            .collect()
    }

    /// The rule manager's configuration; `default_external_url` when none is set.
    pub fn config(&self, default_external_url: &str) -> pharos_rules::RulesConfig {
        pharos_rules::RulesConfig {
            evaluation_interval: self.evaluation_interval,
            external_url: self
                .external_url
                .clone()
                .unwrap_or_else(|| default_external_url.to_owned()),
            external_labels: self.external_labels.clone(),
            alertmanagers: self.alertmanager_urls().unwrap_or_default(),
            resend_delay: self.resend_delay,
            queue_capacity: self.queue_capacity.max(1),
            timeout: self.timeout,
        }
    }
}

fn http_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "{text:?} must be an http:// or https:// URL with a host"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let settings = RulesSettings::default();
        assert_eq!(settings.evaluation_interval, Duration::from_secs(15));
        assert_eq!(settings.resend_delay, Duration::from_secs(60));
        assert!(settings.validate().is_ok());
        let bad_url = RulesSettings {
            alertmanagers: vec!["alertmanager:9093".to_owned()],
            ..RulesSettings::default()
        };
        assert!(
            bad_url
                .validate()
                .unwrap_err()
                .contains("rules.alertmanagers")
        );
        let bad_label = RulesSettings {
            external_labels: BTreeMap::from([("bad-name".to_owned(), "x".to_owned())]),
            ..RulesSettings::default()
        };
        assert!(
            bad_label
                .validate()
                .unwrap_err()
                .contains("external_labels")
        );
        let zero = RulesSettings {
            evaluation_interval: Duration::ZERO,
            ..RulesSettings::default()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn yaml_section() {
        let settings: RulesSettings = serde_saphyr::from_str(
            "files: [/etc/rules/*.yml]\nevaluation_interval: 1s\nalertmanagers: [http://127.0.0.1:9093]\nexternal_labels: {replica: a}\nresend_delay: 5s\n",
        )
        .unwrap();
        assert_eq!(settings.evaluation_interval, Duration::from_secs(1));
        let config = settings.config("http://127.0.0.1:8080");
        assert_eq!(config.alertmanagers.len(), 1);
        assert_eq!(config.external_url, "http://127.0.0.1:8080");
        assert_eq!(config.resend_delay, Duration::from_secs(5));
    }
}
