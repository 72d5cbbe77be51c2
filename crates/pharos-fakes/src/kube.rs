//! A fake Kubernetes API server, for the two endpoints a delegating service uses:
//! `POST /apis/authentication.k8s.io/v1/tokenreviews` and
//! `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`, with the real request and
//! answer bodies (HTTP 201, the review echoed with its `status`). The caller must present the
//! service account token the fake was started with, as the API server requires of a
//! delegating service; tokens map to users, and RBAC-style rules (Role in a namespace or
//! ClusterRole everywhere; verbs, resources, `*`) decide the access reviews.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// One RBAC rule bound to a user or a group.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `User:<name>` or `Group:<name>`.
    pub subject: String,
    /// The namespace of a RoleBinding; `None` for a ClusterRoleBinding.
    pub namespace: Option<String>,
    /// API groups (`*` for all).
    pub api_groups: Vec<String>,
    /// Resources, `resource/subresource` for subresources (`*` for all).
    pub resources: Vec<String>,
    /// Verbs (`*` for all).
    pub verbs: Vec<String>,
}

impl Rule {
    /// A rule for `subject` (`User:alice` / `Group:ml-team`) in `namespace` (or everywhere).
    pub fn new(subject: &str, namespace: Option<&str>, resources: &[&str], verbs: &[&str]) -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Self {
            subject: subject.to_owned(),
            namespace: namespace.map(str::to_owned),
            api_groups: vec!["perses.openshift.io".to_owned()],
            resources: owned(resources),
            verbs: owned(verbs),
        }
    }

    fn matches(&self, user: &str, groups: &[String], attributes: &Value) -> bool {
        let subject_matches = match self.subject.split_once(':') {
            Some(("User", name)) => name == user,
            Some(("Group", name)) => groups.iter().any(|g| g == name),
            _ => false,
        };
        let text = |field: &str| attributes[field].as_str().unwrap_or_default().to_owned();
        let namespace_matches = match &self.namespace {
            None => true,
            // A Role never grants cluster-wide requests.
            Some(ns) => *ns == text("namespace"),
        };
        let resource = match text("subresource").as_str() {
            "" => text("resource"),
            sub => format!("{}/{sub}", text("resource")),
        };
        let covers = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        subject_matches
            && namespace_matches
            && covers(&self.api_groups, &text("group"))
            && covers(&self.resources, &resource)
            && covers(&self.verbs, &text("verb"))
    }
}

#[derive(Default)]
struct Inner {
    service_account_token: String,
    users: Mutex<HashMap<String, Value>>,
    rules: Mutex<Vec<Rule>>,
    token_reviews: AtomicUsize,
    access_reviews: AtomicUsize,
}

/// A running fake API server.
#[derive(Clone)]
pub struct FakeKubeApi {
    inner: Arc<Inner>,
    base: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeKubeApi {
    /// Starts an API server that accepts reviews from `service_account_token`.
    pub async fn start(service_account_token: &str) -> std::io::Result<Self> {
        let (listener, base) = crate::listen().await?;
        let api = Self {
            inner: Arc::new(Inner {
                service_account_token: service_account_token.to_owned(),
                ..Inner::default()
            }),
            base,
        };
        let router = Router::new()
            .route(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                post(token_review),
            )
            .route(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                post(access_review),
            )
            .with_state(api.clone());
        crate::spawn(listener, router);
        Ok(api)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Makes `token` belong to `username` in `groups`.
    pub fn add_user(&self, token: &str, username: &str, groups: &[&str]) {
        lock(&self.inner.users).insert(
            token.to_owned(),
            json!({
                "username": username,
                "uid": format!("uid-{username}"),
                "groups": groups.iter().copied().chain(["system:authenticated"]).collect::<Vec<_>>(),
                "extra": {"scopes.authorization.openshift.io": ["user:full"]},
            }),
        );
    }

    /// Adds an RBAC rule.
    pub fn allow(&self, rule: Rule) {
        lock(&self.inner.rules).push(rule);
    }

    /// Removes every rule of `subject`.
    pub fn revoke(&self, subject: &str) {
        lock(&self.inner.rules).retain(|r| r.subject != subject);
    }

    /// TokenReviews served.
    pub fn token_reviews(&self) -> usize {
        self.inner.token_reviews.load(Ordering::SeqCst)
    }

    /// SubjectAccessReviews served.
    pub fn access_reviews(&self) -> usize {
        self.inner.access_reviews.load(Ordering::SeqCst)
    }
}

/// The API server's `Status` answer for a failed request.
fn status_failure(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

fn check_caller(api: &FakeKubeApi, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    (presented != Some(api.inner.service_account_token.as_str()))
        .then(|| status_failure(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized"))
}

fn check_kind(body: &Value, api_version: &str, kind: &str) -> Option<Response> {
    (body["apiVersion"] != api_version || body["kind"] != kind).then(|| {
        status_failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("expected {kind} {api_version}"),
        )
    })
}

async fn token_review(
    State(api): State<FakeKubeApi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = check_caller(&api, &headers)
        .or_else(|| check_kind(&body, "authentication.k8s.io/v1", "TokenReview"))
    {
        return refusal;
    }
    api.inner.token_reviews.fetch_add(1, Ordering::SeqCst);
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let status = match lock(&api.inner.users).get(token) {
        Some(user) => {
            json!({"authenticated": true, "user": user, "audiences": ["https://kubernetes.default.svc"]})
        }
        None => json!({"user": {}, "error": "[invalid bearer token, token lookup failed]"}),
    };
    let mut answer = body.clone();
    answer["metadata"] = json!({"creationTimestamp": null});
    answer["status"] = status;
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn access_review(
    State(api): State<FakeKubeApi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = check_caller(&api, &headers)
        .or_else(|| check_kind(&body, "authorization.k8s.io/v1", "SubjectAccessReview"))
    {
        return refusal;
    }
    api.inner.access_reviews.fetch_add(1, Ordering::SeqCst);
    let spec = &body["spec"];
    let user = spec["user"].as_str().unwrap_or_default();
    let groups: Vec<String> = spec["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let attributes = &spec["resourceAttributes"];
    let allowed = lock(&api.inner.rules)
        .iter()
        .any(|rule| rule.matches(user, &groups, attributes));
    let status = if allowed {
        json!({"allowed": true, "reason": "RBAC: allowed by a binding"})
    } else {
        json!({"allowed": false})
    };
    let mut answer = body.clone();
    answer["metadata"] = json!({"creationTimestamp": null});
    answer["status"] = status;
    (StatusCode::CREATED, Json(answer)).into_response()
}
