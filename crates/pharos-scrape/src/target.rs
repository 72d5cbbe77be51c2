//! Scrape targets: their URL and labels, and how a scraped sample's labels merge with them.

use std::collections::BTreeMap;
use std::time::Duration;

use pharos_tsdb::{LabelError, Labels, METRIC_NAME_LABEL};

use crate::config::ScrapeConfig;
use crate::exposition::ParsedSample;

/// The `job` label.
pub const JOB_LABEL: &str = "job";
/// The `instance` label.
pub const INSTANCE_LABEL: &str = "instance";

/// One address of one job, ready to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub job: String,
    pub url: String,
    /// `job`, `instance` and the static labels: added to every series of the target.
    pub labels: Labels,
    pub interval: Duration,
    pub timeout: Duration,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
}

/// Expands a validated job into its targets. As in Prometheus, static labels may override
/// `job` and `instance` (which default to the job name and the address).
pub(crate) fn targets_of(config: &ScrapeConfig) -> Result<Vec<Target>, LabelError> {
    let mut targets = Vec::new();
    for static_config in &config.static_configs {
        for address in &static_config.targets {
            let mut labels: BTreeMap<&str, &str> = static_config
                .labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            labels.entry(JOB_LABEL).or_insert(&config.job_name);
            labels.entry(INSTANCE_LABEL).or_insert(address);
            targets.push(Target {
                job: config.job_name.clone(),
                url: format!(
                    "{}://{}{}",
                    config.scheme.as_str(),
                    address,
                    config.metrics_path
                ),
                labels: Labels::new(labels)?,
                interval: config.scrape_interval,
                timeout: config.scrape_timeout,
                honor_labels: config.honor_labels,
                honor_timestamps: config.honor_timestamps,
            });
        }
    }
    Ok(targets)
}

/// The stored labels of a scraped sample: its own plus the target's. On a clash the target
/// wins and the scraped value moves to `exported_<name>` (repeating the prefix until free),
/// unless `honor_labels` keeps the scraped value (Prometheus' rules).
pub(crate) fn merge_labels(
    sample: &ParsedSample,
    target_labels: &Labels,
    honor_labels: bool,
) -> Result<Labels, LabelError> {
    let mut pairs: Vec<(String, String)> =
        Vec::with_capacity(sample.labels.len() + target_labels.len() + 1);
    pairs.push((METRIC_NAME_LABEL.to_owned(), sample.name.clone()));
    pairs.extend(sample.labels.iter().cloned());
    let position = |pairs: &[(String, String)], name: &str| {
        pairs.iter().position(|(n, v)| n == name && !v.is_empty())
    };
    let mut conflicting = Vec::new();
    for label in target_labels {
        match position(&pairs, &label.name) {
            Some(_) if honor_labels => {}
            Some(index) => {
                let (name, value) = pairs.remove(index);
                conflicting.push((name, value));
                pairs.push((label.name.clone(), label.value.clone()));
            }
            None => {
                // An empty scraped value counts as absent; drop it so the name is not doubled.
                pairs.retain(|(n, _)| n != &label.name);
                pairs.push((label.name.clone(), label.value.clone()));
            }
        }
    }
    for (name, value) in conflicting {
        let mut exported = format!("exported_{name}");
        while position(&pairs, &exported).is_some() {
            exported.insert_str(0, "exported_");
        }
        pairs.retain(|(n, _)| n != &exported);
        pairs.push((exported, value));
    }
    Labels::new(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScrapeConfig;

    fn sample(labels: &[(&str, &str)]) -> ParsedSample {
        ParsedSample {
            name: "requests_total".into(),
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            value: 1.0,
            timestamp_ms: None,
        }
    }

    fn target_labels() -> Labels {
        Labels::new([("job", "api"), ("instance", "host:80"), ("env", "prod")]).unwrap()
    }

    #[test]
    fn targets_carry_job_instance_and_static_labels() {
        let mut config = ScrapeConfig::new("node", ["a:9100", "b:9100"]);
        config.static_configs[0]
            .labels
            .insert("instance".into(), "custom".into());
        config.metrics_path = "/m".into();
        let targets = targets_of(&config).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].url, "http://a:9100/m");
        assert_eq!(targets[0].labels.get("job"), Some("node"));
        assert_eq!(
            targets[0].labels.get("instance"),
            Some("custom"),
            "static labels override the defaults"
        );
    }

    #[test]
    fn target_labels_win_and_scraped_ones_are_exported() {
        let merged = merge_labels(
            &sample(&[("job", "batch"), ("exported_job", "x"), ("code", "200")]),
            &target_labels(),
            false,
        )
        .unwrap();
        assert_eq!(merged.get("job"), Some("api"));
        assert_eq!(merged.get("exported_exported_job"), Some("batch"));
        assert_eq!(merged.get("exported_job"), Some("x"));
        assert_eq!(merged.get("code"), Some("200"));
        assert_eq!(merged.get("env"), Some("prod"));
        assert_eq!(merged.metric_name(), Some("requests_total"));
    }

    #[test]
    fn honor_labels_keeps_scraped_values() {
        let merged = merge_labels(&sample(&[("job", "batch")]), &target_labels(), true).unwrap();
        assert_eq!(merged.get("job"), Some("batch"));
        assert_eq!(merged.get("instance"), Some("host:80"));
        assert_eq!(merged.get("exported_job"), None);
    }

    #[test]
    fn an_empty_scraped_value_counts_as_absent() {
        for honor in [false, true] {
            let merged = merge_labels(&sample(&[("job", "")]), &target_labels(), honor).unwrap();
            assert_eq!(merged.get("job"), Some("api"));
            assert_eq!(merged.get("exported_job"), None);
        }
    }
}
