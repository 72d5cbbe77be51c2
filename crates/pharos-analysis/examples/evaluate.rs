//! The full evaluation: the simulator backfills a warm-up day plus `--days` simulated days
//! (default 3) at a 60 s step, the default watch list is scanned over them, RCA groups and
//! ranks, and the injected incidents are scored.
//!
//! ```text
//! cargo run --release -p pharos-analysis --example evaluate -- --days 3 [--seed N] [--report] [--live]
//! ```
//!
//! `--live` runs the background detector instead of one pass: a scan every 5 simulated
//! minutes over the last 30, reporting new anomalies only, then RCA over what it reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // shared with the test, which uses other parts
#[path = "../tests/support/sim_run.rs"]
mod sim_run;

use sim_run::{HOUR, Mode, run_with};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut days: i64 = 3;
    let mut seed: u64 = 42;
    let mut report = false;
    let mut mode = Mode::OnePass;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--days" => days = args.next().and_then(|v| v.parse().ok()).expect("--days N"),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--report" => report = true,
            "--live" => mode = Mode::Live,
            other => panic!("unknown argument {other}; use --days N --seed N --report --live"),
        }
    }
    let started = std::time::Instant::now();
    let result = run_with(seed, 24 * HOUR, days * 24 * HOUR, mode).await;
    let e = &result.evaluation;
    if report {
        println!("{}", result.report.markdown());
    }
    println!(
        "seed {seed}, {days} simulated days after a warm-up day, 60 s step, {mode:?}; kinds: {:?}\n",
        result.kinds
    );
    println!("{}", e.table());
    println!(
        "found {}/{}, root cause first {:.1} %, false alarms {:.2} per day",
        e.total.found,
        e.total.incidents,
        100.0 * e.root_cause_ratio(),
        e.false_alarms_per_day()
    );
    println!(
        "backfill {:.1} s, analysis {:.1} s, total {:.1} s",
        result.backfill.as_secs_f64(),
        result.analysis.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for line in e.misses.iter().chain(&e.false_alarm_list) {
        println!("- {line}");
    }
}
