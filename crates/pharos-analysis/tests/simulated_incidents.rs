//! Over a simulated span (a warm-up day for the seasonal baseline, then six hours that hold
//! every incident kind), the default watch list finds every injected incident, ranks its
//! root cause first in at least 90 % of them and raises at most one false alarm per
//! simulated day. The full three-day run is `examples/evaluate.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // shared with the example, which uses other parts
#[path = "support/sim_run.rs"]
mod sim_run;

use sim_run::{HOUR, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detector_finds_the_simulated_incidents_and_their_root_causes() {
    let result = run(42, 24 * HOUR, 6 * HOUR).await;
    let e = &result.evaluation;
    eprintln!(
        "{}\nbackfill {:?}, analysis {:?}\n{:#?}\n{:#?}",
        e.table(),
        result.backfill,
        result.analysis,
        e.misses,
        e.false_alarm_list
    );
    if std::env::var_os("PHAROS_ANALYSIS_REPORT").is_some() {
        eprintln!("{}", result.report.markdown());
    }
    assert_eq!(
        result.kinds.len(),
        4,
        "the span holds every kind: {:?}",
        result.kinds
    );
    assert_eq!(
        e.total.found, e.total.incidents,
        "every incident found: {:?}",
        e.misses
    );
    assert!(
        e.root_cause_ratio() >= 0.9,
        "root cause first in >= 90 %: {:?}",
        e.misses
    );
    assert!(
        e.false_alarms_per_day() <= 1.0,
        "at most one false alarm per day: {:?}",
        e.false_alarm_list
    );
}
