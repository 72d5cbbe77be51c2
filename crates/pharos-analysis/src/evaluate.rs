//! Scoring detections against ground truth (pure): an injected incident is found when a
//! detected incident overlaps `[start − slack, end + slack]` and lists the incident's
//! entity among its suspects; its root cause is right when the best such detected incident
//! ranks that entity first; a detected incident that matches no injected one is a false
//! alarm. Entities match on the incident's identifying labels (`model` and `model_name`
//! are the same label: Triton says `model`, the other runtimes `model_name`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::graph::{Entity, EntityKind};
use crate::rca::RcaReport;

/// One injected incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthIncident {
    /// Kind, for the per-kind table (`LatencySpike`, ...).
    pub kind: String,
    /// Start, ms.
    pub start_ms: i64,
    /// End, ms.
    pub end_ms: i64,
    /// The labels that identify the affected entity (e.g. `cluster` + `UUID`).
    pub identity: BTreeMap<String, String>,
}

/// One detected incident, as [`detected_incidents`] reads it from an RCA report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedIncident {
    /// Start, ms.
    pub start_ms: i64,
    /// End, ms.
    pub end_ms: i64,
    /// Suspects in rank order.
    pub suspects: Vec<Entity>,
    /// The top suspect's score.
    pub score: f64,
}

/// The incidents of an RCA report.
pub fn detected_incidents(report: &RcaReport) -> Vec<DetectedIncident> {
    report
        .incidents
        .iter()
        .map(|incident| DetectedIncident {
            start_ms: incident.start,
            end_ms: incident.end,
            suspects: incident
                .suspects
                .iter()
                .filter_map(|&s| report.suspects.get(s).map(|s| s.as_entity()))
                .collect(),
            score: incident.score,
        })
        .collect()
}

/// Counts of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KindScore {
    /// Injected incidents.
    pub incidents: usize,
    /// Found.
    pub found: usize,
    /// Found with the right root cause ranked first.
    pub root_cause_first: usize,
}

/// The score of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evaluation {
    /// Per injected kind.
    pub per_kind: BTreeMap<String, KindScore>,
    /// All kinds.
    pub total: KindScore,
    /// Detected incidents matching no injected incident.
    pub false_alarms: usize,
    /// False alarms by the kind of their top suspect.
    pub false_alarms_by_entity: BTreeMap<String, usize>,
    /// Length of the evaluated span, days.
    pub days: f64,
    /// Injected incidents missed or with another root cause first (for the record).
    pub misses: Vec<String>,
    /// The false alarms (for the record).
    pub false_alarm_list: Vec<String>,
}

impl Evaluation {
    /// `root_cause_first / incidents` (1 when there were none).
    pub fn root_cause_ratio(&self) -> f64 {
        if self.total.incidents == 0 {
            1.0
        } else {
            self.total.root_cause_first as f64 / self.total.incidents as f64
        }
    }

    /// False alarms per evaluated day.
    pub fn false_alarms_per_day(&self) -> f64 {
        if self.days > 0.0 {
            self.false_alarms as f64 / self.days
        } else {
            0.0
        }
    }

