//! The background detector: every scan runs the watch list over the recent window and
//! returns only anomalies it has not reported before (same series and method, overlapping
//! in time with slack: an anomaly still in progress is reported once). It remembers what it
//! reported with the interval later scans saw ([`Detector::known`], the input for RCA over
//! the detector's findings); memory is bounded in count and age.

use std::collections::VecDeque;

use pharos_query::MetricsBackend;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::detect::{Anomaly, DetectOptions};
use crate::watch::{WatchList, scan};

/// Settings of the background detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorOptions {
    /// Detection settings.
    pub detect: DetectOptions,
    /// Window of each scan, ending at the scan time (ms).
    pub window_ms: i64,
    /// Step of the scan's queries (ms).
    pub step_ms: i64,
    /// Anomalies of one series and method this close in time are the same one (ms).
    pub slack_ms: i64,
    /// Reported anomalies remembered, at most.
    pub max_remembered: usize,
    /// How long a reported anomaly is remembered after it ended (ms).
    pub remember_ms: i64,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            detect: DetectOptions::default(),
            window_ms: 30 * 60_000,
            step_ms: 60_000,
            slack_ms: 5 * 60_000,
            max_remembered: 10_000,
            remember_ms: 24 * 3_600_000,
        }
    }
}

/// Scans a watch list again and again, reporting each anomaly once.
#[derive(Debug)]
pub struct Detector {
    watch: WatchList,
    options: DetectorOptions,
    reported: VecDeque<Anomaly>,
}

impl Detector {
    /// A detector of `watch`.
    pub fn new(watch: WatchList, options: DetectorOptions) -> Self {
        Self {
            watch,
            options,
            reported: VecDeque::new(),
        }
    }

    /// The watch list.
    pub fn watch(&self) -> &WatchList {
        &self.watch
    }

    /// Scans the window ending at `now_ms` (aligned down to the step) and returns the
    /// anomalies not reported by an earlier scan, strongest first. Signals that fail are
    /// logged and skipped.
    pub async fn scan(
        &mut self,
        backend: &dyn MetricsBackend,
        now_ms: i64,
    ) -> Result<Vec<Anomaly>, AnalysisError> {
        let step = self.options.step_ms.max(1);
        let end = now_ms - now_ms.rem_euclid(step);
        let start = end - self.options.window_ms.max(step);
        let found = scan(backend, &self.watch, start, end, step, &self.options.detect).await?;
        for warning in &found.warnings {
            tracing::warn!(%warning, "anomaly detector");
        }
        Ok(self.fresh(found.anomalies, now_ms))
    }

    /// Everything reported and still remembered, oldest report first, each with the
    /// interval and peak score later scans saw.
    pub fn known(&self) -> impl Iterator<Item = &Anomaly> {
        self.reported.iter()
    }

    /// Keeps the anomalies not reported before and remembers them.
    pub fn fresh(&mut self, anomalies: Vec<Anomaly>, now_ms: i64) -> Vec<Anomaly> {
        let slack = self.options.slack_ms;
        let mut out = Vec::new();
        for anomaly in anomalies {
            let seen = self.reported.iter_mut().find(|known| {
                known.method == anomaly.method
                    && known.labels == anomaly.labels
                    && anomaly.start_ms <= known.end_ms + slack
                    && anomaly.end_ms >= known.start_ms - slack
            });
            if let Some(known) = seen {
                known.start_ms = known.start_ms.min(anomaly.start_ms);
                known.end_ms = known.end_ms.max(anomaly.end_ms);
                if anomaly.score > known.score {
                    known.score = anomaly.score;
                    known.peak_ms = anomaly.peak_ms;
                    known.value = anomaly.value;
                    known.baseline = anomaly.baseline;
                }
                continue;
            }
            self.reported.push_back(anomaly.clone());
            out.push(anomaly);
        }
        let horizon = now_ms - self.options.remember_ms;
        self.reported.retain(|known| known.end_ms >= horizon);
        while self.reported.len() > self.options.max_remembered {
            self.reported.pop_front();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Direction, Method};

    fn anomaly(series: &str, start: i64, end: i64) -> Anomaly {
        Anomaly {
            labels: [("s".to_owned(), series.to_owned())].into(),
            start_ms: start,
            end_ms: end,
            score: 1.0,
            method: Method::LevelShift,
            summary: String::new(),
            direction: Direction::Up,
            peak_ms: start,
            value: 1.0,
            baseline: 0.0,
            points: Vec::new(),
            signal: None,
            query: None,
            entity: None,
            supporting: false,
        }
    }

    #[test]
    fn an_anomaly_is_reported_once_while_it_lasts_and_memory_is_bounded() {
        let mut detector = Detector::new(
            WatchList::default(),
            DetectorOptions {
                max_remembered: 3,
                ..DetectorOptions::default()
            },
        );
        let min = 60_000;
        assert_eq!(
            detector
                .fresh(vec![anomaly("a", 0, 5 * min)], 5 * min)
                .len(),
            1
        );
        // The next scan sees it grown: not new.
        assert!(
            detector
                .fresh(vec![anomaly("a", 0, 10 * min)], 10 * min)
                .is_empty()
        );
        assert_eq!(detector.known().next().unwrap().end_ms, 10 * min);
        // Another series, and the same series much later: new.
        let next = detector.fresh(
            vec![
                anomaly("b", 9 * min, 10 * min),
                anomaly("a", 60 * min, 61 * min),
            ],
            61 * min,
        );
        assert_eq!(next.len(), 2);
        for i in 0..10 {
            detector.fresh(vec![anomaly(&format!("x{i}"), 0, 1)], 62 * min);
        }
        assert!(detector.reported.len() <= 3);
        // Forgotten after a day.
        let later = 3 * 24 * 60 * min;
        detector.fresh(Vec::new(), later);
        assert!(detector.reported.is_empty());
    }
}
