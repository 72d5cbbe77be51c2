//! Data pipelines: records processed (a counter) and consumer lag (a gauge). Capacity keeps up
//! with the daily traffic curve, except during a stall, when lag piles up and then drains.

use pharos_tsdb::Labels;

use super::{GIB, Sink, Step};
use crate::emit::kube::{Phase, Pod, PodSpec};
use crate::fleet::{TEAM_NAMESPACES, World, diurnal, series};
use crate::incidents::IncidentKind;
use crate::rng::{Rng, Wander};

/// (team index, pipeline, records per second at the daily peak).
const PIPELINES: [(usize, &str, f64); 2] =
    [(0, "clickstream-etl", 2400.0), (1, "feature-ingest", 800.0)];

/// How much faster than the peak input a healthy pipeline can consume.
const HEADROOM: f64 = 1.4;

/// One streaming pipeline.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub cluster: String,
    pub namespace: &'static str,
    pub name: &'static str,
    utc_offset_hours: f64,
    peak_rps: f64,
    pod: usize,
    traffic: Wander,
    processed_total: f64,
    lag: f64,
    processed_series: Labels,
    lag_series: Labels,
}

impl Pipeline {
    pub(crate) fn add_all(world: &mut World, cluster_index: usize, rng: &mut Rng) {
        let cluster = world.clusters[cluster_index].clone();
        for (position, (team, name, peak_rps)) in PIPELINES.iter().enumerate() {
            let namespace = TEAM_NAMESPACES[*team];
            let hash = rng.hex(9);
            let pod = world.add_pod(
                cluster_index,
                PodSpec {
                    namespace,
                    name: format!("{name}-{hash}-{}", rng.pod_suffix(5)),
                    node: cluster
                        .cpu_nodes
                        .get((position + 1) % cluster.cpu_nodes.len().max(1))
                        .cloned(),
                    owner_kind: "ReplicaSet",
                    owner_name: format!("{name}-{hash}"),
                    container: "worker",
                    phase: Phase::Running,
                },
                rng,
            );
            let (pod_name, instance) = {
                let pod = &world.pods[pod];
                (pod.name.clone(), format!("{}:8081", pod.ip))
            };
            let labels = [
                ("cluster", cluster.name.as_str()),
                ("namespace", namespace),
                ("pod", pod_name.as_str()),
                ("pipeline", name),
                ("job", "pipeline"),
                ("instance", instance.as_str()),
            ];
            world.pipelines.push(Pipeline {
                cluster: cluster.name.clone(),
                namespace,
                name,
                utc_offset_hours: cluster.utc_offset_hours,
                peak_rps: *peak_rps,
                pod,
                traffic: Wander::default(),
                processed_total: (peak_rps * 0.6 * rng.range(86_400.0, 259_200.0)).round(),
                lag: 0.0,
                processed_series: series("pipeline_records_processed_total", &labels),
                lag_series: series("pipeline_consumer_lag_records", &labels),
            });
        }
    }

    pub(crate) fn step(&mut self, step: &mut Step<'_>, pods: &mut [Pod], sink: &mut Sink<'_>) {
        let stalled = step.hit(
            IncidentKind::PipelineStall,
            &[
                ("cluster", &self.cluster),
                ("namespace", self.namespace),
                ("pipeline", self.name),
            ],
        );
        let wander = self.traffic.step(step.rng, step.dt_s, 900.0, 0.1);
        let incoming =
            (self.peak_rps * diurnal(step.now_ms, self.utc_offset_hours) * (1.0 + wander)).max(0.0);
        let capacity = self.peak_rps * HEADROOM * if stalled { 0.05 } else { 1.0 };
        let arrived = incoming * step.dt_s;
        let processed = step
            .rng
            .round_stochastic((capacity * step.dt_s).min(self.lag + arrived));
        self.lag = (self.lag + arrived - processed).max(0.0);
        self.processed_total += processed;

        let pod = &mut pods[self.pod];
        pod.cpu_cores = 0.2 + processed / step.dt_s.max(1.0) / 1500.0;
        pod.memory_bytes = (1.5 + 0.5 * wander.abs()) * GIB;

        sink(&self.processed_series, self.processed_total);
        // The broker reports a little lag even when the consumer keeps up (in-flight batches).
        let in_flight = incoming * step.rng.range(0.5, 2.0);
        sink(&self.lag_series, (self.lag + in_flight).round());
    }
}
