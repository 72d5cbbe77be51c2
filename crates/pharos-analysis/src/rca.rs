//! Root-cause analysis: anomalies that overlap in time (with slack) and are linked along the
//! dependency graph (or belong to one entity) form an incident; in each incident the
//! entities are ranked as suspects — upstream before downstream, earlier onset, stronger
//! and more varied evidence, corroborating alerts — and every reason given cites the
//! evidence behind it. [`explain`] scans a watch list over a window and reads the topology;
//! [`explain_anomalies`] is the pure core.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pharos_query::MetricsBackend;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::detect::{Anomaly, DetectOptions, number};
use crate::graph::{DependencyGraph, Entity, EntityKind};
use crate::time::{human_duration, seconds, seconds_opt, utc};
use crate::watch::{WatchList, scan, topology};

/// An alert as RCA needs it (the server maps its alert book into these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInput {
    /// Labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// `firing`, `pending` or `resolved`.
    pub state: String,
    /// Start (unix seconds in JSON).
    #[serde(with = "seconds")]
    pub starts_at: i64,
    /// End, if it ended (unix seconds in JSON).
    #[serde(default, with = "seconds_opt")]
    pub ends_at: Option<i64>,
}

impl AlertInput {
    fn name(&self) -> &str {
        self.labels.get("alertname").map_or("alert", String::as_str)
    }

    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.starts_at <= end && self.ends_at.is_none_or(|e| e >= start)
    }

    /// Whether the alert is about `entity`: every identifying label the alert has agrees,
    /// and each one it lacks appears as a label value (or as the prefix of one before a
    /// `-`: KServe's `service_name="<model>-predictor"`); at least one label other than
    /// `cluster` must match.
    fn concerns(&self, entity: &Entity) -> bool {
        let mut specific = false;
        for (name, value) in &entity.labels {
            let ok = match self.labels.get(name) {
                Some(v) => v == value,
                None => self
                    .labels
                    .values()
                    .any(|v| v == value || v.starts_with(&format!("{value}-"))),
            };
            if !ok {
                return false;
            }
            specific |= name != "cluster";
        }
        specific
    }
}

/// Settings of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RcaOptions {
    /// Anomalies this close in time still belong together (ms).
    pub slack_ms: i64,
    /// Onsets this close to the first count as first (ms).
    pub onset_tolerance_ms: i64,
    /// Evidence items per suspect.
    pub max_evidence: usize,
    /// Suspects listed per incident.
    pub max_suspects: usize,
    /// Anomalies considered (the strongest).
    pub max_anomalies: usize,
    /// Step of the scan in [`explain`] (ms).
    pub step_ms: i64,
    /// Detection settings for [`explain`].
    pub detect: DetectOptions,
}

impl Default for RcaOptions {
    fn default() -> Self {
        Self {
            slack_ms: 5 * 60_000,
            onset_tolerance_ms: 2 * 60_000,
            max_evidence: 4,
            max_suspects: 10,
            max_anomalies: 2_000,
            step_ms: 60_000,
            detect: DetectOptions::default(),
        }
    }
}

/// The analysed window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Unix seconds in JSON.
    #[serde(with = "seconds")]
    pub start: i64,
    /// Unix seconds in JSON.
    #[serde(with = "seconds")]
    pub end: i64,
}

/// One piece of evidence: an anomaly of one series and a few of its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The PromQL (or the signal's name when unknown).
    pub query: String,
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Points before, at the peak, after: `(unix seconds, value)`.
    pub values: Vec<(f64, f64)>,
    /// The anomaly.
    pub anomaly: Anomaly,
}

/// A suspect: an entity of an incident, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspect {
    /// 1 = the most likely root cause of its incident.
    pub rank: usize,
    /// Index of its incident in [`RcaReport::incidents`].
    pub incident: usize,
    /// The entity's identifying labels.
    pub entity: BTreeMap<String, String>,
    /// The entity's kind.
    pub kind: EntityKind,
    /// Ranking score (higher is more likely the cause).
    pub score: f64,
    /// Reasons, each citing evidence as `[E1]`, another suspect as `[#2]` or an alert.
    pub why: Vec<String>,
    /// The suspect's own anomalies, strongest first.
    pub evidence: Vec<Evidence>,
    /// Alerts about the entity during the incident.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertInput>,
}

