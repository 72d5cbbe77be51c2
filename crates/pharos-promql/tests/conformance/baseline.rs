//! The recorded conformance state (`tests/promqltest-baseline.txt`): per file the evals that
//! passed, failed and were skipped, and which evals fail. A run is compared with it exactly, so
//! a new failure cannot hide behind a fix elsewhere, a skip cannot swallow a failing eval, and
//! a fixed eval must leave the list (else it could break again unnoticed).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One file's recorded outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Skipped evals by reason (they add up to `skipped`).
    pub skip_reasons: BTreeMap<String, usize>,
    /// Lines of the failing evals, with their query (for readers of the file only).
    pub failing: BTreeMap<usize, String>,
}

/// Outcomes by file name.
pub type Baseline = BTreeMap<String, FileOutcome>;

/// Parses the baseline text. Lines: `FILE passed N failed N skipped N`, then `  skip N REASON`
/// per skip reason and `  fail FILE:LINE  QUERY` per failing eval; `#` starts a comment line.
pub fn parse(text: &str) -> Result<Baseline, String> {
    let mut baseline = Baseline::new();
    let mut last_file = String::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = || format!("baseline line {}: cannot read {line:?}", number + 1);
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if let ["skip", count, reason @ ..] = words.as_slice() {
            let count: usize = count.parse().map_err(|_| bad())?;
            let outcome = baseline
                .get_mut(&last_file)
                .ok_or_else(|| format!("{}: `skip` before a file line", bad()))?;
            outcome.skip_reasons.insert(reason.join(" "), count);
        } else if let ["fail", eval, ..] = words.as_slice() {
            let (file, eval_line) = eval.rsplit_once(':').ok_or_else(bad)?;
            let eval_line: usize = eval_line.parse().map_err(|_| bad())?;
            let query = trimmed
                .split_once(eval)
                .map_or("", |(_, rest)| rest)
                .trim()
                .to_owned();
            let outcome = baseline
                .get_mut(file)
                .ok_or_else(|| format!("{}: `fail` before its file line", bad()))?;
            outcome.failing.insert(eval_line, query);
        } else if let [file, "passed", passed, "failed", failed, "skipped", skipped] =
            words.as_slice()
        {
            let count = |text: &str| text.parse::<usize>().map_err(|_| bad());
            let outcome = FileOutcome {
                passed: count(passed)?,
                failed: count(failed)?,
                skipped: count(skipped)?,
                skip_reasons: BTreeMap::new(),
                failing: BTreeMap::new(),
            };
            last_file = (*file).to_owned();
            if baseline.insert((*file).to_owned(), outcome).is_some() {
                return Err(format!("{}: {file} is listed twice", bad()));
            }
        } else {
            return Err(bad());
        }
    }
    for (file, outcome) in &baseline {
        let skips: usize = outcome.skip_reasons.values().sum();
        if skips != outcome.skipped {
            return Err(format!(
                "baseline: {file} says skipped {} but its skip lines add up to {skips}",
                outcome.skipped
            ));
        }
        if outcome.failing.len() != outcome.failed {
            return Err(format!(
                "baseline: {file} says failed {} but lists {} failing evals",
                outcome.failed,
                outcome.failing.len()
            ));
        }
    }
    Ok(baseline)
}

/// The baseline text for `outcomes` (the inverse of [`parse`]).
pub fn render(outcomes: &Baseline) -> String {
    let mut text = String::from(
        "# promqltest conformance baseline: for every file of shared/reference/promqltest the evals\n\
         # that passed, failed and were skipped, the skips by reason, and each failing eval\n\
         # (file:line, query).\n\
         # tests/promqltest.rs fails on ANY difference. After a deliberate change, regenerate with\n\
         #   PROMQLTEST_UPDATE_BASELINE=1 cargo test -p pharos-promql --test promqltest\n\
         # and review the diff: a line leaving the fail list is a fix, a line joining it a regression.\n",
    );
    for (file, outcome) in outcomes {
        let _ = writeln!(
            text,
            "{file} passed {} failed {} skipped {}",
            outcome.passed, outcome.failed, outcome.skipped
        );
        for (reason, count) in &outcome.skip_reasons {
            let _ = writeln!(text, "  skip {count} {reason}");
        }
        for (line, query) in &outcome.failing {
            let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(text, "  fail {file}:{line}  {query}");
        }
    }
    text
}

