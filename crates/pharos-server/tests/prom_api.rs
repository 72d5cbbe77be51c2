//! The Prometheus HTTP API of the embedded store, in process: answers compared with the ones
//! captured from a real Prometheus over the same data, parameter formats, error envelopes and
//! status codes, listings and status endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use axum::http::StatusCode;
use pharos_query::QueryOptions;
use pretty_assertions::assert_eq;
use prom_api_support::{
    PromApp, TestSample, assert_matches_reference, load_reference_data, reference,
};
use serde_json::json;

const RANGE_QUERY: &str = "sum by (namespace) (rate(app_requests_total[5m]))";
const HISTOGRAM_QUERY: &str = "histogram_quantile(0.9, sum by (namespace, le) (rate(app_request_duration_seconds_bucket[5m])))";

#[tokio::test]
async fn answers_match_the_ones_captured_from_prometheus() {
    let app = PromApp::new().await;
    load_reference_data(&app.db);

    let instant = app
        .get(
            "/api/v1/query",
            &[
                ("query", r#"app_queue_depth{namespace="ns-1"}"#),
                ("time", "1704200000"),
            ],
        )
        .await;
    assert_eq!(instant.status, StatusCode::OK, "{}", instant.text);
    assert!(instant.content_type.starts_with("application/json"));
    assert_eq!(instant.body, reference("prometheus-query-instant.json"));

    let range = [
        ("query", RANGE_QUERY),
        ("start", "1704067200"),
        ("end", "1704326385"),
        ("step", "3600"),
    ];
    let answer = app.get("/api/v1/query_range", &range).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_matches_reference(&answer.body, &reference("prometheus-query-range.json"));
    // The same request as a form POST, with the step as a duration.
    let mut as_form = range;
    as_form[3] = ("step", "1h");
    let posted = app.post_form("/api/v1/query_range", &as_form).await;
    assert_eq!(posted.body, answer.body);

    let histogram = app
        .get(
            "/api/v1/query_range",
            &[
                ("query", HISTOGRAM_QUERY),
                ("start", "2024-01-01T00:00:00Z"),
                ("end", "1704326385"),
                ("step", "6h"),
            ],
        )
        .await;
    assert_eq!(histogram.status, StatusCode::OK, "{}", histogram.text);
    assert_matches_reference(
        &histogram.body,
        &reference("prometheus-query-range-histogram.json"),
    );
}

#[tokio::test]
async fn a_parse_error_is_the_envelope_prometheus_sends() {
    let app = PromApp::new().await;
    let answer = app.get("/api/v1/query", &[("query", "sum(")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body, reference("prometheus-query-error-400.json"));
}

#[tokio::test]
async fn bad_parameters_are_bad_data_with_prometheus_messages() {
    let app = PromApp::new().await;
    // (path, parameters, expected error)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        &'static str,
    );
    let cases: [Case; 7] = [
        (
            "/api/v1/query",
            vec![("query", "up"), ("time", "noon")],
            r#"invalid parameter "time": cannot parse "noon" to a valid timestamp"#,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up"),
                ("start", "10"),
                ("end", "20"),
                ("step", "0"),
            ],
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up"),
                ("start", "0"),
                ("end", "11001"),
                ("step", "1"),
            ],
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up"),
                ("start", "20"),
                ("end", "10"),
                ("step", "1"),
            ],
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range",
            vec![("query", "up"), ("end", "10"), ("step", "1")],
            r#"invalid parameter "start": cannot parse "" to a valid timestamp"#,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up"),
                ("start", "0"),
                ("end", "10"),
                ("step", "often"),
            ],
            r#"invalid parameter "step": cannot parse "often" to a valid duration"#,
        ),
        ("/api/v1/series", vec![], "no match[] parameter provided"),
    ];
    for (path, params, message) in cases {
        let answer = app.get(path, &params).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path} {params:?}");
        assert_eq!(
            answer.body,
            json!({"status": "error", "errorType": "bad_data", "error": message}),
            "{path} {params:?}"
        );
    }
    // Exactly 11,000 steps is still allowed, as in Prometheus.
    let at_limit = app
        .get(
            "/api/v1/query_range",
            &[
                ("query", "1"),
                ("start", "0"),
                ("end", "11000"),
                ("step", "1"),
            ],
        )
        .await;
    assert_eq!(at_limit.status, StatusCode::OK, "{}", at_limit.text);
}

#[tokio::test]
async fn execution_failures_and_timeouts_use_their_status_codes() {
    let app = PromApp::with_options(QueryOptions {
        max_samples: 5,
        ..QueryOptions::default()
    })
    .await;
    let samples: Vec<TestSample<'_>> = (0..20)
        .map(|i| (&[("__name__", "g")][..], i * 1000, i as f64))
        .collect();
    app.append(&samples);

    let too_many = app
        .get("/api/v1/query", &[("query", "g[1m]"), ("time", "20")])
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.body["errorType"], "execution");

    let timed_out = app
        .get(
            "/api/v1/query_range",
            &[
                ("query", "g"),
                ("start", "0"),
                ("end", "20"),
                ("step", "1"),
                ("timeout", "0s"),
            ],
        )
        .await;
    assert_eq!(timed_out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(timed_out.body["errorType"], "timeout");
}

