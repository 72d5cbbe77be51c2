//! The four detection methods and what they share: the [`Anomaly`] they report, the
//! [`DetectOptions`] that tune and bound them, and [`detect_series`], which runs the chosen
//! methods over one series, merges consecutive anomalous points into intervals and drops
//! what is too short, too small or in a direction nobody asked about. Every method is a pure
//! function of the series.

mod level_shift;
mod rate;
mod seasonal;
mod stuck;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::graph::Entity;
use crate::series::{Grid, Series};
use crate::stats::Floor;
use crate::time::{human_duration, seconds};

/// How an anomaly was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Robust z-score against the same time on previous days and the recent past.
    SeasonalZscore,
    /// The median of a short window moved away from the recent level.
    LevelShift,
    /// The same value for longer than the series' own repetitions make plausible.
    Stuck,
    /// The slope changed abruptly (a lag that keeps growing, a counter that stops).
    RateOfChange,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 4] = [
        Self::SeasonalZscore,
        Self::LevelShift,
        Self::Stuck,
        Self::RateOfChange,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeasonalZscore => "seasonal_zscore",
            Self::LevelShift => "level_shift",
            Self::Stuck => "stuck",
            Self::RateOfChange => "rate_of_change",
        }
    }
}

/// Which way a value moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Above its baseline.
    Up,
    /// Below its baseline.
    Down,
}

/// Which directions count as a problem for a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wanted {
    /// Only rises (latency, errors, lag, temperature).
    Up,
    /// Only drops (throughput).
    Down,
    /// Both.
    #[default]
    Both,
}

impl Wanted {
    fn admits(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (Self::Both, _) | (Self::Up, Direction::Up) | (Self::Down, Direction::Down)
        )
    }
}

/// One anomalous interval of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The series' labels (`__name__` included when the query keeps it).
    pub labels: BTreeMap<String, String>,
    /// First anomalous point, ms (unix seconds in JSON, field `start`).
    #[serde(rename = "start", with = "seconds")]
    pub start_ms: i64,
    /// Last anomalous point, ms (unix seconds in JSON, field `end`).
    #[serde(rename = "end", with = "seconds")]
    pub end_ms: i64,
    /// How far past its method's threshold the anomaly went: 1 = at the threshold, capped
    /// at 100. Comparable across methods only roughly.
    pub score: f64,
    /// The method that found it.
    pub method: Method,
    /// One sentence for people.
    pub summary: String,
    /// Up or down.
    pub direction: Direction,
    /// The most anomalous point, ms (unix seconds in JSON, field `peak`).
    #[serde(rename = "peak", with = "seconds")]
    pub peak_ms: i64,
    /// The series' value at the peak.
    pub value: f64,
    /// What the method expected at the peak: the baseline median, or for
    /// `rate_of_change` the value the usual slope would have reached.
    pub baseline: f64,
    /// A few points for evidence: before the start, at the peak, after the end (unix
    /// seconds, value).
    pub points: Vec<(f64, f64)>,
    /// The watch-list signal it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The PromQL of that signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// What the series describes (a GPU, a model server...), when the signal says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Entity>,
    /// From a supporting signal: evidence for an entity that has a primary anomaly at the
    /// same time, never an alarm by itself (see [`crate::Role`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supporting: bool,
}

/// Drops the supporting anomalies whose entity has no primary (non-supporting) anomaly
/// overlapping them within `slack_ms`: a GPU that warms up because work started is not an
/// incident; a GPU that warms up while stuck at full utilisation is evidence.
pub fn corroborated(anomalies: Vec<Anomaly>, slack_ms: i64) -> Vec<Anomaly> {
    let primary: Vec<Anomaly> = anomalies
        .iter()
        .filter(|a| !a.supporting)
        .cloned()
        .collect();
    anomalies
        .into_iter()
        .filter(|a| {
            !a.supporting
                || primary.iter().any(|p| {
                    let same = match (&a.entity, &p.entity) {
                        (Some(x), Some(y)) => x == y,
                        _ => a.labels == p.labels,
                    };
                    same && a.start_ms <= p.end_ms + slack_ms && a.end_ms >= p.start_ms - slack_ms
                })
        })
        .collect()
}

