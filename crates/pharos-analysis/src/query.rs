//! Detection over a PromQL query: [`detect_query`] fetches the range plus the history the
//! baselines need (the trailing baseline before the range and, in a second step, the same
//! times on previous seasons), runs the methods on every series and reports what it found
//! and what history it had.

use std::collections::BTreeMap;

use pharos_query::{MetricsBackend, RangeQuery};
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::detect::{Anomaly, DetectOptions, Filter, Method, detect_series};
use crate::series::{Series, merge};
use crate::time::seconds;

/// The step used when the caller gives none: about 500 points over the range, at least
/// 15 s, rounded to a whole number of seconds.
pub fn default_step_ms(start_ms: i64, end_ms: i64) -> i64 {
    (((end_ms - start_ms) / 500).max(15_000) + 999) / 1000 * 1000
}

/// What [`detect_query`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyReport {
    /// The PromQL.
    pub query: String,
    /// Range start (unix seconds in JSON).
    #[serde(with = "seconds")]
    pub start: i64,
    /// Range end (unix seconds in JSON).
    #[serde(with = "seconds")]
    pub end: i64,
    /// Step, seconds.
    pub step_seconds: f64,
    /// Series analysed.
    pub series: usize,
    /// The history the baselines had.
    pub history: History,
    /// Anomalies, strongest first.
    pub anomalies: Vec<Anomaly>,
    /// Things the caller should know (a truncated list, a season without data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The history available to the baselines.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// Trailing baseline asked for before the range, seconds.
    pub baseline_seconds: f64,
    /// Previous seasons (days) asked for.
    pub seasons_requested: usize,
    /// Previous seasons for which the oldest series had data: the seasonal baseline was
    /// used for this many; 0 means only the trailing baseline was.
    pub seasons_available: usize,
}

/// Fetches `query` over `[start_ms, end_ms]` at `step_ms` (default [`default_step_ms`]) with
/// the history the baselines need, and runs `methods` (all four when empty) on each series.
pub async fn detect_query(
    backend: &dyn MetricsBackend,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: Option<i64>,
    methods: &[Method],
    options: &DetectOptions,
) -> Result<AnomalyReport, AnalysisError> {
    let fetched = fetch(backend, query, start_ms, end_ms, step_ms, options).await?;
    let methods = if methods.is_empty() {
        &Method::ALL[..]
    } else {
        methods
    };
    let mut anomalies = Vec::new();
    for series in &fetched.series {
        anomalies.extend(detect_series(
            series,
            fetched.step_ms,
            start_ms,
            end_ms,
            methods,
            &Filter::default(),
            options,
        )?);
    }
    let mut warnings = fetched.warnings;
    sort_by_score(&mut anomalies);
    if anomalies.len() > options.max_anomalies {
        warnings.push(format!(
            "{} anomalies found, the {} strongest are listed",
            anomalies.len(),
            options.max_anomalies
        ));
        anomalies.truncate(options.max_anomalies);
    }
    Ok(AnomalyReport {
        query: query.to_owned(),
        start: start_ms,
        end: end_ms,
        step_seconds: fetched.step_ms as f64 / 1000.0,
        series: fetched.series.len(),
        history: fetched.history,
        anomalies,
        warnings,
    })
}

/// Strongest first; ties by start, then labels.
pub(crate) fn sort_by_score(anomalies: &mut [Anomaly]) {
    anomalies.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.start_ms.cmp(&b.start_ms))
            .then_with(|| a.labels.cmp(&b.labels))
            .then(a.method.cmp(&b.method))
    });
}

/// A query's series over a range with the baselines' history.
pub(crate) struct Fetched {
    pub series: Vec<Series>,
    pub step_ms: i64,
    pub history: History,
    pub warnings: Vec<String>,
}

