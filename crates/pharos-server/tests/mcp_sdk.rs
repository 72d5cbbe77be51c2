//! `/mcp` on a real socket (the binary's accept loop), driven by the official Python MCP SDK
//! (`tests/mcp/client.py`, interpreter from `PHAROS_TEST_PYTHON` with PyPI `mcp`, as
//! `scripts/test.sh` builds it): the handshake in both eras (`initialize` and the 2026-07-28
//! `server/discover`), the eleven tools with their schemas, calls over the embedded store,
//! arguments refused with a message that says what to send, and a project member's API token
//! that sees its own namespaces only. Without the SDK, plain HTTP checks the refusals (no
//! token: 401; another origin: 403), `--auth disabled`, and that any replica answers any request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use pharos_server::{ServerSettings, router};
use serde_json::{Value, json};

/// A served Pharos with GPU utilisation of two tenants in its embedded store.
struct Served {
    url: String,
    app: common::TestApp,
    /// The app that made the store (and keeps it).
    _base: common::TestApp,
    _tsdb: tempfile::TempDir,
}

/// Serves `app` with the binary's own accept loop; the URL of `/mcp`.
async fn listen(app: &common::TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.app.clone();
    let settings = pharos_server::config::HttpSettings::default();
    tokio::spawn(async move {
        pharos_server::serve::serve(listener, router, &settings, std::future::pending()).await
    });
    format!("http://{addr}/mcp")
}

async fn serve(settings: ServerSettings) -> Served {
    let base = common::TestApp::new(common::Backend::Sqlite, settings.clone())
        .await
        .unwrap();
    let (metrics, tsdb) = common::two_tenants_gpu_util();
    let mut app = base.replica(settings);
    app.state = app.state.clone().with_metrics(metrics);
    app.app = router(app.state.clone());
    let url = listen(&app).await;
    Served {
        url,
        app,
        _base: base,
        _tsdb: tsdb,
    }
}

