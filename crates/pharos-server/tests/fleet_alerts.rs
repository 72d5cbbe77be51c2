//! Alertmanager webhook intake: the captured Alertmanager 0.25 payloads fire and resolve an
//! alert, repeated deliveries are deduplicated, the state changes reach the event stream, the
//! list filters, the webhook secret, bad bodies, the memory bound and the summary count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use fleet_support::wait_for_event;
use pharos_server::ServerSettings;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const WEBHOOK: &str = "/api/v1/alerts/webhook";

/// A captured payload from `shared/reference/peers/`, or one written to the documented shape
/// when the reference data is not there.
fn payload(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/peers")
        .join(format!("alertmanager-webhook-{name}.json"));
    if let Ok(text) = std::fs::read_to_string(path) {
        return serde_json::from_str(&text).unwrap();
    }
    let resolved = name == "resolved";
    let status = if resolved { "resolved" } else { "firing" };
    let labels = json!({"alertname": "HighQueueDepth", "namespace": "ns-1", "severity": "warning"});
    json!({
        "receiver": "hook", "status": status,
        "alerts": [{"status": status, "labels": labels,
            "annotations": {"description": "ns-1 queue depth is 42", "summary": "queue depth above 10"},
            "startsAt": "2026-11-22T02:07:54.082273014Z",
            "endsAt": if resolved { "2026-11-22T02:07:55Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://127.0.0.1:19090/graph?g0.expr=app_queue_depth+%3E+10",
            "fingerprint": "d5a07efff2b258c3"}],
        "groupLabels": {"alertname": "HighQueueDepth"}, "commonLabels": labels,
        "commonAnnotations": {}, "externalURL": "http://vm:19093", "version": "4",
        "groupKey": "{}:{alertname=\"HighQueueDepth\"}", "truncatedAlerts": 0
    })
}

async fn app(settings: ServerSettings) -> common::TestApp {
    common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap()
}

/// Posts as Alertmanager does: JSON, no Pharos session.
async fn deliver(app: &common::TestApp, path: &str, body: &Value) -> common::Answer {
    app.anonymous(Method::POST, path, Some(body.clone())).await
}

async fn firing_count(app: &common::TestApp) -> Value {
    let summary = app.get("/api/v1/fleet/summary").await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    summary.body["firing_alerts"].clone()
}

#[tokio::test]
async fn a_real_alert_fires_repeats_and_resolves_on_the_stream() {
    let app = app(ServerSettings::default()).await;
    assert_eq!(firing_count(&app).await, 0);
    let request = Request::get("/api/v1/events?topics=alerts")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(Body::empty())
        .unwrap();
    let response = app.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body();
    let mut seen = String::new();

    let firing = payload("firing");
    let path = format!("{WEBHOOK}?cluster=prod-eu-1");
    let first = deliver(&app, &path, &firing).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["fired"], 1, "{}", first.text);
    let fired = wait_for_event(&mut stream, &mut seen, |e| e["type"] == "ALERT_FIRED").await;
    assert_eq!(fired["cluster"], "prod-eu-1");
    assert_eq!(fired["data"]["fingerprint"], "d5a07efff2b258c3");
    assert_eq!(fired["data"]["labels"]["alertname"], "HighQueueDepth");
    assert_eq!(fired["data"]["severity"], "warning");

    // Alertmanager re-sends (repeat_interval, retries): no new state, no event.
    for _ in 0..3 {
        let again = deliver(&app, &path, &firing).await;
        assert_eq!(again.body["unchanged"], 1, "{}", again.text);
        assert_eq!(again.body["fired"], 0);
    }
    assert_eq!(firing_count(&app).await, 1);
    let listed = app.get("/api/v1/fleet/alerts").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["total"], 1, "{}", listed.text);
    let alert = &listed.body["alerts"][0];
    assert_eq!(alert["deliveries"], 4);
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["ends_at"], Value::Null, "Go's zero time is no end");
    assert_eq!(alert["receiver"], "hook");

    let resolved = deliver(&app, &path, &payload("resolved")).await;
    assert_eq!(resolved.body["resolved"], 1, "{}", resolved.text);
    let event = wait_for_event(&mut stream, &mut seen, |e| e["type"] != "ALERT_FIRED").await;
    assert_eq!(event["type"], "ALERT_RESOLVED", "{event}");
    assert_eq!(event["data"]["ends_at"], "2026-11-22T02:07:55Z");
    assert_eq!(firing_count(&app).await, 0);

    // A late copy of the firing notification does not fire it again.
    let late = deliver(&app, &path, &firing).await;
    assert_eq!(late.body["fired"], 0, "{}", late.text);
    let listed = app.get("/api/v1/fleet/alerts").await;
    let alert = &listed.body["alerts"][0];
    assert_eq!(alert["state"], "resolved");
    let history: Vec<&str> = alert["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["firing", "resolved"]);
}

