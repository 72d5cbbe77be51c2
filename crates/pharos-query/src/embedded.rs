//! The embedded store as the engine's series source: matcher, label and sample conversion
//! between `pharos-promql` and `pharos-tsdb`.

use std::sync::Arc;

use pharos_promql::{EvalError, LabelMatcher, MatchKind, Series, SeriesSource, StepWindows};
use pharos_tsdb::{Db, DbError, MatchOp, Matcher, SampleWindows, SeriesSamples};

/// Reads the embedded store for the PromQL engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EmbeddedSource {
    db: Arc<Db>,
}

impl EmbeddedSource {
    /// A source over `db`.
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }

    /// The store.
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }
}

/// Converts the engine's matchers to the store's (regexes are compiled again, anchored the
/// same way: `^(?s:pattern)$`).
pub fn to_store_matchers(matchers: &[LabelMatcher]) -> Result<Vec<Matcher>, EvalError> {
    matchers
        .iter()
        .map(|m| {
            let op = match m.kind {
                MatchKind::Equal => MatchOp::Equal,
                MatchKind::NotEqual => MatchOp::NotEqual,
                MatchKind::Regex => MatchOp::Regex,
                MatchKind::NotRegex => MatchOp::NotRegex,
            };
            Matcher::new(op, m.name.as_str(), m.value.as_str())
                .map_err(|e| EvalError::InvalidQuery(e.to_string()))
        })
        .collect()
}

/// Converts one stored series to the engine's form.
pub fn to_engine_series(series: SeriesSamples) -> Series {
    Series {
        labels: to_engine_labels(&series.labels),
        samples: series.samples.into_iter().map(|s| (s.t, s.v)).collect(),
    }
}

/// Converts a stored label set to the engine's label type.
pub fn to_engine_labels(labels: &pharos_tsdb::Labels) -> pharos_promql::Labels {
    pharos_promql::Labels::from_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
}

fn storage(error: DbError) -> EvalError {
    EvalError::Storage(error.to_string())
}

impl EmbeddedSource {
    /// Streams the matching series of `[mint, maxt]` (only samples in `grid`, when given) to
    /// the engine, stopping at the engine's first error.
    fn stream(
        &self,
        matchers: &[LabelMatcher],
        (mint, maxt): (i64, i64),
        grid: Option<&SampleWindows>,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let matchers = to_store_matchers(matchers)?;
        let mut failed: Option<EvalError> = None;
        self.db
            .querier(mint, maxt)
            .select_each_in(
                &matchers,
                grid,
                &mut |series| match f(to_engine_series(series)) {
                    Ok(()) => true,
                    Err(error) => {
                        failed = Some(error);
                        false
                    }
                },
            )
            .map_err(storage)?;
        failed.map_or(Ok(()), Err)
    }
}

impl SeriesSource for EmbeddedSource {
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, EvalError> {
        let matchers = to_store_matchers(matchers)?;
        let selected = self
            .db
            .select(&matchers, start_ms, end_ms)
            .map_err(storage)?;
        Ok(selected.into_iter().map(to_engine_series).collect())
    }

    /// Hands series over one at a time as the store reads them: a block's series is decoded
    /// just before the engine gets it and freed right after, so a query over a week holds one
    /// series' raw samples at a time, not the whole selection.
    fn select_each(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        self.stream(matchers, (start_ms, end_ms), None, f)
    }

    /// Reads only what the evaluator's windows need: chunks wholly between two windows are
    /// not decoded and samples outside every window are not copied to the engine.
    fn select_windows(
        &self,
        matchers: &[LabelMatcher],
        windows: &StepWindows,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let grid = SampleWindows::with_gaps(
            windows.first_end,
            windows.last_end,
            windows.step,
            windows.range,
        );
        self.stream(matchers, (windows.mint(), windows.maxt()), grid.as_ref(), f)
    }

