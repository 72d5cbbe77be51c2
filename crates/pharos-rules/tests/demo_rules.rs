//! The simulator's demo rules fire during its incidents: the simulator runs for simulated hours
//! into an embedded store while the rule manager evaluates the demo rules on their interval;
//! every incident kind must raise its alert on the affected entity, and no demo alert may fire
//! in a quiet period.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use pharos_query::{LocalMetrics, QueryOptions};
use pharos_rules::{LabelMap, RuleManager, RulesConfig, parse_rule_file};
use pharos_sim::{DEMO_RULES, Incident, IncidentKind, SimOptions, Simulator};
use pharos_tsdb::{Db, Options};

const MINUTE: i64 = 60_000;
const TICK: i64 = 15_000;
const EVAL: i64 = 30_000;
/// The latency and pipeline rules compare with the hour before; incidents before that are
/// not judged.
const WARM_UP: i64 = 80 * MINUTE;
const START: i64 = 1_767_225_600_000;
const MAX_RUN: i64 = 12 * 60 * MINUTE;

struct Firing {
    t_ms: i64,
    alertname: String,
    labels: LabelMap,
}

fn alert_for(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::LatencySpike => "ModelLatencyHigh",
        IncidentKind::ErrorBurst => "ModelErrorRateHigh",
        IncidentKind::GpuStuck => "GpuStuckAtFullUtilisation",
        IncidentKind::PipelineStall => "PipelineLagGrowing",
    }
}

/// Whether the alert names the entity the incident hit.
fn matches(incident: &Incident, labels: &LabelMap) -> bool {
    let same = |name: &str| incident.labels.get(name) == labels.get(name);
    match incident.kind {
        IncidentKind::LatencySpike | IncidentKind::ErrorBurst => {
            let model = incident
                .labels
                .get("model_name")
                .or_else(|| incident.labels.get("model"))
                .unwrap();
            same("cluster")
                && same("namespace")
                && labels.get("service_name") == Some(&format!("{model}-predictor"))
        }
        IncidentKind::GpuStuck => same("cluster") && same("Hostname") && same("gpu"),
        IncidentKind::PipelineStall => same("cluster") && same("consumergroup"),
    }
}

fn judged(incident: &Incident) -> bool {
    incident.start_ms >= START + WARM_UP
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_incident_kind_fires_its_demo_rule_and_quiet_periods_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), QueryOptions::default()));
    let groups = parse_rule_file("demo-rules.yml", DEMO_RULES).unwrap();
    assert_eq!(groups.iter().map(|g| g.rules.len()).sum::<usize>(), 4);
    let manager = RuleManager::new(groups, RulesConfig::default(), Arc::clone(&metrics));
    let mut simulator = Simulator::new(SimOptions {
        clusters: 1,
        gpu_nodes_per_cluster: 2,
        gpus_per_node: 2,
        backfill: std::time::Duration::ZERO,
        ..SimOptions::default()
    });

    let mut firing: Vec<Firing> = Vec::new();
    let mut now = START;
    loop {
        let samples = simulator.tick(now);
        let mut appender = db.appender();
        for (labels, value) in &samples {
            appender.append(labels, now, *value).unwrap();
        }
        appender.commit().unwrap();
        if now % EVAL == 0 && now >= START + WARM_UP - 10 * MINUTE {
            for index in 0..manager.groups().count() {
                manager.evaluate_group(index, now).await;
            }
            for alert in manager.alerts_data(None).alerts {
                if alert.state == pharos_rules::AlertState::Firing {
                    firing.push(Firing {
                        t_ms: now,
                        alertname: alert.labels["alertname"].clone(),
                        labels: alert.labels,
                    });
                }
            }
        }
        let done: BTreeSet<IncidentKind> = simulator
            .incidents()
            .iter()
            .filter(|i| judged(i) && i.end_ms + 5 * MINUTE <= now)
            .map(|i| i.kind)
            .collect();
        if done.len() == IncidentKind::ALL.len() || now - START > MAX_RUN {
            break;
        }
        now += TICK;
    }
    for index in 0..manager.groups().count() {
        let state = manager.group_state(index).unwrap();
        for rule in &state.rules {
            assert_eq!(rule.last_error, None, "demo rules evaluate without errors");
        }
    }

    let incidents: Vec<&Incident> = simulator.incidents().iter().collect();
    let mut seen_kinds = BTreeSet::new();
    for incident in incidents.iter().filter(|i| judged(i) && i.end_ms <= now) {
        let name = alert_for(incident.kind);
        let fired = firing.iter().any(|f| {
            f.alertname == name
                && f.t_ms >= incident.start_ms
                && f.t_ms <= incident.end_ms + 5 * MINUTE
                && matches(incident, &f.labels)
        });
        assert!(fired, "{name} did not fire during {incident:?}");
        seen_kinds.insert(incident.kind);
    }
    assert_eq!(seen_kinds.len(), 4, "every incident kind was judged");

    // Quiet: no incident in progress or ended less than 20 minutes ago (alerts may linger while
    // a rate window still holds the incident).
    let quiet = |t: i64| {
        !incidents
            .iter()
            .any(|i| i.start_ms <= t && t < i.end_ms + 20 * MINUTE)
    };
    let noisy: Vec<String> = firing
        .iter()
        .filter(|f| f.t_ms >= START + WARM_UP && quiet(f.t_ms))
        .map(|f| {
            format!(
                "{} at +{} min: {:?}",
                f.alertname,
                (f.t_ms - START) / MINUTE,
                f.labels
            )
        })
        .collect();
    assert!(noisy.is_empty(), "alerts in quiet periods: {noisy:#?}");
    let quiet_evaluations = (START + WARM_UP..now)
        .step_by(EVAL as usize)
        .filter(|t| quiet(*t))
        .count();
    assert!(quiet_evaluations > 20, "the run had quiet periods to judge");
}
