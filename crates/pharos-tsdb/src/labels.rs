//! Label sets: validated, sorted by name, without empty values (Prometheus treats an empty value
//! as an absent label).

use std::fmt;

use thiserror::Error;

/// The reserved label holding the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// Why a label set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LabelError {
    /// Label names must match `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: names must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    /// Metric names must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    /// The same label name appeared twice.
    #[error("duplicate label name {0:?}: each label name may appear only once per series")]
    DuplicateName(String),
}

/// One label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value, never empty inside a [`Labels`].
    pub value: String,
}

/// A validated label set sorted by name. Ordering compares `(name, value)` pairs in turn, the
/// order Prometheus uses for series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

/// True for a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Why a borrowed label set (see `Appender::append_series_pairs`) was not appended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeriesLabelsError {
    /// A name or the metric name breaks the rules, or a name repeats.
    #[error(transparent)]
    Invalid(#[from] LabelError),
    /// Nothing is left once empty values are dropped.
    #[error("{}", crate::head::AppendError::EmptyLabels)]
    Empty,
}

/// The per-label rules of [`Labels::new`], shared with the borrowed path.
fn check_pair(name: &str, value: &str) -> Result<(), LabelError> {
    if !is_valid_label_name(name) {
        return Err(LabelError::InvalidName(name.to_owned()));
    }
    if name == METRIC_NAME_LABEL && !value.is_empty() && !is_valid_metric_name(value) {
        return Err(LabelError::InvalidMetricName(value.to_owned()));
    }
    Ok(())
}

/// Applies [`Labels::new`]'s rules to borrowed pairs, in place and without allocating: checks
/// each pair in the order sent, sorts by name (unless already sorted, as senders usually
/// send them), refuses repeated names, then drops pairs with an empty value (absent labels).
/// Afterwards `pairs` holds exactly what `Labels::new` would have kept, in the same order.
pub(crate) fn check_pairs(pairs: &mut Vec<(&str, &str)>) -> Result<(), SeriesLabelsError> {
    for &(name, value) in pairs.iter() {
        check_pair(name, value)?;
    }
    if !pairs.is_sorted_by(|a, b| a.0 <= b.0) {
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    if let Some(pair) = pairs.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(LabelError::DuplicateName(pair[0].0.to_owned()).into());
    }
    pairs.retain(|&(_, value)| !value.is_empty());
    if pairs.is_empty() {
        return Err(SeriesLabelsError::Empty);
    }
    Ok(())
}

