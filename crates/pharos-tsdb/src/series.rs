//! Query results: a series' labels with its samples, and merging of samples that come from
//! several sources (blocks and head may overlap briefly while a block is being cut).

use crate::labels::Labels;
use crate::sample::Sample;

/// One series and its samples within the queried time range, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in increasing time order, one per timestamp.
    pub samples: Vec<Sample>,
}

/// Merges sample lists that are each sorted by time into one sorted list. When two sources hold
/// the same timestamp the sample from the earlier list wins.
pub(crate) fn merge_sorted(lists: Vec<Vec<Sample>>) -> Vec<Sample> {
    let mut lists: Vec<Vec<Sample>> = lists.into_iter().filter(|l| !l.is_empty()).collect();
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut merged: Vec<Sample> = lists.into_iter().flatten().collect();
            // Stable sort keeps the earlier source first among equal timestamps.
            merged.sort_by_key(|sample| sample.t);
            merged.dedup_by_key(|sample| sample.t);
            merged
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order_and_first_source_on_ties() {
        let a = vec![Sample::new(1, 1.0), Sample::new(3, 3.0)];
        let b = vec![
            Sample::new(2, 2.0),
            Sample::new(3, 9.0),
            Sample::new(4, 4.0),
        ];
        let merged = merge_sorted(vec![a, b]);
        let expected = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)].map(|(t, v)| Sample::new(t, v));
        assert_eq!(merged, expected);
    }
}
