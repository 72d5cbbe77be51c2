//! Properties of the simulated fleet: determinism, counters, label names, histograms and
//! incidents that really show in the series.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};

use pharos_sim::{IncidentKind, SimOptions, Simulator};
use pharos_tsdb::Labels;

const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const STEP_MS: i64 = 15_000;
const SIX_HOURS_TICKS: i64 = 6 * 240;

fn options(seed: u64) -> SimOptions {
    SimOptions {
        seed,
        ..SimOptions::default()
    }
}

/// Counters, including those whose exporters write no `_total` (Go clients, Triton, Knative's
/// OpenCensus, kafka_exporter's offsets); Jupyter's `*_currently_running_total` are gauges.
fn is_counter(name: &str) -> bool {
    name.ends_with("_total") && !name.ends_with("_currently_running_total")
        || name.ends_with("_bucket")
        || name.ends_with("_sum")
        || name.ends_with("_count") && name != "nv_inference_pending_request_count"
        || name.ends_with("_duration_us")
        || name.ends_with("_current_offset")
        || name.ends_with("_requests")
        || name.starts_with("nv_inference_request_s") && !name.contains("summary")
        || name == "nv_inference_request_failure"
        || name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
        || name == "DCGM_FI_DEV_PCIE_REPLAY_COUNTER"
}

/// Series that may rightly keep one value for hours: the last XID, reserved frame buffer,
/// counts of notebook resources, timestamps of rare events, rare counters.
const MAY_STAY: [&str; 7] = [
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_FB_RESERVED",
    "notebook_running",
    "notebook_create_failed_total",
    "jupyter_server_started_timestamp_seconds",
    "argo_workflows_error_count",
    "training_operator_jobs_failed_total",
];

/// Jobs of controllers and exporters whose series describe other objects, not their own pod.
const CONTROLLER_JOBS: [&str; 5] = [
    "notebook-controller",
    "workflow-controller-metrics",
    "training-operator",
    "ml-pipeline",
    "kafka-exporter",
];

#[test]
fn same_seed_same_samples_other_seed_other_samples() {
    let run = |seed| {
        let mut simulator = Simulator::new(options(seed));
        let mut out = Vec::new();
        for i in 0..120 {
            let t = START_MS + i * STEP_MS;
            out.extend(simulator.tick(t).into_iter().map(|(l, v)| (l, v.to_bits())));
        }
        out
    };
    let first = run(7);
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
}

#[test]
fn counters_never_decrease_and_gauges_move() {
    let mut simulator = Simulator::new(options(3));
    let mut last: HashMap<Labels, f64> = HashMap::new();
    let mut moved: HashMap<String, bool> = HashMap::new();
    for i in 0..SIX_HOURS_TICKS {
        simulator.tick_with(START_MS + i * STEP_MS, |labels, value| {
            assert!(value.is_finite(), "{labels} = {value}");
            let name = labels.metric_name().unwrap().to_owned();
            if let Some(previous) = last.insert(labels.clone(), value) {
                if is_counter(&name) {
                    assert!(
                        value >= previous,
                        "{labels} went down from {previous} to {value}"
                    );
                }
                if value != previous {
                    moved.insert(name, true);
                }
            } else {
                moved.entry(name).or_insert(false);
            }
        });
    }
    let still: Vec<&String> = moved
        .iter()
        .filter(|(name, moved)| {
            !**moved && !name.starts_with("kube_") && !MAY_STAY.contains(&name.as_str())
        })
        .map(|(name, _)| name)
        .collect();
    assert!(still.is_empty(), "these metrics never changed: {still:?}");
}

