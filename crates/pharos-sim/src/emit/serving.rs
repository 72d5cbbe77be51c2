//! Model servers: KServe `InferenceService`s in serverless mode. Every replica has Knative's
//! queue-proxy in front (`revision_request_count`, `revision_request_latencies` in ms); behind
//! it runs one of three runtimes, each with its own real metrics:
//!
//! * vLLM (`llm-chat`): `vllm:*` gauges, token counters and latency histograms with vLLM's
//!   bucket bounds, labels `model_name` and `engine`;
//! * Triton (`embeddings`): `nv_inference_*` counters (durations in cumulative µs) and the
//!   opt-in request summary (`--metrics-config summary_latencies=true`), labels `model`,
//!   `version`;
//! * the KServe Python model server (`reranker`, `fraud-detector`): `request_predict_seconds`
//!   histograms with `model_name`.
//!
//! Runtime and queue-proxy series carry the scrape target's `namespace` and `pod` (what a
//! PodMonitor adds), so they join the pod's kube-state-metrics, cAdvisor and DCGM series.

use super::{Counter, GIB, Histogram, Sink, Step, with};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Pod, PodSpec};
use crate::fleet::{SERVING_NAMESPACE, World, diurnal, series};
use crate::incidents::IncidentKind;
use crate::rng::{Rng, Wander};
use pharos_tsdb::Labels;

/// Prometheus' default buckets, which KServe's `request_*_seconds` histograms use.
const DEFAULT_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Knative queue-proxy `revision_request_latencies` buckets, milliseconds.
const KNATIVE_BUCKETS_MS: [f64; 26] = [
    5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0,
    500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0, 100000.0,
];
/// vLLM `time_to_first_token_seconds` buckets.
const VLLM_TTFT_BUCKETS: [f64; 22] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM `inter_token_latency_seconds` / `time_per_output_token_seconds` buckets.
const VLLM_ITL_BUCKETS: [f64; 19] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM `e2e_request_latency_seconds` buckets.
const VLLM_E2E_BUCKETS: [f64; 21] = [
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
/// Quantiles of Triton's latency summaries, with the standard normal's value at each.
const TRITON_QUANTILES: [(&str, f64); 4] = [
    ("0.5", 0.0),
    ("0.9", 1.281_552),
    ("0.95", 1.644_854),
    ("0.99", 2.326_348),
];

/// How much slower requests get during a latency spike.
const SPIKE_FACTOR: f64 = 6.0;

/// What serves the model inside the KServe predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Vllm,
    Triton,
    KServe,
}

impl Runtime {
    /// The label that names the model in the runtime's own metrics.
    pub(crate) fn model_label(self) -> &'static str {
        match self {
            Self::Triton => "model",
            Self::Vllm | Self::KServe => "model_name",
        }
    }

    fn image(self) -> &'static str {
        match self {
            Self::Vllm => "docker.io/vllm/vllm-openai:v0.10.1",
            Self::Triton => "nvcr.io/nvidia/tritonserver:25.06-py3",
            Self::KServe => "docker.io/kserve/sklearnserver:v0.15.2",
        }
    }
}

