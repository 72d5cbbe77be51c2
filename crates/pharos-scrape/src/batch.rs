//! What one scrape writes: the scraped samples with target labels, staleness markers for
//! series that disappeared, and the per-target report series (`up`, ...).

use std::collections::HashSet;
use std::time::Duration;

use pharos_tsdb::{Db, DbError, Labels, METRIC_NAME_LABEL, STALE_NAN};

use crate::exposition::ParsedSample;
use crate::target::{Target, merge_labels};

/// 1 when the last scrape succeeded, 0 when it failed.
pub const UP_METRIC: &str = "up";
/// How long the last scrape took, in seconds.
pub const SCRAPE_DURATION_METRIC: &str = "scrape_duration_seconds";
/// How many samples the last scrape returned.
pub const SAMPLES_SCRAPED_METRIC: &str = "scrape_samples_scraped";

/// The series a target exposed at its last successful scrape (without explicit timestamps:
/// those are the exporter's business and never marked stale, as in Prometheus).
#[derive(Debug, Default)]
pub(crate) struct SeriesTracker {
    previous: HashSet<Labels>,
}

impl SeriesTracker {
    /// Records the series of a successful scrape; returns those that disappeared since.
    fn replace(&mut self, current: HashSet<Labels>) -> Vec<Labels> {
        let gone = self.previous.difference(&current).cloned().collect();
        self.previous = current;
        gone
    }

    /// A failed scrape: every series of the previous one is gone.
    fn clear(&mut self) -> Vec<Labels> {
        self.previous.drain().collect()
    }
}

/// The outcome of one scrape as the report series show it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScrapeReport {
    pub up: bool,
    pub duration: Duration,
    pub samples_scraped: usize,
}

/// Samples ready to append, plus the samples dropped because their labels were invalid.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub samples: Vec<(Labels, i64, f64)>,
    pub invalid_labels: usize,
    pub first_label_error: Option<String>,
}

/// Builds everything one scrape appends at `timestamp`. `scraped` is `None` for a failed
/// scrape, which marks every previously seen series stale.
pub(crate) fn build_batch(
    target: &Target,
    tracker: &mut SeriesTracker,
    scraped: Option<&[ParsedSample]>,
    report: ScrapeReport,
    timestamp: i64,
) -> Batch {
    let mut batch = Batch::default();
    let gone = match scraped {
        Some(samples) => {
            let mut current = HashSet::with_capacity(samples.len());
            batch.samples.reserve(samples.len() + 3);
            for sample in samples {
                match merge_labels(sample, &target.labels, target.honor_labels) {
                    Ok(labels) => {
                        let t = match sample.timestamp_ms {
                            Some(explicit) if target.honor_timestamps => explicit,
                            _ => {
                                current.insert(labels.clone());
                                timestamp
                            }
                        };
                        batch.samples.push((labels, t, sample.value));
                    }
                    Err(error) => {
                        batch.invalid_labels += 1;
                        batch
                            .first_label_error
                            .get_or_insert_with(|| error.to_string());
                    }
                }
            }
            tracker.replace(current)
        }
        None => tracker.clear(),
    };
    batch.samples.extend(
        gone.into_iter()
            .map(|labels| (labels, timestamp, STALE_NAN)),
    );
    let report_values = [
        (UP_METRIC, if report.up { 1.0 } else { 0.0 }),
        (SCRAPE_DURATION_METRIC, report.duration.as_secs_f64()),
        (SAMPLES_SCRAPED_METRIC, report.samples_scraped as f64),
    ];
    for (name, value) in report_values {
        let pairs = std::iter::once((METRIC_NAME_LABEL, name)).chain(
            target
                .labels
                .iter()
                .map(|label| (label.name.as_str(), label.value.as_str())),
        );
        // Target labels were validated when the target was built, so this cannot fail.
        if let Ok(labels) = Labels::new(pairs) {
            batch.samples.push((labels, timestamp, value));
        }
    }
    batch
}

/// What the store did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AppendOutcome {
    pub stored: usize,
    pub rejected: usize,
    pub first_rejection: Option<String>,
}

