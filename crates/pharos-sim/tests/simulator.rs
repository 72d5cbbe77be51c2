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

fn is_counter(name: &str) -> bool {
    name.ends_with("_total")
        || name.ends_with("_bucket")
        || name.ends_with("_sum")
        || name.ends_with("_count")
}

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
        .filter(|(name, moved)| !**moved && !name.starts_with("kube_"))
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
        if name.starts_with("DCGM_FI_DEV_") {
            for label in ["gpu", "UUID", "device", "modelName", "Hostname"] {
                assert!(labels.get(label).is_some(), "{labels} lacks {label}");
            }
        } else {
            for label in ["namespace", "pod"] {
                assert!(labels.get(label).is_some(), "{labels} lacks {label}");
            }
        }
    }
    assert_eq!(clusters.len(), 3);
    let expected_namespaces: BTreeSet<String> = ["ml-serving", "ml-training", "team-a", "team-b"]
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
        "kube_pod_info",
        "kube_pod_status_phase",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "model_inference_requests_total",
        "model_inference_request_duration_seconds_bucket",
        "model_inference_request_duration_seconds_sum",
        "model_inference_request_duration_seconds_count",
        "training_loss",
        "training_accuracy",
        "training_samples_per_second",
        "pipeline_records_processed_total",
        "pipeline_consumer_lag_records",
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
        for (count_labels, count) in values(
            &samples,
            "model_inference_request_duration_seconds_count",
            &[],
        ) {
            let pod = count_labels.get("pod").unwrap();
            let mut buckets: Vec<(f64, f64)> = values(
                &samples,
                "model_inference_request_duration_seconds_bucket",
                &[("pod", pod)],
            )
            .into_iter()
            .map(|(l, v)| (l.get("le").unwrap().parse::<f64>().unwrap(), v))
            .collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "cumulative buckets for {pod}"
            );
            assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
            let requests: f64 = values(&samples, "model_inference_requests_total", &[("pod", pod)])
                .iter()
                .map(|x| x.1)
                .sum();
            assert_eq!(requests, count, "ok + error = count for {pod}");
        }
        for (labels, used) in values(&samples, "DCGM_FI_DEV_FB_USED", &[]) {
            let uuid = labels.get("UUID").unwrap();
            let free = values(&samples, "DCGM_FI_DEV_FB_FREE", &[("UUID", uuid)])[0].1;
            let total = match labels.get("modelName").unwrap() {
                "NVIDIA L4" => 23_034.0,
                "NVIDIA H100 80GB HBM3" => 81_559.0,
                _ => 81_920.0,
            };
            assert_eq!(used + free, total, "{labels}");
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

/// Runs six hours and checks each incident against the series it names.
#[test]
fn incidents_show_in_the_series() {
    let mut simulator = Simulator::new(options(5));
    let mut history: Vec<(i64, Vec<(Labels, f64)>)> = Vec::new();
    for i in 0..SIX_HOURS_TICKS {
        let t = START_MS + i * STEP_MS;
        history.push((t, simulator.tick(t)));
    }
    let incidents = simulator.incidents().to_vec();
    let during = |incident: &pharos_sim::Incident| -> Vec<&Vec<(Labels, f64)>> {
        history
            .iter()
            .filter(|(t, _)| incident.is_active(*t))
            .map(|(_, samples)| samples)
            .collect()
    };
    let matchers = |incident: &pharos_sim::Incident| -> Vec<(String, String)> {
        incident
            .labels
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    };
    for incident in &incidents {
        if incident.end_ms > START_MS + SIX_HOURS_TICKS * STEP_MS {
            continue;
        }
        let owned = matchers(incident);
        let m: Vec<(&str, &str)> = owned
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
                // The training job holding the GPU stalls with it.
                let util = values(window[0], "DCGM_FI_DEV_GPU_UTIL", &m);
                if util[0].0.get("namespace") == Some("ml-training") {
                    let pod = util[0].0.get("pod").unwrap();
                    let throughput = |samples: &[(Labels, f64)]| {
                        values(samples, "training_samples_per_second", &[("pod", pod)])[0].1
                    };
                    let before = history
                        .iter()
                        .rev()
                        .find(|(t, _)| *t < incident.start_ms)
                        .map(|(_, s)| throughput(s))
                        .unwrap();
                    let stalled = throughput(window[1]);
                    assert!(
                        stalled < before * 0.1,
                        "{}: {before} -> {stalled}",
                        incident.description
                    );
                }
            }
            IncidentKind::ErrorBurst | IncidentKind::LatencySpike => {
                // Compare the incident's window with the same length of time before it.
                let window = incident.end_ms - incident.start_ms;
                let at = |t: i64| {
                    history
                        .iter()
                        .find(|(time, _)| *time >= t)
                        .map(|(_, s)| s)
                        .unwrap()
                };
                let total =
                    |samples: &[(Labels, f64)], name: &str, extra: Option<(&str, &str)>| -> f64 {
                        let mut all = m.clone();
                        all.extend(extra);
                        values(samples, name, &all).iter().map(|x| x.1).sum()
                    };
                let (before, start, end) = (
                    at(incident.start_ms - window),
                    at(incident.start_ms),
                    at(incident.end_ms - STEP_MS),
                );
                if incident.kind == IncidentKind::ErrorBurst {
                    let ratio = |a: &[(Labels, f64)], b: &[(Labels, f64)]| {
                        let errors = total(
                            b,
                            "model_inference_requests_total",
                            Some(("status", "error")),
                        ) - total(
                            a,
                            "model_inference_requests_total",
                            Some(("status", "error")),
                        );
                        let all = total(b, "model_inference_requests_total", None)
                            - total(a, "model_inference_requests_total", None);
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
                        (total(b, "model_inference_request_duration_seconds_sum", None)
                            - total(a, "model_inference_request_duration_seconds_sum", None))
                            / (total(b, "model_inference_request_duration_seconds_count", None)
                                - total(a, "model_inference_request_duration_seconds_count", None))
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
                let lag = |samples: &[(Labels, f64)]| {
                    values(samples, "pipeline_consumer_lag_records", &m)[0].1
                };
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
