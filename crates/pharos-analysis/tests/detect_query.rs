//! `detect_query` against the embedded store: a spike written into a series is found with
//! its interval, the report says what history the baselines had, and hostile requests get
//! errors that say what to fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pharos_analysis::{AnalysisError, DetectOptions, Method, detect_query};
use pharos_query::{LocalBackend, LocalMetrics, QueryOptions};
use pharos_tsdb::{Db, Labels, Options};

const MIN: i64 = 60_000;
const T0: i64 = 1_767_225_600_000;

async fn backend() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let metrics = Arc::new(LocalMetrics::new(db, QueryOptions::default()));
    metrics
        .append(
            |db| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                let mut appender = db.appender();
                for job in ["api", "batch"] {
                    let labels = Labels::new([("__name__", "latency"), ("job", job)])?;
                    for i in 0..600i64 {
                        let wiggle = [0.0, 1.0, -1.0, 0.5, -0.5][(i % 5) as usize];
                        let spike = job == "api" && (500..512).contains(&i);
                        let value = 50.0 + wiggle + if spike { 250.0 } else { 0.0 };
                        appender.append(&labels, T0 + i * MIN, value)?;
                    }
                }
                Ok(appender.commit()?)
            },
        )
        .await
        .unwrap()
        .unwrap();
    (dir, LocalBackend::new(metrics))
}

#[tokio::test]
async fn a_spike_is_found_with_its_interval_and_the_history_is_reported() {
    let (_dir, backend) = backend().await;
    let options = DetectOptions::default();
    let report = detect_query(
        &backend,
        "latency",
        T0 + 400 * MIN,
        T0 + 599 * MIN,
        Some(MIN),
        &[],
        &options,
    )
    .await
    .unwrap();
    assert_eq!(report.series, 2);
    assert_eq!(
        report.history.seasons_available, 0,
        "less than a day of data"
    );
    assert!(report.history.baseline_seconds >= 7200.0);
    assert!(!report.anomalies.is_empty());
    let top = &report.anomalies[0];
    assert_eq!(top.labels["job"], "api");
    assert_eq!(top.start_ms, T0 + 500 * MIN);
    assert!(report.anomalies.iter().all(|a| a.labels["job"] == "api"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["anomalies"][0]["labels"]["job"], "api");
    assert!(json["anomalies"][0]["start"].as_f64().unwrap() > 1.7e9);
    let methods: Vec<&str> = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["method"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"seasonal_zscore"), "{methods:?}");

    let only = detect_query(
        &backend,
        "latency",
        T0 + 400 * MIN,
        T0 + 599 * MIN,
        Some(MIN),
        &[Method::Stuck],
        &options,
    )
    .await
    .unwrap();
    assert!(only.anomalies.is_empty());
}

#[tokio::test]
async fn hostile_requests_get_errors_that_say_what_to_fix() {
    let (_dir, backend) = backend().await;
    let options = DetectOptions::default();
    let run = |query: &'static str, start: i64, end: i64, step: Option<i64>, o: DetectOptions| {
        let backend = backend.clone();
        async move { detect_query(&backend, query, start, end, step, &[], &o).await }
    };
    let err = run("latency", T0 + MIN, T0, None, options.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, AnalysisError::InvalidRange(_)), "{err}");
    let err = run("latency", T0, T0 + MIN, Some(0), options.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, AnalysisError::InvalidStep(_)), "{err}");
    let err = run(
        "latency",
        T0 - 365 * 86_400_000,
        T0,
        Some(1_000),
        options.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("larger step"), "{err}");
    let err = run("sum(", T0, T0 + 60 * MIN, Some(MIN), options.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, AnalysisError::Backend { .. }), "{err}");
    let one = DetectOptions {
        max_series: 1,
        ..DetectOptions::default()
    };
    let err = run("latency", T0, T0 + 60 * MIN, Some(MIN), one)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("narrow the selector"), "{err}");
    let empty = run("nothing_here", T0, T0 + 60 * MIN, Some(MIN), options)
        .await
        .unwrap();
    assert!(empty.anomalies.is_empty() && empty.series == 0);
}
