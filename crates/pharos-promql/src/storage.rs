//! The read contract between the engine and a store, plus an in-memory store.

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::EvalError;
use crate::labels::Labels;

/// Bit pattern of the staleness marker: a NaN that ends a series for lookback purposes.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness-marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `f` is a staleness marker (and not an ordinary NaN).
pub fn is_stale_nan(f: f64) -> bool {
    f.to_bits() == STALE_NAN_BITS
}

/// How a [`LabelMatcher`] compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored, `.` also matches newlines as in Prometheus 3)
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher of a selector. A missing label matches as the empty string.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    /// Label name.
    pub name: String,
    /// Comparison kind.
    pub kind: MatchKind,
    /// The literal value or the regular expression source as written by the user.
    pub value: String,
    regex: Option<Regex>,
}

impl LabelMatcher {
    /// Builds a matcher; regular expressions are anchored at both ends.
    pub fn new(kind: MatchKind, name: &str, value: &str) -> Result<Self, EvalError> {
        let regex = match kind {
            MatchKind::Regex | MatchKind::NotRegex => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    EvalError::InvalidQuery(format!(
                        "invalid regular expression {value:?} in label matcher: {e}"
                    ))
                })?)
            }
            MatchKind::Equal | MatchKind::NotEqual => None,
        };
        Ok(Self::with_regex(kind, name, value, regex))
    }

    /// Builds a matcher from an already-compiled, already-anchored regex.
    pub(crate) fn with_regex(
        kind: MatchKind,
        name: &str,
        value: &str,
        regex: Option<Regex>,
    ) -> Self {
        LabelMatcher {
            name: name.to_string(),
            kind,
            value: value.to_string(),
            regex,
        }
    }

    /// An `=` matcher.
    pub fn equal(name: &str, value: &str) -> Self {
        Self::with_regex(MatchKind::Equal, name, value, None)
    }

    /// Whether a label value (`""` for a missing label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.kind {
            MatchKind::Equal => self.value == value,
            MatchKind::NotEqual => self.value != value,
            MatchKind::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchKind::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether a whole label set satisfies the matcher.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get_or_empty(&self.name))
    }
}

/// One series returned by a [`SeriesSource`]: labels and its samples `(timestamp ms, value)`
/// in ascending time order. Staleness markers are kept as samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in ascending timestamp order.
    pub samples: Vec<(i64, f64)>,
}

/// The evaluation steps a selection is read for: the windows `(end - range, end]` with `end`
/// running from `first_end` to `last_end` by `step`. The engine looks at no sample outside
/// them, so a store may leave those out (see [`SeriesSource::select_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepWindows {
    /// End of the first window (ms).
    pub first_end: i64,
    /// End of the last window (ms).
    pub last_end: i64,
    /// Distance between window ends (ms).
    pub step: i64,
    /// Length of each window (ms).
    pub range: i64,
}

impl StepWindows {
    /// Earliest timestamp inside a window (inclusive).
    pub fn mint(&self) -> i64 {
        self.first_end.saturating_sub(self.range).saturating_add(1)
    }

    /// Latest timestamp inside a window (inclusive).
    pub fn maxt(&self) -> i64 {
        self.last_end
    }

    /// Whether `t` lies in some window.
    pub fn contains(&self, t: i64) -> bool {
        if t < self.mint() || t > self.maxt() {
            return false;
        }
        if self.step <= 0 || t <= self.first_end {
            return true;
        }
        // The first window ending at or after `t` is the only one that can hold it.
        let behind = i128::from(t) - i128::from(self.first_end);
        let step = i128::from(self.step);
        let end = i128::from(self.first_end) + (behind + step - 1) / step * step;
        end <= i128::from(self.last_end) && i128::from(t) > end - i128::from(self.range)
    }
}

/// Read access to stored series. The engine calls it once per selector evaluation.
pub trait SeriesSource: Send + Sync {
    /// All series matching every matcher, with their samples in `[start_ms, end_ms]`.
    /// Series without samples in the range may be omitted.
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, EvalError>;

    /// Calls `f` with every series [`SeriesSource::select`] would return. The engine
    /// consumes series one at a time through this method, so a store that decodes
    /// series lazily should override it to keep query memory bounded.
    fn select_each(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        for s in self.select(matchers, start_ms, end_ms)? {
            f(s)?;
        }
        Ok(())
    }

