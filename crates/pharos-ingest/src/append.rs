//! The append path: a decoded request goes into the store as one batch. Good samples are
//! stored even when others are rejected (partial write); every rejection is counted by reason
//! and the first few are described so the sender can see what was wrong.

use std::fmt;

use pharos_tsdb::{AppendError, Appender, Db, DbError};

use crate::decode::DecodedWrite;
use crate::limits::Limit;
use crate::request::SeriesView;

/// How many rejection messages a report keeps; the counts cover all of them.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// Why a sample was not stored. [`RejectReason::as_str`] is the `reason` label of
/// `pharos_tsdb_rejected_samples_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The series' labels break Prometheus' rules (bad name, duplicate name, empty set).
    InvalidLabels,
    /// The series already has a newer sample.
    OutOfOrder,
    /// Older than anything the store still accepts.
    OutOfBounds,
    /// A different value is already stored at that timestamp.
    DuplicateTimestamp,
    /// Native histogram samples, which the store does not support yet.
    NativeHistogram,
    /// Passed the checks but lost a race against a concurrent write at commit.
    Conflict,
    /// Newer than the store's clock plus `tsdb.future_sample_tolerance`.
    TooFarInFuture,
    /// The series has more labels than `remote_write.max_labels_per_series`.
    TooManyLabels,
    /// A label name is longer than `remote_write.max_label_name_length`.
    LabelNameTooLong,
    /// A label value is longer than `remote_write.max_label_value_length`.
    LabelValueTooLong,
}

impl RejectReason {
    /// Every reason, for initialising counters.
    pub const ALL: [Self; 10] = [
        Self::InvalidLabels,
        Self::OutOfOrder,
        Self::OutOfBounds,
        Self::DuplicateTimestamp,
        Self::NativeHistogram,
        Self::Conflict,
        Self::TooFarInFuture,
        Self::TooManyLabels,
        Self::LabelNameTooLong,
        Self::LabelValueTooLong,
    ];

    /// Stable snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidLabels => "invalid_labels",
            Self::OutOfOrder => "out_of_order",
            Self::OutOfBounds => "out_of_bounds",
            Self::DuplicateTimestamp => "duplicate_timestamp",
            Self::NativeHistogram => "native_histogram",
            Self::Conflict => "conflict",
            Self::TooFarInFuture => "too_far_in_future",
            Self::TooManyLabels => "too_many_labels",
            Self::LabelNameTooLong => "label_name_too_long",
            Self::LabelValueTooLong => "label_value_too_long",
        }
    }

    /// The reason for the samples of a series refused by a label limit.
    pub(crate) fn of_series_limit(limit: Limit) -> Self {
        match limit {
            Limit::LabelNameLength => Self::LabelNameTooLong,
            Limit::LabelValueLength => Self::LabelValueTooLong,
            Limit::LabelsPerSeries => Self::TooManyLabels,
            // Request-wide limits refuse the whole request and never reach a series; should
            // one be passed anyway, its samples still count as refused for their labels.
            Limit::DecompressedBytes
            | Limit::SeriesPerRequest
            | Limit::SamplesPerRequest
            | Limit::MetadataPerRequest => Self::InvalidLabels,
        }
    }

    fn of(error: &AppendError) -> Self {
        match error {
            AppendError::OutOfOrder { .. } => Self::OutOfOrder,
            AppendError::TooOld { .. } => Self::OutOfBounds,
            AppendError::TooFarInFuture { .. } => Self::TooFarInFuture,
            AppendError::DuplicateSampleForTimestamp { .. } => Self::DuplicateTimestamp,
            AppendError::EmptyLabels => Self::InvalidLabels,
            // Appending by labels never yields these; count them as lost races.
            AppendError::UnknownSeries(_) | AppendError::Chunk(_) => Self::Conflict,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one request did to the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Samples of the request now stored (durable: the WAL was fsynced). Re-sent samples that
    /// were already stored count as accepted.
    pub accepted: usize,
    /// Rejected samples per reason (only reasons that occurred, in [`RejectReason`] order).
    pub rejected: Vec<(RejectReason, usize)>,
    /// The first [`MAX_REPORTED_ERRORS`] rejections, each naming the series.
    pub errors: Vec<String>,
    /// Series refused for a label limit, per limit (each is one `pharos_refusals_total`).
    pub refused_series: Vec<(Limit, usize)>,
}

impl WriteReport {
    /// Total rejected samples.
    pub fn rejected_total(&self) -> usize {
        self.rejected.iter().map(|(_, n)| n).sum()
    }

    /// True when every sample was stored: only then may the sender be told "204 No Content".
    pub fn is_complete(&self) -> bool {
        self.rejected_total() == 0
    }

    /// Records a series refused for a label limit.
    pub(crate) fn refuse(&mut self, limit: Limit) {
        match self.refused_series.iter_mut().find(|(l, _)| *l == limit) {
            Some((_, n)) => *n += 1,
            None => {
                self.refused_series.push((limit, 1));
                self.refused_series.sort_by_key(|(l, _)| *l);
            }
        }
    }

    pub(crate) fn reject(
        &mut self,
        reason: RejectReason,
        count: usize,
        message: impl FnOnce() -> String,
    ) {
        if count == 0 {
            return;
        }
        match self.rejected.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += count,
            None => {
                self.rejected.push((reason, count));
                self.rejected.sort_by_key(|(r, _)| *r);
            }
        }
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(message());
        }
    }

    /// A Prometheus-style, one-error-per-line description for the HTTP answer.
    pub fn describe(&self) -> String {
        let total = self.rejected_total();
        let mut text = self.errors.join("\n");
        if total > self.errors.len() {
            text.push_str(&format!(
                "\n... and {} more rejected samples",
                total - self.errors.len()
            ));
        }
        let counts: Vec<String> = self
            .rejected
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        text.push_str(&format!(
            "\naccepted {} samples, rejected {total} ({})",
            self.accepted,
            counts.join(", ")
        ));
        text
    }
}

