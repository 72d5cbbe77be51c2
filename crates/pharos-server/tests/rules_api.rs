//! `/api/v1/rules` and `/api/v1/alerts` of the embedded store: the Prometheus format, the
//! `type` filter, tenants through the `local` datasource proxy seeing only their own alerts
//! and rules (fail closed), and bad rule files and settings refused with what to fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prom_api_support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use pharos_model::Kind;
use pharos_query::QueryOptions;
use pharos_rules::{RuleManager, RulesConfig, parse_rule_file};
use pharos_server::identity::Caller;
use pharos_server::prom_api::ensure_local_datasource;
use pharos_server::{AppState, ServerSettings, router};
use pharos_tsdb::Labels;
use prom_api_support::PromApp;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const RULES: &str = r#"
groups:
  - name: availability
    rules:
      - alert: PodDown
        expr: up == 0
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.pod }} in {{ $labels.namespace }} is down ({{ $value }})"
      - alert: AnyPodDown
        expr: count(up == 0) > 0
        for: 5m
      - record: namespace:up:sum
        expr: sum by (namespace) (up)
      - record: total:up:sum
        expr: sum(up)
"#;

struct App {
    prom: PromApp,
    manager: Arc<RuleManager>,
}

impl App {
    async fn new() -> Self {
        Self::with_rules(RULES).await
    }

    async fn with_rules(rules: &str) -> Self {
        let groups = parse_rule_file("rules.yml", rules).unwrap();
        let mut manager = None;
        let prom = PromApp::with_state(QueryOptions::default(), |state, metrics| {
            let rules = Arc::new(RuleManager::new(
                groups,
                RulesConfig::default(),
                Arc::clone(metrics),
            ));
            manager = Some(Arc::clone(&rules));
            state.with_rules(rules)
        })
        .await;
        Self {
            prom,
            manager: manager.unwrap(),
        }
    }

    fn up(&self, t_ms: i64, pods: &[(&str, &str, f64)]) {
        let mut appender = self.prom.db.appender();
        for (namespace, pod, value) in pods {
            let labels =
                Labels::new([("__name__", "up"), ("namespace", namespace), ("pod", pod)]).unwrap();
            appender.append(&labels, t_ms, *value).unwrap();
        }
        appender.commit().unwrap();
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let answer = self
            .prom
            .request(Request::get(path).body(Body::empty()).unwrap())
            .await;
        (answer.status, answer.body)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = self.prom.request(request).await;
        (answer.status, answer.body)
    }

    async fn project(&self, name: &str, namespace: &str) {
        let project = json!({
            "kind": "Project",
            "metadata": {"name": name},
            "spec": {"display": {"name": name}, "namespaces": [namespace]}
        });
        self.prom
            .state
            .resources
            .create(&Caller::system(), Kind::Project, None, project)
            .await
            .unwrap();
    }
}

/// Two pods down (team-a, team-b), one up; evaluated twice, a minute apart.
async fn with_alerts() -> App {
    let app = App::new().await;
    let pods = [
        ("team-a", "a1", 0.0),
        ("team-b", "b1", 0.0),
        ("team-b", "b2", 1.0),
    ];
    app.up(1_000, &pods);
    app.manager.evaluate_group(0, 15_000).await;
    app.up(61_000, &pods);
    app.manager.evaluate_group(0, 75_000).await;
    app
}

