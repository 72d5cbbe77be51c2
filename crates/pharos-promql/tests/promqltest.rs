//! Runs every Prometheus `promqltest` script in `shared/reference/promqltest/` against
//! the engine, prints a per-file table, and compares the outcome with
//! `tests/promqltest-baseline.txt` exactly (see `conformance::baseline`): a new failing eval,
//! a changed pass or skip count, a file missing from the baseline or a baseline entry without
//! a file fails the test.
//!
//! `PROMQLTEST_FILE=<name>` limits the run to one file; `PROMQLTEST_VERBOSE=1` prints
//! every failure (otherwise the first few per file); `PROMQLTEST_SHOW_SKIPPED=1` lists
//! skipped evals with their reason; `PROMQLTEST_UPDATE_BASELINE=1` rewrites the baseline from
//! this run (review its diff).

mod conformance;

use std::path::{Path, PathBuf};

use pharos_promql::{Engine, EngineOptions};

use conformance::baseline::{self, Baseline, FileOutcome};
use conformance::runner::{FileReport, run_file};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/promqltest")
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest-baseline.txt")
}

fn read_baseline() -> Baseline {
    let path = baseline_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    baseline::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn skipped_summary(r: &FileReport) -> String {
    if r.skipped.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
    parts.join("; ")
}

#[test]
fn promqltest_conformance() {
    let dir = suite_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let only = std::env::var("PROMQLTEST_FILE").ok();
    let verbose = std::env::var("PROMQLTEST_VERBOSE").is_ok();
    let engine = Engine::new(EngineOptions {
        timeout: Some(std::time::Duration::from_secs(60)),
        ..EngineOptions::default()
    });
    let mut outcomes = Baseline::new();
    let (mut total_pass, mut total_run, mut total_skip) = (0, 0, 0);
    println!("{:<28} {:>13}  skipped (reason)", "file", "passed/total");
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
        let r = run_file(&name, &text, &engine);
        let skipped: usize = r.skipped.values().sum();
        println!(
            "{:<28} {:>6}/{:<6}  {} {}",
            name,
            r.passed,
            r.total(),
            skipped,
            if skipped > 0 {
                format!("({})", skipped_summary(&r))
            } else {
                String::new()
            }
        );
        let shown = if verbose {
            r.failures.len()
        } else {
            5.min(r.failures.len())
        };
        for f in &r.failures[..shown] {
            println!("    FAIL {f}");
        }
        if std::env::var("PROMQLTEST_SHOW_SKIPPED").is_ok() {
            for s in &r.skips {
                println!("    SKIP {s}");
            }
        }
        total_pass += r.passed;
        total_run += r.total();
        total_skip += skipped;
        outcomes.insert(
            name,
            FileOutcome {
                passed: r.passed,
                failed: r.failed,
                skipped,
                skip_reasons: r.skipped,
                failing: r.failed_evals.into_iter().collect(),
            },
        );
    }
    println!(
        "{:<28} {:>6}/{:<6}  {total_skip}",
        "TOTAL", total_pass, total_run
    );
    if std::env::var("PROMQLTEST_UPDATE_BASELINE").is_ok_and(|v| v == "1") {
        assert!(
            only.is_none(),
            "PROMQLTEST_UPDATE_BASELINE needs the whole suite: unset PROMQLTEST_FILE"
        );
        std::fs::write(baseline_path(), baseline::render(&outcomes)).unwrap();
        println!("wrote {}", baseline_path().display());
        return;
    }
    if let Some(only) = &only {
        assert!(
            outcomes.contains_key(only),
            "PROMQLTEST_FILE={only}: no such file in {}",
            dir.display()
        );
    }
    let problems = baseline::differences(&read_baseline(), &outcomes, only.is_none());
    assert!(
        problems.is_empty(),
        "conformance differs from {} (if the change is intended, rerun with \
         PROMQLTEST_UPDATE_BASELINE=1 and review the diff):\n  {}",
        baseline_path().display(),
        problems.join("\n  ")
    );
}
