//! Shared harness of the Prometheus API tests: a router over a throw-away config store and a
//! throw-away embedded metrics store, driven in process or over a real TCP socket.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use pharos_query::{LocalMetrics, QueryOptions};
use pharos_server::{AppState, ServerSettings, router};
use pharos_tsdb::{Db, Labels, Options};
use serde_json::Value;
use tower::ServiceExt as _;

/// One sample to append: labels, timestamp (ms), value.
pub type TestSample<'a> = (&'a [(&'a str, &'a str)], i64, f64);

/// A series of the reference data set and its value at step `i`.
type ReferenceSeries = (Labels, Box<dyn Fn(i64) -> f64>);

/// A router with the embedded store, and what keeps both stores alive.
pub struct PromApp {
    pub app: axum::Router,
    pub state: AppState,
    /// The bootstrap administrator's access token, added to requests without one.
    pub admin_token: String,
    pub db: Arc<Db>,
    _tsdb_dir: tempfile::TempDir,
    _store_guard: Box<dyn std::any::Any + Send>,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl PromApp {
    pub async fn new() -> Self {
        Self::with_options(QueryOptions::default()).await
    }

    pub async fn with_options(options: QueryOptions) -> Self {
        Self::with_state(options, |state, _| state).await
    }

    /// The same, with `extend` adding to the state (say, a rule manager over the metrics).
    pub async fn with_state(
        options: QueryOptions,
        extend: impl FnOnce(AppState, &Arc<LocalMetrics>) -> AppState,
    ) -> Self {
        let (store, guard) = pharos_store::testing::sqlite_store().await;
        let tsdb_dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(tsdb_dir.path(), Options::default()).unwrap());
        let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), options));
        let mut settings = ServerSettings::default();
        settings.security.admin_password = Some("test-admin-password".to_owned());
        let state = AppState::new(store, settings)
            .unwrap()
            .with_metrics(Arc::clone(&metrics));
        let state = extend(state, &metrics);
        state.identity.bootstrap_admin(None).await.unwrap();
        let admin_token = state
            .identity
            .login("admin", "test-admin-password", "test")
            .await
            .unwrap()
            .access_token;
        Self {
            app: router(state.clone()),
            state,
            admin_token,
            db,
            _tsdb_dir: tsdb_dir,
            _store_guard: Box::new(guard),
        }
    }

    /// Appends `(labels, t_ms, value)` samples in one commit.
    pub fn append(&self, samples: &[TestSample<'_>]) {
        let mut appender = self.db.appender();
        for (labels, t, v) in samples {
            appender
                .append(&Labels::new(labels.iter().copied()).unwrap(), *t, *v)
                .unwrap();
        }
        appender.commit().unwrap();
    }

    /// Sends `request`, as the admin unless it carries its own `authorization`.
    pub async fn request(&self, mut request: Request<Body>) -> Answer {
        if !request.headers().contains_key("authorization") {
            let bearer = format!("Bearer {}", self.admin_token);
            request
                .headers_mut()
                .insert("authorization", bearer.parse().unwrap());
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status,
            content_type,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    /// `GET path?query` with the pairs URL-encoded.
    pub async fn get(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let query = encode(pairs);
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// A form `POST`.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        self.request(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(encode(pairs)))
                .unwrap(),
        )
        .await
    }

    /// `PUT` of a JSON document.
    pub async fn put_json(&self, path: &str, document: &Value) -> Answer {
        self.request(
            Request::builder()
                .method(Method::PUT)
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(document.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Serves the router on a loopback port until the returned task is aborted.
    pub async fn serve(&self) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = self.app.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (addr, task)
    }
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The reference data set of `shared/scripts/gen-openmetrics.py` (same formulas, same start),
/// restricted to the families the captured Prometheus answers use: 3 days at 15 s of
/// `app_requests_total` (5 namespaces x 4 pods), `app_queue_depth` and the
/// `app_request_duration_seconds_bucket` histogram (6 buckets per namespace).
pub fn load_reference_data(db: &Db) {
    const START: i64 = 1_704_067_200;
    const STEP: i64 = 15;
    const STEPS: i64 = 3 * 86_400 / STEP;
    const BUCKETS: [(&str, f64); 6] = [
        ("0.05", 0.20),
        ("0.1", 0.50),
        ("0.25", 0.70),
        ("0.5", 0.90),
        ("1.0", 0.99),
        ("+Inf", 1.00),
    ];
    let mut series: Vec<ReferenceSeries> = Vec::new();
    for ns in 0..5i64 {
        let namespace = format!("ns-{ns}");
        for pod in 0..4i64 {
            let pod_name = format!("pod-{pod}");
            let rate = (ns + 1) * (pod + 1);
            series.push((
                Labels::new([
                    ("__name__", "app_requests_total"),
                    ("namespace", namespace.as_str()),
                    ("pod", pod_name.as_str()),
                ])
                .unwrap(),
                Box::new(move |i| (i * STEP * rate) as f64),
            ));
            series.push((
                Labels::new([
                    ("__name__", "app_queue_depth"),
                    ("namespace", namespace.as_str()),
                    ("pod", pod_name.as_str()),
                ])
                .unwrap(),
                Box::new(move |i| (rate + i % 4) as f64),
            ));
        }
        let per_step = 100 * (ns + 1);
        for (le, fraction) in BUCKETS {
            let increment = (per_step as f64 * fraction) as i64;
            series.push((
                Labels::new([
                    ("__name__", "app_request_duration_seconds_bucket"),
                    ("namespace", namespace.as_str()),
                    ("le", le),
                ])
                .unwrap(),
                Box::new(move |i| (i * increment) as f64),
            ));
        }
    }
    // Time-major, one commit per simulated hour: the store accepts samples in time order.
    for hour in 0..STEPS / 240 {
        let mut appender = db.appender();
        for i in hour * 240..(hour + 1) * 240 {
            let t = (START + i * STEP) * 1000;
            for (labels, value) in &series {
                appender.append(labels, t, value(i)).unwrap();
            }
        }
        appender.commit().unwrap();
    }
}

/// A captured Prometheus answer from `shared/reference/peers/`.
pub fn reference(name: &str) -> Value {
    let path = format!(
        "{}/../../../shared/reference/peers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Asserts that `actual` equals the captured `expected` answer, sample values compared to 12
/// significant digits. The captures come from Prometheus 2.42, whose range windows are closed
/// (`[t-5m, t]`); Prometheus 3 (and Pharos) use left-open windows (`(t-5m, t]`), so a rate is
/// extrapolated over one step more and can differ in the last bit (9.999999999999998 vs 10).
pub fn assert_matches_reference(actual: &Value, expected: &Value) {
    fn walk(actual: &Value, expected: &Value, path: &str) {
        match (actual, expected) {
            (Value::Object(a), Value::Object(e)) => {
                let keys =
                    |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
                assert_eq!(keys(a), keys(e), "keys at {path}");
                for (key, value) in e {
                    walk(&a[key], value, &format!("{path}/{key}"));
                }
            }
            (Value::Array(a), Value::Array(e)) => {
                assert_eq!(a.len(), e.len(), "length at {path}");
                for (i, (a, e)) in a.iter().zip(e).enumerate() {
                    walk(a, e, &format!("{path}/{i}"));
                }
            }
            (Value::String(a), Value::String(e)) => match (a.parse::<f64>(), e.parse::<f64>()) {
                (Ok(a), Ok(e)) if a.is_finite() && e.is_finite() => {
                    assert!(
                        (a - e).abs() <= 1e-12 * e.abs().max(1.0),
                        "{a} vs {e} at {path}"
                    );
                }
                _ => assert_eq!(a, e, "at {path}"),
            },
            _ => assert_eq!(actual, expected, "at {path}"),
        }
    }
    walk(actual, expected, "");
}