fn rule<'a>(data: &'a Value, name: &str) -> &'a Value {
    data["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no rule {name} in {data}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_alerts_in_prometheus_format() {
    let app = with_alerts().await;
    let (status, body) = app.get("/api/v1/rules").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    let group = &data["groups"][0];
    assert_eq!(group["name"], "availability");
    assert_eq!(group["file"], "rules.yml");
    assert_eq!(group["interval"], 15.0);
    assert_eq!(group["lastEvaluation"], "1970-01-01T00:01:15.000Z");

    let pod_down = rule(data, "PodDown");
    assert_eq!(pod_down["type"], "alerting");
    assert_eq!(pod_down["state"], "firing");
    assert_eq!(pod_down["health"], "ok");
    assert_eq!(pod_down["lastError"], "");
    assert_eq!(pod_down["query"], "up == 0");
    assert_eq!(pod_down["duration"], 0.0);
    assert_eq!(pod_down["keepFiringFor"], 0.0);
    assert_eq!(pod_down["labels"], json!({"severity": "page"}));
    let alerts = pod_down["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        alerts[0]["labels"],
        json!({"alertname": "PodDown", "namespace": "team-a", "pod": "a1", "severity": "page"})
    );
    assert_eq!(
        alerts[0]["annotations"]["summary"],
        "a1 in team-a is down (0)"
    );
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["activeAt"], "1970-01-01T00:00:15.000Z");
    assert_eq!(alerts[0]["value"], "0e+00");

    let any = rule(data, "AnyPodDown");
    assert_eq!(any["state"], "pending");
    assert_eq!(any["duration"], 300.0);
    let recorded = rule(data, "namespace:up:sum");
    assert_eq!(recorded["type"], "recording");
    assert_eq!(recorded["health"], "ok");
    assert!(recorded.get("alerts").is_none());

    let (_, alerts) = app.get("/api/v1/alerts").await;
    let states: Vec<&str> = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["firing", "firing", "pending"]);

    // The recording and the ALERTS series are in the store.
    let (_, query) = app
        .get("/api/v1/query?query=namespace:up:sum&time=75")
        .await;
    assert_eq!(
        query["data"]["result"].as_array().unwrap().len(),
        2,
        "{query}"
    );
    let (_, query) = app
        .get("/api/v1/query?query=ALERTS{alertstate=%22firing%22}&time=75")
        .await;
    assert_eq!(
        query["data"]["result"].as_array().unwrap().len(),
        2,
        "{query}"
    );
    let (_, query) = app
        .get("/api/v1/query?query=ALERTS_FOR_STATE{alertname=%22AnyPodDown%22}&time=75")
        .await;
    assert_eq!(query["data"]["result"][0]["value"][1], "15", "{query}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_type_filter_and_bad_parameters() {
    let app = with_alerts().await;
    let names = |data: &Value| -> Vec<String> {
        data["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, alerting) = app.get("/api/v1/rules?type=alert").await;
    assert_eq!(names(&alerting), ["PodDown", "AnyPodDown"]);
    let (_, recording) = app.get("/api/v1/rules?type=record").await;
    assert_eq!(names(&recording), ["namespace:up:sum", "total:up:sum"]);
    let (status, bad) = app.get("/api/v1/rules?type=alerts").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["errorType"], "bad_data");
    assert!(
        bad["error"].as_str().unwrap().contains("type=alert"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sees_only_its_own_alerts_and_rules() {
    let app = with_alerts().await;
    let listen: SocketAddr = "127.0.0.1:9".parse().unwrap();
    ensure_local_datasource(&app.prom.state, listen)
        .await
        .unwrap();
    app.project("alpha", "team-a").await;
    app.project("beta", "team-b").await;

    let base = |project: &str| format!("/proxy/projects/{project}/globaldatasources/local/api/v1");
    let (status, alpha) = app.get(&format!("{}/alerts", base("alpha"))).await;
    assert_eq!(status, StatusCode::OK, "{alpha}");
    let alerts = alpha["data"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alpha}");
    assert_eq!(alerts[0]["labels"]["namespace"], "team-a");
    assert!(
        !alpha.to_string().contains("team-b"),
        "tenant A sees nothing of B: {alpha}"
    );

    let (_, beta) = app.get(&format!("{}/alerts", base("beta"))).await;
    let alerts = beta["data"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{beta}");
    assert_eq!(alerts[0]["labels"]["pod"], "b1");

    let (status, rules) = app.get(&format!("{}/rules", base("alpha"))).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let listed = rules["data"]["groups"][0]["rules"].as_array().unwrap();
    // AnyPodDown's alert has no namespace and the recording rules no labels: not the tenant's.
    assert_eq!(listed.len(), 1, "{rules}");
    assert_eq!(listed[0]["name"], "PodDown");
    assert_eq!(listed[0]["alerts"].as_array().unwrap().len(), 1);
    assert!(!rules.to_string().contains("team-b"), "{rules}");
    let (_, recording) = app
        .get(&format!("{}/rules?type=record", base("alpha")))
        .await;
    assert_eq!(recording["data"]["groups"], json!([]), "{recording}");
    let (status, _) = app
        .get(&format!("{}/rules?type=bogus", base("alpha")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The unrestricted global route sees everything.
    let (_, all) = app
        .get("/proxy/globaldatasources/local/api/v1/alerts")
        .await;
    assert_eq!(all["data"]["alerts"].as_array().unwrap().len(), 3, "{all}");
}

#[tokio::test]
async fn bad_rule_files_are_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        "groups:\n- name: serving\n  rules:\n  - alert: Slow\n    expr: rate(x[5m]\n",
    )
    .unwrap();
    let error = pharos_rules::load_files(&[path.display().to_string()]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("bad.yml"), "{message}");
    assert!(message.contains("group \"serving\""), "{message}");
    assert!(message.contains("rule \"Slow\""), "{message}");
    assert!(message.contains("not valid PromQL"), "{message}");

    std::fs::write(&path, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      x: '{{ .Alerts }}'\n").unwrap();
    let message = pharos_rules::load_files(&[path.display().to_string()])
        .unwrap_err()
        .to_string();
    assert!(message.contains("not supported"), "{message}");

    let settings: ServerSettings =
        serde_saphyr::from_str("rules:\n  alertmanagers: [\"alertmanager:9093\"]\n").unwrap();
    let refused = settings.validate().unwrap_err();
    assert!(refused.contains("rules.alertmanagers"), "{refused}");
    let unknown = serde_saphyr::from_str::<ServerSettings>("rules:\n  file: [a.yml]\n");
    assert!(unknown.is_err(), "unknown keys are refused");
}

#[tokio::test]
async fn without_rules_the_lists_are_empty() {
    let (store, _guard) = pharos_store::testing::sqlite_store().await;
    let mut settings = ServerSettings::default();
    settings.security.admin_password = Some("test-admin-password".to_owned());
    let state = AppState::new(store, settings).unwrap();
    state.identity.bootstrap_admin(None).await.unwrap();
    let token = state
        .identity
        .login("admin", "test-admin-password", "test")
        .await
        .unwrap()
        .access_token;
    for (path, expected) in [
        ("/api/v1/rules", json!({"groups": []})),
        ("/api/v1/alerts", json!({"alerts": []})),
    ] {
        let request = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["data"], expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_on_the_local_datasource_get_alert_overlays() {
    let app = App::with_rules(
        "groups:\n- name: g\n  rules:\n  - alert: PodDown\n    expr: up < 1\n    annotations:\n      summary: '{{ $labels.pod }} down'\n",
    )
    .await;
    let now = pharos_rules::now_ms() / 1000 * 1000;
    for t in [now - 60_000, now - 30_000, now] {
        app.up(t, &[("team-a", "a1", 0.0), ("team-b", "b1", 0.0)]);
    }
    app.manager.evaluate_group(0, now - 30_000).await;
    app.manager.evaluate_group(0, now).await;
    ensure_local_datasource(&app.prom.state, "127.0.0.1:9".parse().unwrap())
        .await
        .unwrap();
    app.project("alpha", "team-a").await;
    let panel = json!({"kind": "Panel", "spec": {"display": {"name": "up"},
        "plugin": {"kind": "TimeSeriesChart", "spec": {}},
        "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
            "spec": {"query": "up"}}}}]}});
    let dashboard = json!({"kind": "Dashboard", "metadata": {"name": "pods"}, "spec": {
        "duration": "15m", "layouts": [], "panels": {"up": panel}}});
    let (status, created) = app
        .post("/api/v1/projects/alpha/dashboards", &dashboard)
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");

    let (status, answer) = app
        .get("/api/v1/projects/alpha/dashboards/pods/alerts?range=15m")
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let overlay = &answer["overlays"][0];
    assert_eq!(overlay["rule"], "PodDown", "{answer}");
    assert_eq!(overlay["op"], "<");
    assert_eq!(overlay["threshold"], 1.0);
    assert_eq!(overlay["state"], "firing", "{answer}");
    assert!(
        !overlay["intervals"].as_array().unwrap().is_empty(),
        "{answer}"
    );
    assert!(
        !answer.to_string().contains("b1"),
        "team-b's alert stays hidden: {answer}"
    );
}