#[test]
fn series_carry_the_expected_label_names() {
    let mut simulator = Simulator::new(SimOptions::default());
    let samples = simulator.tick(START_MS);
    let mut clusters = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (labels, _) in &samples {
        let name = labels.metric_name().unwrap();
        names.insert(name.to_owned());
        clusters.insert(labels.get("cluster").unwrap().to_owned());
        if let Some(namespace) = labels.get("namespace") {
            namespaces.insert(namespace.to_owned());
        }
        if name.starts_with("DCGM_FI_") {
            for label in [
                "gpu",
                "UUID",
                "device",
                "modelName",
                "Hostname",
                "pci_bus_id",
            ] {
                assert!(labels.get(label).is_some(), "{labels} lacks {label}");
            }
        } else if CONTROLLER_JOBS.contains(&labels.get("job").unwrap()) {
            assert!(
                labels.get("namespace").is_some(),
                "{labels} lacks namespace"
            );
        } else {
            for label in ["namespace", "pod"] {
                assert!(labels.get(label).is_some(), "{labels} lacks {label}");
            }
        }
    }
    assert_eq!(clusters.len(), 3);
    let expected_namespaces: BTreeSet<String> = [
        "ml-serving",
        "ml-training",
        "team-a",
        "team-b",
        "kubeflow",
        "kafka",
    ]
    .map(String::from)
    .into();
    assert_eq!(namespaces, expected_namespaces);
    for name in [
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "kube_pod_info",
        "kube_pod_owner",
        "kube_pod_status_phase",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_resource_requests",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_fs_reads_bytes_total",
        "container_network_receive_bytes_total",
        "revision_request_count",
        "revision_request_latencies_bucket",
        "request_predict_seconds_bucket",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:inter_token_latency_seconds_bucket",
        "vllm:time_per_output_token_seconds_bucket",
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:request_success_total",
        "nv_inference_request_success",
        "nv_inference_request_failure",
        "nv_inference_count",
        "nv_inference_request_duration_us",
        "nv_inference_queue_duration_us",
        "nv_inference_request_summary_us",
        "training_loss",
        "training_accuracy",
        "training_samples_total",
        "training_step_duration_seconds_bucket",
        "training_operator_jobs_created_total",
        "kernel_currently_running_total",
        "jupyter_server_last_activity_timestamp_seconds",
        "notebook_running",
        "notebook_culling_total",
        "kafka_consumergroup_lag",
        "argo_workflows_workflowtemplate_runtime_bucket",
        "argo_workflows_workflowtemplate_triggered_total",
        "argo_workflows_total_count",
        "argo_workflows_gauge",
        "argo_workflows_step_duration_seconds_bucket",
        "run_server_create_requests",
    ] {
        assert!(names.contains(name), "{name} missing");
    }
    let unique: BTreeSet<&Labels> = samples.iter().map(|(l, _)| l).collect();
    assert_eq!(
        unique.len(),
        samples.len(),
        "each series appears once per tick"
    );
    // GPUs allocated to pods carry the pod, as DCGM's Kubernetes mapping does, and the pod
    // runs on the GPU's node.
    let allocated: Vec<&Labels> = samples
        .iter()
        .map(|(l, _)| l)
        .filter(|l| l.metric_name() == Some("DCGM_FI_DEV_GPU_UTIL") && l.get("pod").is_some())
        .collect();
    assert!(
        allocated
            .iter()
            .any(|l| l.get("namespace") == Some("ml-training"))
    );
    assert!(
        allocated
            .iter()
            .any(|l| l.get("namespace") == Some("ml-serving"))
    );
    for gpu in allocated {
        let pod = values(
            &samples,
            "container_cpu_usage_seconds_total",
            &[
                ("cluster", gpu.get("cluster").unwrap()),
                ("pod", gpu.get("pod").unwrap()),
            ],
        );
        assert_eq!(pod.len(), 1, "{gpu}");
        assert_eq!(pod[0].0.get("node"), gpu.get("Hostname"), "{gpu}");
        let info = values(
            &samples,
            "kube_pod_info",
            &[
                ("cluster", gpu.get("cluster").unwrap()),
                ("namespace", gpu.get("namespace").unwrap()),
                ("pod", gpu.get("pod").unwrap()),
            ],
        );
        assert_eq!(info.len(), 1, "{gpu}");
    }
    // Runtime series of model servers name pods kube-state-metrics knows.
    for (labels, _) in samples.iter().filter(|(l, _)| {
        l.metric_name().is_some_and(|n| {
            n.starts_with("vllm:") || n.starts_with("nv_inference") || n.starts_with("revision_")
        })
    }) {
        let info = values(
            &samples,
            "kube_pod_info",
            &[
                ("cluster", labels.get("cluster").unwrap()),
                ("pod", labels.get("pod").unwrap()),
            ],
        );
        assert_eq!(info.len(), 1, "{labels}");
    }
}

/// Value of the one series of `name` whose labels include all of `matchers`.
fn values<'a>(
    samples: &'a [(Labels, f64)],
    name: &str,
    matchers: &[(&str, &str)],
) -> Vec<(&'a Labels, f64)> {
    samples
        .iter()
        .filter(|(l, _)| {
            l.metric_name() == Some(name) && matchers.iter().all(|(n, v)| l.get(n) == Some(*v))
        })
        .map(|(l, v)| (l, *v))
        .collect()
}