    /// The per-kind table in Markdown.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| kind | incidents | found | root cause first | \n|---|---:|---:|---:|\n",
        );
        for (kind, s) in &self.per_kind {
            out.push_str(&format!(
                "| {kind} | {} | {} | {} |\n",
                s.incidents, s.found, s.root_cause_first
            ));
        }
        out.push_str(&format!(
            "| **total** | {} | {} | {} ({:.1} %) |\n\nFalse alarms: {} over {:.2} days = {:.2} per day{}\n",
            self.total.incidents,
            self.total.found,
            self.total.root_cause_first,
            100.0 * self.root_cause_ratio(),
            self.false_alarms,
            self.days,
            self.false_alarms_per_day(),
            if self.false_alarms_by_entity.is_empty() {
                String::new()
            } else {
                format!(
                    " (top suspect: {})",
                    self.false_alarms_by_entity
                        .iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        out
    }
}

/// Whether `entity` is the one `identity` names.
pub fn identifies(identity: &BTreeMap<String, String>, entity: &Entity) -> bool {
    !identity.is_empty()
        && identity.iter().all(|(name, value)| {
            let got = entity.labels.get(name).or_else(|| match name.as_str() {
                "model" => entity.labels.get("model_name"),
                "model_name" => entity.labels.get("model"),
                _ => None,
            });
            got == Some(value)
        })
}

/// Scores `detected` against `truth` over `[span_start_ms, span_end_ms]`: injected
/// incidents starting in the span are judged; detected incidents ending in the span (and
/// matching no injected incident, in the span or not) are false alarms.
pub fn evaluate(
    truth: &[TruthIncident],
    detected: &[DetectedIncident],
    span_start_ms: i64,
    span_end_ms: i64,
    slack_ms: i64,
) -> Evaluation {
    let matches = |t: &TruthIncident, d: &DetectedIncident| {
        d.start_ms <= t.end_ms + slack_ms
            && d.end_ms >= t.start_ms - slack_ms
            && d.suspects.iter().any(|e| identifies(&t.identity, e))
    };
    let mut eval = Evaluation {
        days: (span_end_ms - span_start_ms) as f64 / 86_400_000.0,
        ..Evaluation::default()
    };
    for t in truth
        .iter()
        .filter(|t| (span_start_ms..=span_end_ms).contains(&t.start_ms))
    {
        let kind = eval.per_kind.entry(t.kind.clone()).or_default();
        kind.incidents += 1;
        eval.total.incidents += 1;
        let best = detected
            .iter()
            .filter(|d| matches(t, d))
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let Some(best) = best else {
            eval.misses.push(format!(
                "missed {} at {} on {:?}",
                t.kind,
                crate::time::utc(t.start_ms),
                t.identity
            ));
            continue;
        };
        kind.found += 1;
        eval.total.found += 1;
        if best
            .suspects
            .first()
            .is_some_and(|e| identifies(&t.identity, e))
        {
            kind.root_cause_first += 1;
            eval.total.root_cause_first += 1;
        } else {
            eval.misses.push(format!(
                "{} at {} on {:?}: first suspect was {}",
                t.kind,
                crate::time::utc(t.start_ms),
                t.identity,
                best.suspects
                    .first()
                    .map_or_else(String::new, Entity::describe)
            ));
        }
    }
    for d in detected
        .iter()
        .filter(|d| d.end_ms >= span_start_ms && d.start_ms <= span_end_ms)
    {
        if truth.iter().any(|t| matches(t, d)) {
            continue;
        }
        eval.false_alarms += 1;
        let kind = d.suspects.first().map_or(EntityKind::Other, |e| e.kind);
        *eval
            .false_alarms_by_entity
            .entry(kind.noun().to_owned())
            .or_default() += 1;
        eval.false_alarm_list.push(format!(
            "{} – {}: {}",
            crate::time::utc(d.start_ms),
            crate::time::utc(d.end_ms),
            d.suspects
                .first()
                .map_or_else(String::new, Entity::describe)
        ));
    }
    eval
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(kind: &str, start: i64, end: i64, identity: &[(&str, &str)]) -> TruthIncident {
        TruthIncident {
            kind: kind.to_owned(),
            start_ms: start,
            end_ms: end,
            identity: Entity::new(EntityKind::Other, identity).labels,
        }
    }

    fn detected(start: i64, end: i64, suspects: Vec<Entity>) -> DetectedIncident {
        DetectedIncident {
            start_ms: start,
            end_ms: end,
            suspects,
            score: 1.0,
        }
    }

    #[test]
    fn found_right_cause_wrong_cause_and_false_alarms_are_counted() {
        let chat = Entity::new(
            EntityKind::ModelServer,
            &[("cluster", "a"), ("model_name", "chat")],
        );
        let embed = Entity::new(
            EntityKind::ModelServer,
            &[("cluster", "a"), ("model_name", "embed")],
        );
        let gpu = Entity::new(EntityKind::Gpu, &[("cluster", "a"), ("UUID", "G1")]);
        let job = Entity::new(EntityKind::TrainingJob, &[("cluster", "a"), ("pod", "t")]);
        let truths = vec![
            truth(
                "LatencySpike",
                100,
                200,
                &[("cluster", "a"), ("model_name", "chat")],
            ),
            truth(
                "LatencySpike",
                1000,
                1100,
                &[("cluster", "a"), ("model", "embed")],
            ),
            truth("GpuStuck", 2000, 2100, &[("cluster", "a"), ("UUID", "G1")]),
            truth(
                "PipelineStall",
                3000,
                3100,
                &[("cluster", "a"), ("consumergroup", "p")],
            ),
        ];
        let found = vec![
            detected(150, 260, vec![chat.clone()]),
            detected(1000, 1090, vec![embed]),
            detected(2010, 2100, vec![job.clone(), gpu]),
            detected(5000, 5100, vec![job]),
            detected(
                120,
                130,
                vec![Entity::new(EntityKind::Pipeline, &[("cluster", "b")])],
            ),
        ];
        let eval = evaluate(&truths, &found, 0, 10_000, 50);
        assert_eq!(eval.total.incidents, 4);
        assert_eq!(eval.total.found, 3);
        assert_eq!(eval.total.root_cause_first, 2);
        assert_eq!(eval.per_kind["GpuStuck"].root_cause_first, 0);
        assert_eq!(eval.false_alarms, 2);
        assert_eq!(eval.misses.len(), 2);
        assert!(
            eval.table().contains("| LatencySpike | 2 | 2 | 2 |"),
            "{}",
            eval.table()
        );
        assert!(identifies(&truths[0].identity, &chat));
    }
}