impl Suspect {
    /// The suspect's entity.
    pub fn as_entity(&self) -> Entity {
        Entity {
            kind: self.kind,
            labels: self.entity.clone(),
        }
    }
}

/// A group of related anomalies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcaIncident {
    /// Index in [`RcaReport::incidents`].
    pub id: usize,
    /// First anomalous point (unix seconds in JSON).
    #[serde(with = "seconds")]
    pub start: i64,
    /// Last anomalous point (unix seconds in JSON).
    #[serde(with = "seconds")]
    pub end: i64,
    /// The top suspect's score.
    pub score: f64,
    /// Indices into [`RcaReport::suspects`], rank order.
    pub suspects: Vec<usize>,
    /// One sentence.
    pub summary: String,
}

/// The analysis of a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcaReport {
    /// The window.
    pub window: Window,
    /// Every incident's suspects, incident by incident, in rank order.
    pub suspects: Vec<Suspect>,
    /// Incidents, oldest first.
    pub incidents: Vec<RcaIncident>,
    /// What the caller should know (signals that failed, missing topology).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Scans `watch` over `[start_ms, end_ms]`, reads the topology at `end_ms` and explains
/// what it found with `alerts`.
pub async fn explain(
    backend: &dyn MetricsBackend,
    watch: &WatchList,
    alerts: &[AlertInput],
    start_ms: i64,
    end_ms: i64,
    options: &RcaOptions,
) -> Result<RcaReport, AnalysisError> {
    let found = scan(
        backend,
        watch,
        start_ms,
        end_ms,
        options.step_ms,
        &options.detect,
    )
    .await?;
    let (graph, topology_warnings) = topology(backend, watch, end_ms).await;
    let mut report = explain_anomalies(&found.anomalies, alerts, &graph, options);
    report.window = Window {
        start: start_ms,
        end: end_ms,
    };
    report.warnings.extend(found.warnings);
    report.warnings.extend(topology_warnings);
    Ok(report)
}

