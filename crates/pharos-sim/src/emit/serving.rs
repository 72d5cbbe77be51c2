//! Model servers: request counters by status and a classic latency histogram per replica.

use pharos_tsdb::Labels;

use super::{GIB, Sink, Step};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Phase, Pod, PodSpec};
use crate::fleet::{SERVING_NAMESPACE, World, diurnal, series};
use crate::incidents::IncidentKind;
use crate::rng::{Rng, Wander, normal_cdf};

/// Upper bounds of the latency buckets (Prometheus' default buckets), `+Inf` comes on top.
pub(crate) const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How much slower requests get during a latency spike.
const SPIKE_FACTOR: f64 = 6.0;

/// A served model and how it behaves.
#[derive(Debug)]
pub(crate) struct ModelSpec {
    pub name: &'static str,
    uses_gpu: bool,
    /// Requests per second per replica at the daily peak.
    peak_rps: f64,
    /// Median latency in seconds, and the spread of its log-normal distribution.
    median_s: f64,
    sigma: f64,
    /// Share of GPU memory the weights take.
    weights_fraction: f64,
    cpu_per_rps: f64,
    memory_gib: f64,
}

/// The models every cluster serves.
pub(crate) const MODELS: [ModelSpec; 3] = [
    ModelSpec {
        name: "llm-chat",
        uses_gpu: true,
        peak_rps: 9.0,
        median_s: 1.1,
        sigma: 0.6,
        weights_fraction: 0.55,
        cpu_per_rps: 0.08,
        memory_gib: 12.0,
    },
    ModelSpec {
        name: "embeddings",
        uses_gpu: true,
        peak_rps: 140.0,
        median_s: 0.035,
        sigma: 0.5,
        weights_fraction: 0.12,
        cpu_per_rps: 0.006,
        memory_gib: 4.0,
    },
    ModelSpec {
        name: "reranker",
        uses_gpu: false,
        peak_rps: 45.0,
        median_s: 0.09,
        sigma: 0.45,
        weights_fraction: 0.0,
        cpu_per_rps: 0.03,
        memory_gib: 3.0,
    },
];

const REPLICAS: usize = 2;

#[derive(Debug)]
struct Replica {
    pod: usize,
    gpu: Option<usize>,
    traffic: Wander,
    ok_total: f64,
    error_total: f64,
    /// Cumulative bucket counts; the last one is `+Inf`.
    buckets: [f64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    ok_series: Labels,
    error_series: Labels,
    bucket_series: Vec<Labels>,
    sum_series: Labels,
    count_series: Labels,
}

/// One model's deployment in one cluster.
#[derive(Debug)]
pub(crate) struct ModelDeployment {
    pub cluster: String,
    utc_offset_hours: f64,
    pub spec: &'static ModelSpec,
    replicas: Vec<Replica>,
    error_wander: Wander,
}

impl ModelDeployment {
    /// Deploys every model in the cluster, GPU models on free GPUs while there are any.
    pub(crate) fn add_all(
        world: &mut World,
        cluster_index: usize,
        free_gpus: &mut Vec<usize>,
        rng: &mut Rng,
    ) {
        let cluster = world.clusters[cluster_index].clone();
        for (model_index, spec) in MODELS.iter().enumerate() {
            let hash = rng.hex(9);
            let mut replicas = Vec::new();
            for replica in 0..REPLICAS {
                // A GPU model runs on the node of its GPU; without a free GPU it runs on CPU.
                let gpu = if spec.uses_gpu { free_gpus.pop() } else { None };
                let node = match gpu {
                    Some(gpu) => world.node_of_gpu(cluster_index, gpu),
                    None => cluster
                        .cpu_nodes
                        .get((model_index + replica) % cluster.cpu_nodes.len().max(1))
                        .cloned(),
                };
                let name = format!("{}-predictor-{hash}-{}", spec.name, rng.pod_suffix(5));
                let pod = world.add_pod(
                    cluster_index,
                    PodSpec {
                        namespace: SERVING_NAMESPACE,
                        name,
                        node,
                        owner_kind: "ReplicaSet",
                        owner_name: format!("{}-predictor-{hash}", spec.name),
                        container: "kserve-container",
                        phase: Phase::Running,
                    },
                    rng,
                );
                if let Some(gpu) = gpu {
                    world.assign_gpu(gpu, pod);
                }
                replicas.push(Replica::new(&world.pods[pod], pod, gpu, spec, rng));
            }
            world.models.push(ModelDeployment {
                cluster: cluster.name.clone(),
                utc_offset_hours: cluster.utc_offset_hours,
                spec,
                replicas,
                error_wander: Wander::default(),
            });
        }
    }