/// A served model and how it behaves.
#[derive(Debug)]
pub(crate) struct ModelSpec {
    pub name: &'static str,
    pub runtime: Runtime,
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

/// The models every cluster serves (InferenceService names).
pub(crate) const MODELS: [ModelSpec; 4] = [
    ModelSpec {
        name: "llm-chat",
        runtime: Runtime::Vllm,
        uses_gpu: true,
        peak_rps: 4.0,
        median_s: 3.6,
        sigma: 0.55,
        weights_fraction: 0.55,
        cpu_per_rps: 0.15,
        memory_gib: 12.0,
    },
    ModelSpec {
        name: "embeddings",
        runtime: Runtime::Triton,
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
        runtime: Runtime::KServe,
        uses_gpu: false,
        peak_rps: 45.0,
        median_s: 0.09,
        sigma: 0.45,
        weights_fraction: 0.0,
        cpu_per_rps: 0.03,
        memory_gib: 3.0,
    },
    ModelSpec {
        name: "fraud-detector",
        runtime: Runtime::KServe,
        uses_gpu: false,
        peak_rps: 80.0,
        median_s: 0.012,
        sigma: 0.4,
        weights_fraction: 0.0,
        cpu_per_rps: 0.004,
        memory_gib: 1.5,
    },
];

const REPLICAS: usize = 2;

/// Knative's queue-proxy: what every replica reports whatever the runtime.
#[derive(Debug)]
struct QueueProxy {
    ok: Counter,
    errors: Counter,
    latencies_ms: Histogram,
}

/// vLLM's engine metrics.
#[derive(Debug)]
struct Vllm {
    running: Labels,
    waiting: Labels,
    kv_cache: Labels,
    prompt_tokens: Counter,
    generation_tokens: Counter,
    preemptions: Counter,
    /// `finished_reason` = stop, length, abort.
    finished: [Counter; 3],
    ttft: Histogram,
    itl: Histogram,
    tpot: Histogram,
    e2e: Histogram,
}

/// Triton's per-model metrics.
#[derive(Debug)]
struct Triton {
    success: Counter,
    failure: Counter,
    inferences: Counter,
    executions: Counter,
    request_us: Counter,
    queue_us: Counter,
    input_us: Counter,
    infer_us: Counter,
    output_us: Counter,
    pending: Labels,
    summary_quantiles: Vec<Labels>,
    summary_sum: Counter,
    summary_count: Counter,
}

#[derive(Debug)]
enum RuntimeMetrics {
    Vllm(Box<Vllm>),
    Triton(Box<Triton>),
    KServe(Histogram),
}

#[derive(Debug)]
struct Replica {
    pod: usize,
    gpu: Option<usize>,
    traffic: Wander,
    queue_proxy: QueueProxy,
    runtime: RuntimeMetrics,
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
            let revision = format!("{}-predictor-00001", spec.name);
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
                let owner = format!("{revision}-deployment-{hash}");
                let mut pod_spec = PodSpec::running(
                    SERVING_NAMESPACE,
                    format!("{owner}-{}", rng.pod_suffix(5)),
                    node,
                    ("ReplicaSet", owner),
                    "kserve-container",
                    spec.runtime.image(),
                );
                pod_spec.gpus = usize::from(gpu.is_some());
                pod_spec.cpu_request = (spec.peak_rps * spec.cpu_per_rps).ceil().max(1.0);
                pod_spec.memory_request_gib = (spec.memory_gib * 1.25).ceil();
                pod_spec.labels = vec![
                    (
                        "label_serving_kserve_io_inferenceservice",
                        spec.name.to_owned(),
                    ),
                    ("label_serving_knative_dev_revision", revision.clone()),
                    ("label_component", "predictor".to_owned()),
                ];
                let pod = world.add_pod(cluster_index, pod_spec, rng);
                if let Some(gpu) = gpu {
                    world.assign_gpu(gpu, pod);
                }
                replicas.push(Replica::new(
                    &world.pods[pod],
                    pod,
                    gpu,
                    spec,
                    &revision,
                    rng,
                ));
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

