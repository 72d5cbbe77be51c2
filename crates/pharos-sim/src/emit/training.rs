//! Training jobs (Kubeflow `PyTorchJob`s and `TFJob`s): loss falling along a power law,
//! accuracy rising with it, samples and step times (which collapse when one of the job's GPUs
//! hangs).
//!
//! Real operators export only job counts (`training_operator_jobs_*_total{job_namespace,
//! framework}`, written here by each cluster's job); loss, accuracy, samples and step time are
//! application metrics, exported the way a training loop instrumented with Python's
//! `prometheus_client` would: gauges `training_loss` and `training_accuracy`, the counter
//! `training_samples_total` and the histogram `training_step_duration_seconds`, scraped from
//! the job's pods (labels `namespace`, `pod`). GPU, CPU, memory and restarts come from DCGM,
//! cAdvisor and kube-state-metrics on the same pods.

use pharos_tsdb::Labels;

use super::{Counter, GIB, Histogram, Sink, Step};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Pod, PodSpec};
use crate::fleet::{TRAINING_NAMESPACE, World, series};
use crate::rng::{Rng, Wander};

/// Which Kubeflow job kind runs the training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    PyTorch,
    TensorFlow,
}

impl Framework {
    fn kind(self) -> &'static str {
        match self {
            Self::PyTorch => "PyTorchJob",
            Self::TensorFlow => "TFJob",
        }
    }

    /// The `framework` label of the training operator's counters.
    fn label(self) -> &'static str {
        match self {
            Self::PyTorch => "pytorch",
            Self::TensorFlow => "tensorflow",
        }
    }

    /// Replica type of the pod that holds the GPUs, and the container name.
    fn replica(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::PyTorch => (
                "master",
                "pytorch",
                "docker.io/pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
            ),
            Self::TensorFlow => (
                "worker",
                "tensorflow",
                "docker.io/tensorflow/tensorflow:2.17.0-gpu",
            ),
        }
    }
}

#[derive(Debug)]
struct TrainingSpec {
    name: &'static str,
    framework: Framework,
    samples_per_gpu_s: f64,
    batch_size: f64,
    loss_start: f64,
    loss_floor: f64,
    /// Steps over which the loss gap halves (roughly).
    steps_scale: f64,
    accuracy_max: f64,
    /// Bytes per training sample read from storage.
    sample_bytes: f64,
}

const JOBS: [TrainingSpec; 4] = [
    TrainingSpec {
        name: "llama-8b-finetune",
        framework: Framework::PyTorch,
        samples_per_gpu_s: 14.0,
        batch_size: 64.0,
        loss_start: 2.9,
        loss_floor: 1.15,
        steps_scale: 1500.0,
        accuracy_max: 0.71,
        sample_bytes: 16_384.0,
    },
    TrainingSpec {
        name: "resnet50-imagenet",
        framework: Framework::TensorFlow,
        samples_per_gpu_s: 1250.0,
        batch_size: 1024.0,
        loss_start: 6.9,
        loss_floor: 0.9,
        steps_scale: 4000.0,
        accuracy_max: 0.76,
        sample_bytes: 110_000.0,
    },
    TrainingSpec {
        name: "bert-large-pretrain",
        framework: Framework::PyTorch,
        samples_per_gpu_s: 210.0,
        batch_size: 256.0,
        loss_start: 10.5,
        loss_floor: 1.6,
        steps_scale: 6000.0,
        accuracy_max: 0.68,
        sample_bytes: 2_048.0,
    },
    TrainingSpec {
        name: "whisper-small-asr",
        framework: Framework::PyTorch,
        samples_per_gpu_s: 95.0,
        batch_size: 128.0,
        loss_start: 4.2,
        loss_floor: 0.45,
        steps_scale: 3000.0,
        accuracy_max: 0.9,
        sample_bytes: 320_000.0,
    },
];

/// Buckets of `training_step_duration_seconds` (prometheus_client's defaults plus longer ones).
const STEP_BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    120.0,
];

