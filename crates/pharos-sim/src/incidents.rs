//! Incidents: now and then something goes wrong somewhere in the fleet, so alerts and the
//! assistant have something to find. Kinds take turns (each kind once in every four
//! incidents), gaps are 20–50 minutes, so every kind shows up within five hours of any start.

use std::collections::BTreeMap;

use crate::fleet::World;
use crate::rng::Rng;

const MINUTE_MS: i64 = 60_000;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// One model's latency rises about six-fold in one cluster.
    LatencySpike,
    /// One model answers 20–35 % of requests with errors in one cluster.
    ErrorBurst,
    /// One GPU is stuck at 100 % utilisation (hot, full power); the training job on it stalls.
    GpuStuck,
    /// One data pipeline nearly stops consuming; its lag piles up, then drains.
    PipelineStall,
}

impl IncidentKind {
    /// Every kind, in the order of a fresh cycle before shuffling.
    pub const ALL: [IncidentKind; 4] = [
        Self::LatencySpike,
        Self::ErrorBurst,
        Self::GpuStuck,
        Self::PipelineStall,
    ];

    /// Duration range in minutes.
    fn minutes(self) -> (i64, i64) {
        match self {
            Self::GpuStuck => (15, 30),
            Self::PipelineStall => (8, 20),
            Self::LatencySpike | Self::ErrorBurst => (5, 15),
        }
    }
}

/// One incident: when, and which series it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// What happened.
    pub kind: IncidentKind,
    /// Start, milliseconds since 1970 (inclusive).
    pub start_ms: i64,
    /// End, milliseconds since 1970 (exclusive).
    pub end_ms: i64,
    /// Label values that select the affected series: `cluster`, `namespace` and the runtime's
    /// model label (`model_name` for vLLM and KServe, `model` for Triton) for a latency spike
    /// or an error burst, `cluster`, `Hostname`, `gpu` and `UUID` for a stuck GPU, `cluster`
    /// and `consumergroup` (the pipeline's name) for a stalled pipeline.
    pub labels: BTreeMap<String, String>,
    /// A sentence for people.
    pub description: String,
}

impl Incident {
    /// Whether the incident is in progress at `t_ms`.
    pub fn is_active(&self, t_ms: i64) -> bool {
        self.start_ms <= t_ms && t_ms < self.end_ms
    }

    /// Whether an entity with these labels is affected (all of the incident's labels match).
    pub(crate) fn targets(&self, labels: &[(&str, &str)]) -> bool {
        self.labels.iter().all(|(name, value)| {
            labels
                .iter()
                .any(|(n, v)| *n == name.as_str() && *v == value.as_str())
        })
    }
}

/// Plans incidents as simulated time passes.
#[derive(Debug)]
pub(crate) struct IncidentSchedule {
    rng: Rng,
    next_start_ms: Option<i64>,
    upcoming_kinds: Vec<IncidentKind>,
    history: Vec<Incident>,
}

