//! The engine against hostile queries: every query the syntax budget accepts evaluates, prints
//! and drops on a worker-sized stack; subqueries cannot run away; the deadline and
//! cancellation stop heavy queries mid-loop; generated queries never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pharos_promql::{
    Engine, EngineOptions, ErrorType, EvalError, Labels, MemorySource, QueryControl, SeriesSource,
};
use pharos_promql_syntax::{MAX_NESTING_DEPTH, SyntaxLimits, check_depth};
use proptest::prelude::*;
use proptest::sample::select;

const MIN: i64 = 60_000;

/// The stack a tokio worker or blocking thread gets by default.
const WORKER_STACK: usize = 2 * 1024 * 1024;

fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// `up{job, instance}` for three targets every minute for an hour.
fn small_store() -> MemorySource {
    let mut source = MemorySource::new();
    for (job, instance) in [("api", "0"), ("api", "1"), ("db", "0")] {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", job), ("instance", instance)]);
        for i in 0..=60 {
            source.add_sample(labels.clone(), i * MIN, 1.0);
        }
    }
    source
}

/// The deepest query of each shape the budget accepts (exactly [`MAX_NESTING_DEPTH`] levels).
fn deepest_accepted_queries() -> Vec<(&'static str, String)> {
    let n = MAX_NESTING_DEPTH;
    let half = n / 2;
    vec![
        ("number chain", vec!["1"; n + 1].join("+")),
        ("vector chain", vec!["up"; n + 1].join(" + ")),
        ("or chain", vec!["up"; n + 1].join(" or ")),
        ("power chain", vec!["up"; n + 1].join(" ^ ")),
        (
            "nested sums",
            format!("{}up{}", "sum(".repeat(n), ")".repeat(n)),
        ),
        (
            "nested topk",
            format!("{}up{}", "topk(1, ".repeat(n), ")".repeat(n)),
        ),
        (
            "nested abs",
            format!("{}up{}", "abs(".repeat(n), ")".repeat(n)),
        ),
        (
            "nested label_replace",
            format!(
                "{}up{}",
                "label_replace(".repeat(n),
                ", \"a\", \"b\", \"c\", \"d\")".repeat(n)
            ),
        ),
        (
            "scalar/vector",
            format!("{}1{}", "scalar(vector(".repeat(half), "))".repeat(half)),
        ),
        (
            "nested parens",
            format!("{}up{}", "(".repeat(n), ")".repeat(n)),
        ),
        ("unary minus", format!("{}up", "-".repeat(n))),
        (
            "nested subqueries",
            format!(
                "{}up{}",
                "max_over_time(".repeat(half),
                "[5m:1m])".repeat(half)
            ),
        ),
        (
            "paren + binary",
            format!("{}up{}", "(1 + ".repeat(half), ")".repeat(half)),
        ),
    ]
}

