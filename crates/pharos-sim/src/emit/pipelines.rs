//! Data pipelines: a Kafka topic fed by producers, a streaming consumer (consumer group named
//! after the pipeline) and an Argo `WorkflowTemplate` of the same name that a CronWorkflow runs
//! every ten minutes (steps `extract`, `transform`, `load`) on what was consumed. Capacity
//! keeps up with the daily traffic curve, except during a stall: the consumer nearly stops,
//! lag piles up (then drains) and the runs fail.
//!
//! Series: kafka_exporter (`kafka_topic_partition_current_offset`,
//! `kafka_consumergroup_current_offset`, `kafka_consumergroup_lag`); the Argo workflow
//! controller (`argo_workflows_workflowtemplate_triggered_total{name,namespace,phase}`,
//! `argo_workflows_workflowtemplate_runtime` histogram, `argo_workflows_total_count{phase,
//! namespace}`, `argo_workflows_gauge{phase}`, `argo_workflows_pods_gauge{phase}`,
//! `argo_workflows_operation_duration_seconds`, `argo_workflows_error_count{cause}`,
//! `argo_workflows_queue_depth_gauge{queue_name}`) plus the custom metric each template
//! declares, `argo_workflows_step_duration_seconds{workflowtemplate,step}` (a histogram of
//! `{{duration}}`); the Kubeflow Pipelines API server (`run_server_*`).

use pharos_tsdb::Labels;

use super::{Counter, GIB, Histogram, Sink, Step, with};
use crate::emit::kube::{Pod, PodSpec};
use crate::fleet::{TEAM_NAMESPACES, World, diurnal, series};
use crate::incidents::IncidentKind;
use crate::rng::{Rng, Wander};

/// (team index, pipeline, Kafka topic, records per second at the daily peak).
const PIPELINES: [(usize, &str, &str, f64); 2] = [
    (0, "clickstream-etl", "clickstream-events", 2400.0),
    (1, "feature-ingest", "feature-updates", 800.0),
];

/// Partitions of each topic.
const PARTITIONS: usize = 3;

/// How much faster than the peak input a healthy consumer can consume.
const HEADROOM: f64 = 1.4;

/// Seconds between two runs of a pipeline's workflow.
const RUN_EVERY_S: f64 = 600.0;

/// Steps of every pipeline's workflow and their share of a run.
const STEPS: [(&str, f64); 3] = [("extract", 0.25), ("transform", 0.5), ("load", 0.25)];

/// Buckets of the run and step duration histograms, seconds.
const RUNTIME_BUCKETS: [f64; 10] = [
    10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
];
/// Buckets of the controller's `operation_duration_seconds`.
const OPERATION_BUCKETS: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0];

/// Workflow phases the controller's gauges report.
const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Error"];

/// The workflow controller's and the KFP API server's cluster-wide series, kept by the
/// cluster's first pipeline.
#[derive(Debug)]
struct Controller {
    workflows_gauge: Vec<(&'static str, Labels)>,
    pods_gauge: [Labels; 2],
    queue_depth: Labels,
    operations: Histogram,
    errors: Counter,
    run_creates: Counter,
    run_gets: Counter,
    run_lists: Counter,
    run_count: Labels,
    retained_succeeded: f64,
}

/// One run in progress.
#[derive(Debug, Clone, Copy)]
struct Run {
    started_ms: i64,
    duration_s: f64,
    fails: bool,
}

/// One pipeline.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub cluster: String,
    pub namespace: &'static str,
    pub name: &'static str,
    utc_offset_hours: f64,
    peak_rps: f64,
    pod: usize,
    traffic: Wander,
    produced: [f64; PARTITIONS],
    consumed: [f64; PARTITIONS],
    /// Records consumed since the last run started.
    pending_records: f64,
    next_run_ms: Option<i64>,
    run: Option<Run>,
    produced_series: Vec<Labels>,
    consumed_series: Vec<Labels>,
    lag_series: Vec<Labels>,
    succeeded: Counter,
    failed: Counter,
    total_succeeded: Counter,
    total_failed: Counter,
    total_running: Counter,
    runtime: Histogram,
    step_durations: Vec<Histogram>,
    controller: Option<Controller>,
}