#[tokio::test]
async fn clusters_come_from_the_url_then_the_label_and_lists_filter() {
    let app = app(ServerSettings::default()).await;
    let alert = |name: &str, severity: &str, ns: &str, extra: Value| {
        let mut labels = json!({"alertname": name, "severity": severity, "namespace": ns});
        for (k, v) in extra.as_object().unwrap() {
            labels[k] = v.clone();
        }
        json!({"status": "firing", "labels": labels, "annotations": {},
            "startsAt": "2026-11-22T02:08:16.456Z", "endsAt": "0001-01-01T00:00:00Z"})
    };
    let body = json!({"version": "4", "status": "firing", "receiver": "edge", "groupLabels": {},
    "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "groupKey": "{}",
    "truncatedAlerts": 0, "alerts": [
        alert("GpuHot", "critical", "ml", json!({"cluster": "edge-7"})),
        alert("DiskFull", "warning", "infra", json!({})),
    ]});
    let answer = deliver(&app, WEBHOOK, &body).await;
    assert_eq!(answer.body["fired"], 2, "{}", answer.text);
    let answer = deliver(&app, &format!("{WEBHOOK}?cluster=hub"), &body).await;
    assert_eq!(answer.body["fired"], 2, "{}", answer.text);

    let names = |answer: &common::Answer| -> Vec<String> {
        let mut names: Vec<String> = answer.body["alerts"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", answer.text))
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["cluster"].as_str().unwrap(),
                    a["alertname"].as_str().unwrap()
                )
            })
            .collect();
        names.sort();
        names
    };
    let all = app.get("/api/v1/fleet/alerts").await;
    assert_eq!(
        names(&all),
        vec![
            "edge-7/GpuHot",
            "hub/DiskFull",
            "hub/GpuHot",
            "unknown/DiskFull"
        ]
    );
    // Computed fingerprints are Alertmanager's (the same labels, the same fingerprint).
    let fingerprints: Vec<&str> = all.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap())
        .collect();
    assert!(
        fingerprints.iter().all(|f| f.len() == 16),
        "{fingerprints:?}"
    );
    for (query, expected) in [
        ("cluster=hub", vec!["hub/DiskFull", "hub/GpuHot"]),
        ("severity=critical", vec!["edge-7/GpuHot", "hub/GpuHot"]),
        ("namespace=infra&cluster=unknown", vec!["unknown/DiskFull"]),
        ("state=resolved", vec![]),
        (
            "state=firing&since=2020-01-01T00:00:00Z",
            names(&all).iter().map(String::as_str).collect(),
        ),
        ("since=4102444800", vec![]),
    ] {
        let answer = app.get(&format!("/api/v1/fleet/alerts?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(names(&answer), expected, "{query}");
    }
    for bad in ["state=pending", "since=yesterday", "colour=red", "limit=0"] {
        let answer = app.get(&format!("/api/v1/fleet/alerts?{bad}")).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            answer.text
        );
    }
    assert_eq!(firing_count(&app).await, 4);
    // Listing needs read on Cluster; the webhook is open.
    let bob = app.user("bob").await;
    let refused = app
        .send_as(&bob, Method::GET, "/api/v1/fleet/alerts", None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let anonymous = app
        .anonymous(Method::GET, "/api/v1/fleet/alerts", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_webhook_secret_is_checked() {
    let mut settings = ServerSettings::default();
    settings.fleet.alerts.webhook_token = Some("am-s3cret".to_owned());
    let app = app(settings).await;
    let body = payload("firing");
    let missing = deliver(&app, WEBHOOK, &body).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{}", missing.text);
    assert!(missing.text.contains("webhook_token"), "{}", missing.text);
    for wrong in ["Bearer am-s3cre", "Bearer am-s3cret2", "Basic am-s3cret"] {
        let answer = app
            .send(
                Method::POST,
                WEBHOOK,
                Some(body.clone()),
                &[("authorization", wrong)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong}");
    }
    // A Pharos session is not the webhook secret either.
    let admin = app.post(WEBHOOK, body.clone()).await;
    assert_eq!(admin.status, StatusCode::UNAUTHORIZED);
    let right = app
        .send(
            Method::POST,
            WEBHOOK,
            Some(body),
            &[("authorization", "Bearer am-s3cret")],
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);
    assert_eq!(firing_count(&app).await, 1);
}

#[tokio::test]
async fn bad_bodies_are_refused_and_floods_stay_bounded() {
    let mut settings = ServerSettings::default();
    settings.fleet.alerts.max_alerts = 50;
    settings.fleet.alerts.max_alerts_per_webhook = 20;
    let app = app(settings).await;
    let raw = |body: Vec<u8>| {
        Request::post(WEBHOOK)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let not_json = app.send_raw(raw(b"<html>hello</html>".to_vec())).await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert!(not_json.message().contains("not JSON"), "{}", not_json.text);
    let huge = app.send_raw(raw(vec![b' '; 1024 * 1024 + 1])).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.text);

    let mut old = payload("firing");
    old["version"] = json!("3");
    let alert = |i: usize| {
        json!({"status": "firing", "labels": {"alertname": format!("Flood{i}")},
            "startsAt": "2026-11-22T02:08:16Z"})
    };
    let many = json!({"version": "4", "alerts": (0..21).map(alert).collect::<Vec<_>>()});
    for (body, says) in [
        (json!([1, 2]), "not a JSON object"),
        (json!({"receiver": "x"}), "no version"),
        (old, "version \"3\""),
        (json!({"version": "4", "alerts": {}}), "no alerts list"),
        (many, "limit of 20"),
        (
            json!({"version": "4", "alerts": [{"status": "firing"}]}),
            "labels is empty",
        ),
        (
            json!({"version": "4", "alerts": [{"status": "pending", "labels": {"a": "b"}}]}),
            "status",
        ),
    ] {
        let answer = deliver(&app, WEBHOOK, &body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.text
        );
        assert!(answer.message().contains(says), "{says}: {}", answer.text);
    }
    let bad_cluster = deliver(&app, &format!("{WEBHOOK}?cluster=a/b"), &payload("firing")).await;
    assert_eq!(bad_cluster.status, StatusCode::BAD_REQUEST);

    // 10 deliveries of 20 new alerts each: the book keeps 50.
    for round in 0..10 {
        let body = json!({"version": "4",
            "alerts": (round * 20..round * 20 + 20).map(alert).collect::<Vec<_>>()});
        let answer = deliver(&app, WEBHOOK, &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let listed = app.get("/api/v1/fleet/alerts?limit=1000").await;
    assert_eq!(listed.body["total"], 50, "{}", listed.text);
    // The newest are kept.
    assert_eq!(listed.body["alerts"][0]["alertname"], "Flood199");
    assert_eq!(firing_count(&app).await, 50);
}