/// Checks the range and fetches the series: one range query for `[start − baseline, end]`
/// and one for the previous seasons' windows that lie before it (merged into disjoint
/// intervals, so a long range does not fetch a day twice).
pub(crate) async fn fetch(
    backend: &dyn MetricsBackend,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: Option<i64>,
    options: &DetectOptions,
) -> Result<Fetched, AnalysisError> {
    options.validate()?;
    if end_ms <= start_ms {
        return Err(AnalysisError::InvalidRange(format!(
            "end ({end_ms} ms) must be after start ({start_ms} ms)"
        )));
    }
    let step = step_ms.unwrap_or_else(|| default_step_ms(start_ms, end_ms));
    if step <= 0 {
        return Err(AnalysisError::InvalidStep(format!(
            "step must be positive, got {step} ms"
        )));
    }
    let lead = step * options.baseline_points as i64 + step * options.level_shift_window as i64;
    let recent_from = start_ms.saturating_sub(lead);
    let points = (end_ms - recent_from) / step + 1;
    if points > options.max_points_per_series {
        return Err(AnalysisError::TooManyPoints {
            found: points,
            limit: options.max_points_per_series,
        });
    }
    let recent = range(backend, query, recent_from, end_ms, step, options).await?;
    // Previous seasons: the windows around the same times, before the recent range. The
    // detectors lay a series on one grid from its oldest point, so only as many seasons as
    // fit in `max_points_per_series` are fetched.
    let half = options.season_half_window_ms;
    let fitting = (1..=options.seasons as i64)
        .take_while(|k| {
            (end_ms - (start_ms - k * options.season_ms - half)) / step
                < options.max_points_per_series
        })
        .count() as i64;
    let mut warnings = Vec::new();
    if fitting < options.seasons as i64 {
        warnings.push(format!(
            "only {fitting} of {} previous seasons fit in {} points per series at this step",
            options.seasons, options.max_points_per_series
        ));
    }
    let mut windows: Vec<(i64, i64)> = (1..=fitting)
        .map(|k| {
            let shift = k * options.season_ms;
            (
                start_ms - shift - half,
                (end_ms - shift + half).min(recent_from - step),
            )
        })
        .filter(|(a, b)| a < b)
        .collect();
    windows.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in windows {
        match merged.last_mut() {
            Some(last) if a <= last.1 + step => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut parts = recent;
    for (a, b) in merged {
        // Align to the recent range's grid.
        let a = recent_from - (recent_from - a) / step * step;
        match range(backend, query, a, b, step, options).await {
            Ok(more) => parts.extend(more),
            Err(error @ AnalysisError::TooManySeries { .. }) => return Err(error),
            Err(error) => warnings.push(format!("seasonal history not fetched: {error}")),
        }
    }
    let series = merge(parts);
    if series.len() > options.max_series {
        return Err(AnalysisError::TooManySeries {
            found: series.len(),
            limit: options.max_series,
        });
    }
    let oldest = series
        .iter()
        .filter_map(|s| s.points.first().map(|p| p.0))
        .min()
        .unwrap_or(start_ms);
    let seasons_available = (1..=options.seasons as i64)
        .take_while(|k| oldest <= start_ms - k * options.season_ms + half)
        .count();
    Ok(Fetched {
        series,
        step_ms: step,
        history: History {
            baseline_seconds: lead as f64 / 1000.0,
            seasons_requested: options.seasons,
            seasons_available,
        },
        warnings,
    })
}

async fn range(
    backend: &dyn MetricsBackend,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    options: &DetectOptions,
) -> Result<Vec<Series>, AnalysisError> {
    let answer = backend
        .range(&RangeQuery {
            query: query.to_owned(),
            start_ms,
            end_ms,
            step_ms,
            timeout: None,
        })
        .await
        .map_err(|e| AnalysisError::Backend {
            query: query.to_owned(),
            status: e.status(),
            message: e.to_string(),
        })?;
    let count = answer.series_count();
    if count > options.max_series {
        return Err(AnalysisError::TooManySeries {
            found: count,
            limit: options.max_series,
        });
    }
    Series::from_answer(&answer)
}

/// Labels of `labels` restricted to `names` (missing ones left out).
pub(crate) fn project(
    labels: &BTreeMap<String, String>,
    names: &[String],
) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}