/// Appends and commits a batch (blocking: the commit fsyncs the WAL).
pub(crate) fn append_batch(
    db: &Db,
    samples: &[(Labels, i64, f64)],
) -> Result<AppendOutcome, DbError> {
    let mut outcome = AppendOutcome::default();
    let mut appender = db.appender();
    for (labels, t, v) in samples {
        if let Err(error) = appender.append(labels, *t, *v) {
            outcome.rejected += 1;
            outcome
                .first_rejection
                .get_or_insert_with(|| format!("{labels}: {error}"));
        }
    }
    let summary = appender.commit()?;
    outcome.stored = summary.samples;
    outcome.rejected += summary.rejected;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScrapeConfig;
    use crate::target::targets_of;
    use pharos_tsdb::is_stale_nan;

    fn target() -> Target {
        targets_of(&ScrapeConfig::new("api", ["h:1"]))
            .unwrap()
            .remove(0)
    }

    fn sample(name: &str, timestamp_ms: Option<i64>) -> ParsedSample {
        ParsedSample {
            name: name.into(),
            labels: vec![],
            value: 2.0,
            timestamp_ms,
        }
    }

    fn report(up: bool, samples_scraped: usize) -> ScrapeReport {
        ScrapeReport {
            up,
            duration: Duration::from_millis(250),
            samples_scraped,
        }
    }

    fn value_of(batch: &Batch, name: &str) -> Vec<(i64, f64)> {
        batch
            .samples
            .iter()
            .filter(|(labels, _, _)| labels.metric_name() == Some(name))
            .map(|(_, t, v)| (*t, *v))
            .collect()
    }

    #[test]
    fn report_series_describe_the_scrape() {
        let target = target();
        let mut tracker = SeriesTracker::default();
        let samples = [sample("a", None), sample("b", None)];
        let batch = build_batch(
            &target,
            &mut tracker,
            Some(&samples),
            report(true, 2),
            15_000,
        );
        assert_eq!(value_of(&batch, "up"), [(15_000, 1.0)]);
        assert_eq!(
            value_of(&batch, "scrape_duration_seconds"),
            [(15_000, 0.25)]
        );
        assert_eq!(value_of(&batch, "scrape_samples_scraped"), [(15_000, 2.0)]);
        let up = &batch
            .samples
            .iter()
            .find(|s| s.0.metric_name() == Some("up"))
            .unwrap()
            .0;
        assert_eq!(up.get("job"), Some("api"));
        assert_eq!(up.get("instance"), Some("h:1"));
        assert_eq!(value_of(&batch, "a"), [(15_000, 2.0)]);
    }

    #[test]
    fn vanished_series_and_failed_scrapes_get_stale_markers() {
        let target = target();
        let mut tracker = SeriesTracker::default();
        let first = [
            sample("a", None),
            sample("b", None),
            sample("c", Some(1_000)),
        ];
        build_batch(&target, &mut tracker, Some(&first), report(true, 3), 15_000);

        let second = [sample("a", None)];
        let batch = build_batch(
            &target,
            &mut tracker,
            Some(&second),
            report(true, 1),
            30_000,
        );
        let b = value_of(&batch, "b");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].0, 30_000);
        assert!(is_stale_nan(b[0].1), "b disappeared: stale marker");
        assert!(
            value_of(&batch, "c").is_empty(),
            "explicit timestamps are never marked stale"
        );

        let failed = build_batch(&target, &mut tracker, None, report(false, 0), 45_000);
        let a = value_of(&failed, "a");
        assert!(
            a.len() == 1 && is_stale_nan(a[0].1),
            "target down: a is stale"
        );
        assert_eq!(value_of(&failed, "up"), [(45_000, 0.0)]);

        let again = build_batch(&target, &mut tracker, None, report(false, 0), 60_000);
        assert!(
            value_of(&again, "a").is_empty(),
            "stale markers are written once"
        );
    }

    #[test]
    fn explicit_timestamps_are_kept_unless_disabled() {
        let mut target = target();
        let mut tracker = SeriesTracker::default();
        let samples = [sample("a", Some(1_000))];
        let batch = build_batch(
            &target,
            &mut tracker,
            Some(&samples),
            report(true, 1),
            15_000,
        );
        assert_eq!(value_of(&batch, "a"), [(1_000, 2.0)]);
        target.honor_timestamps = false;
        let batch = build_batch(
            &target,
            &mut tracker,
            Some(&samples),
            report(true, 1),
            30_000,
        );
        assert_eq!(value_of(&batch, "a"), [(30_000, 2.0)]);
    }

    #[test]
    fn invalid_labels_drop_only_that_sample() {
        let target = target();
        let mut tracker = SeriesTracker::default();
        let mut bad = sample("a", None);
        bad.labels.push(("__name__".into(), "other".into()));
        let samples = [bad, sample("b", None)];
        let batch = build_batch(
            &target,
            &mut tracker,
            Some(&samples),
            report(true, 2),
            15_000,
        );
        assert_eq!(batch.invalid_labels, 1);
        assert!(
            batch
                .first_label_error
                .as_deref()
                .unwrap()
                .contains("duplicate")
        );
        assert_eq!(value_of(&batch, "b").len(), 1);
    }
}