/// Appends every series of a decoded request to `db` in one batch and commits it (WAL +
/// fsync). Rejected samples are added to the refusals the decoder reported, never fatal; an
/// error means nothing was stored.
pub fn append_write_request(db: &Db, decoded: &DecodedWrite) -> Result<WriteReport, DbError> {
    let mut report = decoded.report.clone();
    let mut appender = db.appender();
    let appended = add_series(&mut appender, decoded, &mut report);
    let summary = appender.commit()?;
    report.reject(RejectReason::Conflict, summary.rejected, || {
        format!(
            "{} samples conflicted with a concurrent write to the same series and were dropped; send each series from one sender, in time order",
            summary.rejected
        )
    });
    report.accepted = appended.saturating_sub(summary.rejected);
    Ok(report)
}

/// Adds every series of the request to the batch, reporting rejections; returns how many
/// samples were accepted before commit.
pub(crate) fn add_series(
    appender: &mut Appender<'_>,
    decoded: &DecodedWrite,
    report: &mut WriteReport,
) -> usize {
    let mut appended = 0usize;
    // One vector of borrowed labels for the whole request: the store sorts and checks it in
    // place, and looks the series up without building its label set unless it is new.
    let mut labels: Vec<(&str, &str)> = Vec::new();
    for series in decoded.request.series() {
        let histograms = series.histograms().len();
        if histograms > 0 {
            report.reject(RejectReason::NativeHistogram, histograms, || {
                format!(
                    "native histograms are not supported yet: {histograms} histogram samples of series {} dropped; send classic histograms (_bucket series) instead",
                    display_labels(&series)
                )
            });
        }
        let samples = series.samples();
        if samples.is_empty() {
            continue;
        }
        labels.clear();
        labels.extend(series.labels());
        let added = appender.append_series_pairs(
            &mut labels,
            samples.iter().map(|s| (s.timestamp, s.value)),
            |error, labels| {
                report.reject(RejectReason::of(&error), 1, || {
                    format!("{error}; series {labels}")
                });
            },
        );
        match added {
            Ok(accepted) => appended += accepted,
            // Prometheus' messages for what is wrong with the labels, shown as sent.
            Err(reason) => report.reject(RejectReason::InvalidLabels, samples.len(), || {
                format!("series {}: {reason}", display_labels(&series))
            }),
        }
    }
    appended
}

