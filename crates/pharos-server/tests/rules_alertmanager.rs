//! The whole alert loop against a real Alertmanager 0.25 (`scripts/peers.sh start
//! alertmanager`): a rule evaluated every second fires, Pharos sends it with the v2 API, the
//! Alertmanager lists it and sends it back by webhook to this server (listening on
//! `PHAROS_TEST_ALERTMANAGER_WEBHOOK_PORT`), where it shows in `/api/v1/fleet/alerts` and as
//! `ALERT_FIRED` on `/ws`; then the condition clears and it resolves the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use pharos_query::{LocalMetrics, QueryOptions};
use pharos_rules::{RuleManager, parse_rule_file};
use pharos_server::config::RulesSettings;
use pharos_server::{AppState, ServerSettings, router};
use pharos_tsdb::{Db, Labels, Options};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(30);

/// The next WebSocket event whose type is `wanted` and whose alert carries `run`.
async fn event(socket: &mut Socket, wanted: &str, run: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {wanted} within {WAIT:?}"))
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == wanted && value["data"]["labels"]["run"] == run {
                return value;
            }
        }
    }
}

/// Polls `check` every 200 ms until it gives a value, for at most [`WAIT`].
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_fires_through_a_real_alertmanager_and_resolves() {
    let Some(alertmanager) = common::peer_url("ALERTMANAGER") else {
        return;
    };
    let webhook_port: u16 = std::env::var("PHAROS_TEST_ALERTMANAGER_WEBHOOK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(19094);
    let run = format!("run-{}", pharos_rules::now_ms());

    // The server, on the port the Alertmanager's webhook receiver points at.
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
        evaluation_interval: Duration::from_secs(1),
        alertmanagers: vec![alertmanager.clone()],
        resend_delay: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        ..RulesSettings::default()
    };
    settings.validate().unwrap();
    let rules = "groups:\n- name: loop\n  rules:\n  - alert: PharosRulesLoop\n    expr: pharos_rules_loop_test > 0\n    labels:\n      severity: warning\n    annotations:\n      summary: 'loop test {{ $labels.run }} at {{ $value }}'\n";
    let groups = parse_rule_file("loop.yml", rules).unwrap();
    let config = settings
        .rules
        .config(&pharos_server::prom_api::local_url(listen));
    let manager = Arc::new(RuleManager::new(groups, config, Arc::clone(&metrics)));
    let state = AppState::new(store, settings)
        .unwrap()
        .with_metrics(Arc::clone(&metrics))
        .with_rules(Arc::clone(&manager));
    let token = common::admin_token(&state).await;
    let app = router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // The condition: 1 until told otherwise, appended every 250 ms.
    let value = Arc::new(AtomicU64::new(1));
    let writer = {
        let (db, value) = (Arc::clone(&db), Arc::clone(&value));
        let run = run.clone();
        tokio::spawn(async move {
            let labels =
                Labels::new([("__name__", "pharos_rules_loop_test"), ("run", &run)]).unwrap();
            loop {
                let mut appender = db.appender();
                let v = value.load(Ordering::Relaxed) as f64;
                appender.append(&labels, pharos_rules::now_ms(), v).unwrap();
                appender.commit().unwrap();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    let mut request = format!("ws://{listen}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({"action": "subscribe", "topics": ["alerts"]})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let evaluation = manager.spawn(stopped);
    let client = reqwest::Client::new();
    let http = format!("http://{listen}");

    // 1. The real Alertmanager lists it.
    let listed = eventually("the alert in Alertmanager's /api/v2/alerts", || {
        let (client, url, run) = (
            client.clone(),
            format!("{alertmanager}/api/v2/alerts"),
            run.clone(),
        );
        async move {
            let alerts: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            alerts
                .as_array()?
                .iter()
                .find(|a| a["labels"]["run"] == run.as_str())
                .cloned()
        }
    })
    .await;
    assert_eq!(listed["labels"]["alertname"], "PharosRulesLoop");
    assert_eq!(listed["labels"]["severity"], "warning");
    assert_eq!(listed["status"]["state"], "active", "{listed}");
    assert_eq!(
        listed["annotations"]["summary"],
        format!("loop test {run} at 1")
    );
    let generator = listed["generatorURL"].as_str().unwrap();
    assert!(
        generator.starts_with(&format!("{http}/graph?g0.expr=")),
        "{generator}"
    );

    // 2. Its webhook brought it back as firing, and the stream told subscribers.
    let fired = event(&mut socket, "ALERT_FIRED", &run).await;
    assert_eq!(fired["data"]["labels"]["alertname"], "PharosRulesLoop");
    let fleet = eventually("the alert in /api/v1/fleet/alerts", || {
        let (client, url, token, run) = (
            client.clone(),
            format!("{http}/api/v1/fleet/alerts"),
            token.clone(),
            run.clone(),
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
                .find(|a| a["labels"]["run"] == run.as_str())
                .cloned()
        }
    })
    .await;
    assert_eq!(fleet["state"], "firing", "{fleet}");

    // 3. The condition clears: resolved in Pharos, sent once with its end, back by webhook.
    value.store(0, Ordering::Relaxed);
    let resolved = event(&mut socket, "ALERT_RESOLVED", &run).await;
    assert_eq!(resolved["data"]["labels"]["alertname"], "PharosRulesLoop");
    let body: Value = client
        .get(format!("{http}/api/v1/fleet/alerts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alert = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["run"] == run.as_str())
        .unwrap();
    assert_eq!(alert["state"], "resolved", "{alert}");
    let rules: Value = client
        .get(format!("{http}/api/v1/alerts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rules["data"]["alerts"], json!([]), "no active alert left");

    let _ = stop.send(true);
    let _ = evaluation.await;
    writer.abort();
    server.abort();
}