    pub(crate) fn step(
        &mut self,
        step: &mut Step<'_>,
        pods: &mut [Pod],
        gpus: &mut [Gpu],
        sink: &mut Sink<'_>,
    ) {
        let target = [
            ("cluster", self.cluster.as_str()),
            ("namespace", SERVING_NAMESPACE),
            ("model", self.spec.name),
        ];
        let spiking = step.hit(IncidentKind::LatencySpike, &target);
        let bursting = step.hit(IncidentKind::ErrorBurst, &target);
        let daily = diurnal(step.now_ms, self.utc_offset_hours);
        let base_errors = 0.003
            + 0.002
                * self
                    .error_wander
                    .step(step.rng, step.dt_s, 1800.0, 1.0)
                    .abs();
        for replica in &mut self.replicas {
            let spec = self.spec;
            let wander = replica.traffic.step(step.rng, step.dt_s, 600.0, 0.08);
            let rps = (spec.peak_rps * daily * (1.0 + wander)).max(0.0);
            let requests = step.rng.round_stochastic(rps * step.dt_s);
            let error_ratio = if bursting {
                step.rng.range(0.2, 0.35)
            } else {
                base_errors
            };
            let errors = step
                .rng
                .round_stochastic(requests * error_ratio)
                .min(requests);
            replica.ok_total += requests - errors;
            replica.error_total += errors;

            let median =
                spec.median_s * (1.0 + 0.3 * wander) * if spiking { SPIKE_FACTOR } else { 1.0 };
            for (bucket, le) in replica.buckets.iter_mut().zip(LATENCY_BUCKETS) {
                // Rounding a monotone CDF keeps the cumulative buckets monotone.
                *bucket += (requests * normal_cdf((le / median).ln() / spec.sigma)).round();
            }
            if let Some(inf) = replica.buckets.last_mut() {
                *inf += requests;
            }
            replica.sum += requests * median * (spec.sigma * spec.sigma / 2.0).exp();

            let pod = &mut pods[replica.pod];
            pod.cpu_cores = 0.2 + rps * spec.cpu_per_rps * step.rng.range(0.9, 1.1);
            pod.memory_bytes = spec.memory_gib * GIB * (1.0 + 0.05 * wander);
            if let Some(gpu) = replica.gpu {
                let load =
                    (0.1 + 0.8 * rps / spec.peak_rps).min(1.0) * if spiking { 1.15 } else { 1.0 };
                gpus[gpu].load = load.min(1.0);
                gpus[gpu].memory_fraction = spec.weights_fraction + 0.3 * load.min(1.0);
            }
            replica.emit(sink);
        }
    }
}

/// `base` plus one more label.
fn with_label<'a>(
    base: &[(&'a str, &'a str)],
    extra: (&'a str, &'a str),
) -> Vec<(&'a str, &'a str)> {
    let mut labels = base.to_vec();
    labels.push(extra);
    labels
}

impl Replica {
    fn new(pod: &Pod, index: usize, gpu: Option<usize>, spec: &ModelSpec, rng: &mut Rng) -> Self {
        let instance = format!("{}:8080", pod.ip);
        let base = [
            ("cluster", pod.cluster.as_str()),
            ("namespace", SERVING_NAMESPACE),
            ("pod", pod.name.as_str()),
            ("model", spec.name),
            ("job", "model-server"),
            ("instance", instance.as_str()),
        ];
        let histogram = "model_inference_request_duration_seconds";
        let bucket_series = LATENCY_BUCKETS
            .iter()
            .map(|le| le.to_string())
            .chain(std::iter::once("+Inf".to_owned()))
            .map(|le| {
                series(
                    &format!("{histogram}_bucket"),
                    &with_label(&base, ("le", &le)),
                )
            })
            .collect();
        // Counters start where a server running for a day or two would be.
        let served = (spec.peak_rps * 0.6 * rng.range(86_400.0, 172_800.0)).round();
        let mut buckets = [0.0; LATENCY_BUCKETS.len() + 1];
        for (bucket, le) in buckets.iter_mut().zip(LATENCY_BUCKETS) {
            *bucket = (served * normal_cdf((le / spec.median_s).ln() / spec.sigma)).round();
        }
        buckets[LATENCY_BUCKETS.len()] = served;
        let errors = (served * 0.004).round();
        Self {
            pod: index,
            gpu,
            traffic: Wander::default(),
            ok_total: served - errors,
            error_total: errors,
            buckets,
            sum: served * spec.median_s * (spec.sigma * spec.sigma / 2.0).exp(),
            ok_series: series(
                "model_inference_requests_total",
                &with_label(&base, ("status", "ok")),
            ),
            error_series: series(
                "model_inference_requests_total",
                &with_label(&base, ("status", "error")),
            ),
            bucket_series,
            sum_series: series(&format!("{histogram}_sum"), &base),
            count_series: series(&format!("{histogram}_count"), &base),
        }
    }

    fn emit(&self, sink: &mut Sink<'_>) {
        sink(&self.ok_series, self.ok_total);
        sink(&self.error_series, self.error_total);
        for (labels, value) in self.bucket_series.iter().zip(self.buckets) {
            sink(labels, value);
        }
        sink(&self.sum_series, self.sum);
        sink(&self.count_series, self.buckets[LATENCY_BUCKETS.len()]);
    }
}
