//! Entities and the dependency graph between them: what a series describes (a GPU, a model
//! server, a training job, a pipeline, identified by a few labels) and which entity's
//! trouble becomes which other's. Edges come from the topology the metrics themselves show
//! (DCGM's `namespace`/`pod` labels on a GPU, kube-state-metrics' `kube_pod_labels` naming
//! the InferenceService or training job of a pod) and from rules between kinds (a pipeline
//! feeds the training jobs of its cluster).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A GPU (dcgm-exporter).
    Gpu,
    /// A model server (an InferenceService and its runtime).
    ModelServer,
    /// A training job (its pod).
    TrainingJob,
    /// A data pipeline (its Kafka consumer group).
    Pipeline,
    /// Anything else: no dependencies known.
    Other,
}

impl EntityKind {
    /// Words for people.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Gpu => "GPU",
            Self::ModelServer => "model server",
            Self::TrainingJob => "training job",
            Self::Pipeline => "pipeline",
            Self::Other => "series",
        }
    }
}

/// One entity: its kind and identifying labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    /// Kind.
    pub kind: EntityKind,
    /// Identifying labels (the signal's `entity_labels`).
    pub labels: BTreeMap<String, String>,
}

impl Entity {
    /// An entity from label pairs.
    pub fn new(kind: EntityKind, labels: &[(&str, &str)]) -> Self {
        Self {
            kind,
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// `GPU {cluster="a", UUID="…"}`.
    pub fn describe(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        format!("{} {{{}}}", self.kind.noun(), labels.join(", "))
    }
}

/// A rule: every entity of kind `upstream` feeds every entity of kind `downstream` that
/// has the same values of `same_labels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindRule {
    /// The cause side.
    pub upstream: EntityKind,
    /// The effect side.
    pub downstream: EntityKind,
    /// Labels both must share (e.g. `cluster`).
    pub same_labels: Vec<String>,
}

/// Who depends on whom.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DependencyGraph {
    /// Explicit edges, upstream first.
    pub edges: Vec<(Entity, Entity)>,
    /// Rules between kinds.
    pub rules: Vec<KindRule>,
}

impl DependencyGraph {
    /// No edges and the default rule (pipelines feed the training jobs of their cluster).
    pub fn with_default_rules() -> Self {
        Self {
            edges: Vec::new(),
            rules: vec![KindRule {
                upstream: EntityKind::Pipeline,
                downstream: EntityKind::TrainingJob,
                same_labels: vec!["cluster".to_owned()],
            }],
        }
    }

    /// Adds an edge.
    pub fn add_edge(&mut self, upstream: Entity, downstream: Entity) {
        let edge = (upstream, downstream);
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }

    /// Whether trouble of `upstream` explains trouble of `downstream` (directly).
    pub fn feeds(&self, upstream: &Entity, downstream: &Entity) -> bool {
        self.edges
            .iter()
            .any(|(u, d)| u == upstream && d == downstream)
            || self.rules.iter().any(|rule| {
                rule.upstream == upstream.kind
                    && rule.downstream == downstream.kind
                    && rule.same_labels.iter().all(|name| {
                        upstream.labels.contains_key(name)
                            && upstream.labels.get(name) == downstream.labels.get(name)
                    })
            })
    }

    /// Whether the two are connected by an edge either way.
    pub fn related(&self, a: &Entity, b: &Entity) -> bool {
        self.feeds(a, b) || self.feeds(b, a)
    }

