#![allow(clippy::unwrap_used)]

use super::*;
use crate::detect::{Direction, Method};

const MIN: i64 = 60_000;
const T0: i64 = 1_767_225_600_000;

fn gpu(uuid: &str) -> Entity {
    Entity::new(EntityKind::Gpu, &[("cluster", "a"), ("UUID", uuid)])
}

fn job() -> Entity {
    Entity::new(
        EntityKind::TrainingJob,
        &[
            ("cluster", "a"),
            ("namespace", "ml-training"),
            ("pod", "trainer-0"),
        ],
    )
}

fn model(name: &str) -> Entity {
    Entity::new(
        EntityKind::ModelServer,
        &[("cluster", "a"), ("model_name", name)],
    )
}

fn anomaly(
    entity: &Entity,
    signal: &str,
    method: Method,
    start: i64,
    end: i64,
    score: f64,
) -> Anomaly {
    Anomaly {
        labels: entity.labels.clone(),
        start_ms: T0 + start * MIN,
        end_ms: T0 + end * MIN,
        score,
        method,
        summary: format!("{signal} {}", method.as_str()),
        direction: Direction::Up,
        peak_ms: T0 + start * MIN,
        value: 2.0,
        baseline: 1.0,
        points: vec![((T0 + (start - 2) * MIN) as f64 / 1000.0, 1.0)],
        signal: Some(signal.to_owned()),
        query: Some(format!("{signal}_query")),
        entity: Some(entity.clone()),
        supporting: false,
    }
}

fn graph() -> DependencyGraph {
    let mut graph = DependencyGraph::with_default_rules();
    graph.add_edge(gpu("G1"), job());
    graph.add_edge(gpu("G2"), job());
    graph.add_edge(gpu("G3"), model("chat"));
    graph
}

#[test]
fn a_stuck_gpu_ranks_before_the_training_job_it_stalled() {
    let anomalies = vec![
        // The job's throughput collapse is stronger and later: it is still the consequence.
        anomaly(
            &job(),
            "training_throughput",
            Method::LevelShift,
            12,
            30,
            40.0,
        ),
        anomaly(&gpu("G1"), "gpu_utilisation", Method::Stuck, 10, 30, 3.0),
        anomaly(
            &gpu("G1"),
            "gpu_temperature",
            Method::SeasonalZscore,
            13,
            30,
            2.0,
        ),
        // Something unrelated at the same time elsewhere: its own incident.
        anomaly(
            &model("other"),
            "model_p95_latency",
            Method::LevelShift,
            11,
            20,
            5.0,
        ),
    ];
    let report = explain_anomalies(&anomalies, &[], &graph(), &RcaOptions::default());
    assert_eq!(report.incidents.len(), 2, "{report:#?}");
    let stalled = report
        .incidents
        .iter()
        .find(|i| i.suspects.len() == 2)
        .unwrap();
    let top = &report.suspects[stalled.suspects[0]];
    assert_eq!(top.as_entity(), gpu("G1"));
    assert_eq!(top.rank, 1);
    assert_eq!(top.evidence.len(), 2);
    assert!(
        top.why
            .iter()
            .any(|w| w.contains("upstream of training job")),
        "{:?}",
        top.why
    );
    assert!(
        top.why
            .iter()
            .all(|w| w.contains('[') || w.contains("alert")),
        "{:?}",
        top.why
    );
    let second = &report.suspects[stalled.suspects[1]];
    assert_eq!(second.as_entity(), job());
    assert!(second.why.iter().any(|w| w.contains("consequence")));
    let markdown = report.markdown();
    assert!(markdown.contains("## Incident"), "{markdown}");
    assert!(
        markdown.contains("[E1] `gpu_utilisation_query`"),
        "{markdown}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["suspects"][0]["evidence"][0]["anomaly"]["start"].is_f64());
}

#[test]
fn a_latency_spike_ranks_the_model_server() {
    let anomalies = vec![
        anomaly(
            &model("chat"),
            "model_p95_latency",
            Method::LevelShift,
            10,
            20,
            8.0,
        ),
        anomaly(
            &model("chat"),
            "vllm_p95_e2e_latency",
            Method::SeasonalZscore,
            10,
            19,
            6.0,
        ),
    ];
    let report = explain_anomalies(&anomalies, &[], &graph(), &RcaOptions::default());
    assert_eq!(report.incidents.len(), 1);
    let top = &report.suspects[0];
    assert_eq!(top.as_entity(), model("chat"));
    assert!(
        top.why
            .iter()
            .any(|w| w.contains("2 signals or methods agree"))
    );
}

#[test]
fn alerts_corroborate_a_suspect() {
    let anomalies = vec![
        anomaly(
            &gpu("G1"),
            "gpu_temperature",
            Method::LevelShift,
            10,
            20,
            3.0,
        ),
        anomaly(
            &gpu("G2"),
            "gpu_temperature",
            Method::LevelShift,
            10,
            20,
            3.0,
        ),
        anomaly(
            &job(),
            "training_throughput",
            Method::LevelShift,
            11,
            20,
            3.0,
        ),
    ];
    let alert = AlertInput {
        labels: [
            ("alertname", "GpuStuckAtFullUtilisation"),
            ("cluster", "a"),
            ("UUID", "G2"),
            ("gpu", "2"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect(),
        state: "firing".to_owned(),
        starts_at: T0 + 14 * MIN,
        ends_at: None,
    };
    let without = explain_anomalies(&anomalies, &[], &graph(), &RcaOptions::default());
    assert_eq!(
        without.suspects[0].as_entity(),
        gpu("G1"),
        "ties go by labels"
    );
    let with = explain_anomalies(&anomalies, &[alert], &graph(), &RcaOptions::default());
    assert_eq!(with.incidents.len(), 1);
    let top = &with.suspects[0];
    assert_eq!(top.as_entity(), gpu("G2"));
    assert!(
        top.why
            .iter()
            .any(|w| w.contains("GpuStuckAtFullUtilisation"))
    );
    assert_eq!(top.alerts.len(), 1);
}

#[test]
fn alerts_name_model_servers_by_their_knative_service() {
    let alert = AlertInput {
        labels: [
            ("alertname", "ModelLatencyHigh"),
            ("cluster", "a"),
            ("service_name", "chat-predictor"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect(),
        state: "firing".to_owned(),
        starts_at: 0,
        ends_at: Some(1),
    };
    assert!(alert.concerns(&model("chat")));
    assert!(!alert.concerns(&model("chatter")));
    assert!(!alert.concerns(&gpu("G1")));
}

#[test]
fn nothing_to_explain_is_an_empty_report() {
    let report = explain_anomalies(
        &[],
        &[],
        &DependencyGraph::default(),
        &RcaOptions::default(),
    );
    assert!(report.incidents.is_empty() && report.suspects.is_empty());
    assert!(report.markdown().contains("No anomalies"));
}
