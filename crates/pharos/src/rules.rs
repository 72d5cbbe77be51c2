//! Rule evaluation in the binary: loads the configured rule files (and the simulator's demo
//! rules when the demo runs) at startup, refusing to start on a bad file, and runs the rule
//! manager over the embedded store once the store may take "now" samples. Its alerts also go,
//! in process, to the fleet's alert book ([`FleetSink`]), so they are listed and streamed with
//! the clusters' Alertmanager alerts even when no Alertmanager is configured.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use pharos_query::LocalMetrics;
use pharos_rules::{AlertSink, PostableAlert, RuleGroup, RuleManager};
use pharos_server::{AppState, config::RulesSettings, prom_api};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Name the built-in demo rule file is shown under in `/api/v1/rules`.
const DEMO_RULES_FILE: &str = "builtin:demo-rules.yml";

/// The rule groups to evaluate: every configured file, the services' breach alert (unless
/// `slo.breach_alerts` is off), plus the demo rules with `demo`.
pub fn load(
    settings: &RulesSettings,
    slo: &pharos_slo::SloSettings,
    demo: bool,
) -> anyhow::Result<Vec<RuleGroup>> {
    let mut groups = pharos_rules::load_files(&settings.files).context(
        "cannot load the rule files (rules.files); fix the file or remove it from the list",
    )?;
    if slo.breach_alerts {
        groups.extend(
            pharos_rules::parse_rule_file(pharos_slo::BREACH_RULES_FILE, pharos_slo::BREACH_RULES)
                .context("the built-in latency breach rule does not load")?,
        );
    }
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
    let sink = Arc::new(FleetSink(state.fleet.clone()));
    let manager = Arc::new(RuleManager::new(groups, config, metrics).with_sink(sink));
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

/// The receiver name recorded for alerts of the embedded rules.
const RULES_RECEIVER: &str = "pharos-rules";
/// The cluster of embedded-rule alerts that carry no `cluster` label.
const LOCAL_CLUSTER: &str = "local";

/// Files the embedded rules' alerts into the fleet's alert book, as a webhook would: firing
/// while `endsAt` is ahead, resolved once it passed; the cluster is the alert's `cluster`
/// label, else `local`.
struct FleetSink(pharos_fleet::FleetService);

fn webhook_alert(alert: &PostableAlert, now: chrono::DateTime<chrono::Utc>) -> Value {
    let ends = chrono::DateTime::parse_from_rfc3339(&alert.ends_at).ok();
    let firing = ends.is_none_or(|ends| ends > now);
    json!({
        "status": if firing { "firing" } else { "resolved" },
        "labels": alert.labels, "annotations": alert.annotations,
        "startsAt": alert.starts_at, "endsAt": if firing { Value::Null } else { json!(alert.ends_at) },
        "generatorURL": alert.generator_url,
    })
}

impl AlertSink for FleetSink {
    fn deliver(&self, alerts: &[PostableAlert]) {
        let now = chrono::Utc::now();
        let (labelled, local): (Vec<&PostableAlert>, Vec<&PostableAlert>) = alerts
            .iter()
            .partition(|a| a.labels.get("cluster").is_some_and(|c| !c.is_empty()));
        for (cluster, batch) in [(None, labelled), (Some(LOCAL_CLUSTER), local)] {
            let batch: Vec<Value> = batch.iter().map(|a| webhook_alert(a, now)).collect();
            if let Err(error) = self.0.file_alerts(cluster, RULES_RECEIVER, &batch) {
                tracing::warn!(%error, "embedded rule alerts not filed in the fleet's book");
            }
        }
    }
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
        let message = format!(
            "{:#}",
            load(&settings, &pharos_slo::SloSettings::default(), false).unwrap_err()
        );
        assert!(message.contains("rules.files"), "{message}");
        assert!(message.contains("rules.yml"), "{message}");
        assert!(message.contains("rule \"A\""), "{message}");
    }

    fn postable(name: &str, cluster: Option<&str>, ends_at: &str) -> PostableAlert {
        let mut labels = pharos_rules::LabelMap::new();
        labels.insert("alertname".into(), name.into());
        if let Some(cluster) = cluster {
            labels.insert("cluster".into(), cluster.into());
        }
        PostableAlert {
            labels,
            annotations: pharos_rules::LabelMap::new(),
            starts_at: "2026-12-06T06:00:00Z".into(),
            ends_at: ends_at.into(),
            generator_url: "http://pharos/graph".into(),
        }
    }

    #[tokio::test]
    async fn rule_alerts_reach_the_fleet_book_under_their_cluster() {
        let (store, _dir) = pharos_store::testing::sqlite_store().await;
        let fleet = pharos_fleet::FleetService::new(
            store,
            pharos_fleet::FleetOptions::default(),
            reqwest::Client::new(),
        );
        let sink = FleetSink(fleet.clone());
        let later = (chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339();
        sink.deliver(&[
            postable("GpuHot", Some("prod-eu-1"), &later),
            postable("DiskFull", None, &later),
        ]);
        let filter = pharos_fleet::AlertFilter {
            limit: 10,
            ..pharos_fleet::AlertFilter::default()
        };
        let firing = |cluster: &str| {
            let filter = pharos_fleet::AlertFilter {
                cluster: Some(cluster.to_owned()),
                ..filter.clone()
            };
            let answer = fleet.alerts(&Everything, &filter).unwrap();
            answer["alerts"][0]["state"].as_str().map(str::to_owned)
        };
        assert_eq!(firing("prod-eu-1").as_deref(), Some("firing"));
        assert_eq!(firing("local").as_deref(), Some("firing"));
        // Resolved: endsAt in the past.
        sink.deliver(&[postable(
            "GpuHot",
            Some("prod-eu-1"),
            "2026-12-06T06:05:00Z",
        )]);
        assert_eq!(firing("prod-eu-1").as_deref(), Some("resolved"));
    }

    struct Everything;

    impl pharos_fleet::Access for Everything {
        fn check(&self, _: pharos_fleet::FleetAction) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn the_demo_adds_its_rules_and_the_breach_rule_is_there_unless_turned_off() {
        let settings = RulesSettings::default();
        let no_breaches = pharos_slo::SloSettings {
            breach_alerts: false,
            ..Default::default()
        };
        assert!(load(&settings, &no_breaches, false).unwrap().is_empty());
        let breach_only = load(&settings, &pharos_slo::SloSettings::default(), false).unwrap();
        assert_eq!(breach_only.len(), 1);
        assert_eq!(breach_only[0].rules[0].name, "ServiceLatencyBreach");
        let groups = load(&settings, &no_breaches, true).unwrap();
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