    fn label_names(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError> {
        let matchers = to_store_matchers(matchers)?;
        self.db
            .label_names(&matchers, start_ms, end_ms)
            .map_err(storage)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, EvalError> {
        let matchers = to_store_matchers(matchers)?;
        self.db
            .label_values(name, &matchers, start_ms, end_ms)
            .map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use pharos_promql::{Engine, EngineOptions, QueryValue};
    use pharos_tsdb::{Labels, Options};

    use super::*;

    /// Labels, timestamp, value.
    type TestSample<'a> = (&'a [(&'a str, &'a str)], i64, f64);

    fn source_with(samples: &[TestSample<'_>]) -> (tempfile::TempDir, EmbeddedSource) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut appender = db.appender();
        for (labels, t, v) in samples {
            let labels = Labels::new(labels.iter().copied()).unwrap();
            appender.append(&labels, *t, *v).unwrap();
        }
        appender.commit().unwrap();
        (dir, EmbeddedSource::new(Arc::new(db)))
    }

    #[test]
    fn regex_and_negative_matchers_select_like_prometheus() {
        let (_dir, source) = source_with(&[
            (&[("__name__", "up"), ("job", "api")], 1000, 1.0),
            (&[("__name__", "up"), ("job", "web")], 1000, 0.0),
            (&[("__name__", "up")], 1000, 1.0),
        ]);
        let select = |matchers: Vec<LabelMatcher>| {
            source
                .select(&matchers, 0, 2000)
                .unwrap()
                .into_iter()
                .map(|s| s.labels.get("job").unwrap_or("-").to_owned())
                .collect::<Vec<_>>()
        };
        let regex = LabelMatcher::new(MatchKind::Regex, "job", "a.*").unwrap();
        assert_eq!(select(vec![regex]), ["api"]);
        let not_web = LabelMatcher::new(MatchKind::NotEqual, "job", "web").unwrap();
        assert_eq!(select(vec![not_web]), ["-", "api"]);
        let absent = LabelMatcher::equal("job", "");
        assert_eq!(select(vec![absent]), ["-"]);
    }

    #[test]
    fn the_engine_evaluates_over_the_store() {
        let (_dir, source) = source_with(&[
            (&[("__name__", "c"), ("pod", "a")], 0, 0.0),
            (&[("__name__", "c"), ("pod", "a")], 60_000, 60.0),
            (&[("__name__", "c"), ("pod", "b")], 0, 0.0),
            (&[("__name__", "c"), ("pod", "b")], 60_000, 120.0),
        ]);
        let engine = Engine::new(EngineOptions::default());
        let result = engine
            .instant(&source, "sum(rate(c[2m])) * 60", 60_000)
            .unwrap();
        let QueryValue::Vector(vector) = result.value else {
            panic!("expected a vector");
        };
        // Counter extrapolation stops where the counter would reach zero, i.e. at the first
        // sample: 60 and 120 over the 2m window are 0.5/s and 1/s, 90 per minute together.
        assert_eq!(vector.len(), 1);
        assert_eq!(vector[0].value, 90.0);
    }

    #[test]
    fn labels_names_and_values_come_from_the_store() {
        let (_dir, source) = source_with(&[
            (&[("__name__", "up"), ("job", "api")], 1000, 1.0),
            (&[("__name__", "down"), ("zone", "z1")], 1000, 1.0),
        ]);
        assert_eq!(
            source.label_names(&[], 0, 2000).unwrap(),
            ["__name__", "job", "zone"]
        );
        let only_up = [LabelMatcher::equal("__name__", "up")];
        assert_eq!(
            source.label_names(&only_up, 0, 2000).unwrap(),
            ["__name__", "job"]
        );
        assert_eq!(
            source.label_values("__name__", &[], 0, 2000).unwrap(),
            ["down", "up"]
        );
    }

    #[test]
    fn a_regex_matching_empty_also_selects_series_without_the_label() {
        let (_dir, source) = source_with(&[
            (&[("__name__", "up"), ("job", "api")], 1000, 1.0),
            (&[("__name__", "up")], 1000, 1.0),
        ]);
        let matchers = [LabelMatcher::new(MatchKind::NotRegex, "job", "a.+").unwrap()];
        let selected = source.select(&matchers, 0, 2000).unwrap();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].labels.get("job"), None);
    }
}