impl Pipeline {
    pub(crate) fn add_all(world: &mut World, cluster_index: usize, rng: &mut Rng) {
        let cluster = world.clusters[cluster_index].clone();
        for (position, (team, name, topic, peak_rps)) in PIPELINES.iter().enumerate() {
            let namespace = TEAM_NAMESPACES[*team];
            let hash = rng.hex(9);
            let owner = format!("{name}-consumer-{hash}");
            let mut spec = PodSpec::running(
                namespace,
                format!("{owner}-{}", rng.pod_suffix(5)),
                cluster
                    .cpu_nodes
                    .get((position + 1) % cluster.cpu_nodes.len().max(1))
                    .cloned(),
                ("ReplicaSet", owner),
                "consumer",
                "ghcr.io/example/stream-consumer:1.8.2",
            );
            spec.labels = vec![("label_app", format!("{name}-consumer"))];
            let pod = world.add_pod(cluster_index, spec, rng);
            let kafka = [
                ("cluster", cluster.name.as_str()),
                ("namespace", "kafka"),
                ("job", "kafka-exporter"),
                ("instance", "kafka-exporter.kafka:9308"),
                ("topic", topic),
            ];
            let partitions: Vec<String> = (0..PARTITIONS).map(|p| p.to_string()).collect();
            let per_partition = |metric: &str, group: bool| -> Vec<Labels> {
                partitions
                    .iter()
                    .map(|partition| {
                        let mut labels = with(&kafka, &[("partition", partition.as_str())]);
                        if group {
                            labels.push(("consumergroup", name));
                        }
                        series(metric, &labels)
                    })
                    .collect()
            };
            // The Argo controller is scraped with honorLabels: `namespace` is the workflow's.
            let argo = [
                ("cluster", cluster.name.as_str()),
                ("job", "workflow-controller-metrics"),
                ("instance", "workflow-controller-metrics.kubeflow:9090"),
            ];
            let template = with(
                &argo,
                &[
                    ("name", name),
                    ("namespace", namespace),
                    ("cluster_scope", "false"),
                ],
            );
            let offset =
                (peak_rps * 0.6 * rng.range(86_400.0, 259_200.0) / PARTITIONS as f64).round();
            let runs = rng.between(200, 600) as f64;
            let mut runtime = Histogram::new(
                "argo_workflows_workflowtemplate_runtime",
                &template,
                &RUNTIME_BUCKETS,
                false,
            );
            let typical_run_s = 60.0 + peak_rps * 0.6 * RUN_EVERY_S / 8_000.0;
            runtime.observe_lognormal(runs, typical_run_s, 0.25);
            let step_durations = STEPS
                .iter()
                .map(|(step, share)| {
                    let mut histogram = Histogram::new(
                        "argo_workflows_step_duration_seconds",
                        &with(
                            &argo,
                            &[
                                ("namespace", namespace),
                                ("workflowtemplate", name),
                                ("step", step),
                            ],
                        ),
                        &RUNTIME_BUCKETS,
                        false,
                    );
                    histogram.observe_lognormal(runs, typical_run_s * share, 0.3);
                    histogram
                })
                .collect();
            let phase = |p: &'static str| with(&template, &[("phase", p)]);
            let total = |p: &'static str| with(&argo, &[("namespace", namespace), ("phase", p)]);
            let controller = (position == 0).then(|| {
                let kubeflow = with(&argo, &[("namespace", "kubeflow")]);
                let kfp = [
                    ("cluster", cluster.name.as_str()),
                    ("namespace", "kubeflow"),
                    ("job", "ml-pipeline"),
                    ("instance", "ml-pipeline.kubeflow:8888"),
                ];
                let mut operations = Histogram::new(
                    "argo_workflows_operation_duration_seconds",
                    &kubeflow,
                    &OPERATION_BUCKETS,
                    false,
                );
                operations.observe_lognormal(runs * 40.0, 0.2, 0.6);
                Controller {
                    workflows_gauge: PHASES
                        .iter()
                        .map(|p| {
                            (
                                *p,
                                series("argo_workflows_gauge", &with(&kubeflow, &[("phase", p)])),
                            )
                        })
                        .collect(),
                    pods_gauge: ["Pending", "Running"].map(|p| {
                        series(
                            "argo_workflows_pods_gauge",
                            &with(&kubeflow, &[("phase", p)]),
                        )
                    }),
                    queue_depth: series(
                        "argo_workflows_queue_depth_gauge",
                        &with(&kubeflow, &[("queue_name", "workflow_queue")]),
                    ),
                    operations,
                    errors: Counter::new(
                        "argo_workflows_error_count",
                        &with(&kubeflow, &[("cause", "CronWorkflowSubmissionError")]),
                        rng.between(0, 3) as f64,
                    ),
                    run_creates: Counter::new("run_server_create_requests", &kfp, runs * 2.0),
                    run_gets: Counter::new("run_server_get_requests", &kfp, runs * 9.0),
                    run_lists: Counter::new("run_server_list_requests", &kfp, runs * 4.0),
                    run_count: series("run_server_run_count", &kfp),
                    retained_succeeded: 12.0,
                }
            });
            world.pipelines.push(Pipeline {
                cluster: cluster.name.clone(),
                namespace,
                name,
                utc_offset_hours: cluster.utc_offset_hours,
                peak_rps: *peak_rps,
                pod,
                traffic: Wander::default(),
                produced: [offset; PARTITIONS],
                consumed: [offset; PARTITIONS],
                pending_records: 0.0,
                next_run_ms: None,
                run: None,
                produced_series: per_partition("kafka_topic_partition_current_offset", false),
                consumed_series: per_partition("kafka_consumergroup_current_offset", true),
                lag_series: per_partition("kafka_consumergroup_lag", true),
                succeeded: Counter::new(
                    "argo_workflows_workflowtemplate_triggered_total",
                    &phase("Succeeded"),
                    (runs * 0.97).round(),
                ),
                failed: Counter::new(
                    "argo_workflows_workflowtemplate_triggered_total",
                    &phase("Failed"),
                    (runs * 0.03).round(),
                ),
                total_succeeded: Counter::new(
                    "argo_workflows_total_count",
                    &total("Succeeded"),
                    (runs * 0.97).round(),
                ),
                total_failed: Counter::new(
                    "argo_workflows_total_count",
                    &total("Failed"),
                    (runs * 0.03).round(),
                ),
                total_running: Counter::new("argo_workflows_total_count", &total("Running"), runs),
                runtime,
                step_durations,
                controller,
            });
        }
    }

