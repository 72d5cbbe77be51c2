//! `/api/services…` over the real router, on SQLite and PostgreSQL: who sees which service
//! (owners by name, project readers, administrators; nobody else, not even by id), the
//! threshold's bounds and who may change it, its history and audit entry, and the buckets of
//! `/latency` against the gauges written in `pharos-logs`' layout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use pharos_query::{LocalMetrics, QueryOptions};
use pharos_server::router;
use pharos_tsdb::{Db, Labels, Options};
use serde_json::{Value, json};

const BUCKET_MS: i64 = 300_000;

/// `app` with an embedded store holding one bucket of `checkout` per 5 minutes over the last
/// day (50 requests, P95 100 ms, one of 600 ms two hours ago; all within 300 ms but, in the
/// last hour, 10) and of `search` (never registered).
fn with_buckets(mut app: common::TestApp) -> (common::TestApp, tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let now = chrono::Utc::now().timestamp_millis();
    let current = now.div_euclid(BUCKET_MS) * BUCKET_MS;
    let breach_start = current - 24 * BUCKET_MS;
    let mut appender = db.appender();
    for k in (1..=288).rev() {
        let start = current - k * BUCKET_MS;
        for (service, p95) in [
            (
                "checkout",
                if start == breach_start { 600.0 } else { 100.0 },
            ),
            ("search", 80.0),
        ] {
            for (name, value) in [
                ("pharos_service_requests", 50.0),
                ("pharos_service_errors", 1.0),
                ("pharos_service_latency_p50_ms", p95 / 2.0),
                ("pharos_service_latency_p95_ms", p95),
                ("pharos_service_latency_p99_ms", p95 * 1.2),
            ] {
                let labels = Labels::new([
                    ("__name__", name),
                    ("service", service),
                    ("source", "nginx"),
                ])
                .unwrap();
                appender
                    .append(&labels, start + BUCKET_MS - 1_000, value)
                    .unwrap();
            }
        }
        let fast = if start >= current - 3_600_000 {
            40.0
        } else {
            50.0
        };
        let labels = Labels::new([
            ("__name__", pharos_logs::FAST_REQUESTS),
            ("service", "checkout"),
            ("source", "nginx"),
            ("le_ms", "300"),
        ])
        .unwrap();
        appender
            .append(&labels, start + BUCKET_MS - 1_000, fast)
            .unwrap();
    }
    appender.commit().unwrap();
    let metrics = Arc::new(LocalMetrics::new(db, QueryOptions::default()));
    app.state = app.state.clone().with_metrics(metrics);
    app.app = router(app.state.clone());
    (app, dir, breach_start)
}

fn binding(user: &str, role: &str) -> Value {
    json!({"kind": "RoleBinding", "metadata": {"name": format!("{user}-{role}")},
        "spec": {"role": role, "subjects": [{"kind": "User", "name": user}]}})
}