/// The labels as sent (unsorted, possibly invalid), in PromQL-like form.
fn display_labels(series: &SeriesView<'_>) -> String {
    let pairs: Vec<String> = series
        .labels()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use pharos_tsdb::{Matcher, Options};

    use super::*;
    use crate::proto::{Label, Sample, TimeSeries, WriteRequest};

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            histograms: vec![],
        }
    }

    fn request(timeseries: Vec<TimeSeries>) -> DecodedWrite {
        WriteRequest {
            timeseries,
            metadata: vec![],
        }
        .into()
    }

    fn stored(db: &Db, name: &str) -> Vec<(i64, f64)> {
        db.select(&[Matcher::equal("__name__", name)], i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .flat_map(|s| s.samples.into_iter().map(|x| (x.t, x.v)))
            .collect()
    }

    #[test]
    fn a_clean_request_is_complete_and_queryable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let report = append_write_request(
            &db,
            &request(vec![series(
                &[("__name__", "up"), ("job", "a")],
                &[(1000, 1.0), (2000, 0.0)],
            )]),
        )
        .unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.accepted, 2);
        assert_eq!(stored(&db, "up"), [(1000, 1.0), (2000, 0.0)]);
    }

    #[test]
    fn bad_labels_reject_their_series_and_keep_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let report = append_write_request(
            &db,
            &request(vec![
                series(&[("__name__", "good")], &[(1000, 1.0)]),
                series(&[("__name__", "bad"), ("1abc", "x")], &[(1000, 1.0)]),
                series(
                    &[("__name__", "dup"), ("a", "1"), ("a", "2")],
                    &[(1000, 1.0)],
                ),
                series(&[("__name__", "")], &[(1000, 1.0), (2000, 1.0)]),
                series(&[("__name__", "bad-name")], &[(1000, 1.0)]),
            ]),
        )
        .unwrap();
        assert_eq!(report.accepted, 1);
        assert_eq!(report.rejected, [(RejectReason::InvalidLabels, 5)]);
        let text = report.describe();
        assert!(text.contains("invalid label name \"1abc\""), "{text}");
        assert!(text.contains("duplicate label name \"a\""), "{text}");
        assert!(text.contains("empty label set"), "{text}");
        assert!(text.contains("invalid metric name \"bad-name\""), "{text}");
        assert_eq!(stored(&db, "good"), [(1000, 1.0)]);
        assert!(stored(&db, "bad").is_empty());
    }

    #[test]
    fn without_a_window_out_of_order_and_duplicates_are_partial_writes() {
        let dir = tempfile::tempdir().unwrap();
        let strict = Options {
            out_of_order_window: std::time::Duration::ZERO,
            ..Options::default()
        };
        let db = Db::open(dir.path(), strict).unwrap();
        let labels = [("__name__", "m")];
        append_write_request(&db, &request(vec![series(&labels, &[(5000, 5.0)])])).unwrap();
        let report = append_write_request(
            &db,
            &request(vec![series(
                &labels,
                &[(4000, 4.0), (5000, 5.0), (5000, 9.0), (6000, 6.0)],
            )]),
        )
        .unwrap();
        assert!(!report.is_complete());
        assert_eq!(
            report.rejected,
            [
                (RejectReason::OutOfOrder, 1),
                (RejectReason::DuplicateTimestamp, 1)
            ]
        );
        // The identical re-send of 5000 counts as accepted; 6000 is new.
        assert_eq!(report.accepted, 2);
        let text = report.describe();
        assert!(text.starts_with("out of order sample"), "{text}");
        assert!(text.contains("series m{}"), "{text}");
        assert_eq!(stored(&db, "m"), [(5000, 5.0), (6000, 6.0)]);
    }

    #[test]
    fn within_the_window_late_samples_are_stored_and_conflicts_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let labels = [("__name__", "m")];
        append_write_request(&db, &request(vec![series(&labels, &[(5000, 5.0)])])).unwrap();
        let report = append_write_request(
            &db,
            &request(vec![series(
                &labels,
                &[(4000, 4.0), (5000, 5.0), (5000, 9.0), (6000, 6.0)],
            )]),
        )
        .unwrap();
        assert_eq!(report.rejected, [(RejectReason::DuplicateTimestamp, 1)]);
        assert_eq!(report.accepted, 3);
        assert_eq!(stored(&db, "m"), [(4000, 4.0), (5000, 5.0), (6000, 6.0)]);
    }

    #[test]
    fn too_old_samples_are_out_of_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let day = 24 * 3600 * 1000;
        append_write_request(
            &db,
            &request(vec![series(&[("__name__", "a")], &[(day, 1.0)])]),
        )
        .unwrap();
        let report = append_write_request(
            &db,
            &request(vec![series(&[("__name__", "b")], &[(1, 1.0)])]),
        )
        .unwrap();
        assert_eq!(report.rejected, [(RejectReason::OutOfBounds, 1)]);
        assert!(report.describe().starts_with("out of bounds"));
    }

    #[test]
    fn native_histograms_are_counted_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut with_histogram = series(&[("__name__", "h")], &[]);
        with_histogram.histograms = vec![vec![0x18, 0x01]];
        let report = append_write_request(&db, &request(vec![with_histogram])).unwrap();
        assert_eq!(report.rejected, [(RejectReason::NativeHistogram, 1)]);
        assert!(report.describe().contains("native histograms"));
    }

    #[test]
    fn only_the_first_errors_are_described() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let bad: Vec<TimeSeries> = (0..25)
            .map(|i| series(&[("__name__", "x"), ("9", &i.to_string())], &[(1, 1.0)]))
            .collect();
        let report = append_write_request(&db, &request(bad)).unwrap();
        assert_eq!(report.errors.len(), MAX_REPORTED_ERRORS);
        assert_eq!(report.rejected_total(), 25);
        assert!(report.describe().contains("and 15 more"));
    }

    #[test]
    fn future_samples_are_rejected_and_the_rest_of_the_request_lands() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let hour = 3_600_000;
        let report = append_write_request(
            &db,
            &request(vec![
                series(&[("__name__", "late")], &[(now + 2 * hour, 1.0)]),
                series(&[("__name__", "max")], &[(i64::MAX, 1.0)]),
                series(&[("__name__", "fine")], &[(now - 1000, 1.0), (now, 2.0)]),
            ]),
        )
        .unwrap();
        assert_eq!(report.accepted, 2);
        assert_eq!(report.rejected, [(RejectReason::TooFarInFuture, 2)]);
        let text = report.describe();
        assert!(
            text.starts_with("too far in the future") && text.contains("series late{}"),
            "{text}"
        );
        assert_eq!(stored(&db, "fine"), [(now - 1000, 1.0), (now, 2.0)]);
        assert!(stored(&db, "late").is_empty());
    }
}
