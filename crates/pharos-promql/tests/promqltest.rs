//! Runs every Prometheus `promqltest` script in `shared/reference/promqltest/` against
//! the engine, prints a per-file table, and fails if any file passes fewer evals than
//! recorded in `tests/promqltest-baseline.txt`.
//!
//! `PROMQLTEST_FILE=<name>` limits the run to one file; `PROMQLTEST_VERBOSE=1` prints
//! every failure (otherwise the first few per file); `PROMQLTEST_SHOW_SKIPPED=1` lists
//! skipped evals with their reason; `PROMQLTEST_SHOW_ERRORS=1` prints query errors.

mod conformance;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pharos_promql::{Engine, EngineOptions};

use conformance::runner::{FileReport, run_file};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/promqltest")
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest-baseline.txt")
}

/// `file passed` lines; `#` starts a comment.
fn read_baseline() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(baseline_path()).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next()?.trim();
            let (f, n) = l.split_once(char::is_whitespace)?;
            Some((f.to_string(), n.trim().parse().ok()?))
        })
        .collect()
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
    let baseline = read_baseline();
    let mut regressions = Vec::new();
    let mut improvements = Vec::new();
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
        let floor = baseline.get(&name).copied().unwrap_or(0);
        if r.passed < floor {
            regressions.push(format!("{name}: {} passed, baseline {floor}", r.passed));
        } else if r.passed > floor {
            improvements.push(format!("{name} {}", r.passed));
        }
    }
    println!(
        "{:<28} {:>6}/{:<6}  {total_skip}",
        "TOTAL", total_pass, total_run
    );
    if !improvements.is_empty() && only.is_none() {
        println!(
            "hint: pass counts above the baseline; raise {}:\n  {}",
            baseline_path().display(),
            improvements.join("\n  ")
        );
    }
    assert!(
        regressions.is_empty(),
        "conformance regressions:\n{}",
        regressions.join("\n")
    );
}