#[test]
fn deepest_accepted_queries_evaluate_print_and_drop_on_a_worker_stack() {
    for (shape, query) in deepest_accepted_queries() {
        let outcome = on_worker_stack(move || {
            let engine = Engine::new(EngineOptions::default());
            let source = small_store();
            let expr = pharos_promql_syntax::parse(&query, &SyntaxLimits::default())?;
            engine.instant(&source, &query, 30 * MIN)?;
            engine.range(&source, &query, 0, 60 * MIN, MIN)?;
            engine.instant_ast(&source, &expr, 30 * MIN)?;
            let printed = expr.to_string();
            let reparsed = pharos_promql_syntax::parse(&printed, &SyntaxLimits::default())?;
            drop(expr);
            drop(reparsed);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        assert!(outcome.is_ok(), "{shape}: {outcome:?}");
    }
}

#[test]
fn one_level_deeper_is_refused_as_bad_data_naming_the_limit() {
    let engine = Engine::new(EngineOptions::default());
    let query = format!("{}up{}", "sum(".repeat(257), ")".repeat(257));
    let error = engine.instant(&small_store(), &query, 0).unwrap_err();
    assert_eq!(error.error_type(), ErrorType::BadData);
    assert!(error.to_string().contains("256 levels"), "{error}");
    assert_eq!(error.refusal_reason(), Some("promql_too_deep"));
}

#[test]
fn hand_built_asts_get_the_nesting_limit_too() {
    let engine = Engine::new(EngineOptions::default());
    let deep = format!("{}up{}", "(".repeat(300), ")".repeat(300));
    let expr = promql_parser::parser::parse(&deep).unwrap();
    assert!(check_depth(&expr).is_err());
    let error = engine.instant_ast(&small_store(), &expr, 0).unwrap_err();
    assert_eq!(error.refusal_reason(), Some("promql_too_deep"));
    let error = engine
        .range_ast(&small_store(), &expr, 0, MIN, MIN)
        .unwrap_err();
    assert_eq!(error.refusal_reason(), Some("promql_too_deep"));
}

#[test]
fn configured_query_length_is_enforced() {
    let engine = Engine::new(EngineOptions {
        max_query_length: 16,
        ..EngineOptions::default()
    });
    assert!(engine.instant(&small_store(), "sum(up)", 0).is_ok());
    let error = engine
        .instant(&small_store(), "sum by (job) (up{job=\"api\"})", 0)
        .unwrap_err();
    assert_eq!(error.error_type(), ErrorType::BadData);
    assert!(error.to_string().contains("limit of 16 bytes"), "{error}");
    assert_eq!(error.refusal_reason(), Some("promql_too_long"));
}

#[test]
fn runaway_subqueries_are_refused_before_they_start() {
    let engine = Engine::new(EngineOptions::default());
    for query in [
        "max_over_time(up[1y:1ms])",
        "sum_over_time(vector(1)[1y:1ms])",
    ] {
        let started = Instant::now();
        let error = engine.instant(&small_store(), query, 30 * MIN).unwrap_err();
        assert!(
            matches!(
                error,
                EvalError::TooManySubquerySteps {
                    limit: 1_000_000,
                    ..
                }
            ),
            "{query}: {error:?}"
        );
        assert_eq!(error.error_type().http_status(), 400);
        assert!(started.elapsed() < Duration::from_secs(1), "{query}");
    }
}

#[test]
fn subquery_steps_count_across_the_whole_query() {
    let with_limit = |limit| {
        Engine::new(EngineOptions {
            max_subquery_steps: limit,
            ..EngineOptions::default()
        })
    };
    // An instant `[1h:1m]` subquery at a whole minute takes 60 inner steps.
    let single = "max_over_time(up[1h:1m])";
    assert!(
        with_limit(60)
            .instant(&small_store(), single, 60 * MIN)
            .is_ok()
    );
    assert!(
        with_limit(59)
            .instant(&small_store(), single, 60 * MIN)
            .is_err()
    );
    // Two of them take twice as many.
    let double = format!("{single} + {single}");
    assert!(
        with_limit(120)
            .instant(&small_store(), &double, 60 * MIN)
            .is_ok()
    );
    assert!(matches!(
        with_limit(119).instant(&small_store(), &double, 60 * MIN),
        Err(EvalError::TooManySubquerySteps { limit: 119, .. })
    ));
}

/// Five series with a sample every second for a day: a `[1d]` window holds 86 400 points,
/// so a long range query over it is minutes of work.
fn heavy_store() -> MemorySource {
    let mut source = MemorySource::new();
    for i in 0..5 {
        let labels = Labels::from_pairs([("__name__", "busy"), ("i", &i.to_string())]);
        for t in 0..86_400 {
            source.add_sample(labels.clone(), t * 1_000, t as f64);
        }
    }
    source
}

const HEAVY: &str = "quantile_over_time(0.5, busy[1d])";

fn heavy_range(engine: &Engine, source: &dyn SeriesSource, control: &QueryControl) -> EvalError {
    engine
        .range_with(source, HEAVY, 0, 86_400_000, 8_000, control)
        .unwrap_err()
}

#[test]
fn the_deadline_stops_a_heavy_query_mid_loop() {
    let source = heavy_store();
    let timeout = Duration::from_millis(300);
    let engine = Engine::new(EngineOptions {
        timeout: Some(timeout),
        ..EngineOptions::default()
    });
    let started = Instant::now();
    let error = heavy_range(&engine, &source, &QueryControl::new());
    let took = started.elapsed();
    assert_eq!(error, EvalError::Timeout);
    assert!(
        took < timeout + Duration::from_millis(700),
        "answered after {took:?}"
    );
}

#[test]
fn cancellation_stops_a_heavy_query_mid_loop() {
    let source = heavy_store();
    let engine = Engine::new(EngineOptions::default());
    let control = QueryControl::new();
    let canceller = {
        let control = control.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            control.cancel();
            Instant::now()
        })
    };
    let error = heavy_range(&engine, &source, &control);
    let stopped = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_eq!(error, EvalError::Canceled);
    assert!(
        stopped.duration_since(cancelled_at) < Duration::from_millis(700),
        "stopped {:?} after the cancel",
        stopped.duration_since(cancelled_at)
    );
}