#[test]
fn histograms_and_gpu_memory_are_consistent() {
    let mut simulator = Simulator::new(options(11));
    for i in 0..100 {
        let samples = simulator.tick(START_MS + i * STEP_MS);
        for histogram in [
            "revision_request_latencies",
            "request_predict_seconds",
            "vllm:e2e_request_latency_seconds",
            "vllm:time_to_first_token_seconds",
        ] {
            for (count_labels, count) in values(&samples, &format!("{histogram}_count"), &[]) {
                let pod = count_labels.get("pod").unwrap();
                let mut buckets: Vec<(f64, f64)> =
                    values(&samples, &format!("{histogram}_bucket"), &[("pod", pod)])
                        .into_iter()
                        .map(|(l, v)| (l.get("le").unwrap().parse::<f64>().unwrap(), v))
                        .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "cumulative buckets for {histogram} on {pod}"
                );
                assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
            }
        }
        // The queue-proxy's latency histogram counts the requests it answered with a 2xx.
        for (labels, count) in values(&samples, "revision_request_latencies_count", &[]) {
            let ok = values(
                &samples,
                "revision_request_count",
                &[
                    ("pod", labels.get("pod").unwrap()),
                    ("response_code_class", "2xx"),
                ],
            );
            assert_eq!(ok[0].1, count, "{labels}");
        }
        for (labels, used) in values(&samples, "DCGM_FI_DEV_FB_USED", &[]) {
            let uuid = labels.get("UUID").unwrap();
            let free = values(&samples, "DCGM_FI_DEV_FB_FREE", &[("UUID", uuid)])[0].1;
            let reserved = values(&samples, "DCGM_FI_DEV_FB_RESERVED", &[("UUID", uuid)])[0].1;
            let total = match labels.get("modelName").unwrap() {
                "NVIDIA L4" => 23_034.0,
                "NVIDIA H100 80GB HBM3" => 81_559.0,
                _ => 81_920.0,
            };
            assert_eq!(used + free + reserved, total, "{labels}");
        }
        for (labels, util) in values(&samples, "DCGM_FI_DEV_GPU_UTIL", &[]) {
            assert!((0.0..=100.0).contains(&util), "{labels} = {util}");
        }
    }
}

#[test]
fn every_incident_kind_happens_within_six_hours_for_any_seed() {
    for seed in 0..5 {
        let mut simulator = Simulator::new(options(seed));
        for i in 0..SIX_HOURS_TICKS {
            simulator.tick_with(START_MS + i * STEP_MS, |_, _| {});
        }
        let kinds: BTreeSet<IncidentKind> = simulator.incidents().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds.len(),
            IncidentKind::ALL.len(),
            "seed {seed}: {kinds:?}"
        );
        for pair in simulator.incidents().windows(2) {
            assert!(
                pair[0].end_ms <= pair[1].start_ms,
                "incidents do not overlap"
            );
        }
    }
}

/// The series the incident checks look at (the rest is not kept, to save memory).
const WATCHED: [&str; 8] = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_XID_ERRORS",
    "training_samples_total",
    "revision_request_count",
    "revision_request_latencies_sum",
    "revision_request_latencies_count",
    "kafka_consumergroup_lag",
    "argo_workflows_workflowtemplate_triggered_total",
];