fn ids(answer: &common::Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", answer.text))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(
    engineers_see_their_services_and_thresholds_stay_in_bounds,
    |app: common::TestApp| async move {
        let (app, _tsdb, breach_start) = with_buckets(app);
        app.project("shop", &[]).await;
        let alice = app.user("alice").await;
        let viewer = app.user("victor").await;
        let mallory = app.user("mallory").await;
        let bound = app
            .post(
                "/api/v1/projects/shop/rolebindings",
                binding("victor", "viewer"),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);

        // The admin registers checkout in shop, owned by alice.
        let put = app
            .put(
                "/api/services/checkout",
                json!({"project": "shop", "owners": ["alice"]}),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
        assert_eq!(
            put.body["dashboard"],
            "/projects/shop/dashboards/service-latency?var-service=checkout"
        );

        // Administrators see both, the registered one first by name; search is unregistered.
        assert_eq!(ids(&app.get("/api/services").await), ["checkout", "search"]);
        let get = |token: &str, path: &str| {
            let (token, path) = (token.to_owned(), path.to_owned());
            let app = &app;
            async move { app.send_as(&token, Method::GET, &path, None).await }
        };
        let owned = get(&alice, "/api/services/owned").await;
        assert_eq!(ids(&owned), ["checkout"]);
        assert_eq!(owned.body[0]["owned"], true);
        assert_eq!(owned.body[0]["can_edit"], true);
        assert_eq!(owned.body[0]["breaches_24h"], 1);
        assert_eq!(ids(&get(&viewer, "/api/services").await), ["checkout"]);
        let as_viewer = get(&viewer, "/api/services/checkout").await;
        assert_eq!(as_viewer.body["owned"], false);
        assert_eq!(as_viewer.body["can_edit"], false);
        assert!(ids(&get(&viewer, "/api/services/owned").await).is_empty());
        // Mallory sees nothing, and asking by id looks like a missing service.
        assert!(ids(&get(&mallory, "/api/services").await).is_empty());
        for path in [
            "/api/services/checkout",
            "/api/services/checkout/latency",
            "/api/services/checkout/alert-threshold",
            "/api/services/search",
        ] {
            let answer = get(&mallory, path).await;
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                answer.text
            );
        }

        // The latency of the last day: every bucket, the breach where it was written.
        let latency = get(&alice, "/api/services/checkout/latency?from=now-24h").await;
        assert_eq!(latency.status, StatusCode::OK, "{}", latency.text);
        assert_eq!(latency.body["service"], "checkout");
        assert_eq!(latency.body["threshold_ms"], 300);
        let buckets = latency.body["buckets"].as_array().unwrap();
        assert!((287..=289).contains(&buckets.len()), "{}", buckets.len());
        let breaches: Vec<&Value> = buckets.iter().filter(|b| b["breach"] == true).collect();
        assert_eq!(breaches.len(), 1);
        let start =
            chrono::DateTime::parse_from_rfc3339(breaches[0]["start"].as_str().unwrap()).unwrap();
        assert_eq!(start.timestamp_millis(), breach_start);
        assert_eq!(breaches[0]["p95_ms"], 600.0);
        assert_eq!(breaches[0]["count"], 50.0);
        let bad = get(&alice, "/api/services/checkout/latency?step=7m").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.message().contains("multiple of 5m"), "{}", bad.text);

        // Thresholds: outside 50–1000 ms or not a number is 400 with the bounds.
        let set = |token: &str, body: Value| {
            let token = token.to_owned();
            let app = &app;
            async move {
                app.send_as(
                    &token,
                    Method::POST,
                    "/api/services/checkout/alert-threshold",
                    Some(body),
                )
                .await
            }
        };
        for bad in [
            json!({"threshold_ms": 49}),
            json!({"threshold_ms": 1001}),
            json!({"threshold_ms": "300"}),
            json!({}),
        ] {
            let answer = set(&alice, bad.clone()).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{bad}: {}",
                answer.text
            );
            assert!(
                answer.message().contains("between 50 and 1000 ms"),
                "{bad}: {}",
                answer.text
            );
        }
        // A reader may not; an owner may, and it is kept with who and when, and audited.
        let refused = set(&viewer, json!({"threshold_ms": 200})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        let changed = set(&alice, json!({"threshold_ms": 500})).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["threshold_ms"], 500);
        assert_eq!(changed.body["updated_by"], "alice");
        let seen = get(&viewer, "/api/services/checkout/alert-threshold").await;
        assert_eq!(seen.body["threshold_ms"], 500);
        assert_eq!(seen.body["history"][0]["changed_by"], "alice");
        // The breach at 600 ms is still one over 500 ms.
        let latency = get(&alice, "/api/services/checkout/latency?from=now-24h").await;
        assert_eq!(latency.body["threshold_ms"], 500);
        let audit = app.get("/api/v1/audit/logs?user=alice").await;
        assert!(
            audit
                .text
                .contains("/api/services/checkout/alert-threshold"),
            "audit: {}",
            audit.text
        );

        // Owners cannot hand the service over; the admin can, and the export follows.
        let handover = app
            .send_as(
                &alice,
                Method::PUT,
                "/api/services/checkout",
                Some(json!({"owners": ["mallory"]})),
            )
            .await;
        assert_eq!(handover.status, StatusCode::FORBIDDEN, "{}", handover.text);
        let rules = get(&alice, "/api/services/rules").await;
        assert_eq!(rules.status, StatusCode::OK);
        assert!(
            rules.text.contains("ServiceLatencyBreach"),
            "{}",
            rules.text
        );
        assert!(rules.text.contains("> 500"), "{}", rules.text);
        assert!(!rules.text.contains("search"), "{}", rules.text);
    }
);

/// An objective's burn rates reach the built-in rules: a fifth of the last hour's requests over
/// 300 ms against a 99 % objective burns the budget 20 times too fast, so
/// `ServiceLatencyBudgetBurn` fires (and the breach rule does not: the P95 is fine).
#[tokio::test]
async fn a_fast_budget_burn_fires_the_page_alert() {
    let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
        .await
        .unwrap();
    let (mut app, _tsdb, _) = with_buckets(app);
    let metrics = app.state.metrics.clone().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let groups =
        pharos_rules::parse_rule_file(pharos_slo::BREACH_RULES_FILE, pharos_slo::BREACH_RULES)
            .unwrap();
    let config = app.state.settings.rules.config("http://127.0.0.1:1");
    let manager = Arc::new(pharos_rules::RuleManager::new(
        groups,
        config,
        Arc::clone(&metrics),
    ));
    app.state = app.state.clone().with_rules(Arc::clone(&manager));
    app.app = router(app.state.clone());

    let put = app
        .put(
            "/api/services/checkout",
            json!({"objective": {"target": 0.99, "threshold_ms": 300}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let rates = &put.body["burn_rates"];
    for window in ["5m", "30m", "1h"] {
        let rate = rates[window].as_f64().unwrap();
        assert!((rate - 20.0).abs() < 1e-6, "{window}: {rates}");
    }
    let written = pharos_server::services::publish_slo_gauges(&app.state, now)
        .await
        .unwrap();
    // Two thresholds (checkout, search) and seven windows.
    assert_eq!(written, 2 + pharos_slo::BURN_WINDOWS.len());
    manager.evaluate_group(0, now).await;
    let alerts = app.get("/api/v1/alerts").await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.text);
    let firing: Vec<(String, String)> = alerts.body["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap().to_owned(),
                a["labels"]["service"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        firing,
        [("ServiceLatencyBudgetBurn".to_owned(), "checkout".to_owned())],
        "{}",
        alerts.text
    );
}
