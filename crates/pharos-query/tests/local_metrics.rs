//! The local metrics service against a real store on disk: queries with limits, listings,
//! metadata, statistics, and reads that span blocks and head.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pharos_promql::{ErrorType, QueryValue};
use pharos_query::{LocalMetrics, MetricMetadataEntry, QueryError, QueryOptions};
use pharos_tsdb::{Db, Labels, Options};

const MINUTE: i64 = 60_000;

/// `http_requests_total{job, pod}` counters, one sample per minute for `minutes` minutes,
/// growing by `rate * 60` per minute.
fn service(options: QueryOptions, minutes: i64) -> (tempfile::TempDir, LocalMetrics) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut appender = db.appender();
    for (job, pod, rate) in [("api", "a", 1.0), ("api", "b", 2.0), ("web", "c", 4.0)] {
        let labels = Labels::new([
            ("__name__", "http_requests_total"),
            ("job", job),
            ("pod", pod),
        ])
        .unwrap();
        for minute in 0..minutes {
            appender
                .append(&labels, minute * MINUTE, rate * 60.0 * minute as f64)
                .unwrap();
        }
    }
    appender.commit().unwrap();
    (dir, LocalMetrics::new(Arc::new(db), options))
}

fn vector_values(value: &QueryValue) -> Vec<f64> {
    match value {
        QueryValue::Vector(samples) => samples.iter().map(|s| s.value).collect(),
        other => panic!("expected a vector, got {other:?}"),
    }
}

#[tokio::test]
async fn instant_and_range_queries_evaluate_over_the_store() {
    let (_dir, metrics) = service(QueryOptions::default(), 30);
    let result = metrics
        .instant(
            "sum by (job) (rate(http_requests_total[5m]))",
            20 * MINUTE,
            None,
        )
        .await
        .unwrap();
    let mut rates = vector_values(&result.value);
    rates.sort_by(f64::total_cmp);
    assert_eq!(rates, [3.0, 4.0]);

    let range = metrics
        .range("sum(http_requests_total)", 0, 10 * MINUTE, MINUTE, None)
        .await
        .unwrap();
    let QueryValue::Matrix(series) = range.value else {
        panic!("expected a matrix");
    };
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].points.len(), 11);
    assert_eq!(series[0].points[10], (10 * MINUTE, 7.0 * 60.0 * 10.0));
}

#[tokio::test]
async fn the_sample_limit_stops_a_query_with_an_execution_error() {
    let options = QueryOptions {
        max_samples: 10,
        ..QueryOptions::default()
    };
    let (_dir, metrics) = service(options, 30);
    let error = metrics
        .instant("http_requests_total[30m]", 29 * MINUTE, None)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), ErrorType::Execution, "{error}");
    assert!(error.to_string().contains("too many samples"), "{error}");
}

#[tokio::test]
async fn an_expired_request_timeout_is_a_timeout_error() {
    let (_dir, metrics) = service(QueryOptions::default(), 30);
    let error = metrics
        .range(
            "rate(http_requests_total[5m])",
            0,
            29 * MINUTE,
            1000,
            Some(Duration::ZERO),
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), ErrorType::Timeout, "{error}");
}

#[tokio::test]
async fn parse_errors_are_bad_data() {
    let (_dir, metrics) = service(QueryOptions::default(), 1);
    let error = metrics.instant("sum(up", 0, None).await.unwrap_err();
    assert!(matches!(error, QueryError::Eval(_)));
    assert_eq!(error.error_type(), ErrorType::BadData);
}

#[tokio::test]
async fn series_and_labels_follow_match_selectors() {
    let (_dir, metrics) = service(QueryOptions::default(), 3);
    let all = i64::MAX / 2;
    let series = metrics
        .series(
            &[
                r#"http_requests_total{job="web"}"#.into(),
                r#"{pod="a"}"#.into(),
            ],
            -all,
            all,
        )
        .await
        .unwrap();
    let pods: Vec<&str> = series.iter().filter_map(|l| l.get("pod")).collect();
    assert_eq!(pods, ["a", "c"]);

    let missing = metrics.series(&[], -all, all).await.unwrap_err();
    assert_eq!(missing.to_string(), "no match[] parameter provided");

    let names = metrics.label_names(&[], -all, all).await.unwrap();
    assert_eq!(names, ["__name__", "job", "pod"]);
    let values = metrics
        .label_values("pod", &[r#"{job="api"}"#.into()], -all, all)
        .await
        .unwrap();
    assert_eq!(values, ["a", "b"]);
    // Outside the data's time range nothing is listed.
    let later = metrics
        .label_values("pod", &[], 10 * MINUTE, 20 * MINUTE)
        .await
        .unwrap();
    assert!(later.is_empty());
}

#[tokio::test]
async fn queries_read_blocks_and_head_as_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let labels = Labels::new([("__name__", "g")]).unwrap();
    let metrics = LocalMetrics::new(Arc::clone(&db), QueryOptions::default());
    // Four hours of one-minute samples: maintenance cuts the first two hours into a block.
    let summary = metrics
        .append(move |db| {
            let mut appender = db.appender();
            for minute in 0..240 {
                appender
                    .append(&labels, minute * MINUTE, minute as f64)
                    .unwrap();
            }
            appender.commit()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.samples, 240);
    let report = db.maintenance().unwrap();
    assert!(report.blocks_cut >= 1, "{report:?}");

    let result = metrics
        .range("g", 0, 239 * MINUTE, 60 * MINUTE, None)
        .await
        .unwrap();
    let QueryValue::Matrix(series) = result.value else {
        panic!("expected a matrix");
    };
    let values: Vec<f64> = series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(values, [0.0, 60.0, 120.0, 180.0]);
}

#[tokio::test]
async fn metadata_and_status_describe_what_was_ingested() {
    let (_dir, metrics) = service(QueryOptions::default(), 2);
    metrics.record_metadata(
        "http_requests_total",
        MetricMetadataEntry {
            metric_type: "counter".into(),
            help: "Requests served.".into(),
            unit: String::new(),
        },
    );
    let metadata = metrics.metadata(None, None, None);
    assert_eq!(metadata["http_requests_total"][0].help, "Requests served.");
    assert!(metrics.metadata(Some("other"), None, None).is_empty());

    let status = metrics.tsdb_status(10).await.unwrap();
    assert_eq!(status.head.num_series, 3);
    assert_eq!(
        status.series_count_by_metric_name,
        [("http_requests_total".to_owned(), 3)]
    );
}