/// Every difference between the run and the baseline, as sentences. `complete` says the run
/// covered every file (not `PROMQLTEST_FILE`), so baseline files it did not see are errors.
pub fn differences(baseline: &Baseline, run: &Baseline, complete: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if complete {
        for file in baseline.keys().filter(|f| !run.contains_key(*f)) {
            problems.push(format!(
                "{file}: in the baseline but not in the suite (renamed or deleted? remove its entry)"
            ));
        }
    }
    for (file, now) in run {
        let Some(then) = baseline.get(file) else {
            problems.push(format!(
                "{file}: not in the baseline ({} passed, {} failed, {} skipped): add it",
                now.passed, now.failed, now.skipped
            ));
            continue;
        };
        let now_failing: BTreeSet<usize> = now.failing.keys().copied().collect();
        let then_failing: BTreeSet<usize> = then.failing.keys().copied().collect();
        for line in now_failing.difference(&then_failing) {
            problems.push(format!("{file}:{line}: NEW FAILURE: {}", now.failing[line]));
        }
        for line in then_failing.difference(&now_failing) {
            problems.push(format!(
                "{file}:{line}: listed as failing but no longer fails (fixed or skipped): update the baseline"
            ));
        }
        if now.skip_reasons != then.skip_reasons {
            problems.push(format!(
                "{file}: skipped {:?}, baseline {:?}",
                now.skip_reasons, then.skip_reasons
            ));
        }
        if now.passed != then.passed {
            problems.push(format!(
                "{file}: {} evals passed, baseline {}",
                now.passed, then.passed
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(passed: usize, skipped: usize, failing: &[usize]) -> FileOutcome {
        FileOutcome {
            passed,
            failed: failing.len(),
            skipped,
            skip_reasons: BTreeMap::from([("native histograms".to_owned(), skipped)])
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            failing: failing.iter().map(|l| (*l, format!("q{l}"))).collect(),
        }
    }

    fn one(file: &str, outcome: FileOutcome) -> Baseline {
        Baseline::from([(file.to_owned(), outcome)])
    }

    #[test]
    fn render_and_parse_round_trip() {
        let mut outcomes = one("a.test", outcome(10, 2, &[7, 30]));
        outcomes.insert("b.test".into(), outcome(3, 0, &[]));
        assert_eq!(parse(&render(&outcomes)).unwrap(), outcomes);
    }

    #[test]
    fn a_new_failure_is_caught_even_when_another_eval_was_fixed() {
        let baseline = one("a.test", outcome(10, 0, &[7]));
        let run = one("a.test", outcome(10, 0, &[8]));
        let problems = differences(&baseline, &run, true);
        assert!(
            problems.iter().any(|p| p.contains("a.test:8: NEW FAILURE")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("a.test:7: listed as failing")),
            "{problems:?}"
        );
    }

    #[test]
    fn more_skips_missing_files_and_stale_entries_are_caught() {
        let baseline = one("a.test", outcome(10, 1, &[]));
        let more_skipped = one("a.test", outcome(9, 2, &[]));
        let problems = differences(&baseline, &more_skipped, true);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("a.test: skipped {\"native histograms\": 2}")),
            "{problems:?}"
        );

        let renamed = one("b.test", outcome(10, 1, &[]));
        let problems = differences(&baseline, &renamed, true);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("a.test: in the baseline but not in the suite"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("b.test: not in the baseline"))
        );
        // One file selected: the others are not missing.
        assert!(differences(&baseline, &Baseline::new(), false).is_empty());
        assert!(differences(&baseline, &baseline, true).is_empty());
    }

    #[test]
    fn a_count_that_disagrees_with_its_fail_list_is_refused() {
        let text = "a.test passed 1 failed 2 skipped 0\n  fail a.test:3  up\n";
        assert!(parse(text).unwrap_err().contains("lists 1 failing"));
        let text = "a.test passed 1 failed 0 skipped 3\n  skip 2 native histograms\n";
        assert!(parse(text).unwrap_err().contains("add up to 2"));
        assert!(
            parse("a.test 125\n").is_err(),
            "the old floor format is not read as zero"
        );
    }
}