    /// Builds the GPU → workload edges from topology rows: `gpu_pods` rows carry a GPU's
    /// identifying labels plus `namespace` and `pod`; `pod_owners` rows carry `cluster`,
    /// `namespace`, `pod` and the owner labels (`model_label`: the InferenceService name).
    /// A GPU feeds the model server whose pod it serves and the training job of its pod.
    pub fn add_topology(
        &mut self,
        gpu_pods: &[BTreeMap<String, String>],
        pod_owners: &[BTreeMap<String, String>],
        gpu_labels: &[String],
        model_labels: &[String],
        training_labels: &[String],
        model_owner_label: &str,
    ) {
        for gpu_row in gpu_pods {
            let (Some(namespace), Some(pod)) = (gpu_row.get("namespace"), gpu_row.get("pod"))
            else {
                continue;
            };
            if pod.is_empty() {
                continue;
            }
            let gpu = Entity {
                kind: EntityKind::Gpu,
                labels: crate::query::project(gpu_row, gpu_labels),
            };
            let cluster = gpu_row.get("cluster");
            // The training job entity is the pod's own labels.
            let training = Entity {
                kind: EntityKind::TrainingJob,
                labels: crate::query::project(gpu_row, training_labels),
            };
            if training.labels.len() == training_labels.len() {
                self.add_edge(gpu.clone(), training);
            }
            for owner in pod_owners {
                if owner.get("cluster") != cluster
                    || owner.get("namespace") != Some(namespace)
                    || owner.get("pod") != Some(pod)
                {
                    continue;
                }
                let Some(model) = owner.get(model_owner_label).filter(|m| !m.is_empty()) else {
                    continue;
                };
                // The model server's identifying labels: the cluster and the model's name.
                let mut labels = BTreeMap::new();
                for name in model_labels {
                    if name == "cluster" {
                        if let Some(c) = cluster {
                            labels.insert(name.clone(), c.clone());
                        }
                    } else if let Some(v) = gpu_row.get(name) {
                        labels.insert(name.clone(), v.clone());
                    } else {
                        labels.insert(name.clone(), model.clone());
                    }
                }
                self.add_edge(
                    gpu.clone(),
                    Entity {
                        kind: EntityKind::ModelServer,
                        labels,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        Entity::new(EntityKind::Other, pairs).labels
    }

    #[test]
    fn topology_links_gpus_to_their_workloads_and_rules_link_kinds() {
        let mut graph = DependencyGraph::with_default_rules();
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        graph.add_topology(
            &[
                row(&[
                    ("cluster", "a"),
                    ("UUID", "G1"),
                    ("namespace", "ml"),
                    ("pod", "p1"),
                ]),
                row(&[
                    ("cluster", "a"),
                    ("UUID", "G2"),
                    ("namespace", "tr"),
                    ("pod", "t1"),
                ]),
            ],
            &[row(&[
                ("cluster", "a"),
                ("namespace", "ml"),
                ("pod", "p1"),
                ("label_serving_kserve_io_inferenceservice", "chat"),
            ])],
            &names(&["cluster", "UUID"]),
            &names(&["cluster", "model_name"]),
            &names(&["cluster", "namespace", "pod"]),
            "label_serving_kserve_io_inferenceservice",
        );
        let g1 = Entity::new(EntityKind::Gpu, &[("cluster", "a"), ("UUID", "G1")]);
        let g2 = Entity::new(EntityKind::Gpu, &[("cluster", "a"), ("UUID", "G2")]);
        let chat = Entity::new(
            EntityKind::ModelServer,
            &[("cluster", "a"), ("model_name", "chat")],
        );
        let job = Entity::new(
            EntityKind::TrainingJob,
            &[("cluster", "a"), ("namespace", "tr"), ("pod", "t1")],
        );
        assert!(graph.feeds(&g1, &chat));
        assert!(!graph.feeds(&chat, &g1));
        assert!(graph.feeds(&g2, &job));
        assert!(!graph.feeds(&g1, &job));
        let pipeline = Entity::new(
            EntityKind::Pipeline,
            &[("cluster", "a"), ("consumergroup", "etl")],
        );
        assert!(graph.feeds(&pipeline, &job));
        assert!(graph.related(&job, &pipeline));
        let elsewhere = Entity::new(EntityKind::Pipeline, &[("cluster", "b")]);
        assert!(!graph.feeds(&elsewhere, &job));
    }
}