fn entity_of(a: &Anomaly) -> Entity {
    a.entity.clone().unwrap_or_else(|| Entity {
        kind: EntityKind::Other,
        labels: a.labels.clone(),
    })
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Groups `anomalies` into incidents along `graph` and ranks each incident's entities.
pub fn explain_anomalies(
    anomalies: &[Anomaly],
    alerts: &[AlertInput],
    graph: &DependencyGraph,
    options: &RcaOptions,
) -> RcaReport {
    let mut warnings = Vec::new();
    let kept = crate::detect::corroborated(anomalies.to_vec(), options.slack_ms);
    let mut anomalies: Vec<&Anomaly> = kept.iter().collect();
    if anomalies.len() > options.max_anomalies {
        anomalies.sort_by(|a, b| b.score.total_cmp(&a.score));
        warnings.push(format!(
            "{} anomalies, the {} strongest were analysed",
            anomalies.len(),
            options.max_anomalies
        ));
        anomalies.truncate(options.max_anomalies);
    }
    anomalies.sort_by_key(|a| (a.start_ms, a.end_ms));
    let entities: Vec<Entity> = anomalies.iter().map(|a| entity_of(a)).collect();
    let slack = options.slack_ms;
    let mut parent: Vec<usize> = (0..anomalies.len()).collect();
    for i in 0..anomalies.len() {
        for j in i + 1..anomalies.len() {
            if anomalies[j].start_ms > anomalies[i].end_ms + slack {
                continue;
            }
            if anomalies[i].start_ms > anomalies[j].end_ms + slack {
                continue;
            }
            if entities[i] == entities[j] || graph.related(&entities[i], &entities[j]) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..anomalies.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut incidents = Vec::new();
    let mut suspects = Vec::new();
    let mut ordered: Vec<Vec<usize>> = groups.into_values().collect();
    ordered.sort_by_key(|members| members.iter().map(|&i| anomalies[i].start_ms).min());
    for members in ordered {
        let id = incidents.len();
        let group: Vec<(&Anomaly, &Entity)> = members
            .iter()
            .map(|&i| (anomalies[i], &entities[i]))
            .collect();
        let (ranked, incident) = rank(id, &group, alerts, graph, options);
        let first = suspects.len();
        let count = ranked.len();
        suspects.extend(ranked);
        incidents.push(RcaIncident {
            suspects: (first..first + count).collect(),
            ..incident
        });
    }
    let window = Window {
        start: anomalies.iter().map(|a| a.start_ms).min().unwrap_or(0),
        end: anomalies.iter().map(|a| a.end_ms).max().unwrap_or(0),
    };
    RcaReport {
        window,
        suspects,
        incidents,
        warnings,
    }
}

/// Ranks the entities of one incident.
fn rank(
    id: usize,
    group: &[(&Anomaly, &Entity)],
    alerts: &[AlertInput],
    graph: &DependencyGraph,
    options: &RcaOptions,
) -> (Vec<Suspect>, RcaIncident) {
    let start = group.iter().map(|(a, _)| a.start_ms).min().unwrap_or(0);
    let end = group.iter().map(|(a, _)| a.end_ms).max().unwrap_or(0);
    let mut by_entity: BTreeMap<&Entity, Vec<&Anomaly>> = BTreeMap::new();
    for (a, e) in group {
        by_entity.entry(*e).or_default().push(*a);
    }
    struct Draft<'a> {
        entity: &'a Entity,
        anomalies: Vec<&'a Anomaly>,
        onset: i64,
        score: f64,
        feeds: Vec<&'a Entity>,
        fed_by: Vec<&'a Entity>,
        alerts: Vec<&'a AlertInput>,
        first: bool,
        strength: f64,
        kinds: usize,
    }
    let entities: Vec<&Entity> = by_entity.keys().copied().collect();
    let mut drafts: Vec<Draft<'_>> = by_entity
        .into_iter()
        .map(|(entity, mut list)| {
            list.sort_by(|a, b| b.score.total_cmp(&a.score));
            let onset = list.iter().map(|a| a.start_ms).min().unwrap_or(start);
            let strength = list
                .iter()
                .map(|a| (1.0 + a.score).ln())
                .fold(0.0, f64::max);
            let mut kinds: Vec<(Option<&String>, _)> =
                list.iter().map(|a| (a.signal.as_ref(), a.method)).collect();
            kinds.sort();
            kinds.dedup();
            let feeds: Vec<&Entity> = entities
                .iter()
                .copied()
                .filter(|o| *o != entity && graph.feeds(entity, o))
                .collect();
            let fed_by: Vec<&Entity> = entities
                .iter()
                .copied()
                .filter(|o| *o != entity && graph.feeds(o, entity))
                .collect();
            let alerts: Vec<&AlertInput> = alerts
                .iter()
                .filter(|al| {
                    al.state != "inactive"
                        && al.overlaps(start - options.slack_ms, end + options.slack_ms)
                        && al.concerns(entity)
                })
                .collect();
            let first = onset <= start + options.onset_tolerance_ms;
            let variety = 0.3 * (kinds.len().saturating_sub(1).min(3)) as f64;
            let score = strength
                + variety
                + if feeds.is_empty() { 0.0 } else { 3.0 }
                + if fed_by.is_empty() { 0.0 } else { -3.0 }
                + if first { 1.0 } else { 0.0 }
                + 0.5 * alerts.len().min(2) as f64;
            Draft {
                entity,
                anomalies: list,
                onset,
                score,
                feeds,
                fed_by,
                alerts,
                first,
                strength,
                kinds: kinds.len(),
            }
        })
        .collect();
    drafts.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.onset.cmp(&b.onset))
            .then_with(|| a.entity.cmp(b.entity))
    });
    drafts.truncate(options.max_suspects.max(1));
    let rank_of =
        |e: &Entity, drafts: &[Draft<'_>]| drafts.iter().position(|d| d.entity == e).map(|p| p + 1);
    let mut suspects = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        let evidence: Vec<Evidence> = draft
            .anomalies
            .iter()
            .take(options.max_evidence.max(1))
            .map(|a| Evidence {
                query: a
                    .query
                    .clone()
                    .or_else(|| a.signal.clone())
                    .unwrap_or_else(|| "(series)".to_owned()),
                labels: a.labels.clone(),
                values: a.points.clone(),
                anomaly: (*a).clone(),
            })
            .collect();
        let mut why = Vec::new();
        for (i, e) in evidence.iter().enumerate() {
            let signal = e.anomaly.signal.as_deref().unwrap_or("series");
            why.push(format!(
                "{signal}: {} from {} [E{}]",
                e.anomaly.summary,
                utc(e.anomaly.start_ms),
                i + 1
            ));
        }
        if draft.kinds > 1 {
            why.push(format!(
                "{} signals or methods agree on it, strongest score {} [E1–E{}]",
                draft.kinds,
                number(draft.strength.exp() - 1.0),
                evidence.len()
            ));
        }
        for downstream in &draft.feeds {
            let cite =
                rank_of(downstream, &drafts).map_or_else(String::new, |r| format!(" [#{r}]"));
            why.push(format!(
                "it is upstream of {}, which is anomalous in the same incident{cite}: its trouble explains that one",
                downstream.describe()
            ));
        }
        for upstream in &draft.fed_by {
            let cite = rank_of(upstream, &drafts).map_or_else(String::new, |r| format!(" [#{r}]"));
            why.push(format!(
                "it depends on {}, which is anomalous too{cite}: more likely a consequence than the cause",
                upstream.describe()
            ));
        }
        if draft.first {
            why.push(format!(
                "its anomaly began first in the incident, at {} [E{}]",
                utc(draft.onset),
                draft
                    .anomalies
                    .iter()
                    .take(evidence.len())
                    .position(|a| a.start_ms == draft.onset)
                    .map_or(1, |p| p + 1)
            ));
        }
        for alert in &draft.alerts {
            why.push(format!(
                "alert {} ({}) since {} names it",
                alert.name(),
                alert.state,
                utc(alert.starts_at)
            ));
        }
        suspects.push(Suspect {
            rank: index + 1,
            incident: id,
            entity: draft.entity.labels.clone(),
            kind: draft.entity.kind,
            score: (draft.score * 1000.0).round() / 1000.0,
            why,
            evidence,
            alerts: draft.alerts.iter().map(|a| (*a).clone()).collect(),
        });
    }
    let summary = match drafts.first() {
        Some(top) => format!(
            "{} entities anomalous for {}; most likely cause: {}",
            suspects.len(),
            human_duration(end - start),
            top.entity.describe()
        ),
        None => String::new(),
    };
    let incident = RcaIncident {
        id,
        start,
        end,
        score: suspects.first().map_or(0.0, |s| s.score),
        suspects: Vec::new(),
        summary,
    };
    (suspects, incident)
}