/// Settings and bounds of detection. The defaults suit a 15 s – 5 min step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectOptions {
    /// Robust z-score from which a point is anomalous (seasonal_zscore).
    pub z_threshold: f64,
    /// Shift of the window median, in robust spreads (level_shift).
    pub level_shift_threshold: f64,
    /// Points in the level-shift window (odd; centred on the point).
    pub level_shift_window: usize,
    /// Robust z-score of the slope (rate_of_change).
    pub rate_threshold: f64,
    /// Points over which the slope is measured.
    pub rate_window: usize,
    /// A value repeated this many points at least before `stuck` considers it.
    pub stuck_min_points: usize,
    /// `stuck` fires when the chance of the repetition, judged from how often the series
    /// repeats itself in its baseline, is below this.
    pub stuck_max_chance: f64,
    /// Points of the trailing baseline (median/MAD of the recent past).
    pub baseline_points: usize,
    /// Length of a season (the same time on previous days).
    pub season_ms: i64,
    /// Previous seasons used when the history has them.
    pub seasons: usize,
    /// Half-width of the window around the same time in each previous season.
    pub season_half_window_ms: i64,
    /// Floor of the spread: `spread_floor_absolute + spread_floor_relative × |median|`.
    pub spread_floor_absolute: f64,
    /// See `spread_floor_absolute`.
    pub spread_floor_relative: f64,
    /// Anomalies shorter than this many points are noise.
    pub min_points: usize,
    /// Anomalous runs separated by at most this many quiet points merge.
    pub merge_gap_points: usize,
    /// Series a query may return.
    pub max_series: usize,
    /// Points per series, history included.
    pub max_points_per_series: i64,
    /// Anomalies reported per query (the strongest are kept).
    pub max_anomalies: usize,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            z_threshold: 6.0,
            level_shift_threshold: 5.0,
            level_shift_window: 11,
            rate_threshold: 8.0,
            rate_window: 5,
            stuck_min_points: 10,
            stuck_max_chance: 1e-6,
            baseline_points: 120,
            season_ms: 86_400_000,
            seasons: 7,
            season_half_window_ms: 30 * 60_000,
            spread_floor_absolute: 1e-9,
            spread_floor_relative: 0.02,
            min_points: 3,
            merge_gap_points: 2,
            max_series: 2_000,
            max_points_per_series: 20_000,
            max_anomalies: 1_000,
        }
    }
}

impl DetectOptions {
    /// Checks the bounds; the error says which setting to fix.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let bad = |what: &str| Err(AnalysisError::InvalidOptions(what.to_owned()));
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if ![
            self.z_threshold,
            self.level_shift_threshold,
            self.rate_threshold,
        ]
        .into_iter()
        .all(positive)
        {
            return bad("thresholds must be positive numbers");
        }
        if !(self.stuck_max_chance > 0.0 && self.stuck_max_chance < 1.0) {
            return bad("stuck_max_chance must be in (0, 1)");
        }
        if !(3..=1001).contains(&self.level_shift_window) {
            return bad("level_shift_window must be 3..=1001 points");
        }
        if !(2..=1000).contains(&self.rate_window) {
            return bad("rate_window must be 2..=1000 points");
        }
        if !(10..=10_000).contains(&self.baseline_points) {
            return bad("baseline_points must be 10..=10000");
        }
        if self.stuck_min_points < 3 || self.min_points == 0 {
            return bad("stuck_min_points must be at least 3 and min_points at least 1");
        }
        if self.season_ms <= 0 || self.season_half_window_ms < 0 || self.seasons > 28 {
            return bad("season_ms must be positive and seasons at most 28");
        }
        let floors_ok = self.spread_floor_absolute >= 0.0
            && self.spread_floor_relative >= 0.0
            && self.spread_floor_absolute + self.spread_floor_relative > 0.0;
        if !floors_ok {
            return bad("the spread floor must be positive (absolute or relative)");
        }
        if self.max_series == 0 || self.max_points_per_series < 10 || self.max_anomalies == 0 {
            return bad("max_series, max_points_per_series (>= 10) and max_anomalies must be set");
        }
        Ok(())
    }

    pub(crate) fn floor(&self) -> Floor {
        Floor {
            absolute: self.spread_floor_absolute,
            relative: self.spread_floor_relative,
        }
    }

    /// Baseline values required before a point is judged.
    pub(crate) fn min_baseline(&self) -> usize {
        (self.baseline_points / 4).max(5)
    }
}

/// What a signal cares about beyond the methods' thresholds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Directions that count.
    pub direction: Wanted,
    /// Smallest `|value − baseline|` worth reporting.
    pub min_delta: f64,
    /// Smallest `|value − baseline| / |baseline|` worth reporting.
    pub min_relative_delta: f64,
}

impl Filter {
    fn admits(&self, finding: &Finding) -> bool {
        let delta = (finding.value - finding.baseline).abs();
        let relative_ok =
            finding.baseline == 0.0 || delta / finding.baseline.abs() >= self.min_relative_delta;
        self.direction.admits(finding.direction) && delta >= self.min_delta && relative_ok
    }
}

/// A method's verdict on one point: how anomalous (signed) and what it expected.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag {
    pub stat: f64,
    pub baseline: f64,
}

/// An anomalous interval in grid indices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub start: usize,
    pub end: usize,
    pub peak: usize,
    /// Statistic at the peak divided by the threshold (≥ 1).
    pub strength: f64,
    pub direction: Direction,
    pub value: f64,
    pub baseline: f64,
    /// Extra words for the summary.
    pub detail: String,
}