    /// The labels an incident on this pipeline names (they select its consumer lag).
    pub(crate) fn target(&self) -> [(&'static str, String); 2] {
        [
            ("cluster", self.cluster.clone()),
            ("consumergroup", self.name.to_owned()),
        ]
    }

    pub(crate) fn step(&mut self, step: &mut Step<'_>, pods: &mut [Pod], sink: &mut Sink<'_>) {
        let owned = self.target();
        let target: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let stalled = step.hit(IncidentKind::PipelineStall, &target);
        let wander = self.traffic.step(step.rng, step.dt_s, 900.0, 0.1);
        let incoming =
            (self.peak_rps * diurnal(step.now_ms, self.utc_offset_hours) * (1.0 + wander)).max(0.0);
        let capacity = self.peak_rps * HEADROOM * if stalled { 0.05 } else { 1.0 };
        let mut consumed_now = 0.0;
        for partition in 0..PARTITIONS {
            let share = step.rng.range(0.9, 1.1);
            let arrived = step
                .rng
                .round_stochastic(incoming * step.dt_s / PARTITIONS as f64 * share);
            self.produced[partition] += arrived;
            let lag = self.produced[partition] - self.consumed[partition];
            // The consumer commits a little behind the head even when it keeps up.
            let in_flight = (incoming / PARTITIONS as f64 * step.rng.range(0.5, 2.0)).round();
            let can = step
                .rng
                .round_stochastic(capacity * step.dt_s / PARTITIONS as f64);
            let took = can.min((lag - in_flight).max(0.0));
            self.consumed[partition] += took;
            consumed_now += took;
        }
        self.pending_records += consumed_now;

        let pod = &mut pods[self.pod];
        pod.cpu_cores = 0.2 + consumed_now / step.dt_s.max(1.0) / 1500.0;
        pod.memory_bytes = (1.5 + 0.5 * wander.abs()) * GIB;
        pod.receive_bps = consumed_now / step.dt_s.max(1.0) * 420.0;
        pod.write_bps = pod.receive_bps * 0.4;

        self.advance_runs(step, stalled);

        for partition in 0..PARTITIONS {
            sink(&self.produced_series[partition], self.produced[partition]);
            sink(&self.consumed_series[partition], self.consumed[partition]);
            sink(
                &self.lag_series[partition],
                self.produced[partition] - self.consumed[partition],
            );
        }
        for counter in [
            &self.succeeded,
            &self.failed,
            &self.total_succeeded,
            &self.total_failed,
            &self.total_running,
        ] {
            counter.emit(sink);
        }
        self.runtime.emit(sink);
        for histogram in &self.step_durations {
            histogram.emit(sink);
        }
        let running = f64::from(u8::from(self.run.is_some()));
        if let Some(controller) = &mut self.controller {
            controller.operations.observe_lognormal(
                step.rng.round_stochastic(step.dt_s * 0.5),
                0.2,
                0.6,
            );
            if step.rng.chance(step.dt_s / 43_200.0) {
                controller.errors.add(1.0);
            }
            controller
                .run_gets
                .add(step.rng.round_stochastic(step.dt_s * 0.05));
            controller
                .run_lists
                .add(step.rng.round_stochastic(step.dt_s * 0.02));
            // Finished workflows stay until the garbage collector removes them.
            controller.retained_succeeded = (controller.retained_succeeded
                + step.rng.range(-0.05, 0.06) * step.dt_s / 15.0)
                .clamp(4.0, 40.0);
            for (phase, labels) in &controller.workflows_gauge {
                let value = match *phase {
                    "Running" => running,
                    "Succeeded" => controller.retained_succeeded.round(),
                    "Failed" => f64::from(u8::from(stalled)) + 1.0,
                    _ => 0.0,
                };
                sink(labels, value);
            }
            sink(
                &controller.pods_gauge[0],
                f64::from(u8::from(step.rng.chance(0.1))),
            );
            sink(&controller.pods_gauge[1], running);
            let depth = step.rng.range(0.0, 1.5);
            sink(&controller.queue_depth, step.rng.round_stochastic(depth));
            sink(&controller.run_count, controller.run_creates.value);
            controller.operations.emit(sink);
            controller.errors.emit(sink);
            controller.run_creates.emit(sink);
            controller.run_gets.emit(sink);
            controller.run_lists.emit(sink);
        }
    }

    /// Starts a run every [`RUN_EVERY_S`] and finishes it when its time is up.
    fn advance_runs(&mut self, step: &mut Step<'_>, stalled: bool) {
        let next = *self
            .next_run_ms
            .get_or_insert_with(|| step.now_ms + step.rng.between(0, 600_000));
        if let Some(run) = self.run
            && step.now_ms as f64 >= run.started_ms as f64 + run.duration_s * 1000.0
        {
            self.run = None;
            if run.fails {
                self.failed.add(1.0);
                self.total_failed.add(1.0);
            } else {
                self.succeeded.add(1.0);
                self.total_succeeded.add(1.0);
            }
            self.runtime.observe(run.duration_s);
            let mut left = run.duration_s;
            for (index, (_, share)) in STEPS.iter().enumerate() {
                // A failed run stops in its first step.
                let took = if run.fails {
                    if index == 0 { left } else { continue }
                } else {
                    run.duration_s * share * step.rng.range(0.85, 1.15)
                };
                left -= took;
                self.step_durations[index].observe(took.max(1.0));
            }
        }
        if self.run.is_none() && step.now_ms >= next {
            let fails = stalled || step.rng.chance(0.02);
            let duration_s = if fails {
                // The extract step times out waiting for data.
                step.rng.range(240.0, 300.0)
            } else {
                30.0 + self.pending_records / 8_000.0 * step.rng.range(0.9, 1.2)
            };
            self.pending_records = 0.0;
            self.run = Some(Run {
                started_ms: step.now_ms,
                duration_s,
                fails,
            });
            self.total_running.add(1.0);
            if let Some(controller) = &mut self.controller {
                controller.run_creates.add(1.0);
            }
            self.next_run_ms = Some(next + (RUN_EVERY_S * 1000.0) as i64);
        }
    }
}
