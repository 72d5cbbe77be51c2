//! Test harness: drives the real router in process, over a throw-away SQLite store or a
//! fresh PostgreSQL database (`PHAROS_TEST_DATABASE_URL`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use pharos_server::{AppState, ServerSettings, router};
use pharos_store::Store;
use serde_json::Value;
use tower::ServiceExt as _;

/// A router over one store, plus whatever keeps the store alive.
pub struct TestApp {
    pub app: axum::Router,
    pub state: AppState,
    /// The bootstrap administrator's access token, sent by [`TestApp::send`] unless the
    /// request names its own `authorization`.
    pub admin_token: String,
    _guard: Option<Box<dyn std::any::Any + Send>>,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The `message` of an error body.
    pub fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestApp {
    /// An app over `backend`, or `None` when PostgreSQL is not configured (the store's
    /// helper panics instead when `PHAROS_REQUIRE_POSTGRES=1`).
    pub async fn new(backend: Backend, settings: ServerSettings) -> Option<Self> {
        let (store, guard): (Store, Option<Box<dyn std::any::Any + Send>>) = match backend {
            Backend::Sqlite => {
                let (store, guard) = pharos_store::testing::sqlite_store().await;
                (store, Some(Box::new(guard)))
            }
            Backend::Postgres => (pharos_store::testing::postgres_store().await?, None),
        };
        let mut settings = settings;
        settings.security.admin_password = Some(ADMIN_PASSWORD.to_owned());
        let state = AppState::new(store, settings).expect("http client");
        let admin_token = admin_token(&state).await;
        Some(Self {
            app: router(state.clone()),
            state,
            admin_token,
            _guard: guard,
        })
    }

    /// Another server ("replica") over the same store with `settings`; the admin's token works
    /// on it too (the signing key comes from the shared store key).
    pub fn replica(&self, settings: ServerSettings) -> TestApp {
        let state =
            AppState::new(self.state.resources.store().clone(), settings).expect("http client");
        TestApp {
            app: router(state.clone()),
            state,
            admin_token: self.admin_token.clone(),
            _guard: None,
        }
    }

    /// Creates user `name` (as the admin) and returns its access token.
    pub async fn user(&self, name: &str) -> String {
        let created = self
            .post(
                "/api/v1/users",
                serde_json::json!({"kind": "User", "metadata": {"name": name},
                    "spec": {"nativeProvider": {"password": format!("{name}-password")}}}),
            )
            .await;
        assert_eq!(
            created.status,
            StatusCode::OK,
            "create user {name}: {}",
            created.text
        );
        self.login(name, &format!("{name}-password")).await
    }

    /// Logs `name` in and returns the access token.
    pub async fn login(&self, name: &str, password: &str) -> String {
        let answer = self
            .anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(serde_json::json!({"login": name, "password": password})),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "login {name}: {}",
            answer.text
        );
        answer.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Sends without any credentials, as a visitor who is not logged in.
    pub async fn anonymous(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send(method, path, body, &[("authorization", "")])
            .await
    }

    /// Sends as the holder of `token` instead of the admin.
    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let bearer = format!("Bearer {token}");
        self.send(method, path, body, &[("authorization", &bearer)])
            .await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        let has_content_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_content_type {
            builder = builder.header("content-type", "application/json");
        }
        let names_authorization = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if !names_authorization {
            builder = builder.header("authorization", format!("Bearer {}", self.admin_token));
        }
        // An empty `authorization` means "send none" (anonymous requests).
        for (k, v) in headers.iter().filter(|(_, v)| !v.is_empty()) {
            builder = builder.header(*k, *v);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.dispatch(builder.body(body).expect("request")).await
    }

    /// Sends `request` as is, plus the admin's token when it names no `authorization`.
    pub async fn send_raw(&self, mut request: Request<Body>) -> Answer {
        if !request.headers().contains_key("authorization") {
            let bearer = format!("Bearer {}", self.admin_token);
            request
                .headers_mut()
                .insert("authorization", bearer.parse().expect("header"));
        }
        self.dispatch(request).await
    }

    async fn dispatch(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Creates a project and asserts it worked.
    pub async fn project(&self, name: &str, namespaces: &[&str]) {
        let mut spec = serde_json::json!({"display": {"name": name}});
        if !namespaces.is_empty() {
            spec["namespaces"] = serde_json::json!(namespaces);
        }
        let answer = self
            .post(
                "/api/v1/projects",
                serde_json::json!({"kind": "Project", "metadata": {"name": name}, "spec": spec}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "create project {name}: {}",
            answer.text
        );
    }
}

/// The bootstrap administrator's password in every in-process test app.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// Creates the first administrator (as a fresh server does) and logs it in.
pub async fn admin_token(state: &AppState) -> String {
    if !state.identity.native_logins() {
        return String::new();
    }
    state
        .identity
        .bootstrap_admin(None)
        .await
        .expect("bootstrap admin");
    state
        .identity
        .login("admin", ADMIN_PASSWORD, "test")
        .await
        .expect("admin login")
        .access_token
}

/// The URL of a peer from `scripts/peers.sh` (`PHAROS_TEST_<NAME>_URL`), or `None` to skip the
/// test — unless `PHAROS_REQUIRE_PEERS=1`, which makes a missing peer a failure.
pub fn peer_url(name: &str) -> Option<String> {
    let variable = format!("PHAROS_TEST_{name}_URL");
    match std::env::var(&variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PHAROS_REQUIRE_PEERS").as_deref() != Ok("1"),
                "PHAROS_REQUIRE_PEERS=1 but {variable} is not set: start the peers with scripts/peers.sh"
            );
            eprintln!("{variable} not set: test skipped");
            None
        }
    }
}

/// Runs an async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
                    .await
                    .expect("sqlite app");
                ($body)(app).await;
            }

            #[tokio::test]
            async fn postgres() {
                match common::TestApp::new(common::Backend::Postgres, Default::default()).await {
                    Some(app) => ($body)(app).await,
                    None => {
                        eprintln!("PHAROS_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
                    }
                }
            }
        }
    };
}