    /// The labels an incident on this model names: cluster, namespace and the runtime's
    /// model label.
    pub(crate) fn target(&self) -> [(&'static str, String); 3] {
        [
            ("cluster", self.cluster.clone()),
            ("namespace", SERVING_NAMESPACE.to_owned()),
            (self.spec.runtime.model_label(), self.spec.name.to_owned()),
        ]
    }

    pub(crate) fn step(
        &mut self,
        step: &mut Step<'_>,
        pods: &mut [Pod],
        gpus: &mut [Gpu],
        sink: &mut Sink<'_>,
    ) {
        let owned = self.target();
        let target: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let spiking = step.hit(IncidentKind::LatencySpike, &target);
        let bursting = step.hit(IncidentKind::ErrorBurst, &target);
        let daily = diurnal(step.now_ms, self.utc_offset_hours);
        let base_errors = 0.003
            + 0.002
                * self
                    .error_wander
                    .step(step.rng, step.dt_s, 1800.0, 1.0)
                    .abs();
        let spec = self.spec;
        for replica in &mut self.replicas {
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
            let ok = requests - errors;
            let slow = if spiking { SPIKE_FACTOR } else { 1.0 };
            let median = spec.median_s * (1.0 + 0.3 * wander) * slow;

            replica.queue_proxy.ok.add(ok);
            replica.queue_proxy.errors.add(errors);
            // The queue-proxy adds a couple of milliseconds to what the server takes.
            replica.queue_proxy.latencies_ms.observe_lognormal(
                ok,
                median * 1000.0 + 2.0,
                spec.sigma,
            );
            replica.queue_proxy.ok.emit(sink);
            replica.queue_proxy.errors.emit(sink);
            replica.queue_proxy.latencies_ms.emit(sink);

            match &mut replica.runtime {
                RuntimeMetrics::Vllm(vllm) => {
                    vllm.step(step, rps, ok, errors, median, spec.sigma, spiking, sink);
                }
                RuntimeMetrics::Triton(triton) => {
                    triton.step(step, rps, ok, errors, median, spec.sigma, spiking, sink);
                }
                RuntimeMetrics::KServe(predict) => {
                    // The predict step is most of the request; errors fail before it ends.
                    predict.observe_lognormal(ok, median * 0.92, spec.sigma);
                    predict.emit(sink);
                }
            }

            let pod = &mut pods[replica.pod];
            pod.cpu_cores = 0.2 + rps * spec.cpu_per_rps * step.rng.range(0.9, 1.1);
            pod.memory_bytes = spec.memory_gib * GIB * (1.0 + 0.05 * wander);
            // Requests in, answers out: embeddings and chat answers are larger than scores.
            let (request_bytes, answer_bytes) = match spec.runtime {
                Runtime::Vllm => (2_400.0, 1_100.0),
                Runtime::Triton => (1_800.0, 12_300.0),
                Runtime::KServe => (900.0, 250.0),
            };
            pod.receive_bps = rps * request_bytes;
            pod.transmit_bps = rps * answer_bytes;
            if let Some(gpu) = replica.gpu {
                let load =
                    (0.1 + 0.8 * rps / spec.peak_rps).min(1.0) * if spiking { 1.15 } else { 1.0 };
                gpus[gpu].load = load.min(1.0);
                gpus[gpu].memory_fraction = spec.weights_fraction + 0.3 * load.min(1.0);
            }
        }
    }
}

impl Replica {
    fn new(
        pod: &Pod,
        index: usize,
        gpu: Option<usize>,
        spec: &'static ModelSpec,
        revision: &str,
        rng: &mut Rng,
    ) -> Self {
        let service = format!("{}-predictor", spec.name);
        let queue_proxy_instance = format!("{}:9091", pod.ip);
        let knative = [
            ("cluster", pod.cluster.as_str()),
            ("namespace", SERVING_NAMESPACE),
            ("pod", pod.name.as_str()),
            ("job", "queue-proxy"),
            ("instance", queue_proxy_instance.as_str()),
            ("namespace_name", SERVING_NAMESPACE),
            ("service_name", service.as_str()),
            ("configuration_name", service.as_str()),
            ("revision_name", revision),
            ("pod_name", pod.name.as_str()),
            ("container_name", "queue-proxy"),
        ];
        // Counters start where a server running for a day or two would be.
        let served = (spec.peak_rps * 0.6 * rng.range(86_400.0, 172_800.0)).round();
        let errors = (served * 0.004).round();
        let ok_labels = with(
            &knative,
            &[("response_code", "200"), ("response_code_class", "2xx")],
        );
        let mut latencies_ms = Histogram::new(
            "revision_request_latencies",
            &ok_labels,
            &KNATIVE_BUCKETS_MS,
            false,
        );
        latencies_ms.observe_lognormal(served - errors, spec.median_s * 1000.0 + 2.0, spec.sigma);
        let queue_proxy = QueueProxy {
            ok: Counter::new("revision_request_count", &ok_labels, served - errors),
            errors: Counter::new(
                "revision_request_count",
                &with(
                    &knative,
                    &[("response_code", "500"), ("response_code_class", "5xx")],
                ),
                errors,
            ),
            latencies_ms,
        };
        let port = match spec.runtime {
            Runtime::Triton => "8002",
            Runtime::Vllm | Runtime::KServe => "8080",
        };
        let instance = format!("{}:{port}", pod.ip);
        let base = [
            ("cluster", pod.cluster.as_str()),
            ("namespace", SERVING_NAMESPACE),
            ("pod", pod.name.as_str()),
            ("job", "kserve-models"),
            ("instance", instance.as_str()),
        ];
        let runtime = match spec.runtime {
            Runtime::Vllm => RuntimeMetrics::Vllm(Box::new(Vllm::new(
                &with(&base, &[("model_name", spec.name), ("engine", "0")]),
                served,
            ))),
            Runtime::Triton => RuntimeMetrics::Triton(Box::new(Triton::new(
                &with(&base, &[("model", spec.name), ("version", "1")]),
                served,
                errors,
                spec,
            ))),
            Runtime::KServe => {
                let mut predict = Histogram::new(
                    "request_predict_seconds",
                    &with(&base, &[("model_name", spec.name)]),
                    &DEFAULT_BUCKETS,
                    true,
                );
                predict.observe_lognormal(served - errors, spec.median_s * 0.92, spec.sigma);
                RuntimeMetrics::KServe(predict)
            }
        };
        Self {
            pod: index,
            gpu,
            traffic: Wander::default(),
            queue_proxy,
            runtime,
        }
    }
}

/// Tokens in a chat prompt and in its answer, on average.
const PROMPT_TOKENS: f64 = 550.0;
const GENERATED_TOKENS: f64 = 160.0;
/// KV-cache capacity of one replica, tokens.
const KV_CAPACITY_TOKENS: f64 = 16_000.0;

impl Vllm {
    fn new(labels: &[(&str, &str)], served: f64) -> Self {
        let histogram =
            |name: &str, bounds: &'static [f64]| Histogram::new(name, labels, bounds, true);
        let finished = ["stop", "length", "abort"].map(|reason| {
            let share = match reason {
                "stop" => 0.88,
                "length" => 0.11,
                _ => 0.01,
            };
            Counter::new(
                "vllm:request_success_total",
                &with(labels, &[("finished_reason", reason)]),
                (served * share).round(),
            )
        });
        let mut vllm = Self {
            running: series("vllm:num_requests_running", labels),
            waiting: series("vllm:num_requests_waiting", labels),
            kv_cache: series("vllm:kv_cache_usage_perc", labels),
            prompt_tokens: Counter::new(
                "vllm:prompt_tokens_total",
                labels,
                (served * PROMPT_TOKENS).round(),
            ),
            generation_tokens: Counter::new(
                "vllm:generation_tokens_total",
                labels,
                (served * GENERATED_TOKENS).round(),
            ),
            preemptions: Counter::new(
                "vllm:num_preemptions_total",
                labels,
                (served / 5000.0).round(),
            ),
            finished,
            ttft: histogram("vllm:time_to_first_token_seconds", &VLLM_TTFT_BUCKETS),
            itl: histogram("vllm:inter_token_latency_seconds", &VLLM_ITL_BUCKETS),
            tpot: histogram("vllm:time_per_output_token_seconds", &VLLM_ITL_BUCKETS),
            e2e: histogram("vllm:e2e_request_latency_seconds", &VLLM_E2E_BUCKETS),
        };
        vllm.observe(served, 1.0, 3.6, 0.55);
        vllm
    }