/// PromQL pieces for generated queries: selectors, functions, operators, modifiers, and
/// brackets that may or may not balance.
const TOKENS: &[&str] = &[
    "up",
    "up{job=\"api\"}",
    "{__name__=~\"u.*\"}",
    "1",
    "-2.5",
    "NaN",
    "Inf",
    "\"s\"",
    "(",
    ")",
    "[5m]",
    "[1h:1m]",
    "[1h:]",
    "[10y:1s]",
    " + ",
    " - ",
    " * ",
    " / ",
    " % ",
    " ^ ",
    " == bool ",
    " > ",
    " and ",
    " or ",
    " unless ",
    " atan2 ",
    " on (job) ",
    " ignoring (instance) ",
    " group_left ",
    "sum(",
    "sum by (job) (",
    "count_values(\"v\", ",
    "topk(2, ",
    "quantile(0.5, ",
    "rate(",
    "max_over_time(",
    "quantile_over_time(0.9, ",
    "absent(",
    "scalar(",
    "vector(",
    "histogram_quantile(0.9, ",
    "label_replace(",
    ", \"a\", \"$1\", \"job\", \"(.*)\")",
    "clamp(",
    ", 0, 1)",
    "time()",
    " offset 5m",
    " offset -1h",
    " offset 9999y",
    " @ 100",
    " @ -100",
    " @ end()",
    ", ",
];

fn generated_query() -> impl Strategy<Value = String> {
    proptest::collection::vec((select(TOKENS), 1usize..=3), 1..30).prop_map(|runs| {
        runs.into_iter()
            .flat_map(|(token, count)| std::iter::repeat_n(token, count))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn generated_queries_answer_without_panicking(query in generated_query(), at in 0i64..120) {
        let outcome = on_worker_stack(move || {
            let engine = Engine::new(EngineOptions {
                timeout: Some(Duration::from_secs(5)),
                max_subquery_steps: 200_000,
                ..EngineOptions::default()
            });
            let source = small_store();
            let instant = engine.instant(&source, &query, at * MIN);
            let range = engine.range(&source, &query, 0, at * MIN, MIN);
            (query, instant.err(), range.err())
        });
        let (query, instant, range) = outcome;
        for error in [instant, range].into_iter().flatten() {
            // A timeout here means a query ran five seconds on three tiny series.
            prop_assert_ne!(&error, &EvalError::Timeout, "{}", query);
            prop_assert!(!error.to_string().is_empty());
        }
    }
}

#[test]
fn extreme_offsets_and_timestamps_answer_without_panicking() {
    let engine = Engine::new(EngineOptions::default());
    let source = small_store();
    for query in [
        "up offset 300000000y",
        "up offset -300000000y",
        "rate(up[5m] offset -300000000y)",
        "max_over_time(up[1h:1m] offset -300000000y)",
        "up @ 9000000000000000",
        "up @ -9000000000000000",
        "rate(up[300000000y])",
        "max_over_time(up[300000000y:100000000y])",
    ] {
        for outcome in [
            engine.instant(&source, query, 30 * MIN).map(|_| ()),
            engine.range(&source, query, 0, 60 * MIN, MIN).map(|_| ()),
        ] {
            if let Err(error) = outcome {
                assert_ne!(error.error_type(), ErrorType::Internal, "{query}: {error}");
            }
        }
    }
}