#[tokio::test]
async fn results_values_and_warnings_have_the_prometheus_shape() {
    let app = PromApp::new().await;
    app.append(&[
        (&[("__name__", "up"), ("job", "api")], 1_000, 1.0),
        (&[("__name__", "up"), ("job", "web")], 1_000, 0.0),
    ]);
    let scalar = app
        .post_form("/api/v1/query", &[("query", "1 + 1"), ("time", "1.5")])
        .await;
    assert_eq!(
        scalar.body,
        json!({"status": "success", "data": {"resultType": "scalar", "result": [1.5, "2"]}})
    );
    // `time` defaults to now: data from 1970 is outside the lookback window.
    let now = app.get("/api/v1/query", &[("query", "up")]).await;
    assert_eq!(now.body["data"]["result"], json!([]));
    let sorted = app
        .get(
            "/api/v1/query",
            &[("query", "sort_desc(up)"), ("time", "2")],
        )
        .await;
    assert_eq!(sorted.body["data"]["result"][0]["metric"]["job"], "api");
    assert_eq!(sorted.body["data"]["result"][0]["value"], json!([2, "1"]));
}

#[tokio::test]
async fn series_labels_and_values_follow_match_time_and_limit() {
    let app = PromApp::new().await;
    app.append(&[
        (
            &[("__name__", "up"), ("job", "api"), ("zone", "a")],
            1_000,
            1.0,
        ),
        (&[("__name__", "up"), ("job", "web")], 1_000, 1.0),
        (&[("__name__", "late"), ("job", "batch")], 500_000, 1.0),
    ]);
    let series = app.get("/api/v1/series", &[("match[]", "up")]).await;
    assert_eq!(
        series.body,
        json!({"status": "success", "data": [
            {"__name__": "up", "job": "api", "zone": "a"},
            {"__name__": "up", "job": "web"}
        ]})
    );
    let two_selectors = app
        .post_form(
            "/api/v1/series",
            &[("match[]", r#"{job="web"}"#), ("match[]", "late")],
        )
        .await;
    assert_eq!(two_selectors.body["data"].as_array().unwrap().len(), 2);

    let limited = app
        .get("/api/v1/series", &[("match[]", "up"), ("limit", "1")])
        .await;
    assert_eq!(limited.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        limited.body["warnings"],
        json!(["results truncated due to limit"])
    );

    let names = app.get("/api/v1/labels", &[]).await;
    assert_eq!(names.body["data"], json!(["__name__", "job", "zone"]));
    let early_names = app
        .get("/api/v1/labels", &[("start", "0"), ("end", "2")])
        .await;
    assert_eq!(early_names.body["data"], json!(["__name__", "job", "zone"]));
    let late_only = app
        .get("/api/v1/labels", &[("start", "400"), ("end", "600")])
        .await;
    assert_eq!(late_only.body["data"], json!(["__name__", "job"]));

    let values = app.get("/api/v1/label/job/values", &[]).await;
    assert_eq!(values.body["data"], json!(["api", "batch", "web"]));
    let matched = app
        .get("/api/v1/label/job/values", &[("match[]", r#"{zone="a"}"#)])
        .await;
    assert_eq!(matched.body["data"], json!(["api"]));
    let bad_name = app.get("/api/v1/label/1x/values", &[]).await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_name.body["error"], r#"invalid label name: "1x""#);
    let bad_match = app.get("/api/v1/series", &[("match[]", "sum(up)")]).await;
    assert_eq!(bad_match.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn status_and_build_info_describe_the_store() {
    let app = PromApp::new().await;
    app.append(&[
        (&[("__name__", "up"), ("job", "api")], 1_000, 1.0),
        (&[("__name__", "up"), ("job", "web")], 2_000, 1.0),
    ]);
    let status = app.get("/api/v1/status/tsdb", &[]).await;
    assert_eq!(status.status, StatusCode::OK);
    let data = &status.body["data"];
    assert_eq!(data["headStats"]["numSeries"], 2);
    assert_eq!(data["headStats"]["minTime"], 1000);
    assert_eq!(data["headStats"]["maxTime"], 2000);
    assert_eq!(
        data["seriesCountByMetricName"],
        json!([{"name": "up", "value": 2}])
    );
    let build = app.get("/api/v1/status/buildinfo", &[]).await;
    assert_eq!(build.body["status"], "success");
    assert!(
        build.body["data"]["version"]
            .as_str()
            .unwrap()
            .starts_with('3')
    );
    assert!(
        build.body["data"]["application"]
            .as_str()
            .unwrap()
            .starts_with("Pharos")
    );
    let metadata = app.get("/api/v1/metadata", &[]).await;
    assert_eq!(metadata.body, json!({"status": "success", "data": {}}));
}

#[tokio::test]
async fn without_the_store_the_api_says_it_is_unavailable() {
    let (store, _guard) = pharos_store::testing::sqlite_store().await;
    let mut settings = pharos_server::ServerSettings::default();
    settings.security.admin_password = Some("test-admin-password".to_owned());
    let state = pharos_server::AppState::new(store, settings).unwrap();
    state.identity.bootstrap_admin(None).await.unwrap();
    let token = state
        .identity
        .login("admin", "test-admin-password", "test")
        .await
        .unwrap()
        .access_token;
    let app = pharos_server::router(state);
    let response = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/api/v1/query?query=up")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["errorType"], "unavailable");
}
