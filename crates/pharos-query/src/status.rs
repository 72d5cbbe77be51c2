//! Cardinality statistics of the head, as Prometheus' `/api/v1/status/tsdb` reports them.

use std::collections::HashMap;

use pharos_tsdb::{Db, DbError, METRIC_NAME_LABEL, MatchOp, Matcher};
use serde_json::{Value, json};

/// Size of the head block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadStatus {
    /// Series in memory.
    pub num_series: u64,
    /// Distinct `name=value` pairs over those series.
    pub num_label_pairs: u64,
    /// Chunks in memory.
    pub chunk_count: u64,
    /// Oldest sample in the head (`i64::MAX` when empty, as Prometheus reports it).
    pub min_time: i64,
    /// Newest sample in the head (`i64::MIN` when empty).
    pub max_time: i64,
}

/// The `/api/v1/status/tsdb` answer: head size and the top entries of each cardinality list,
/// largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsdbStatus {
    /// Head size.
    pub head: HeadStatus,
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Bytes of label values per label name (summed over series).
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

impl TsdbStatus {
    /// Computes the statistics from the head's series, keeping the `limit` largest of each list.
    pub fn compute(db: &Db, limit: usize) -> Result<Self, DbError> {
        let stats = db.stats().head;
        let (min_time, max_time) = match (stats.min_time, stats.max_time) {
            (Some(min), Some(max)) => (min, max),
            _ => (i64::MAX, i64::MIN),
        };
        let all = match Matcher::new(MatchOp::Regex, METRIC_NAME_LABEL, ".+") {
            Ok(matcher) if min_time <= max_time => db.series(&[matcher], min_time, max_time)?,
            _ => Vec::new(),
        };
        let mut by_metric: HashMap<&str, u64> = HashMap::new();
        let mut bytes_by_name: HashMap<&str, u64> = HashMap::new();
        let mut by_pair: HashMap<(&str, &str), u64> = HashMap::new();
        for labels in &all {
            if let Some(name) = labels.metric_name() {
                *by_metric.entry(name).or_default() += 1;
            }
            for label in labels {
                *bytes_by_name.entry(label.name.as_str()).or_default() += label.value.len() as u64;
                *by_pair
                    .entry((label.name.as_str(), label.value.as_str()))
                    .or_default() += 1;
            }
        }
        let value_counts = db
            .head_label_value_counts()
            .into_iter()
            .map(|(name, n)| (name, n as u64));
        Ok(Self {
            head: HeadStatus {
                num_series: stats.num_series,
                num_label_pairs: by_pair.len() as u64,
                chunk_count: stats.num_chunks,
                min_time,
                max_time,
            },
            series_count_by_metric_name: top(
                by_metric.into_iter().map(|(k, v)| (k.to_owned(), v)),
                limit,
            ),
            label_value_count_by_label_name: top(value_counts, limit),
            memory_in_bytes_by_label_name: top(
                bytes_by_name.into_iter().map(|(k, v)| (k.to_owned(), v)),
                limit,
            ),
            series_count_by_label_value_pair: top(
                by_pair
                    .into_iter()
                    .map(|((name, value), n)| (format!("{name}={value}"), n)),
                limit,
            ),
        })
    }

    /// The `data` object of the API answer, with Prometheus' field names.
    pub fn to_json(&self) -> Value {
        let list = |entries: &[(String, u64)]| -> Value {
            entries
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect()
        };
        json!({
            "headStats": {
                "numSeries": self.head.num_series,
                "numLabelPairs": self.head.num_label_pairs,
                "chunkCount": self.head.chunk_count,
                "minTime": self.head.min_time,
                "maxTime": self.head.max_time,
            },
            "seriesCountByMetricName": list(&self.series_count_by_metric_name),
            "labelValueCountByLabelName": list(&self.label_value_count_by_label_name),
            "memoryInBytesByLabelName": list(&self.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": list(&self.series_count_by_label_value_pair),
        })
    }
}

/// The `limit` largest entries, ties broken by name so answers are stable.
fn top(entries: impl Iterator<Item = (String, u64)>, limit: usize) -> Vec<(String, u64)> {
    let mut entries: Vec<(String, u64)> = entries.collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use pharos_tsdb::{Labels, Options};

    use super::*;

    #[test]
    fn counts_follow_the_series_in_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut appender = db.appender();
        for (name, pod) in [("a", "p1"), ("a", "p2"), ("a", "p3"), ("b", "p1")] {
            let labels = Labels::new([("__name__", name), ("pod", pod)]).unwrap();
            appender.append(&labels, 1000, 1.0).unwrap();
        }
        appender.commit().unwrap();
        let status = TsdbStatus::compute(&db, 2).unwrap();
        assert_eq!(status.head.num_series, 4);
        assert_eq!((status.head.min_time, status.head.max_time), (1000, 1000));
        // Pairs: __name__=a, __name__=b, pod=p1, pod=p2, pod=p3.
        assert_eq!(status.head.num_label_pairs, 5);
        assert_eq!(
            status.series_count_by_metric_name,
            [("a".to_owned(), 3), ("b".to_owned(), 1)]
        );
        assert_eq!(
            status.label_value_count_by_label_name,
            [("pod".to_owned(), 3), ("__name__".to_owned(), 2)]
        );
        assert_eq!(
            status.series_count_by_label_value_pair,
            [("__name__=a".to_owned(), 3), ("pod=p1".to_owned(), 2)]
        );
        assert_eq!(
            status.memory_in_bytes_by_label_name[0],
            ("pod".to_owned(), 8)
        );
        let json = status.to_json();
        assert_eq!(json["headStats"]["numSeries"], 4);
        assert_eq!(json["seriesCountByMetricName"][0]["name"], "a");
    }

    #[test]
    fn an_empty_head_reports_prometheus_sentinels() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let status = TsdbStatus::compute(&db, 10).unwrap();
        assert_eq!(status.head.num_series, 0);
        assert_eq!(status.head.min_time, i64::MAX);
        assert_eq!(status.head.max_time, i64::MIN);
        assert!(status.series_count_by_metric_name.is_empty());
    }
}
