//! A latency breach through a real Alertmanager 0.25 (`scripts/peers.sh start alertmanager`):
//! access-log lines pushed over the Loki API make a bucket whose P95 exceeds the service's
//! threshold; the built-in `ServiceLatencyBreach` rule (the binary's, at a 1 s interval) fires,
//! Pharos sends it with the v2 API, the Alertmanager lists it and sends it by webhook back to
//! this server (on `PHAROS_TEST_ALERTMANAGER_WEBHOOK_PORT`), where `/api/v1/fleet/alerts` shows
//! it firing; raising the threshold above the P95 resolves it the same way. Shares the webhook
//! port with `rules_alertmanager` (a nextest group runs them one at a time).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use pharos_query::{LocalMetrics, QueryOptions};
use pharos_rules::{RuleManager, parse_rule_file};
use pharos_server::config::RulesSettings;
use pharos_server::{AppState, ServerSettings, router};
use pharos_tsdb::{Db, Options};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(40);

/// Polls `check` every 300 ms until it gives a value, for at most [`WAIT`].
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_pages_through_a_real_alertmanager_and_resolves_when_the_threshold_rises() {
    let Some(alertmanager) = common::peer_url("ALERTMANAGER") else {
        return;
    };
    let webhook_port: u16 = std::env::var("PHAROS_TEST_ALERTMANAGER_WEBHOOK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(19094);
    let service = format!("checkout-{}", pharos_rules::now_ms());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", webhook_port))
        .await
        .unwrap_or_else(|e| panic!("cannot listen on the webhook port {webhook_port}: {e}"));
    let listen = listener.local_addr().unwrap();
    let (store, _guard) = pharos_store::testing::sqlite_store().await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), QueryOptions::default()));
    let mut settings = ServerSettings::default();
    settings.security.admin_password = Some(common::ADMIN_PASSWORD.to_owned());
    settings.rules = RulesSettings {
        alertmanagers: vec![alertmanager.clone()],
        resend_delay: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        ..RulesSettings::default()
    };
    settings.validate().unwrap();
    // The binary's rule, evaluated every second instead of every 30.
    let rules = pharos_slo::BREACH_RULES.replace("interval: 30s", "interval: 1s");
    assert_ne!(rules, pharos_slo::BREACH_RULES);
    let groups = parse_rule_file(pharos_slo::BREACH_RULES_FILE, &rules).unwrap();
    let config = settings
        .rules
        .config(&pharos_server::prom_api::local_url(listen));
    let manager = Arc::new(RuleManager::new(groups, config, Arc::clone(&metrics)));
    let intake = pharos_server::logs::intake(&settings.logs).unwrap();
    let state = AppState::new(store, settings)
        .unwrap()
        .with_metrics(Arc::clone(&metrics))
        .with_rules(Arc::clone(&manager));
    let token = common::admin_token(&state).await;
    let app = pharos_server::logs::attach(router(state.clone()), Arc::clone(&intake));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = format!("http://{listen}");
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{http}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    // The service, at 250 ms; 40 requests of 400 ms in the previous 5-minute bucket.
    let put = send(
        reqwest::Method::PUT,
        &format!("/api/services/{service}"),
        json!({"owners": ["admin"]}),
    )
    .await
    .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let threshold_path = format!("/api/services/{service}/alert-threshold");
    let set = send(
        reqwest::Method::POST,
        &threshold_path,
        json!({"threshold_ms": 250}),
    )
    .await
    .unwrap();
    assert_eq!(set.status(), 200);
    let now = pharos_rules::now_ms();
    let previous_bucket = now.div_euclid(300_000) * 300_000 - 300_000;
    let values: Vec<Value> = (0..40)
        .map(|i| {
            let t_ns = (previous_bucket + 1_000 + i * 1_000) * 1_000_000;
            json!([
                t_ns.to_string(),
                json!({"latency_ms": 400, "status": 200}).to_string()
            ])
        })
        .collect();
    let pushed = send(
        reqwest::Method::POST,
        "/loki/api/v1/push",
        json!({"streams": [{"stream": {"service": service}, "values": values}]}),
    )
    .await
    .unwrap();
    assert_eq!(pushed.status(), 204, "{}", pushed.text().await.unwrap());
    pharos_server::logs::publish(&intake, &metrics, now)
        .await
        .unwrap();
    assert_eq!(
        pharos_server::services::publish_slo_gauges(&state, now)
            .await
            .unwrap(),
        1
    );
    // The API agrees: the bucket is a breach.
    let latency: Value = send(
        reqwest::Method::GET,
        &format!("/api/services/{service}/latency?from=now-1h"),
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let buckets = latency["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{latency}");
    assert_eq!(buckets[0]["p95_ms"], 400.0);
    assert_eq!(buckets[0]["breach"], true);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let evaluation = manager.spawn(stopped);

    // 1. The real Alertmanager lists the page.
    let listed = eventually("the breach in Alertmanager's /api/v2/alerts", || {
        let (client, url, service) = (
            client.clone(),
            format!("{alertmanager}/api/v2/alerts"),
            service.clone(),
        );
        async move {
            let alerts: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            alerts
                .as_array()?
                .iter()
                .find(|a| a["labels"]["service"] == service.as_str())
                .cloned()
        }
    })
    .await;
    assert_eq!(listed["labels"]["alertname"], "ServiceLatencyBreach");
    assert_eq!(listed["labels"]["severity"], "page");
    let description = listed["annotations"]["description"].as_str().unwrap();
    assert!(description.contains("is 400 ms"), "{description}");

    // 2. Its webhook brought it back: firing in the fleet's alert list.
    let fleet_alert = |state_wanted: &'static str| {
        let (client, url, token, service) = (
            client.clone(),
            format!("{http}/api/v1/fleet/alerts"),
            token.clone(),
            service.clone(),
        );
        async move {
            let body: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            body["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["service"] == service.as_str() && a["state"] == state_wanted)
                .cloned()
        }
    };
    eventually("the breach firing in /api/v1/fleet/alerts", || {
        fleet_alert("firing")
    })
    .await;

    // 3. The owner raises the threshold above the P95: resolved, and back by webhook.
    let raised = send(
        reqwest::Method::POST,
        &threshold_path,
        json!({"threshold_ms": 500}),
    )
    .await
    .unwrap();
    assert_eq!(raised.status(), 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    let resolved = loop {
        pharos_server::services::publish_slo_gauges(&state, pharos_rules::now_ms())
            .await
            .unwrap();
        if let Some(alert) = fleet_alert("resolved").await {
            break alert;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "resolved within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(resolved["labels"]["alertname"], "ServiceLatencyBreach");

    let _ = stop.send(true);
    let _ = evaluation.await;
    server.abort();
}
