//! Behaviour of the public engine API: result shapes, error types, limits, annotations.

use std::time::Duration;

use pharos_promql::{
    Engine, EngineOptions, ErrorType, EvalError, LabelMatcher, Labels, MemorySource, QueryControl,
    QueryValue, Series, SeriesSource, stale_nan,
};

const MIN: i64 = 60_000;

/// `http_requests_total{job, instance}` counters every minute for 10 minutes, and a gauge.
fn store() -> MemorySource {
    let mut s = MemorySource::new();
    for (job, inst, rate) in [("api", "0", 1.0), ("api", "1", 2.0), ("db", "0", 3.0)] {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total"),
            ("job", job),
            ("instance", inst),
        ]);
        for i in 0..=10 {
            s.add_sample(l.clone(), i * MIN, rate * 60.0 * i as f64);
        }
    }
    let g = Labels::from_pairs([("__name__", "temperature")]);
    for i in 0..=10 {
        s.add_sample(g.clone(), i * MIN, 20.0 + i as f64);
    }
    s
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

#[test]
fn instant_vector_serialises_in_prometheus_api_shape() {
    let r = engine()
        .instant(
            &store(),
            "sum by (job) (rate(http_requests_total[5m]))",
            10 * MIN,
        )
        .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["resultType"], "vector");
    let mut rows: Vec<(String, String)> = json["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["value"][0], 600);
            (
                e["metric"]["job"].as_str().unwrap().to_string(),
                e["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![("api".into(), "3".into()), ("db".into(), "3".into())]
    );
}

#[test]
fn range_query_returns_a_sorted_matrix_with_a_point_per_step() {
    let r = engine()
        .range(&store(), "http_requests_total * 2", 0, 2 * MIN, MIN)
        .unwrap();
    let QueryValue::Matrix(m) = &r.value else {
        panic!("{:?}", r.value)
    };
    let labels: Vec<String> = m.iter().map(|s| s.metric.to_string()).collect();
    assert_eq!(
        labels,
        vec![
            r#"{instance="0", job="api"}"#,
            r#"{instance="0", job="db"}"#,
            r#"{instance="1", job="api"}"#
        ]
    );
    assert_eq!(m[1].points, vec![(0, 0.0), (MIN, 360.0), (2 * MIN, 720.0)]);
}

#[test]
fn scalar_and_string_results_keep_their_types() {
    let e = engine();
    let s = e
        .instant(&store(), "scalar(temperature) + 1", 5 * MIN)
        .unwrap();
    assert_eq!(
        s.value,
        QueryValue::Scalar {
            t_ms: 5 * MIN,
            value: 26.0
        }
    );
    let json = serde_json::to_string(&e.instant(&store(), "\"hi\"", 0).unwrap()).unwrap();
    assert_eq!(json, r#"{"resultType":"string","result":[0,"hi"]}"#);
    let r = e.range(&store(), "time()", 0, MIN, MIN).unwrap();
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"resultType":"matrix","result":[{"metric":{},"values":[[0,"0"],[60,"60"]]}]}"#
    );
}

#[test]
fn invalid_queries_are_bad_data() {
    let e = engine();
    let err = e.instant(&store(), "sum(", 0).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::BadData);
    let err = e
        .range(&store(), "temperature[5m]", 0, MIN, MIN)
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::BadData);
    assert!(err.to_string().contains("range vector"), "{err}");
    let err = e.range(&store(), "temperature", 0, MIN, 0).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::BadData);
    let err = e.range(&store(), "temperature", MIN, 0, MIN).unwrap_err();
    assert!(err.to_string().contains("end timestamp"), "{err}");
}

#[test]
fn duplicate_output_series_is_an_execution_error() {
    // Two series differing only by name collide once a function drops the name.
    let mut s = MemorySource::new();
    s.add_sample(Labels::from_pairs([("__name__", "a"), ("x", "1")]), 0, 1.0);
    s.add_sample(Labels::from_pairs([("__name__", "b"), ("x", "1")]), 0, 2.0);
    let err = engine().instant(&s, "abs({x=\"1\"})", 0).unwrap_err();
    assert_eq!(
        err,
        EvalError::Execution("vector cannot contain metrics with the same labelset".into())
    );
    assert_eq!(err.error_type(), ErrorType::Execution);
}

#[test]
fn sample_limit_stops_queries_that_hold_too_much() {
    let e = Engine::new(EngineOptions {
        max_samples: 20,
        ..EngineOptions::default()
    });
    assert!(e.instant(&store(), "temperature", 5 * MIN).is_ok());
    let err = e
        .range(&store(), "http_requests_total", 0, 10 * MIN, MIN)
        .unwrap_err();
    assert_eq!(err, EvalError::TooManySamples { limit: 20 });
}

#[test]
fn series_limit_stops_queries_that_select_too_much() {
    let e = Engine::new(EngineOptions {
        max_series: 2,
        ..EngineOptions::default()
    });
    assert!(
        e.instant(&store(), "http_requests_total{job=\"api\"}", 0)
            .is_ok()
    );
    let err = e.instant(&store(), "http_requests_total", 0).unwrap_err();
    assert_eq!(err, EvalError::TooManySeries { limit: 2 });
    assert!(err.to_string().contains("label matchers"));
}

#[test]
fn timeout_and_cancellation_have_their_own_error_types() {
    let e = Engine::new(EngineOptions {
        timeout: Some(Duration::ZERO),
        ..EngineOptions::default()
    });
    let err = e.instant(&store(), "temperature", 0).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Timeout);

    let control = QueryControl::new();
    control.cancel();
    let err = engine()
        .instant_with(&store(), "temperature", 0, &control)
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Canceled);
}

