//! Training jobs: loss falling along a power law, accuracy rising with it, throughput in
//! samples per second (which collapses when one of the job's GPUs hangs).

use pharos_tsdb::Labels;

use super::{GIB, Sink, Step};
use crate::emit::gpu::Gpu;
use crate::emit::kube::{Phase, Pod, PodSpec};
use crate::fleet::{TRAINING_NAMESPACE, World, series};
use crate::rng::{Rng, Wander};

#[derive(Debug)]
struct TrainingSpec {
    name: &'static str,
    samples_per_gpu_s: f64,
    batch_size: f64,
    loss_start: f64,
    loss_floor: f64,
    /// Steps over which the loss gap halves (roughly).
    steps_scale: f64,
    accuracy_max: f64,
}

const JOBS: [TrainingSpec; 4] = [
    TrainingSpec {
        name: "llama-8b-finetune",
        samples_per_gpu_s: 14.0,
        batch_size: 64.0,
        loss_start: 2.9,
        loss_floor: 1.15,
        steps_scale: 1500.0,
        accuracy_max: 0.71,
    },
    TrainingSpec {
        name: "resnet50-imagenet",
        samples_per_gpu_s: 1250.0,
        batch_size: 1024.0,
        loss_start: 6.9,
        loss_floor: 0.9,
        steps_scale: 4000.0,
        accuracy_max: 0.76,
    },
    TrainingSpec {
        name: "bert-large-pretrain",
        samples_per_gpu_s: 210.0,
        batch_size: 256.0,
        loss_start: 10.5,
        loss_floor: 1.6,
        steps_scale: 6000.0,
        accuracy_max: 0.68,
    },
    TrainingSpec {
        name: "whisper-small-asr",
        samples_per_gpu_s: 95.0,
        batch_size: 128.0,
        loss_start: 4.2,
        loss_floor: 0.45,
        steps_scale: 3000.0,
        accuracy_max: 0.9,
    },
];

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
    throughput_series: Labels,
    steps_series: Labels,
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
        let pod = world.add_pod(
            cluster_index,
            PodSpec {
                namespace: TRAINING_NAMESPACE,
                name: format!("{}-worker-0", spec.name),
                node: gpus
                    .first()
                    .and_then(|&gpu| world.node_of_gpu(cluster_index, gpu))
                    .or_else(|| cluster.cpu_nodes.first().cloned()),
                owner_kind: "PyTorchJob",
                owner_name: spec.name.to_owned(),
                container: "pytorch",
                phase: Phase::Running,
            },
            rng,
        );
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
            ("training_job", spec.name),
            ("job", "trainer"),
            ("instance", instance.as_str()),
        ];
        world.trainings.push(TrainingRun {
            spec,
            pod,
            gpus,
            steps: rng.range(500.0, 3000.0).round(),
            speed: Wander::default(),
            loss_series: series("training_loss", &labels),
            accuracy_series: series("training_accuracy", &labels),
            throughput_series: series("training_samples_per_second", &labels),
            steps_series: series("training_steps_total", &labels),
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
        self.steps += (throughput * step.dt_s / spec.batch_size).floor().max(0.0);
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

        sink(&self.loss_series, (loss * 1e4).round() / 1e4);
        sink(&self.accuracy_series, (accuracy * 1e4).round() / 1e4);
        sink(&self.throughput_series, (throughput * 10.0).round() / 10.0);
        sink(&self.steps_series, self.steps);
    }
}