/// Removes server-managed metadata so documents can be compared with what was sent.
pub fn without_server_metadata(mut doc: Value) -> Value {
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["createdAt", "updatedAt", "version"] {
            meta.remove(field);
        }
    }
    doc
}

/// What [`recording_upstream`] saw: its echo, also when it travelled inside a Prometheus
/// answer's `data`.
pub fn echo(answer: &Answer) -> &Value {
    answer.body.pointer("/data/echo").unwrap_or(&answer.body)
}

/// Every parameter the upstream received, from its query string and its form body.
pub fn forwarded_params(answer: &Answer) -> Vec<(String, String)> {
    let echo = echo(answer);
    let mut params: Vec<(String, String)> = Vec::new();
    for part in ["query", "body"] {
        let text = echo[part].as_str().unwrap_or("");
        params.extend(url::form_urlencoded::parse(text.as_bytes()).into_owned());
    }
    params
}

/// The value of parameter `key` the upstream received.
pub fn forwarded_param(answer: &Answer, key: &str) -> Option<String> {
    forwarded_params(answer)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Starts an upstream that echoes method, path, query, headers and body as JSON.
pub async fn recording_upstream() -> String {
    async fn echo(
        method: Method,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::Json<Value> {
        if uri.path() == "/slow" {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    serde_json::json!(v.to_str().unwrap_or("")),
                )
            })
            .collect();
        let echo = serde_json::json!({
            "method": method.as_str(),
            "path": uri.path(),
            "query": uri.query().unwrap_or(""),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        });
        // PromQL queries go through Pharos's query layer, which only accepts Prometheus
        // answers: the echo travels inside `data`.
        let prometheus_query = (uri.path().ends_with("/api/v1/query")
            || uri.path().ends_with("/api/v1/query_range"))
            && !uri.path().starts_with("/loki/");
        if prometheus_query {
            return axum::Json(serde_json::json!({"status": "success",
                "data": {"resultType": "vector", "result": [], "echo": echo}}));
        }
        axum::Json(echo)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().fallback(axum::routing::any(echo)),
        )
        .await
    });
    format!("http://{addr}")
}

/// An embedded store with `gpu_util` of two tenants' pods over the last ten minutes: team-a at
/// 40, team-b at 90 (the assistant's and MCP's tenant tests).
pub fn two_tenants_gpu_util() -> (
    std::sync::Arc<pharos_query::LocalMetrics>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(
        pharos_tsdb::Db::open(dir.path(), pharos_tsdb::Options::default()).unwrap(),
    );
    let now = pharos_query::now_ms();
    let mut appender = db.appender();
    for (namespace, value) in [("team-a", 40.0), ("team-b", 90.0)] {
        let labels = pharos_tsdb::Labels::new([
            ("__name__", "gpu_util"),
            ("namespace", namespace),
            ("pod", "trainer-0"),
        ])
        .unwrap();
        for minutes in 0..10 {
            appender
                .append(&labels, now - (10 - minutes) * 60_000, value)
                .unwrap();
        }
    }
    appender.commit().unwrap();
    (
        std::sync::Arc::new(pharos_query::LocalMetrics::new(
            db,
            pharos_query::QueryOptions::default(),
        )),
        dir,
    )
}
