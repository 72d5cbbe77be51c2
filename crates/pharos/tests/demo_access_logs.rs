//! Issue 13, item 8: a fresh start with the simulator has the demo services' latency buckets
//! for the past week (written with the simulated history) and keeps adding the current
//! bucket's requests from the access-log lines the simulator pushes into the log intake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::Pharos;

/// `GET /api/v1/query?query=...`: the `data.result` array.
async fn query(pharos: &Pharos, client: &reqwest::Client, promql: &str) -> Vec<serde_json::Value> {
    let response = client
        .get(pharos.url("/api/v1/query"))
        .query(&[("query", promql)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{promql}: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn number(value: &serde_json::Value) -> f64 {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_demo_services_have_a_week_of_p95_and_live_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::spawn(dir.path(), &[]).await;
    let client = pharos.client();
    let services = pharos_sim::DEMO_LOG_SERVICES;

    // The history is written before the simulator goes live.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let found = query(&pharos, &client, "count(pharos_service_latency_p95_ms)").await;
        if found
            .first()
            .is_some_and(|r| number(&r["value"][1]) >= services.len() as f64)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no latency buckets of the demo services within 120 s:\n{}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for service in services {
        let promql = format!(
            "count_over_time(last_over_time(pharos_service_latency_p95_ms{{service=\"{}\",source=\"{}\"}}[5m])[7d:5m])",
            service.service, service.source
        );
        let result = query(&pharos, &client, &promql).await;
        let buckets = result.first().map_or(0.0, |r| number(&r["value"][1]));
        assert!(buckets >= 1_900.0, "{}: {buckets} buckets", service.service);
    }
    // At least one breach of the demo's 300 ms threshold in the last day.
    let worst = query(
        &pharos,
        &client,
        "max(max_over_time(pharos_service_latency_p95_ms[1d]))",
    )
    .await;
    let worst = number(&worst[0]["value"][1]);
    assert!(
        worst > 300.0,
        "the highest P95 of the last day is {worst} ms"
    );

    // Live: the current bucket's request count grows (the intake revises the bucket's gauges
    // as lines arrive; a new bucket is first written a minute after it starts).
    let service = &services[0];
    let promql = format!(
        "pharos_service_requests{{service=\"{}\",source=\"{}\"}}[6m]",
        service.service, service.source
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let result = query(&pharos, &client, &promql).await;
        let samples: Vec<(f64, f64)> = result
            .first()
            .and_then(|r| r["values"].as_array())
            .map(|values| {
                values
                    .iter()
                    .map(|v| (v[0].as_f64().unwrap(), number(&v[1])))
                    .collect()
            })
            .unwrap_or_default();
        let bucket = |t: f64| (t / 300.0).floor();
        let grows = samples
            .windows(2)
            .any(|w| bucket(w[0].0) == bucket(w[1].0) && w[1].1 > w[0].1);
        if grows {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the current bucket's requests did not grow within 180 s: {samples:?}\n{}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let log = pharos.log_text();
    assert!(!log.contains("refused simulated"), "{log}");
    assert!(!log.contains("refused latency samples"), "{log}");
    assert!(pharos.terminate().success());
}