    /// Calls `f` with the series matching every matcher and their samples in `windows`: what
    /// [`SeriesSource::select_each`] returns over `[windows.mint(), windows.maxt()]`, except
    /// that samples between windows may be left out (and series with none inside). A week of
    /// `rate(x[5m])` at a 35-minute step needs a seventh of the samples; a store that can skip
    /// the rest cheaply should override this. The default returns the whole range.
    fn select_windows(
        &self,
        matchers: &[LabelMatcher],
        windows: &StepWindows,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        self.select_each(matchers, windows.mint(), windows.maxt(), f)
    }

    /// Sorted, unique label names of series matching the matchers (all series when empty)
    /// that have samples in the range.
    fn label_names(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError>;

    /// Sorted, unique values of label `name` among matching series in the range.
    fn label_values(
        &self,
        name: &str,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError>;
}

/// A simple in-memory [`SeriesSource`] for tests and small data sets.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    series: BTreeMap<Labels, BTreeMap<i64, f64>>,
}

impl MemorySource {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or overwrites) one sample.
    pub fn add_sample(&mut self, labels: Labels, t_ms: i64, value: f64) {
        self.series.entry(labels).or_default().insert(t_ms, value);
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// Number of series held.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    fn matching<'a>(
        &'a self,
        matchers: &'a [LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = (&'a Labels, Vec<(i64, f64)>)> + 'a {
        self.series.iter().filter_map(move |(labels, samples)| {
            if !matchers.iter().all(|m| m.matches_labels(labels)) {
                return None;
            }
            let in_range: Vec<(i64, f64)> = samples
                .range(start_ms..=end_ms)
                .map(|(t, v)| (*t, *v))
                .collect();
            (!in_range.is_empty()).then_some((labels, in_range))
        })
    }
}

impl SeriesSource for MemorySource {
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, EvalError> {
        Ok(self
            .matching(matchers, start_ms, end_ms)
            .map(|(labels, samples)| Series {
                labels: labels.clone(),
                samples,
            })
            .collect())
    }

    /// Leaves out every sample outside the windows, as a store may: the conformance suite
    /// then checks that the engine never looks at one.
    fn select_windows(
        &self,
        matchers: &[LabelMatcher],
        windows: &StepWindows,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        for (labels, mut samples) in self.matching(matchers, windows.mint(), windows.maxt()) {
            samples.retain(|(t, _)| windows.contains(*t));
            if !samples.is_empty() {
                f(Series {
                    labels: labels.clone(),
                    samples,
                })?;
            }
        }
        Ok(())
    }

    fn label_names(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError> {
        let mut names: Vec<String> = self
            .matching(matchers, start_ms, end_ms)
            .flat_map(|(labels, _)| labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError> {
        let mut values: Vec<String> = self
            .matching(matchers, start_ms, end_ms)
            .filter_map(|(labels, _)| labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> MemorySource {
        let mut s = MemorySource::new();
        s.add_sample(
            Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            0,
            1.0,
        );
        s.add_sample(
            Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            10,
            2.0,
        );
        s.add_sample(
            Labels::from_pairs([("__name__", "up"), ("job", "b\nc")]),
            5,
            3.0,
        );
        s
    }

    #[test]
    fn select_filters_by_matchers_and_time() {
        let s = store();
        let m = [LabelMatcher::equal("job", "a")];
        let got = s.select(&m, 5, 20).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, vec![(10, 2.0)]);
    }

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let s = store();
        let m = [LabelMatcher::new(MatchKind::Regex, "job", "b.c").unwrap()];
        assert_eq!(s.select(&m, 0, 100).unwrap().len(), 1);
        let m = [LabelMatcher::new(MatchKind::Regex, "job", "b").unwrap()];
        assert!(s.select(&m, 0, 100).unwrap().is_empty());
    }

    #[test]
    fn missing_label_matches_empty_string() {
        let s = store();
        let m = [LabelMatcher::equal("instance", "")];
        assert_eq!(s.select(&m, 0, 100).unwrap().len(), 2);
    }

    #[test]
    fn label_names_and_values_are_sorted_and_unique() {
        let s = store();
        assert_eq!(s.label_names(&[], 0, 100).unwrap(), vec!["__name__", "job"]);
        assert_eq!(
            s.label_values("job", &[], 0, 100).unwrap(),
            vec!["a", "b\nc"]
        );
    }

    #[test]
    fn bad_regex_is_a_clear_error() {
        let err = LabelMatcher::new(MatchKind::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("invalid regular expression"));
    }

    #[test]
    fn stale_marker_is_distinct_from_nan() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