/// Runs six hours and checks each incident against the series it names.
#[test]
fn incidents_show_in_the_series() {
    let mut simulator = Simulator::new(options(5));
    let mut history: Vec<(i64, Vec<(Labels, f64)>)> = Vec::new();
    for i in 0..SIX_HOURS_TICKS {
        let t = START_MS + i * STEP_MS;
        let mut kept = Vec::new();
        simulator.tick_with(t, |labels, value| {
            if labels.metric_name().is_some_and(|n| WATCHED.contains(&n)) {
                kept.push((labels.clone(), value));
            }
        });
        history.push((t, kept));
    }
    let incidents = simulator.incidents().to_vec();
    let during = |incident: &pharos_sim::Incident| -> Vec<&Vec<(Labels, f64)>> {
        history
            .iter()
            .filter(|(t, _)| incident.is_active(*t))
            .map(|(_, samples)| samples)
            .collect()
    };
    let at = |t: i64| {
        history
            .iter()
            .find(|(time, _)| *time >= t)
            .map(|(_, s)| s)
            .unwrap()
    };
    let sum = |samples: &[(Labels, f64)], name: &str, m: &[(&str, &str)]| -> f64 {
        values(samples, name, m).iter().map(|x| x.1).sum()
    };
    for incident in &incidents {
        if incident.end_ms > START_MS + SIX_HOURS_TICKS * STEP_MS {
            continue;
        }
        let m: Vec<(&str, &str)> = incident
            .labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match incident.kind {
            IncidentKind::GpuStuck => {
                let window = during(incident);
                for samples in &window {
                    let util = values(samples, "DCGM_FI_DEV_GPU_UTIL", &m);
                    assert_eq!(util.len(), 1);
                    assert_eq!(util[0].1, 100.0, "{}", incident.description);
                }
                let xid = values(window.last().unwrap(), "DCGM_FI_DEV_XID_ERRORS", &m);
                assert_eq!(xid[0].1, 43.0, "{}", incident.description);
                // The training job holding the GPU stalls with it.
                let util = values(window[0], "DCGM_FI_DEV_GPU_UTIL", &m);
                if util[0].0.get("namespace") == Some("ml-training") {
                    let pod = [("pod", util[0].0.get("pod").unwrap())];
                    let samples = |t: i64| sum(at(t), "training_samples_total", &pod);
                    let length = incident.end_ms - incident.start_ms;
                    let before = samples(incident.start_ms) - samples(incident.start_ms - length);
                    let stalled =
                        samples(incident.end_ms - STEP_MS) - samples(incident.start_ms + STEP_MS);
                    assert!(
                        stalled < before * 0.1,
                        "{}: {before} -> {stalled}",
                        incident.description
                    );
                }
            }
            IncidentKind::ErrorBurst | IncidentKind::LatencySpike => {
                // The queue-proxy of the model's predictor shows it: compare the incident's
                // window with the same length of time before it.
                let model = incident
                    .labels
                    .get("model_name")
                    .or_else(|| incident.labels.get("model"))
                    .unwrap();
                let service = format!("{model}-predictor");
                let cluster = incident.labels.get("cluster").unwrap();
                let proxy = [
                    ("cluster", cluster.as_str()),
                    ("service_name", service.as_str()),
                ];
                let window = incident.end_ms - incident.start_ms;
                let (before, start, end) = (
                    at(incident.start_ms - window),
                    at(incident.start_ms),
                    at(incident.end_ms - STEP_MS),
                );
                let total = |samples: &[(Labels, f64)], name: &str, extra: Option<(&str, &str)>| {
                    let mut all = proxy.to_vec();
                    all.extend(extra);
                    sum(samples, name, &all)
                };
                if incident.kind == IncidentKind::ErrorBurst {
                    let ratio = |a: &[(Labels, f64)], b: &[(Labels, f64)]| {
                        let class = Some(("response_code_class", "5xx"));
                        let errors = total(b, "revision_request_count", class)
                            - total(a, "revision_request_count", class);
                        let all = total(b, "revision_request_count", None)
                            - total(a, "revision_request_count", None);
                        errors / all
                    };
                    assert!(
                        ratio(start, end) > 0.15,
                        "{}: {}",
                        incident.description,
                        ratio(start, end)
                    );
                    assert!(
                        ratio(before, start) < 0.05,
                        "{}: before {}",
                        incident.description,
                        ratio(before, start)
                    );
                } else {
                    let mean = |a: &[(Labels, f64)], b: &[(Labels, f64)]| {
                        (total(b, "revision_request_latencies_sum", None)
                            - total(a, "revision_request_latencies_sum", None))
                            / (total(b, "revision_request_latencies_count", None)
                                - total(a, "revision_request_latencies_count", None))
                    };
                    assert!(
                        mean(start, end) > 3.0 * mean(before, start),
                        "{}: {} vs {}",
                        incident.description,
                        mean(start, end),
                        mean(before, start)
                    );
                }
            }
            IncidentKind::PipelineStall => {
                let lag = |samples: &[(Labels, f64)]| sum(samples, "kafka_consumergroup_lag", &m);
                let window = during(incident);
                let first = lag(window.first().unwrap());
                let last = lag(window.last().unwrap());
                assert!(
                    last > first * 5.0,
                    "{}: lag {first} -> {last}",
                    incident.description
                );
            }
        }
    }
    assert!(incidents.len() >= 4);
}
