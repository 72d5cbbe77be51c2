//! The simulated-incidents run shared by `tests/simulated_incidents.rs` and
//! `examples/evaluate.rs`: the simulator (seeded, deterministic) backfills a warm-up day
//! plus the evaluated span at a 60 s step into a temporary embedded store; the default
//! watch list is scanned over the span in one pass (the detectors are the live ones: the
//! trailing and seasonal baselines only look back, the level-shift window looks five
//! minutes ahead, which a live scan gets five minutes later), the topology is read, RCA
//! groups and ranks, and `evaluate` scores the incidents against the simulator's ground
//! truth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pharos_analysis::{
    Detector, DetectorOptions, Evaluation, RcaOptions, RcaReport, TruthIncident, WatchList,
    detected_incidents, evaluate, explain, explain_anomalies, topology,
};
use pharos_query::{LocalBackend, LocalMetrics, QueryOptions};
use pharos_sim::{Incident, IncidentKind, SimOptions, Simulator};
use pharos_tsdb::{Db, Options};

/// 2026-01-01T00:00:00Z: the evaluated span starts here.
pub const SPAN_START: i64 = 1_767_225_600_000;
pub const HOUR: i64 = 3_600_000;
/// An incident is found when a detected one overlaps it with this slack.
pub const SLACK_MS: i64 = 5 * 60_000;

pub struct Run {
    pub evaluation: Evaluation,
    pub report: RcaReport,
    pub backfill: Duration,
    pub analysis: Duration,
    pub kinds: std::collections::BTreeSet<String>,
}

/// The labels that identify an incident's entity.
pub fn truth(incident: &Incident) -> TruthIncident {
    let keys: &[&str] = match incident.kind {
        IncidentKind::LatencySpike | IncidentKind::ErrorBurst => {
            &["cluster", "model_name", "model"]
        }
        IncidentKind::GpuStuck => &["cluster", "UUID"],
        IncidentKind::PipelineStall => &["cluster", "consumergroup"],
    };
    TruthIncident {
        kind: format!("{:?}", incident.kind),
        start_ms: incident.start_ms,
        end_ms: incident.end_ms,
        identity: incident
            .labels
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// How the span is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One pass of the watch list over the whole span.
    OnePass,
    /// The background detector as it runs live: a scan every 5 simulated minutes over the
    /// last 30 minutes, new anomalies only; RCA over everything it reported, with the
    /// intervals later scans saw (`Detector::known`).
    Live,
}

pub async fn run(seed: u64, warm_up_ms: i64, span_ms: i64) -> Run {
    run_with(seed, warm_up_ms, span_ms, Mode::OnePass).await
}

pub async fn run_with(seed: u64, warm_up_ms: i64, span_ms: i64, mode: Mode) -> Run {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Arc::new(Db::open(dir.path(), Options::default()).expect("store"));
    let mut simulator = Simulator::new(SimOptions {
        seed,
        backfill: Duration::ZERO,
        ..SimOptions::default()
    });
    let end = SPAN_START + span_ms;
    let started = Instant::now();
    let written = {
        let db = Arc::clone(&db);
        tokio::task::spawn_blocking(move || {
            let summary = simulator
                .backfill(&db, SPAN_START - warm_up_ms, end, Duration::from_secs(60))
                .expect("backfill");
            (summary, simulator)
        })
        .await
        .expect("backfill task")
    };
    let (summary, simulator) = written;
    assert_eq!(summary.rejected, 0, "the store took every sample");
    let backfill = started.elapsed();

    let backend = LocalBackend::new(Arc::new(LocalMetrics::new(db, QueryOptions::default())));
    let started = Instant::now();
    let options = RcaOptions::default();
    let report = match mode {
        Mode::OnePass => explain(
            &backend,
            &WatchList::default(),
            &[],
            SPAN_START,
            end,
            &options,
        )
        .await
        .expect("analysis"),
        Mode::Live => {
            // Remember everything reported over the span (the default forgets after a day),
            // so RCA at the end sees all of it; detection itself is unchanged.
            let detector_options = DetectorOptions {
                remember_ms: span_ms + warm_up_ms,
                max_remembered: 1_000_000,
                ..DetectorOptions::default()
            };
            let mut detector = Detector::new(WatchList::default(), detector_options);
            let mut now = SPAN_START + 5 * 60_000;
            while now <= end {
                detector.scan(&backend, now).await.expect("scan");
                now += 5 * 60_000;
            }
            let (graph, _) = topology(&backend, detector.watch(), end).await;
            let known: Vec<_> = detector.known().cloned().collect();
            explain_anomalies(&known, &[], &graph, &options)
        }
    };
    let analysis = started.elapsed();
    let truths: Vec<TruthIncident> = simulator.incidents().iter().map(truth).collect();
    let kinds = truths
        .iter()
        .filter(|t| (SPAN_START..=end).contains(&t.start_ms))
        .map(|t| t.kind.clone())
        .collect();
    let evaluation = evaluate(
        &truths,
        &detected_incidents(&report),
        SPAN_START,
        end,
        SLACK_MS,
    );
    Run {
        evaluation,
        report,
        backfill,
        analysis,
        kinds,
    }
}