/// The training operator's counters for one framework in one cluster.
#[derive(Debug)]
struct OperatorCounters {
    created: Counter,
    successful: Counter,
    failed: Counter,
    restarted: Counter,
    deleted: Counter,
}

/// Largest number of GPUs one job takes.
const GPUS_PER_JOB: usize = 4;

/// One running training job.
#[derive(Debug)]
pub(crate) struct TrainingRun {
    spec: &'static TrainingSpec,
    pod: usize,
    pub gpus: Vec<usize>,
    steps: f64,
    speed: Wander,
    loss_series: Labels,
    accuracy_series: Labels,
    samples: Counter,
    step_seconds: Histogram,
    operator: OperatorCounters,
}

impl TrainingRun {
    /// Starts the cluster's training job on up to four free GPUs.
    pub(crate) fn add(
        world: &mut World,
        cluster_index: usize,
        free_gpus: &mut Vec<usize>,
        rng: &mut Rng,
    ) {
        let cluster = world.clusters[cluster_index].clone();
        let spec = &JOBS[cluster_index % JOBS.len()];
        let take = GPUS_PER_JOB.min(free_gpus.len());
        let gpus: Vec<usize> = free_gpus.drain(free_gpus.len() - take..).collect();
        let (replica_type, container, image) = spec.framework.replica();
        let mut pod_spec = PodSpec::running(
            TRAINING_NAMESPACE,
            format!("{}-{replica_type}-0", spec.name),
            gpus.first()
                .and_then(|&gpu| world.node_of_gpu(cluster_index, gpu))
                .or_else(|| cluster.cpu_nodes.first().cloned()),
            (spec.framework.kind(), spec.name.to_owned()),
            container,
            image,
        );
        pod_spec.gpus = gpus.len();
        pod_spec.cpu_request = 8.0;
        pod_spec.memory_request_gib = 64.0;
        pod_spec.labels = vec![
            ("label_training_kubeflow_org_job_name", spec.name.to_owned()),
            (
                "label_training_kubeflow_org_replica_type",
                replica_type.to_owned(),
            ),
            ("label_training_kubeflow_org_replica_index", "0".to_owned()),
        ];
        let pod = world.add_pod(cluster_index, pod_spec, rng);
        for &gpu in &gpus {
            world.assign_gpu(gpu, pod);
        }
        let (pod_name, instance) = {
            let pod = &world.pods[pod];
            (pod.name.clone(), format!("{}:9100", pod.ip))
        };
        let labels = [
            ("cluster", cluster.name.as_str()),
            ("namespace", TRAINING_NAMESPACE),
            ("pod", pod_name.as_str()),
            ("job", "training-metrics"),
            ("instance", instance.as_str()),
        ];
        let steps = rng.range(500.0, 3000.0).round();
        let mut step_seconds = Histogram::new(
            "training_step_duration_seconds",
            &labels,
            &STEP_BUCKETS,
            true,
        );
        let step_s = spec.batch_size / (spec.samples_per_gpu_s * gpus.len().max(1) as f64);
        step_seconds.observe_lognormal(steps, step_s, 0.08);
        let operator = [
            ("cluster", cluster.name.as_str()),
            ("namespace", "kubeflow"),
            ("job", "training-operator"),
            ("instance", "training-operator.kubeflow:8080"),
            ("job_namespace", TRAINING_NAMESPACE),
            ("framework", spec.framework.label()),
        ];
        let created = rng.between(40, 120) as f64;
        let operator = OperatorCounters {
            created: Counter::new("training_operator_jobs_created_total", &operator, created),
            successful: Counter::new(
                "training_operator_jobs_successful_total",
                &operator,
                (created * 0.8).round(),
            ),
            failed: Counter::new(
                "training_operator_jobs_failed_total",
                &operator,
                (created * 0.1).round(),
            ),
            restarted: Counter::new(
                "training_operator_jobs_restarted_total",
                &operator,
                (created * 0.05).round(),
            ),
            deleted: Counter::new(
                "training_operator_jobs_deleted_total",
                &operator,
                (created * 0.7).round(),
            ),
        };
        world.trainings.push(TrainingRun {
            spec,
            pod,
            gpus,
            steps,
            speed: Wander::default(),
            loss_series: series("training_loss", &labels),
            accuracy_series: series("training_accuracy", &labels),
            samples: Counter::new(
                "training_samples_total",
                &labels,
                (steps * spec.batch_size).round(),
            ),
            step_seconds,
            operator,
        });
    }

