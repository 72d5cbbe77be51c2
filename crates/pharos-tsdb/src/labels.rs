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
            if !is_valid_label_name(&name) {
                return Err(LabelError::InvalidName(name));
            }
            if name == METRIC_NAME_LABEL && !value.is_empty() && !is_valid_metric_name(&value) {
                return Err(LabelError::InvalidMetricName(value));
            }
            labels.push(Label { name, value });
        }
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = labels.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(LabelError::DuplicateName(pair[0].name.clone()));
        }
        labels.retain(|label| !label.value.is_empty());
        Ok(Self(labels))
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
    fn ordering_compares_pairs_in_turn() {
        let a = Labels::new([("a", "1"), ("b", "2")]).unwrap();
        let b = Labels::new([("a", "1"), ("c", "0")]).unwrap();
        let c = Labels::new([("a", "2")]).unwrap();
        assert!(a < b && b < c);
    }
}