impl IncidentSchedule {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::derive(seed, 2),
            next_start_ms: None,
            upcoming_kinds: Vec::new(),
            history: Vec::new(),
        }
    }

    /// Every incident started so far, oldest first.
    pub(crate) fn history(&self) -> &[Incident] {
        &self.history
    }

    /// Starts the incidents due by `now_ms` and returns those in progress.
    pub(crate) fn advance(&mut self, now_ms: i64, world: &World) -> Vec<Incident> {
        let first = *self
            .next_start_ms
            .get_or_insert_with(|| now_ms + self.rng.between(20, 40) * MINUTE_MS);
        let mut next = first;
        while next <= now_ms {
            let kind = self.next_kind();
            let (low, high) = kind.minutes();
            let end = next + self.rng.between(low, high) * MINUTE_MS;
            if let Some(incident) = self.pick_target(kind, next, end, world) {
                self.history.push(incident);
            }
            next = end + self.rng.between(20, 50) * MINUTE_MS;
        }
        self.next_start_ms = Some(next);
        self.history
            .iter()
            .rev()
            .take_while(|incident| incident.end_ms > now_ms.saturating_sub(60 * MINUTE_MS))
            .filter(|incident| incident.is_active(now_ms))
            .cloned()
            .collect()
    }

    /// Kinds come in shuffled rounds of all four.
    fn next_kind(&mut self) -> IncidentKind {
        if self.upcoming_kinds.is_empty() {
            let mut round = IncidentKind::ALL.to_vec();
            for i in (1..round.len()).rev() {
                let j = usize::try_from(self.rng.between(0, i64::try_from(i).unwrap_or(0)))
                    .unwrap_or(0);
                round.swap(i, j);
            }
            self.upcoming_kinds = round;
        }
        self.upcoming_kinds
            .pop()
            .unwrap_or(IncidentKind::LatencySpike)
    }

    fn pick_target(
        &mut self,
        kind: IncidentKind,
        start_ms: i64,
        end_ms: i64,
        world: &World,
    ) -> Option<Incident> {
        let mut pick = |len: usize| {
            (len > 0).then(|| {
                usize::try_from(self.rng.between(0, i64::try_from(len - 1).unwrap_or(0)))
                    .unwrap_or(0)
            })
        };
        let (labels, description): (Vec<(&str, String)>, String) = match kind {
            IncidentKind::LatencySpike | IncidentKind::ErrorBurst => {
                let model = &world.models[pick(world.models.len())?];
                let what = if kind == IncidentKind::LatencySpike {
                    "latency spike"
                } else {
                    "error burst"
                };
                (
                    model.target().to_vec(),
                    format!(
                        "{what} on model {} in cluster {}",
                        model.spec.name, model.cluster
                    ),
                )
            }
            IncidentKind::GpuStuck => {
                // Prefer a training GPU: a hung training step is the classic case.
                let training: Vec<usize> = world
                    .trainings
                    .iter()
                    .flat_map(|t| t.gpus.iter().copied())
                    .collect();
                let gpu = if training.is_empty() {
                    &world.gpus[pick(world.gpus.len())?]
                } else {
                    &world.gpus[training[pick(training.len())?]]
                };
                (
                    vec![
                        ("cluster", gpu.cluster.clone()),
                        ("Hostname", gpu.hostname.clone()),
                        ("gpu", gpu.index.clone()),
                        ("UUID", gpu.uuid.clone()),
                    ],
                    format!(
                        "GPU {} ({}) on {} in cluster {} stuck at 100 % utilisation",
                        gpu.index, gpu.uuid, gpu.hostname, gpu.cluster
                    ),
                )
            }
            IncidentKind::PipelineStall => {
                let pipeline = &world.pipelines[pick(world.pipelines.len())?];
                (
                    pipeline.target().to_vec(),
                    format!(
                        "pipeline {} in {}/{} stalled; consumer lag grows",
                        pipeline.name, pipeline.cluster, pipeline.namespace
                    ),
                )
            }
        };
        Some(Incident {
            kind,
            start_ms,
            end_ms,
            labels: labels.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::SimOptions;

    fn incident(labels: &[(&str, &str)]) -> Incident {
        Incident {
            kind: IncidentKind::ErrorBurst,
            start_ms: 1_000,
            end_ms: 2_000,
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            description: String::new(),
        }
    }

    #[test]
    fn an_incident_targets_entities_matching_all_its_labels() {
        let spike = incident(&[("cluster", "a"), ("model", "m")]);
        assert!(spike.targets(&[("cluster", "a"), ("model", "m"), ("pod", "p")]));
        assert!(!spike.targets(&[("cluster", "a"), ("model", "other")]));
        assert!(!spike.targets(&[("cluster", "a")]));
        assert!(spike.is_active(1_000) && spike.is_active(1_999));
        assert!(!spike.is_active(2_000) && !spike.is_active(999));
    }

    #[test]
    fn first_incident_comes_20_to_40_minutes_after_the_start_and_kinds_rotate() {
        let world = World::build(&SimOptions::default());
        let mut schedule = IncidentSchedule::new(9);
        let start = 0;
        let mut t = start;
        while schedule.history().len() < 8 {
            schedule.advance(t, &world);
            t += 15_000;
        }
        let first = &schedule.history()[0];
        assert!((20 * MINUTE_MS..=40 * MINUTE_MS).contains(&(first.start_ms - start)));
        for round in schedule.history().chunks(4) {
            let kinds: std::collections::BTreeSet<IncidentKind> =
                round.iter().map(|i| i.kind).collect();
            assert_eq!(kinds.len(), 4, "each round has every kind once");
        }
    }
}