    pub(crate) fn step(
        &mut self,
        step: &mut Step<'_>,
        pods: &mut [Pod],
        gpus: &mut [Gpu],
        sink: &mut Sink<'_>,
    ) {
        let spec = self.spec;
        // A hung GPU stalls the whole data-parallel job at its next collective.
        let stalled = self.gpus.iter().any(|&gpu| gpus[gpu].is_stuck(step));
        let speed = 1.0 + self.speed.step(step.rng, step.dt_s, 900.0, 0.03);
        let throughput = if self.gpus.is_empty() {
            spec.samples_per_gpu_s * 0.05 * speed
        } else {
            spec.samples_per_gpu_s
                * self.gpus.len() as f64
                * speed
                * if stalled { 0.02 } else { 1.0 }
        };
        let new_steps = step
            .rng
            .round_stochastic(throughput * step.dt_s / spec.batch_size);
        self.steps += new_steps;
        self.samples.add(new_steps * spec.batch_size);
        let step_s = spec.batch_size / throughput.max(1e-3);
        self.step_seconds.observe_lognormal(new_steps, step_s, 0.08);
        let progress = self.steps / spec.steps_scale;
        let gap = (spec.loss_start - spec.loss_floor) / (1.0 + progress).sqrt();
        let loss = (spec.loss_floor + gap * (1.0 + 0.03 * step.rng.normal())).max(0.0);
        let learned = 1.0 - gap / (spec.loss_start - spec.loss_floor);
        let accuracy = (spec.accuracy_max * learned + 0.005 * step.rng.normal()).clamp(0.0, 1.0);

        for &gpu in &self.gpus {
            gpus[gpu].load = if stalled {
                0.04
            } else {
                step.rng.range(0.9, 0.99)
            };
            gpus[gpu].memory_fraction = 0.86;
        }
        let pod = &mut pods[self.pod];
        pod.cpu_cores = 5.0 + step.rng.range(-0.5, 0.5) + if stalled { -4.0 } else { 0.0 };
        pod.memory_bytes = 48.0 * GIB * (1.0 + 0.01 * step.rng.normal());
        // The data loader reads each sample from storage; checkpoints are written now and then.
        pod.read_bps = throughput * spec.sample_bytes;
        pod.write_bps = if step.rng.chance(step.dt_s / 1800.0) {
            2.0 * GIB / step.dt_s.max(1.0)
        } else {
            0.0
        };
        pod.receive_bps = pod.read_bps * 0.05;
        pod.transmit_bps = 200_000.0 * self.gpus.len() as f64;

        // Other jobs of the cluster come and go (hyper-parameter trials, evaluations).
        let operator = &mut self.operator;
        if step.rng.chance(step.dt_s / 1200.0) {
            operator.created.add(1.0);
        }
        if step.rng.chance(step.dt_s / 1500.0) {
            operator.successful.add(1.0);
            operator.deleted.add(1.0);
        }
        if step.rng.chance(step.dt_s / 14_400.0) {
            operator.failed.add(1.0);
        }
        if stalled && step.rng.chance(step.dt_s / 600.0) {
            operator.restarted.add(1.0);
        }

        sink(&self.loss_series, (loss * 1e4).round() / 1e4);
        sink(&self.accuracy_series, (accuracy * 1e4).round() / 1e4);
        self.samples.emit(sink);
        self.step_seconds.emit(sink);
        for counter in [
            &operator.created,
            &operator.successful,
            &operator.failed,
            &operator.restarted,
            &operator.deleted,
        ] {
            counter.emit(sink);
        }
    }
}
