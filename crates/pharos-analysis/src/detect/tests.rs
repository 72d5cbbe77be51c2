//! Tests of what the methods share: options, filters, serialisation, hostile input.

#![allow(clippy::unwrap_used)]
use super::test_support::*;
use super::*;

#[test]
fn options_are_checked() {
    assert!(DetectOptions::default().validate().is_ok());
    let bad = DetectOptions {
        z_threshold: f64::NAN,
        ..DetectOptions::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(AnalysisError::InvalidOptions(_))
    ));
    let json = serde_json::json!({"z_threshold": 4.0});
    let parsed: DetectOptions = serde_json::from_value(json).unwrap();
    assert_eq!(parsed.z_threshold, 4.0);
    assert_eq!(parsed.min_points, 3);
}

#[test]
fn hostile_series_give_errors_or_nothing_never_a_panic() {
    for values in [
        vec![],
        vec![f64::NAN; 500],
        vec![f64::INFINITY; 500],
        vec![1e308, -1e308, 1e308, f64::NAN, 0.0],
        vec![f64::MAX; 300],
        vec![0.0; 300],
    ] {
        for method in Method::ALL {
            let _ = run(&values, 0, method);
        }
    }
    let s = series(&vec![1.0; 30_000]);
    let err = detect_series(
        &s,
        STEP,
        0,
        30_000 * STEP,
        &Method::ALL,
        &Filter::default(),
        &DetectOptions::default(),
    );
    assert!(matches!(err, Err(AnalysisError::TooManyPoints { .. })));
    let err = detect_series(
        &s,
        0,
        0,
        10,
        &Method::ALL,
        &Filter::default(),
        &DetectOptions::default(),
    );
    assert!(matches!(err, Err(AnalysisError::InvalidStep(_))));
}

#[test]
fn anomalies_serialise_with_unix_seconds() {
    let mut values: Vec<f64> = noise(300, 3).iter().map(|n| 100.0 + n).collect();
    for v in &mut values[200..210] {
        *v = 200.0;
    }
    let found = run(&values, 150, Method::SeasonalZscore);
    assert_eq!(found.len(), 1);
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["start"], 200.0 * 60.0);
    assert_eq!(json["end"], 209.0 * 60.0);
    assert_eq!(json["method"], "seasonal_zscore");
    let back: Anomaly = serde_json::from_value(json).unwrap();
    assert_eq!(back, found[0]);
}

#[test]
fn filters_drop_small_changes_and_unwanted_directions() {
    let mut values: Vec<f64> = noise(300, 4).iter().map(|n| 100.0 + n).collect();
    for v in &mut values[200..210] {
        *v = 120.0;
    }
    let s = series(&values);
    let detect = |filter: Filter| {
        detect_series(
            &s,
            STEP,
            150 * STEP,
            299 * STEP,
            &[Method::SeasonalZscore],
            &filter,
            &DetectOptions::default(),
        )
        .unwrap()
    };
    assert_eq!(detect(Filter::default()).len(), 1);
    let down = Filter {
        direction: Wanted::Down,
        ..Filter::default()
    };
    assert!(detect(down).is_empty());
    let big = Filter {
        min_delta: 50.0,
        ..Filter::default()
    };
    assert!(detect(big).is_empty());
    let relative = Filter {
        min_relative_delta: 0.5,
        ..Filter::default()
    };
    assert!(detect(relative).is_empty());
}