impl Labels {
    /// Validates and sorts `pairs`. Pairs with an empty value are dropped (absent), duplicate
    /// names and names that break Prometheus' rules are rejected.
    pub fn new<I, N, V>(pairs: I) -> Result<Self, LabelError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut labels = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            check_pair(&name, &value)?;
            labels.push(Label { name, value });
        }
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = labels.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(LabelError::DuplicateName(pair[0].name.clone()));
        }
        labels.retain(|label| !label.value.is_empty());
        Ok(Self(labels))
    }

    /// The label set of pairs that went through [`check_pairs`] (sorted, unique, no empty
    /// values): the only allocation a new series costs on the borrowed append path.
    pub(crate) fn from_checked_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|&(name, value)| Label {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })
                .collect(),
        )
    }

    /// True when the set holds exactly `pairs` (checked pairs: sorted, no empty values), so
    /// a lookup by borrowed labels can compare without building a set.
    pub(crate) fn eq_pairs(&self, pairs: &[(&str, &str)]) -> bool {
        self.0.len() == pairs.len()
            && self
                .0
                .iter()
                .zip(pairs)
                .all(|(label, &(name, value))| label.name == name && label.value == value)
    }

    /// Rebuilds a label set read back from our own files; `None` when the list is not sorted,
    /// has duplicates or empty values (i.e. the file is damaged).
    pub(crate) fn from_decoded(labels: Vec<Label>) -> Option<Self> {
        let sorted = labels.windows(2).all(|pair| pair[0].name < pair[1].name);
        let filled = labels.iter().all(|label| !label.value.is_empty());
        (sorted && filled).then_some(Self(labels))
    }

    /// The empty label set.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// Value of label `name`, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|label| label.name.as_str().cmp(name))
            .ok()
            .map(|index| self.0[index].value.as_str())
    }

    /// The metric name (`__name__`), if set.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME_LABEL)
    }

    /// Labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Labels in name order, as a slice.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prometheus' text form: `metric{a="x", b="y"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for label in self.0.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_empty_values_dropped() {
        let labels = Labels::new([("job", "api"), ("__name__", "up"), ("env", "")]).unwrap();
        let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "job"]);
        assert_eq!(labels.get("env"), None);
        assert_eq!(labels.metric_name(), Some("up"));
        assert_eq!(labels.to_string(), r#"up{job="api"}"#);
    }

    #[test]
    fn invalid_names_are_rejected_with_the_offending_name() {
        assert_eq!(
            Labels::new([("1abc", "x")]),
            Err(LabelError::InvalidName("1abc".into()))
        );
        assert!(Labels::new([("a-b", "x")]).is_err());
        assert!(Labels::new([("", "x")]).is_err());
        assert!(
            Labels::new([("a:b", "x")]).is_err(),
            "colons only in metric names"
        );
        assert_eq!(
            Labels::new([("__name__", "http-requests")]),
            Err(LabelError::InvalidMetricName("http-requests".into()))
        );
        assert!(Labels::new([("__name__", "job:rate5m")]).is_ok());
    }

    #[test]
    fn duplicate_names_are_rejected_even_with_an_empty_value() {
        assert_eq!(
            Labels::new([("a", "1"), ("b", "2"), ("a", "")]),
            Err(LabelError::DuplicateName("a".into()))
        );
    }

    #[test]
    fn checked_pairs_keep_what_labels_new_keeps() {
        let sent = [("job", "api"), ("__name__", "up"), ("env", "")];
        let mut pairs = sent.to_vec();
        check_pairs(&mut pairs).unwrap();
        assert_eq!(pairs, [("__name__", "up"), ("job", "api")]);
        let owned = Labels::new(sent).unwrap();
        assert!(owned.eq_pairs(&pairs));
        assert_eq!(Labels::from_checked_pairs(&pairs), owned);
        assert!(!owned.eq_pairs(&pairs[..1]));
        assert!(!owned.eq_pairs(&[("__name__", "up"), ("job", "web")]));
    }

    #[test]
    fn checked_pairs_refuse_what_labels_new_refuses() {
        let cases: [&[(&str, &str)]; 5] = [
            &[("b", "1"), ("1abc", "x"), ("a-b", "y")],
            &[("__name__", "http-requests")],
            &[("a", "1"), ("b", "2"), ("a", "")],
            &[("c", "1"), ("b", "2"), ("c", "3"), ("b", "4")],
            &[("a", "")],
        ];
        for sent in cases {
            let mut pairs = sent.to_vec();
            let borrowed = check_pairs(&mut pairs).unwrap_err();
            match Labels::new(sent.iter().copied()) {
                Err(owned) => assert_eq!(borrowed, SeriesLabelsError::Invalid(owned)),
                Ok(owned) => {
                    assert!(owned.is_empty(), "{sent:?}");
                    assert_eq!(borrowed, SeriesLabelsError::Empty);
                }
            }
        }
        assert!(
            SeriesLabelsError::Empty
                .to_string()
                .starts_with("empty label set")
        );
    }

    #[test]
    fn ordering_compares_pairs_in_turn() {
        let a = Labels::new([("a", "1"), ("b", "2")]).unwrap();
        let b = Labels::new([("a", "1"), ("c", "0")]).unwrap();
        let c = Labels::new([("a", "2")]).unwrap();
        assert!(a < b && b < c);
    }
}
