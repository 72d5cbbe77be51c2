//! `logs.forward` against the real peers (`scripts/peers.sh start prometheus pushgateway`):
//! the bucket gauges of pushed lines reach Prometheus 2.42 by remote-write (queried back from
//! it) and the Pushgateway as one group per service (read back from its `/metrics`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod prom_api_support;

use pharos_server::config::{ForwardTarget, LogsForwardSettings, LogsSettings, PushgatewayTarget};
use prom_api_support::PromApp;
use serde_json::{Value, json};

#[tokio::test]
async fn buckets_reach_prometheus_by_remote_write_and_the_pushgateway() {
    let (Some(prometheus), Some(pushgateway)) = (
        common::peer_url("PROMETHEUS"),
        common::peer_url("PUSHGATEWAY"),
    ) else {
        return;
    };
    let service = format!("forwarded-{}", chrono::Utc::now().timestamp_millis());
    let prom = PromApp::new().await;
    let intake = pharos_server::logs::intake(&LogsSettings::default()).unwrap();
    let settings = LogsForwardSettings {
        remote_write: Some(ForwardTarget {
            url: format!("{prometheus}/api/v1/write"),
            bearer_token: None,
            timeout: std::time::Duration::from_secs(10),
        }),
        pushgateway: Some(PushgatewayTarget {
            url: pushgateway.clone(),
            job: "pharos-logs-test".to_owned(),
            timeout: std::time::Duration::from_secs(10),
        }),
    };
    settings.validate().unwrap();
    let forwarder = pharos_server::logs::Forwarder::new(&settings, reqwest::Client::new()).unwrap();

    // 20 requests of 10..200 ms in the previous bucket, one of them a 503.
    let now = chrono::Utc::now().timestamp_millis();
    let previous = now.div_euclid(300_000) * 300_000 - 300_000;
    let values: Vec<Value> = (1..=20)
        .map(|i| {
            let status = if i == 20 { 503 } else { 200 };
            let t_ns = (previous + i * 1_000) * 1_000_000;
            json!([
                t_ns.to_string(),
                json!({"latency_ms": i * 10, "status": status}).to_string()
            ])
        })
        .collect();
    let body = json!({"streams": [{"stream": {"service": service, "namespace": "shop"}, "values": values}]});
    let report = intake
        .push(
            pharos_logs::BodyKind::LokiJson,
            body.to_string().as_bytes(),
            None,
            None,
            now,
        )
        .unwrap();
    assert_eq!(report.accepted, 20);
    let metrics = prom.state.metrics.clone().unwrap();
    let stored = pharos_server::logs::publish_and_forward(&intake, &metrics, now, Some(&forwarder))
        .await
        .unwrap();
    assert_eq!(stored.appended, pharos_logs::SAMPLES_PER_BUCKET);

    // Prometheus has the series, with the labels Pharos wrote.
    let client = reqwest::Client::new();
    let query = |q: String| {
        let (client, url) = (client.clone(), format!("{prometheus}/api/v1/query"));
        async move {
            let answer: Value = client
                .get(url)
                .query(&[("query", q)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    // `job=""`: the remote-written series, not the peer's scrape of the Pushgateway.
    let selector = format!("{{service=\"{service}\", job=\"\"}}");
    let requests = query(format!(
        "last_over_time(pharos_service_requests{selector}[15m])"
    ))
    .await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["value"][1], "20");
    assert_eq!(requests[0]["metric"]["namespace"], "shop");
    assert_eq!(requests[0]["metric"]["source"], "loki");
    let p95 = query(format!(
        "last_over_time(pharos_service_latency_p95_ms{selector}[15m])"
    ))
    .await;
    assert_eq!(p95[0]["value"][1], "190", "{p95:?}");
    let fast = query(format!(
        "last_over_time(pharos_service_fast_requests{{service=\"{service}\", job=\"\", le_ms=\"100\"}}[15m])"
    ))
    .await;
    assert_eq!(fast[0]["value"][1], "10", "{fast:?}");

    // The Pushgateway holds the service's group with the newest values.
    let exposed = client
        .get(format!("{pushgateway}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = exposed
        .lines()
        .find(|l| {
            l.starts_with("pharos_service_errors{") && l.contains(&format!("service=\"{service}\""))
        })
        .unwrap_or_else(|| panic!("no pharos_service_errors of {service} in:\n{exposed}"));
    assert!(line.contains("job=\"pharos-logs-test\""), "{line}");
    assert!(line.ends_with(" 1"), "{line}");
    // Tidy the group away (the Pushgateway keeps groups until deleted).
    let group = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&service)
    };
    let deleted = client
        .delete(format!(
            "{pushgateway}/metrics/job/pharos-logs-test/service@base64/{group}"
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
}
