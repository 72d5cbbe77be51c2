//! A fake Kubernetes API server, for the two endpoints a delegating service uses:
//! `POST /apis/authentication.k8s.io/v1/tokenreviews` and
//! `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`, with the real request and
//! answer bodies (HTTP 201, the review echoed with its `status`). The caller must present the
//! service account token the fake was started with, as the API server requires of a
//! delegating service; tokens map to users, and RBAC-style rules (Role in a namespace or
//! ClusterRole everywhere; verbs, resources, `*`) decide the access reviews.
//!
//! It also serves namespaced `list` requests (`GET /apis/<group>/<version>/namespaces/<ns>/
//! <plural>`, `/api/v1/...` for the core group) of the resource types a test installs, with
//! the real list envelope, `labelSelector` filtering, the `Status` body of a 404 for a type
//! that is not installed (a missing CRD) and of a 403 for a list the service account may not
//! make; a path can be made to answer anything (a lying API server).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
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
    /// Installed resource types (`group/version/plural`, `v1/plural` for the core group):
    /// their kind and objects.
    resources: Mutex<HashMap<String, (String, Vec<Value>)>>,
    /// `(plural, namespace)` lists refused with 403.
    forbidden: Mutex<Vec<(String, String)>>,
    /// Paths answered with a fixed status, body and delay.
    canned: Mutex<HashMap<String, (u16, String, std::time::Duration)>>,
    lists: AtomicUsize,
}

/// A running fake API server.
#[derive(Clone)]
pub struct FakeKubeApi {
    inner: Arc<Inner>,
    base: String,
}

use crate::lock;

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
            .route(
                "/apis/{group}/{version}/namespaces/{namespace}/{plural}",
                get(list_objects),
            )
            .route(
                "/api/{version}/namespaces/{namespace}/{plural}",
                get(list_core_objects),
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

    /// Installs a resource type (as a CRD does): its lists answer, empty until objects are
    /// added. `api_version` is `group/version` (`v1` for the core group).
    pub fn install(&self, api_version: &str, kind: &str, plural: &str) {
        lock(&self.inner.resources)
            .entry(format!("{api_version}/{plural}"))
            .or_insert_with(|| (kind.to_owned(), Vec::new()));
    }

    /// Adds an object (a full resource with `apiVersion`, `kind` and `metadata.namespace`),
    /// installing its type; server-set metadata (`uid`, `resourceVersion`,
    /// `creationTimestamp`, `generation`) is filled in when missing.
    pub fn add_object(&self, plural: &str, mut object: Value) {
        let api_version = object["apiVersion"].as_str().unwrap_or("v1").to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let mut resources = lock(&self.inner.resources);
        let count = resources.values().map(|(_, o)| o.len()).sum::<usize>();
        if let Some(metadata) = object["metadata"].as_object_mut() {
            let name = metadata
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            metadata
                .entry("uid")
                .or_insert_with(|| json!(format!("7f3c0000-0000-4000-8000-{:012}", count + 1)));
            metadata
                .entry("resourceVersion")
                .or_insert_with(|| json!(format!("{}", 1000 + count)));
            metadata
                .entry("creationTimestamp")
                .or_insert_with(|| json!("2025-06-01T08:00:00Z"));
            metadata.entry("generation").or_insert_with(|| json!(1));
            metadata.entry("name").or_insert_with(|| json!(name));
        }
        resources
            .entry(format!("{api_version}/{plural}"))
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push(object);
    }

    /// Refuses (403) lists of `plural` in `namespace`, as RBAC does for a service account
    /// without the `list` verb there.
    pub fn forbid_list(&self, plural: &str, namespace: &str) {
        lock(&self.inner.forbidden).push((plural.to_owned(), namespace.to_owned()));
    }

    /// Answers `GET path` with `status` and `body` (as is) after `delay`, whatever is
    /// installed.
    pub fn answer_raw(&self, path: &str, status: u16, body: &str, delay: std::time::Duration) {
        lock(&self.inner.canned).insert(path.to_owned(), (status, body.to_owned(), delay));
    }

    /// List requests served.
    pub fn lists(&self) -> usize {
        self.inner.lists.load(Ordering::SeqCst)
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

/// Whether `labels` satisfy a `labelSelector` of equality terms (`k=v`, `k==v`, `k!=v`) and
/// existence terms (`k`, `!k`).
fn selected(labels: &Value, selector: &str) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                label(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once('=') {
                label(k.trim()) == Some(v.trim_start_matches('=').trim())
            } else if let Some(k) = term.strip_prefix('!') {
                label(k).is_none()
            } else {
                label(term).is_some()
            }
        })
}

async fn list_core_objects(
    State(api): State<FakeKubeApi>,
    Path((version, namespace, plural)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/{version}/namespaces/{namespace}/{plural}");
    list(
        &api,
        &headers,
        &path,
        ("", &version),
        &namespace,
        &plural,
        &params,
    )
    .await
}

async fn list_objects(
    State(api): State<FakeKubeApi>,
    Path((group, version, namespace, plural)): Path<(String, String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/apis/{group}/{version}/namespaces/{namespace}/{plural}");
    list(
        &api,
        &headers,
        &path,
        (&group, &version),
        &namespace,
        &plural,
        &params,
    )
    .await
}

async fn list(
    api: &FakeKubeApi,
    headers: &HeaderMap,
    path: &str,
    (group, version): (&str, &str),
    namespace: &str,
    plural: &str,
    params: &HashMap<String, String>,
) -> Response {
    if let Some(refusal) = check_caller(api, headers) {
        return refusal;
    }
    api.inner.lists.fetch_add(1, Ordering::SeqCst);
    let canned = lock(&api.inner.canned).get(path).cloned();
    if let Some((status, body, delay)) = canned {
        tokio::time::sleep(delay).await;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let api_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let Some((kind, objects)) = lock(&api.inner.resources)
        .get(&format!("{api_version}/{plural}"))
        .cloned()
    else {
        return status_failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let refused = lock(&api.inner.forbidden)
        .iter()
        .any(|(p, ns)| p == plural && ns == namespace);
    if refused {
        let in_group = if group.is_empty() {
            String::new()
        } else {
            format!(".{group}")
        };
        return status_failure(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "{plural}{in_group} is forbidden: User \"system:serviceaccount:pharos:pharos\" \
                 cannot list resource \"{plural}\" in API group \"{group}\" in the namespace \"{namespace}\""
            ),
        );
    }
    let selector = params
        .get("labelSelector")
        .map(String::as_str)
        .unwrap_or("");
    let items: Vec<Value> = objects
        .into_iter()
        .filter(|o| o["metadata"]["namespace"] == namespace)
        .filter(|o| selected(&o["metadata"]["labels"], selector))
        .collect();
    let resource_version = 1000 + items.len();
    Json(json!({
        "apiVersion": api_version,
        "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    }))
    .into_response()
}