    /// Records `ok` finished requests whose end-to-end median is `e2e_median`.
    fn observe(&mut self, ok: f64, slow: f64, e2e_median: f64, sigma: f64) {
        // Queueing delays the first token most; decoding slows a little under pressure.
        self.ttft
            .observe_lognormal(ok, 0.12 * slow * slow.sqrt(), 0.7);
        let itl = 0.021 * slow.sqrt().min(1.6);
        self.itl.observe_lognormal(ok * GENERATED_TOKENS, itl, 0.35);
        self.tpot.observe_lognormal(ok, itl, 0.25);
        self.e2e.observe_lognormal(ok, e2e_median, sigma);
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        step: &mut Step<'_>,
        rps: f64,
        ok: f64,
        errors: f64,
        median: f64,
        sigma: f64,
        spiking: bool,
        sink: &mut Sink<'_>,
    ) {
        let slow = if spiking { SPIKE_FACTOR } else { 1.0 };
        self.observe(ok, slow, median, sigma);
        let requests = ok + errors;
        self.prompt_tokens
            .add((requests * PROMPT_TOKENS * step.rng.range(0.85, 1.15)).round());
        self.generation_tokens
            .add((ok * GENERATED_TOKENS * step.rng.range(0.85, 1.15)).round());
        let aborted = step.rng.round_stochastic(ok * 0.01);
        let cut = step.rng.round_stochastic((ok - aborted) * 0.11);
        self.finished[2].add(aborted);
        self.finished[1].add(cut);
        self.finished[0].add(ok - aborted - cut);
        // Little's law: requests in flight = arrival rate × time in the engine.
        let running = (rps * median * step.rng.range(0.9, 1.1)).round().min(256.0);
        let waiting = if spiking {
            (running * step.rng.range(0.6, 1.4)).round()
        } else {
            step.rng.round_stochastic((running / 12.0 - 0.6).max(0.0))
        };
        let kv = (running * (PROMPT_TOKENS + GENERATED_TOKENS / 2.0) / KV_CAPACITY_TOKENS
            * step.rng.range(0.95, 1.05))
        .clamp(0.0, 0.99);
        // The scheduler preempts sequences when the cache runs short.
        self.preemptions.add(
            step.rng
                .round_stochastic(step.dt_s * (kv - 0.45).max(0.0) * 0.05),
        );
        sink(&self.running, running);
        sink(&self.waiting, waiting);
        sink(&self.kv_cache, (kv * 1e4).round() / 1e4);
        self.prompt_tokens.emit(sink);
        self.generation_tokens.emit(sink);
        self.preemptions.emit(sink);
        for counter in &self.finished {
            counter.emit(sink);
        }
        self.ttft.emit(sink);
        self.itl.emit(sink);
        self.tpot.emit(sink);
        self.e2e.emit(sink);
    }
}

/// Inputs per embeddings request, and how many inputs Triton's dynamic batcher runs at once.
const INPUTS_PER_REQUEST: f64 = 8.0;
const BATCH_SIZE: f64 = 24.0;

impl Triton {
    fn new(labels: &[(&str, &str)], served: f64, errors: f64, spec: &ModelSpec) -> Self {
        let mean_us = spec.median_s * (spec.sigma * spec.sigma / 2.0).exp() * 1e6;
        let counter = |name: &str, start: f64| Counter::new(name, labels, start.round());
        let ok = served - errors;
        let summary = "nv_inference_request_summary_us";
        Self {
            success: counter("nv_inference_request_success", ok),
            failure: Counter::new(
                "nv_inference_request_failure",
                &with(labels, &[("reason", "BACKEND")]),
                errors,
            ),
            inferences: counter("nv_inference_count", ok * INPUTS_PER_REQUEST),
            executions: counter(
                "nv_inference_exec_count",
                ok * INPUTS_PER_REQUEST / BATCH_SIZE,
            ),
            request_us: counter("nv_inference_request_duration_us", served * mean_us),
            queue_us: counter("nv_inference_queue_duration_us", served * mean_us * 0.15),
            input_us: counter(
                "nv_inference_compute_input_duration_us",
                served * mean_us * 0.05,
            ),
            infer_us: counter(
                "nv_inference_compute_infer_duration_us",
                served * mean_us * 0.7,
            ),
            output_us: counter(
                "nv_inference_compute_output_duration_us",
                served * mean_us * 0.05,
            ),
            pending: series("nv_inference_pending_request_count", labels),
            summary_quantiles: TRITON_QUANTILES
                .iter()
                .map(|(q, _)| series(summary, &with(labels, &[("quantile", q)])))
                .collect(),
            summary_sum: Counter::new(
                &format!("{summary}_sum"),
                labels,
                (served * mean_us).round(),
            ),
            summary_count: Counter::new(&format!("{summary}_count"), labels, served),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        step: &mut Step<'_>,
        rps: f64,
        ok: f64,
        errors: f64,
        median: f64,
        sigma: f64,
        spiking: bool,
        sink: &mut Sink<'_>,
    ) {
        let requests = ok + errors;
        let mean_us = median * (sigma * sigma / 2.0).exp() * 1e6;
        // During a spike requests wait in Triton's queue: that is where the time goes.
        let queue_share = if spiking { 0.7 } else { 0.15 };
        self.success.add(ok);
        self.failure.add(errors);
        let inferences = (ok * INPUTS_PER_REQUEST).round();
        self.inferences.add(inferences);
        self.executions
            .add(step.rng.round_stochastic(inferences / BATCH_SIZE));
        let total_us = (requests * mean_us * step.rng.range(0.95, 1.05)).round();
        self.request_us.add(total_us);
        self.queue_us.add((total_us * queue_share).round());
        self.input_us.add((total_us * 0.05).round());
        self.infer_us.add((total_us * (0.8 - queue_share)).round());
        self.output_us.add((total_us * 0.05).round());
        self.summary_sum.add(total_us);
        self.summary_count.add(requests);
        for counter in [
            &self.success,
            &self.failure,
            &self.inferences,
            &self.executions,
            &self.request_us,
            &self.queue_us,
            &self.input_us,
            &self.infer_us,
            &self.output_us,
            &self.summary_sum,
            &self.summary_count,
        ] {
            counter.emit(sink);
        }
        let jitter = step.rng.range(0.5, 1.5);
        sink(
            &self.pending,
            step.rng
                .round_stochastic(rps * median * queue_share * jitter),
        );
        for (labels, (_, z)) in self.summary_quantiles.iter().zip(TRITON_QUANTILES) {
            let value = median * 1e6 * (sigma * z).exp() * step.rng.range(0.97, 1.03);
            sink(labels, value.round());
        }
    }
}