/// Project `team-a` (namespace team-a), user bob a viewer in it, and an API token of bob's
/// limited to team-a.
async fn member_token(app: &common::TestApp) -> String {
    app.project("team-a", &["team-a"]).await;
    app.project("team-b", &["team-b"]).await;
    let bob = app.user("bob").await;
    let bound = app
        .post(
            "/api/v1/projects/team-a/rolebindings",
            json!({"kind": "RoleBinding", "metadata": {"name": "bob-viewer"},
                "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "bob"}]}}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
    let made = app
        .send_as(
            &bob,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "mcp", "projects": ["team-a"], "expires_in": 3600})),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    made.body["token"].as_str().unwrap().to_owned()
}

/// The interpreter with the `mcp` package, or `None` (the test then says it is skipped).
fn python() -> Option<String> {
    let python = std::env::var("PHAROS_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    if python.is_none() {
        eprintln!(
            "skipped: PHAROS_TEST_PYTHON is unset (scripts/test.sh builds a venv with PyPI `mcp` and sets it)"
        );
    }
    python
}

/// Runs `client.py URL TOKEN SCENARIO ERA` and parses what it printed.
async fn sdk(python: &str, url: &str, token: &str, scenario: &str, era: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let args = [script, url, token, scenario, era].map(str::to_owned);
    let python = python.to_owned();
    let run =
        tokio::task::spawn_blocking(move || std::process::Command::new(python).args(args).output());
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK client finishes within two minutes")
        .unwrap()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client.py {scenario} {era}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The series' namespaces of a `query_metrics` result.
fn namespaces(result: &Value) -> Vec<String> {
    assert_eq!(result["isError"], false, "{result}");
    let text: Value = serde_json::from_str(result["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        text, result["structured"],
        "text and structuredContent agree"
    );
    let mut out: Vec<String> = text["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["labels"]["namespace"].as_str().unwrap_or("").to_owned())
        .collect();
    out.sort();
    out
}

fn refused_saying(result: &Value, words: &[&str]) {
    assert_eq!(result["isError"], true, "{result}");
    let text = result["text"].as_str().unwrap();
    for word in words {
        assert!(text.contains(word), "{word:?} not in {text:?}");
    }
}

#[tokio::test]
async fn the_sdk_connects_in_both_eras() {
    let Some(python) = python() else { return };
    let served = serve(ServerSettings::default()).await;
    let token = &served.app.admin_token;
    let legacy = sdk(&python, &served.url, token, "handshake", "legacy").await;
    assert_eq!(legacy["serverName"], "pharos", "{legacy}");
    assert_eq!(legacy["serverVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(legacy["protocolVersion"], "2025-11-25", "{legacy}");
    assert_eq!(legacy["tools"], true);
    assert!(legacy["instructions"].as_str().unwrap().contains("cluster"));
    let modern = sdk(&python, &served.url, token, "handshake", "modern").await;
    assert_eq!(modern["protocolVersion"], "2026-07-28", "{modern}");
    assert_eq!(modern["serverName"], "pharos", "{modern}");
    assert_eq!(modern["tools"], true);
}

#[tokio::test]
async fn the_sdk_lists_the_eleven_tools_with_object_schemas() {
    let Some(python) = python() else { return };
    let served = serve(ServerSettings::default()).await;
    for era in ["legacy", "modern"] {
        let listed = sdk(&python, &served.url, &served.app.admin_token, "tools", era).await;
        let tools = listed["tools"].as_array().expect("tools");
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "detect_anomalies",
                "explain_incident",
                "get_cluster_status",
                "get_dashboard",
                "get_gpu_nodes",
                "get_panel_data",
                "list_alerts",
                "list_clusters",
                "list_dashboards",
                "query_metrics",
                "service_latency",
            ],
            "{era}"
        );
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert!(!tool["description"].as_str().unwrap().is_empty(), "{tool}");
        }
        let query = tools.iter().find(|t| t["name"] == "query_metrics").unwrap();
        assert_eq!(
            query["inputSchema"]["required"],
            json!(["query"]),
            "{query}"
        );
    }
}

#[tokio::test]
async fn the_sdk_calls_tools_and_reads_what_to_send_when_it_is_wrong() {
    let Some(python) = python() else { return };
    let served = serve(ServerSettings::default()).await;
    for era in ["legacy", "modern"] {
        let calls = sdk(
            &python,
            &served.url,
            &served.app.admin_token,
            "admin_calls",
            era,
        )
        .await;
        assert_eq!(namespaces(&calls["good"]), ["team-a", "team-b"], "{era}");
        let good: Value = serde_json::from_str(calls["good"]["text"].as_str().unwrap()).unwrap();
        assert_eq!(good["resultType"], "matrix");
        assert_eq!(good["series"][0]["max"], 90.0, "largest first: {good}");
        let instant = &calls["instant"]["structured"];
        assert_eq!(instant["series"][0]["value"], 130.0, "{instant}");
        refused_saying(&calls["missing_query"], &["query", "query_metrics takes"]);
        refused_saying(
            &calls["unknown_field"],
            &["namespace", "query_metrics takes"],
        );
        assert_eq!(
            calls["unknown_field"]["structured"]["code"],
            "invalid_arguments"
        );
        refused_saying(&calls["unknown_tool"], &["drop_database", "query_metrics"]);
        assert_eq!(calls["unknown_tool"]["structured"]["code"], "unknown_tool");
        refused_saying(
            &calls["not_an_object"],
            &["must be a JSON object", "query_metrics takes"],
        );
        assert_eq!(calls["no_arguments"]["isError"], false, "{calls}");
    }
}

#[tokio::test]
async fn a_member_token_sees_only_its_project() {
    let Some(python) = python() else { return };
    let served = serve(ServerSettings::default()).await;
    let token = member_token(&served.app).await;
    for era in ["legacy", "modern"] {
        let calls = sdk(&python, &served.url, &token, "member_calls", era).await;
        refused_saying(&calls["no_project"], &["not allowed"]);
        assert_eq!(calls["no_project"]["structured"]["code"], "forbidden");
        // The query named team-b; enforcement rewrote it to the project's namespace.
        assert_eq!(namespaces(&calls["team_a"]), ["team-a"], "{calls}");
        assert!(
            !calls["team_a"]["text"].as_str().unwrap().contains("90"),
            "team-b's value leaked: {calls}"
        );
        assert_eq!(calls["other_project"]["isError"], true, "{calls}");
    }
}

#[tokio::test]
async fn the_sdk_without_a_token_is_refused() {
    let Some(python) = python() else { return };
    let served = serve(ServerSettings::default()).await;
    let refused = sdk(&python, &served.url, "-", "handshake", "legacy").await;
    assert!(refused["failed"].is_string(), "{refused}");
    assert_eq!(refused["httpStatuses"], json!([401]), "{refused}");
}

/// One JSON-RPC request over plain HTTP, as a 2025-11-25 client sends it.
async fn post(url: &str, headers: &[(&str, &str)], body: Value) -> (StatusCode, Value, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let session = response.headers().get("mcp-session-id").is_some();
    let mut body: Value = response.json().await.unwrap_or(Value::Null);
    if session {
        body["_session_header"] = json!(true);
    }
    (status, body, authenticate)
}

fn list_tools() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

#[tokio::test]
async fn without_a_token_it_is_401_and_other_origins_are_refused() {
    let served = serve(ServerSettings::default()).await;
    let (status, _, authenticate) = post(&served.url, &[], list_tools()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(authenticate, "Bearer");
    let (status, ..) = post(
        &served.url,
        &[("authorization", "Bearer pht_not-a-token")],
        list_tools(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {}", served.app.admin_token);
    let (status, body, _) = post(
        &served.url,
        &[
            ("authorization", &bearer),
            ("origin", "https://evil.example"),
        ],
        list_tools(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("origin"),
        "{body}"
    );
    // The session cookies from another site's page are refused before that.
    let (status, ..) = post(
        &served.url,
        &[
            ("cookie", "jwtPayload=a.b; jwtSignature=c"),
            ("origin", "https://evil.example"),
        ],
        list_tools(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body, _) = post(&served.url, &[("authorization", &bearer)], list_tools()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 11);
}

#[tokio::test]
async fn with_auth_disabled_the_anonymous_admin_may_call() {
    let mut settings = ServerSettings::default();
    settings.security.auth = pharos_server::config::AuthMode::Disabled;
    let served = serve(settings).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "query_metrics", "arguments": {"query": "sum(gpu_util)"}}});
    let (status, body, _) = post(&served.url, &[], call).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["series"][0]["value"],
        130.0
    );
}

#[tokio::test]
async fn any_replica_answers_any_request_without_a_session() {
    let first = serve(ServerSettings::default()).await;
    let bearer = format!("Bearer {}", first.app.admin_token);
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}});
    let (status, body, _) = post(&first.url, &[("authorization", &bearer)], initialize).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "pharos");
    assert!(
        body.get("_session_header").is_none(),
        "no Mcp-Session-Id: {body}"
    );
    // Another replica over the same store never saw the handshake and answers all the same.
    let mut replica = first.app.replica(ServerSettings::default());
    replica.state = replica
        .state
        .clone()
        .with_metrics(first.app.state.metrics.clone().unwrap());
    replica.app = router(replica.state.clone());
    let other = listen(&replica).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_clusters", "arguments": {}}});
    let (status, body, _) = post(&other, &[("authorization", &bearer)], call).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    // No session to open a stream on or to end.
    let client = reqwest::Client::new();
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let answer = client
            .request(method.clone(), &other)
            .header("authorization", &bearer)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 405, "{method}");
    }
}
