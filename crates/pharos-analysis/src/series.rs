//! Metric series as the analysis sees them: a label set and its points, read from a range
//! (matrix) answer of any [`pharos_query::MetricsBackend`], and laid on a regular grid
//! ([`Grid`]) for the detectors.

use std::collections::BTreeMap;

use pharos_query::QueryAnswer;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// One series: its labels (`__name__` included when the answer has it) and its points,
/// `(milliseconds since the epoch, value)`, oldest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    /// Label names and values.
    pub labels: BTreeMap<String, String>,
    /// `(ms, value)`, sorted by time, one per timestamp.
    pub points: Vec<(i64, f64)>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl Series {
    /// The series of a range answer. Values Prometheus writes as text (`"NaN"`, `"+Inf"`)
    /// are kept as such; points with unparsable values are dropped. A vector answer (an
    /// instant query) gives one point per series.
    pub fn from_answer(answer: &QueryAnswer) -> Result<Vec<Series>, AnalysisError> {
        Self::from_data_json(answer.data.get())
    }

    /// Like [`Series::from_answer`] from the `data` JSON text.
    pub fn from_data_json(data: &str) -> Result<Vec<Series>, AnalysisError> {
        let data: Data = serde_json::from_str(data)
            .map_err(|e| AnalysisError::NotAMatrix(format!("unreadable answer ({e})")))?;
        let vector = match data.result_type.as_str() {
            "matrix" => false,
            "vector" => true,
            other => return Err(AnalysisError::NotAMatrix(format!("a {other}"))),
        };
        let mut out = Vec::with_capacity(data.result.len());
        for item in data.result {
            let (labels, raw) = if vector {
                #[derive(Deserialize)]
                struct VectorSeries {
                    #[serde(default)]
                    metric: BTreeMap<String, String>,
                    value: (f64, String),
                }
                let Ok(v) = serde_json::from_value::<VectorSeries>(item) else {
                    continue;
                };
                (v.metric, vec![v.value])
            } else {
                let Ok(m) = serde_json::from_value::<MatrixSeries>(item) else {
                    continue;
                };
                (m.metric, m.values)
            };
            let mut points: Vec<(i64, f64)> = raw
                .into_iter()
                .filter_map(|(t, v)| {
                    let value: f64 = v.parse().ok()?;
                    t.is_finite().then(|| ((t * 1000.0).round() as i64, value))
                })
                .collect();
            points.sort_by_key(|(t, _)| *t);
            points.dedup_by_key(|(t, _)| *t);
            out.push(Series { labels, points });
        }
        Ok(out)
    }

    /// The labels without `__name__`.
    pub fn labels_without_name(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.remove("__name__");
        labels
    }
}

/// Merges series with equal labels (e.g. the answers of a recent range and of a seasonal
/// lookback), keeping one point per timestamp.
pub(crate) fn merge(parts: impl IntoIterator<Item = Series>) -> Vec<Series> {
    let mut by_labels: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> = BTreeMap::new();
    for series in parts {
        by_labels
            .entry(series.labels)
            .or_default()
            .extend(series.points);
    }
    by_labels
        .into_iter()
        .map(|(labels, points)| Series {
            labels,
            points: points.into_iter().collect(),
        })
        .collect()
}

/// A series on a regular grid: `values[i]` is the value at `t0 + i × step` (NaN where the
/// series has no point, or a non-finite one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub t0: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

impl Grid {
    /// Lays `points` on the grid of `step` ending at `end` (points off the grid go to the
    /// nearest slot); `None` for an empty series.
    pub(crate) fn new(points: &[(i64, f64)], step: i64, end: i64) -> Option<Grid> {
        let step = step.max(1);
        let first = points.first()?.0;
        // Align the grid to `end` so every series of one answer shares its slots.
        let t0 = end - (end - first).max(0) / step * step;
        let t0 = if t0 > first { t0 - step } else { t0 };
        let len = usize::try_from((end.max(first) - t0) / step + 1).ok()?;
        let mut values = vec![f64::NAN; len];
        for &(t, v) in points {
            let offset = (t - t0 + step / 2).div_euclid(step);
            if let Ok(i) = usize::try_from(offset)
                && let Some(slot) = values.get_mut(i)
                && v.is_finite()
            {
                *slot = v;
            }
        }
        Some(Grid { t0, step, values })
    }

    pub(crate) fn time(&self, i: usize) -> i64 {
        self.t0 + self.step * i as i64
    }

    /// The first index at or after `t`.
    pub(crate) fn index_at_or_after(&self, t: i64) -> usize {
        if t <= self.t0 {
            return 0;
        }
        usize::try_from((t - self.t0 + self.step - 1) / self.step).unwrap_or(usize::MAX)
    }

    /// Finite values in `[from, to)` (indices clamped).
    pub(crate) fn finite(&self, from: isize, to: isize) -> Vec<f64> {
        let len = self.values.len() as isize;
        let (from, to) = (from.clamp(0, len), to.clamp(0, len));
        if from >= to {
            return Vec::new();
        }
        self.values[from as usize..to as usize]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_matrix_and_refuses_a_scalar() {
        let data = r#"{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1.5,"1"],[1,"NaN"],[2,"x"]]}]}"#;
        let series = Series::from_data_json(data).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].points.len(), 2);
        assert_eq!(series[0].points[0].0, 1000);
        assert!(series[0].points[0].1.is_nan());
        assert_eq!(series[0].labels_without_name().len(), 1);
        let err = Series::from_data_json(r#"{"resultType":"scalar","result":[1,"2"]}"#);
        assert!(matches!(err, Err(AnalysisError::NotAMatrix(_))));
        assert!(Series::from_data_json("not json").is_err());
    }

    #[test]
    fn a_grid_has_slots_for_missing_points() {
        let grid = Grid::new(&[(0, 1.0), (120, 3.0), (181, f64::INFINITY)], 60, 180).unwrap();
        assert_eq!(grid.t0, 0);
        assert_eq!(grid.values.len(), 4);
        assert_eq!(grid.values[0], 1.0);
        assert!(grid.values[1].is_nan());
        assert!(grid.values[3].is_nan());
        assert_eq!(grid.index_at_or_after(61), 2);
        assert_eq!(grid.finite(-5, 10), vec![1.0, 3.0]);
    }
}