#[test]
fn staleness_marker_ends_a_series_for_instant_selectors() {
    let mut s = MemorySource::new();
    let l = Labels::from_pairs([("__name__", "m")]);
    s.add_sample(l.clone(), 0, 1.0);
    s.add_sample(l.clone(), MIN, stale_nan());
    let e = engine();
    let at = |t| match e.instant(&s, "m", t).unwrap().value {
        QueryValue::Vector(v) => v.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(at(30_000), 1);
    assert_eq!(at(MIN), 0);
    // Without the marker the sample would be visible for the 5m lookback.
    assert_eq!(at(4 * MIN), 0);
}

#[test]
fn lookback_delta_is_configurable() {
    let e = Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(30),
        ..EngineOptions::default()
    });
    let mut s = MemorySource::new();
    s.add_sample(Labels::from_pairs([("__name__", "m")]), 0, 1.0);
    let n = |t| match e.instant(&s, "m", t).unwrap().value {
        QueryValue::Vector(v) => v.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(n(29_999), 1);
    assert_eq!(n(30_000), 0);
}

#[test]
fn annotations_point_at_the_offending_expression() {
    let r = engine()
        .instant(&store(), "sum(rate(temperature[5m]))", 10 * MIN)
        .unwrap();
    assert_eq!(
        r.infos(),
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\" (1:10)"
        ]
    );
    let r = engine()
        .range(&store(), "sort(temperature)", 0, MIN, MIN)
        .unwrap();
    assert_eq!(r.warnings().len(), 1);
    let api = r.to_api_response();
    assert_eq!(api["status"], "success");
    assert!(
        api["warnings"][0]
            .as_str()
            .unwrap()
            .contains("sort is ineffective")
    );
}

#[test]
fn at_modifier_and_offset_move_the_evaluation_time() {
    let e = engine();
    let v = |q: &str| match e.instant(&store(), q, 10 * MIN).unwrap().value {
        QueryValue::Vector(v) => v[0].value,
        other => panic!("{other:?}"),
    };
    assert_eq!(v("temperature"), 30.0);
    assert_eq!(v("temperature offset 3m"), 27.0);
    assert_eq!(v("temperature @ 120"), 22.0);
    assert_eq!(v("temperature @ 180 offset 1m"), 22.0);
    assert_eq!(v("max_over_time(temperature[10m:2m])"), 30.0);
}

/// A store that only supports streaming: `select` fails, `select_each` yields series.
struct StreamingOnly(MemorySource);

impl SeriesSource for StreamingOnly {
    fn select(&self, _: &[LabelMatcher], _: i64, _: i64) -> Result<Vec<Series>, EvalError> {
        Err(EvalError::Storage("select() must not be used".into()))
    }

    fn select_each(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut dyn FnMut(Series) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        for s in self.0.select(matchers, start_ms, end_ms)? {
            f(s)?;
        }
        Ok(())
    }

    fn label_names(&self, m: &[LabelMatcher], s: i64, e: i64) -> Result<Vec<String>, EvalError> {
        self.0.label_names(m, s, e)
    }

    fn label_values(
        &self,
        n: &str,
        m: &[LabelMatcher],
        s: i64,
        e: i64,
    ) -> Result<Vec<String>, EvalError> {
        self.0.label_values(n, m, s, e)
    }
}

#[test]
fn engine_reads_series_one_at_a_time_through_select_each() {
    let src = StreamingOnly(store());
    let r = engine()
        .range(
            &src,
            "sum(rate(http_requests_total[5m])) + sum(temperature)",
            5 * MIN,
            10 * MIN,
            MIN,
        )
        .unwrap();
    let QueryValue::Matrix(m) = r.value else {
        panic!()
    };
    assert_eq!(m[0].points.len(), 6);
}

#[test]
fn storage_errors_are_internal_errors() {
    struct Broken;
    impl SeriesSource for Broken {
        fn select(&self, _: &[LabelMatcher], _: i64, _: i64) -> Result<Vec<Series>, EvalError> {
            Err(EvalError::Storage("disk gone".into()))
        }
        fn label_names(
            &self,
            _: &[LabelMatcher],
            _: i64,
            _: i64,
        ) -> Result<Vec<String>, EvalError> {
            Ok(vec![])
        }
        fn label_values(
            &self,
            _: &str,
            _: &[LabelMatcher],
            _: i64,
            _: i64,
        ) -> Result<Vec<String>, EvalError> {
            Ok(vec![])
        }
    }
    let err = engine().instant(&Broken, "up", 0).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Internal);
    assert!(err.to_string().contains("disk gone"));
}

#[test]
fn or_combined_matchers_select_the_union() {
    let r = engine()
        .instant(
            &store(),
            r#"http_requests_total{job="db" or instance="1"}"#,
            0,
        )
        .unwrap();
    let QueryValue::Vector(v) = r.value else {
        panic!()
    };
    let mut got: Vec<String> = v.iter().map(|s| s.metric.to_string()).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            r#"{__name__="http_requests_total", instance="0", job="db"}"#,
            r#"{__name__="http_requests_total", instance="1", job="api"}"#,
        ]
    );
}

#[test]
fn hand_built_asts_with_bad_arity_are_rejected_not_panicking() {
    let mut expr =
        promql_parser::parser::parse("label_replace(up, \"a\", \"b\", \"c\", \"d\")").unwrap();
    if let promql_parser::parser::Expr::Call(c) = &mut expr {
        c.args.args.truncate(2);
    }
    let err = engine().instant_ast(&store(), &expr, 0).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::BadData);
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );
}
