//! Rule evaluation in the binary: loads the configured rule files (and the simulator's demo
//! rules when the demo runs) at startup, refusing to start on a bad file, and runs the rule
//! manager over the embedded store once the store may take "now" samples.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use pharos_query::LocalMetrics;
use pharos_rules::{RuleGroup, RuleManager};
use pharos_server::{AppState, config::RulesSettings, prom_api};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Name the built-in demo rule file is shown under in `/api/v1/rules`.
const DEMO_RULES_FILE: &str = "builtin:demo-rules.yml";

/// The rule groups to evaluate: every configured file, plus the demo rules with `demo`.
pub fn load(settings: &RulesSettings, demo: bool) -> anyhow::Result<Vec<RuleGroup>> {
    let mut groups = pharos_rules::load_files(&settings.files).context(
        "cannot load the rule files (rules.files); fix the file or remove it from the list",
    )?;
    if demo {
        groups.extend(
            pharos_rules::parse_rule_file(DEMO_RULES_FILE, pharos_sim::DEMO_RULES)
                .context("the built-in demo rules do not load")?,
        );
    }
    Ok(groups)
}

/// Puts a rule manager for `groups` into `state` and starts it once `ready` turns true (the
/// demo's history is written: rule results are "now" and would make the store refuse it).
/// Without groups nothing runs.
pub fn start(
    state: AppState,
    groups: Vec<RuleGroup>,
    metrics: Arc<LocalMetrics>,
    bound: SocketAddr,
    mut ready: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
) -> (AppState, Option<JoinHandle<()>>) {
    if groups.is_empty() {
        return (state, None);
    }
    let config = state.settings.rules.config(&prom_api::local_url(bound));
    let alertmanagers = config.alertmanagers.len();
    let manager = Arc::new(RuleManager::new(groups, config, metrics));
    let task = {
        let manager = Arc::clone(&manager);
        tokio::spawn(async move {
            if ready.wait_for(|ready| *ready).await.is_err() {
                return;
            }
            tracing::info!(
                groups = manager.groups().count(),
                alertmanagers,
                "rule evaluation running"
            );
            let _ = manager.spawn(stop).await;
        })
    };
    (state.with_rules(manager), Some(task))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_rule_file_stops_the_start_with_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yml");
        std::fs::write(
            &path,
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n",
        )
        .unwrap();
        let settings = RulesSettings {
            files: vec![path.display().to_string()],
            ..RulesSettings::default()
        };
        let message = format!("{:#}", load(&settings, false).unwrap_err());
        assert!(message.contains("rules.files"), "{message}");
        assert!(message.contains("rules.yml"), "{message}");
        assert!(message.contains("rule \"A\""), "{message}");
    }

    #[test]
    fn the_demo_adds_its_rules() {
        let settings = RulesSettings::default();
        assert!(load(&settings, false).unwrap().is_empty());
        let groups = load(&settings, true).unwrap();
        assert!(groups.iter().all(|g| g.file == DEMO_RULES_FILE));
        let names: Vec<&str> = groups
            .iter()
            .flat_map(|g| g.rules.iter().map(|r| r.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                "ModelLatencyHigh",
                "ModelErrorRateHigh",
                "GpuStuckAtFullUtilisation",
                "PipelineLagGrowing"
            ]
        );
    }
}