/// Merges flagged points (|stat| ≥ threshold, same sign) into findings of at least
/// `min_points` points, gaps of up to `merge_gap_points` bridged.
pub(crate) fn runs(
    grid: &Grid,
    flags: &[Option<Flag>],
    threshold: f64,
    options: &DetectOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut current: Option<(Finding, usize, usize)> = None; // finding, last flagged, count
    let close = |f: Finding, count: usize, out: &mut Vec<Finding>| {
        if count >= options.min_points {
            out.push(f);
        }
    };
    for (i, flag) in flags.iter().enumerate() {
        let Some(flag) = flag.filter(|f| f.stat.abs() >= threshold) else {
            if let Some((f, last, count)) = current.take() {
                if i - last <= options.merge_gap_points {
                    current = Some((f, last, count));
                } else {
                    close(f, count, &mut out);
                }
            }
            continue;
        };
        let direction = if flag.stat > 0.0 {
            Direction::Up
        } else {
            Direction::Down
        };
        let value = grid.values[i];
        match current.as_mut() {
            Some((f, last, count)) if f.direction == direction => {
                f.end = i;
                *last = i;
                *count += 1;
                if flag.stat.abs() / threshold > f.strength {
                    f.strength = flag.stat.abs() / threshold;
                    f.peak = i;
                    f.value = value;
                    f.baseline = flag.baseline;
                }
            }
            _ => {
                if let Some((f, _, count)) = current.take() {
                    close(f, count, &mut out);
                }
                current = Some((
                    Finding {
                        start: i,
                        end: i,
                        peak: i,
                        strength: flag.stat.abs() / threshold,
                        direction,
                        value,
                        baseline: flag.baseline,
                        detail: String::new(),
                    },
                    i,
                    1,
                ));
            }
        }
    }
    if let Some((f, _, count)) = current {
        close(f, count, &mut out);
    }
    out
}

/// Runs `methods` over `series` (points at `step_ms`, history before `from_ms` used only as
/// baseline) and returns its anomalies overlapping `[from_ms, to_ms]` that pass `filter`.
pub fn detect_series(
    series: &Series,
    step_ms: i64,
    from_ms: i64,
    to_ms: i64,
    methods: &[Method],
    filter: &Filter,
    options: &DetectOptions,
) -> Result<Vec<Anomaly>, AnalysisError> {
    options.validate()?;
    if step_ms <= 0 {
        return Err(AnalysisError::InvalidStep(format!(
            "step must be positive, got {step_ms} ms"
        )));
    }
    let Some(grid) = Grid::new(&series.points, step_ms, to_ms) else {
        return Ok(Vec::new());
    };
    if grid.values.len() as i64 > options.max_points_per_series {
        return Err(AnalysisError::TooManyPoints {
            found: grid.values.len() as i64,
            limit: options.max_points_per_series,
        });
    }
    let from = grid.index_at_or_after(from_ms);
    let mut out = Vec::new();
    for &method in methods {
        let findings = match method {
            Method::SeasonalZscore => seasonal::detect(&grid, from, options),
            Method::LevelShift => level_shift::detect(&grid, from, options),
            Method::Stuck => stuck::detect(&grid, from, options),
            Method::RateOfChange => rate::detect(&grid, from, options),
        };
        for finding in findings {
            if finding.end < from || !filter.admits(&finding) {
                continue;
            }
            out.push(anomaly(series, &grid, method, finding));
        }
    }
    Ok(out)
}

fn anomaly(series: &Series, grid: &Grid, method: Method, f: Finding) -> Anomaly {
    let name = series
        .labels
        .get("__name__")
        .cloned()
        .unwrap_or_else(|| "the series".to_owned());
    let (start_ms, end_ms, peak_ms) = (grid.time(f.start), grid.time(f.end), grid.time(f.peak));
    let duration = human_duration(end_ms - start_ms + grid.step);
    let what = match (method, f.direction) {
        (Method::Stuck, _) => format!("{name} stuck at {}", number(f.value)),
        (Method::SeasonalZscore, Direction::Up) => format!("{name} unusually high"),
        (Method::SeasonalZscore, Direction::Down) => format!("{name} unusually low"),
        (Method::LevelShift, Direction::Up) => format!("{name} shifted up"),
        (Method::LevelShift, Direction::Down) => format!("{name} shifted down"),
        (Method::RateOfChange, Direction::Up) => format!("{name} rising abruptly"),
        (Method::RateOfChange, Direction::Down) => format!("{name} falling or stalled"),
    };
    let summary = format!(
        "{what} for {duration}: {} where {} was expected{}",
        number(f.value),
        number(f.baseline),
        if f.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.detail)
        }
    );
    let at = |i: usize| -> Option<(f64, f64)> {
        let v = *grid.values.get(i)?;
        v.is_finite().then(|| (grid.time(i) as f64 / 1000.0, v))
    };
    let before = f.start.checked_sub(2).and_then(at);
    let points = [before, at(f.start), at(f.peak), at(f.end), at(f.end + 2)]
        .into_iter()
        .flatten()
        .fold(Vec::new(), |mut acc: Vec<(f64, f64)>, p| {
            if acc.last().is_none_or(|last| last.0 < p.0) {
                acc.push(p);
            }
            acc
        });
    Anomaly {
        labels: series.labels.clone(),
        start_ms,
        end_ms,
        score: f.strength.min(100.0),
        method,
        summary,
        direction: f.direction,
        peak_ms,
        value: f.value,
        baseline: f.baseline,
        points,
        signal: None,
        query: None,
        entity: None,
        supporting: false,
    }
}

/// A number for sentences: 3 significant digits.
pub(crate) fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