impl RcaReport {
    /// The report for people.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Root-cause analysis, {} – {}\n",
            utc(self.window.start),
            utc(self.window.end)
        );
        if self.incidents.is_empty() {
            out.push_str("No anomalies in this window.\n");
        }
        for incident in &self.incidents {
            let _ = writeln!(
                out,
                "## Incident {}: {} – {}\n\n{}.\n",
                incident.id + 1,
                utc(incident.start),
                utc(incident.end),
                incident.summary
            );
            for &s in &incident.suspects {
                let Some(suspect) = self.suspects.get(s) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "{}. **{}** (score {})",
                    suspect.rank,
                    suspect.as_entity().describe(),
                    number(suspect.score)
                );
                for reason in &suspect.why {
                    let _ = writeln!(out, "   - {reason}");
                }
                for (i, e) in suspect.evidence.iter().enumerate() {
                    let values: Vec<String> = e
                        .values
                        .iter()
                        .map(|(t, v)| format!("{} at {}", number(*v), utc((*t * 1000.0) as i64)))
                        .collect();
                    let _ = writeln!(
                        out,
                        "   - [E{}] `{}` {}: {}",
                        i + 1,
                        e.query,
                        Entity {
                            kind: EntityKind::Other,
                            labels: e.labels.clone()
                        }
                        .describe()
                        .trim_start_matches("series "),
                        values.join(", ")
                    );
                }
            }
            out.push('\n');
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "> {warning}");
        }
        out
    }
}

#[cfg(test)]
mod tests;
