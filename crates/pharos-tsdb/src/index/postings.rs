//! Label postings: for every label name and value, the sorted ids of the series carrying it,
//! and the resolution of matcher lists into series ids.

use std::collections::BTreeMap;

use super::sorted;
use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// name → value → sorted series ids, plus the sorted list of every id.
#[derive(Debug, Default, Clone)]
pub(crate) struct PostingsIndex {
    by_label: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
    all: Vec<u64>,
}

impl PostingsIndex {
    pub(crate) fn add(&mut self, id: u64, labels: &Labels) {
        for label in labels {
            // Look up before inserting so existing names and values are not cloned again.
            if !self.by_label.contains_key(&label.name) {
                self.by_label.insert(label.name.clone(), BTreeMap::new());
            }
            let Some(values) = self.by_label.get_mut(&label.name) else {
                continue;
            };
            match values.get_mut(&label.value) {
                Some(ids) => sorted::insert(ids, id),
                None => {
                    values.insert(label.value.clone(), vec![id]);
                }
            }
        }
        sorted::insert(&mut self.all, id);
    }

    pub(crate) fn remove(&mut self, id: u64, labels: &Labels) {
        for label in labels {
            let Some(values) = self.by_label.get_mut(&label.name) else {
                continue;
            };
            if let Some(ids) = values.get_mut(&label.value) {
                sorted::remove(ids, id);
                if ids.is_empty() {
                    values.remove(&label.value);
                }
            }
            if values.is_empty() {
                self.by_label.remove(&label.name);
            }
        }
        sorted::remove(&mut self.all, id);
    }

    /// Every label name, sorted.
    pub(crate) fn label_names(&self) -> impl Iterator<Item = &str> {
        self.by_label.keys().map(String::as_str)
    }

    /// Every value of `name`, sorted.
    pub(crate) fn label_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.by_label
            .get(name)
            .into_iter()
            .flat_map(|values| values.keys().map(String::as_str))
    }

    /// Number of distinct values per label name (for status/tsdb-style statistics).
    pub(crate) fn value_counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.by_label
            .iter()
            .map(|(name, values)| (name.as_str(), values.len()))
    }

    /// Union of the postings of every value of `matcher.name()` for which `want(value)` holds.
    fn postings_where(&self, matcher: &Matcher, want: bool) -> Vec<u64> {
        let Some(values) = self.by_label.get(matcher.name()) else {
            return Vec::new();
        };
        // Equality needs no scan of the value list.
        if matcher.op() == MatchOp::Equal && want {
            return values.get(matcher.value()).cloned().unwrap_or_default();
        }
        if matcher.op() == MatchOp::NotEqual && !want {
            return values.get(matcher.value()).cloned().unwrap_or_default();
        }
        sorted::union(
            values
                .iter()
                .filter(|(value, _)| matcher.matches(value) == want)
                .map(|(_, ids)| ids.as_slice()),
        )
    }

    /// Sorted ids of the series selected by every matcher.
    ///
    /// A matcher that rejects `""` needs the label with an accepted value: intersect with the
    /// union of the accepted values' postings. A matcher that accepts `""` also selects series
    /// without the label, so it can only exclude: subtract the postings of rejected values.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> Vec<u64> {
        let (excluding, requiring): (Vec<&Matcher>, Vec<&Matcher>) =
            matchers.iter().partition(|m| m.matches_empty());
        let mut result: Option<Vec<u64>> = None;
        for matcher in requiring {
            let ids = self.postings_where(matcher, true);
            let narrowed = match result {
                None => ids,
                Some(current) => sorted::intersect(&current, &ids),
            };
            if narrowed.is_empty() {
                return narrowed;
            }
            result = Some(narrowed);
        }
        let mut result = result.unwrap_or_else(|| self.all.clone());
        for matcher in excluding {
            let rejected = self.postings_where(matcher, false);
            if !rejected.is_empty() {
                result = sorted::subtract(&result, &rejected);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn index(series: &[Labels]) -> PostingsIndex {
        let mut index = PostingsIndex::default();
        for (id, labels) in series.iter().enumerate() {
            index.add(id as u64, labels);
        }
        index
    }

    fn brute_force(series: &[Labels], matchers: &[Matcher]) -> Vec<u64> {
        series
            .iter()
            .enumerate()
            .filter(|(_, labels)| {
                matchers
                    .iter()
                    .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
            })
            .map(|(id, _)| id as u64)
            .collect()
    }

    #[test]
    fn negative_and_empty_matchers_include_series_without_the_label() {
        let series = [
            labels(&[("__name__", "up"), ("job", "api")]),
            labels(&[("__name__", "up"), ("job", "db")]),
            labels(&[("__name__", "up")]),
        ];
        let index = index(&series);
        let up = Matcher::equal("__name__", "up");
        assert_eq!(
            index.select(&[up.clone(), Matcher::not_equal("job", "api")]),
            [1, 2]
        );
        assert_eq!(index.select(&[up.clone(), Matcher::equal("job", "")]), [2]);
        let not_empty = Matcher::new(MatchOp::NotEqual, "job", "").unwrap();
        assert_eq!(index.select(&[up.clone(), not_empty]), [0, 1]);
        let nre = Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap();
        assert_eq!(index.select(&[up, nre]), [1, 2]);
        assert_eq!(index.select(&[]), [0, 1, 2]);
        assert!(index.select(&[Matcher::equal("missing", "x")]).is_empty());
    }

    #[test]
    fn removal_drops_empty_names() {
        let series = [labels(&[("a", "1")]), labels(&[("a", "2"), ("b", "x")])];
        let mut index = index(&series);
        index.remove(1, &series[1]);
        assert_eq!(index.label_names().collect::<Vec<_>>(), ["a"]);
        assert_eq!(index.label_values("a").collect::<Vec<_>>(), ["1"]);
        assert_eq!(index.select(&[]), [0]);
    }

    const NAMES: [&str; 3] = ["a", "b", "c"];
    const VALUES: [&str; 4] = ["", "x", "y", "xy"];

    fn arbitrary_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(0..VALUES.len(), NAMES.len()).prop_map(|picks| {
            Labels::new(NAMES.iter().zip(picks).map(|(n, v)| (*n, VALUES[v]))).unwrap()
        })
    }

    fn arbitrary_matcher() -> impl Strategy<Value = Matcher> {
        let patterns = prop_oneof![
            Just(""),
            Just("x"),
            Just("y"),
            Just("x.*"),
            Just(".*"),
            Just(".+"),
            Just("x|y"),
            Just("z")
        ];
        let ops = prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex)
        ];
        (0..NAMES.len() + 1, ops, patterns).prop_map(|(name, op, pattern)| {
            let name = NAMES.get(name).copied().unwrap_or("absent");
            Matcher::new(op, name, pattern).unwrap()
        })
    }

    proptest! {
        #[test]
        fn select_agrees_with_brute_force(
            series in proptest::collection::vec(arbitrary_labels(), 0..40),
            matchers in proptest::collection::vec(arbitrary_matcher(), 0..4),
        ) {
            let index = index(&series);
            prop_assert_eq!(index.select(&matchers), brute_force(&series, &matchers));
        }
    }
}
