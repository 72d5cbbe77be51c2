//! A fake Kubernetes API server for controllers: custom resources that a test creates,
//! changes and deletes, served with the real list and watch protocol.
//!
//! - `GET /apis/<group>/<version>/<plural>` (all namespaces) and
//!   `.../namespaces/<ns>/<plural>`: the list envelope with `metadata.resourceVersion`; with
//!   `watch=1` newline-delimited JSON events `{"type","object"}` (`ADDED`, `MODIFIED`,
//!   `DELETED`, `BOOKMARK` when `allowWatchBookmarks=true`, `ERROR`) starting after the
//!   requested `resourceVersion` and ending after `timeoutSeconds`. A `resourceVersion` older
//!   than the retained history ([`FakeKubeWatch::compact`]) gets the API server's answer: HTTP
//!   200 and one `ERROR` event carrying a `Status` with `code: 410, reason: "Expired"` (or a
//!   plain HTTP 410, [`FakeKubeWatch::gone_as_http`]).
//! - `GET .../namespaces/<ns>/<plural>/<name>` and `PATCH .../<name>/status` with
//!   `application/merge-patch+json` (only `status` changes; `metadata.generation` is bumped by
//!   spec changes only, as for a CRD with the status subresource).
//!
//! One resourceVersion counter serves every type, as etcd's revision does, so a bookmark can
//! carry a version no event of the watched type had. Every request is recorded
//! ([`FakeKubeWatch::requests`]) so a test can check which `resourceVersion` a watch asked for.
//! The bearer token the fake was started with is required.

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

/// A request the fake served: method, path and query parameters.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET` or `PATCH`.
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The query parameters.
    pub query: HashMap<String, String>,
}

impl Recorded {
    /// Whether this is a watch request.
    pub fn is_watch(&self) -> bool {
        matches!(
            self.query.get("watch").map(String::as_str),
            Some("1" | "true")
        )
    }
}

/// What the watch streams hear.
#[derive(Debug, Clone)]
enum Signal {
    /// An event of type `key` (`group/version/plural`) in `namespace`, already as a line.
    Event {
        key: String,
        namespace: String,
        line: String,
    },
    /// Send a bookmark with the current resourceVersion to every watch that allows them.
    Bookmark,
    /// End every open watch (as a timeout or an API server restart does).
    Close,
}

#[derive(Default)]
struct Store {
    /// The last resourceVersion handed out.
    revision: u64,
    /// Watch requests older than this get 410 Gone.
    oldest_watchable: u64,
    /// Installed types: `group/version/plural` → kind.
    types: HashMap<String, String>,
    /// `(key, namespace, name)` → object.
    objects: BTreeMap<(String, String, String), Value>,
    /// `(revision, key, namespace, line)` of every event not compacted away.
    history: Vec<(u64, String, String, String)>,
}

struct Inner {
    token: String,
    store: Mutex<Store>,
    signals: broadcast::Sender<Signal>,
    requests: Mutex<Vec<Recorded>>,
    refuse_watches: Mutex<Option<u16>>,
    gone_as_http: Mutex<bool>,
    open_watches: AtomicUsize,
}

/// A running fake API server with list, watch and status for custom resources.
#[derive(Clone)]
pub struct FakeKubeWatch {
    inner: Arc<Inner>,
    base: String,
}

use crate::lock;

fn type_key(api_version: &str, plural: &str) -> String {
    format!("{api_version}/{plural}")
}

impl FakeKubeWatch {
    /// Starts the server; callers must present `token` as their bearer.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        let (listener, base) = crate::listen().await?;
        let (signals, _) = broadcast::channel(1024);
        let api = Self {
            inner: Arc::new(Inner {
                token: token.to_owned(),
                store: Mutex::new(Store::default()),
                signals,
                requests: Mutex::new(Vec::new()),
                refuse_watches: Mutex::new(None),
                gone_as_http: Mutex::new(false),
                open_watches: AtomicUsize::new(0),
            }),
            base,
        };
        let router = Router::new()
            .route("/apis/{group}/{version}/{plural}", get(list_all))
            .route(
                "/apis/{group}/{version}/namespaces/{namespace}/{plural}",
                get(list_namespaced),
            )
            .route(
                "/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}",
                get(get_object),
            )
            .route(
                "/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}/status",
                axum::routing::patch(patch_status),
            )
            .with_state(api.clone());
        crate::spawn(listener, router);
        Ok(api)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Installs a custom resource type, as applying its CRD does (`api_version` is
    /// `group/version`).
    pub fn install(&self, api_version: &str, kind: &str, plural: &str) {
        lock(&self.inner.store)
            .types
            .insert(type_key(api_version, plural), kind.to_owned());
    }

    /// Creates an object (`apiVersion`, `kind`, `metadata.namespace`, `metadata.name`, `spec`);
    /// the server fills `uid`, `resourceVersion`, `generation: 1` and `creationTimestamp`.
    /// Returns its resourceVersion.
    pub fn create(&self, plural: &str, mut object: Value) -> u64 {
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
        let key = type_key(&api_version, plural);
        let (namespace, name) = names(&object);
        let mut store = lock(&self.inner.store);
        store.revision += 1;
        let revision = store.revision;
        object["metadata"]["uid"] = json!(format!("5d1e0000-0000-4000-8000-{revision:012}"));
        object["metadata"]["generation"] = json!(1);
        object["metadata"]["resourceVersion"] = json!(revision.to_string());
        object["metadata"]["creationTimestamp"] = json!("2026-12-01T08:00:00Z");
        store
            .objects
            .insert((key.clone(), namespace.clone(), name), object.clone());
        self.record_event(&mut store, &key, &namespace, "ADDED", object);
        revision
    }

    /// Replaces an object's spec; bumps `generation` when the spec differs. Returns the new
    /// resourceVersion, `None` when there is no such object.
    pub fn update_spec(
        &self,
        api_version: &str,
        plural: &str,
        namespace: &str,
        name: &str,
        spec: Value,
    ) -> Option<u64> {
        let key = type_key(api_version, plural);
        let mut store = lock(&self.inner.store);
        let id = (key.clone(), namespace.to_owned(), name.to_owned());
        let mut object = store.objects.get(&id)?.clone();
        if object["spec"] != spec {
            let generation = object["metadata"]["generation"].as_u64().unwrap_or(1);
            object["metadata"]["generation"] = json!(generation + 1);
            object["spec"] = spec;
        }
        store.revision += 1;
        let revision = store.revision;
        object["metadata"]["resourceVersion"] = json!(revision.to_string());
        store.objects.insert(id, object.clone());
        self.record_event(&mut store, &key, namespace, "MODIFIED", object);
        Some(revision)
    }

    /// Deletes an object; `false` when there was none.
    pub fn delete(&self, api_version: &str, plural: &str, namespace: &str, name: &str) -> bool {
        let key = type_key(api_version, plural);
        let mut store = lock(&self.inner.store);
        let id = (key.clone(), namespace.to_owned(), name.to_owned());
        let Some(mut object) = store.objects.remove(&id) else {
            return false;
        };
        store.revision += 1;
        object["metadata"]["resourceVersion"] = json!(store.revision.to_string());
        self.record_event(&mut store, &key, namespace, "DELETED", object);
        true
    }

    /// The object as stored, status included.
    pub fn object(
        &self,
        api_version: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let id = (
            type_key(api_version, plural),
            namespace.to_owned(),
            name.to_owned(),
        );
        lock(&self.inner.store).objects.get(&id).cloned()
    }

    /// The current resourceVersion (the last one handed out).
    pub fn resource_version(&self) -> u64 {
        lock(&self.inner.store).revision
    }

    /// Forgets the event history: a watch from any resourceVersion before now is answered
    /// 410 Gone, as after etcd compaction.
    pub fn compact(&self) {
        let mut store = lock(&self.inner.store);
        store.oldest_watchable = store.revision;
        store.history.clear();
    }

    /// Answers expired watches with HTTP 410 instead of an `ERROR` event.
    pub fn gone_as_http(&self, on: bool) {
        *lock(&self.inner.gone_as_http) = on;
    }

    /// Refuses new watch requests with `status` (`None`: serve them again).
    pub fn refuse_watches(&self, status: Option<u16>) {
        *lock(&self.inner.refuse_watches) = status;
    }

    /// Sends a `BOOKMARK` with the current resourceVersion to every open watch that allows
    /// bookmarks.
    pub fn bookmark(&self) {
        let _ = self.inner.signals.send(Signal::Bookmark);
    }

    /// Ends every open watch stream.
    pub fn close_watches(&self) {
        let _ = self.inner.signals.send(Signal::Close);
    }

    /// Watch streams open right now.
    pub fn open_watches(&self) -> usize {
        self.inner.open_watches.load(Ordering::SeqCst)
    }

    /// Every request served so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }

    fn record_event(
        &self,
        store: &mut Store,
        key: &str,
        namespace: &str,
        kind: &str,
        object: Value,
    ) {
        let line = json!({"type": kind, "object": object}).to_string();
        store.history.push((
            store.revision,
            key.to_owned(),
            namespace.to_owned(),
            line.clone(),
        ));
        // Sent under the store lock, so a watch that snapshots the history under the same
        // lock and subscribes there misses nothing and sees nothing twice.
        let _ = self.inner.signals.send(Signal::Event {
            key: key.to_owned(),
            namespace: namespace.to_owned(),
            line,
        });
    }
}

fn names(object: &Value) -> (String, String) {
    let text = |field: &str| {
        object["metadata"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (text("namespace"), text("name"))
}

/// The API server's `Status` for a failed request.
fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    })
}

fn failure(code: StatusCode, reason: &str, message: &str) -> Response {
    (code, Json(status_body(code.as_u16(), reason, message))).into_response()
}

/// Records the request and checks the bearer token.
fn admit(
    api: &FakeKubeWatch,
    method: &Method,
    path: String,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    lock(&api.inner.requests).push(Recorded {
        method: method.to_string(),
        path,
        query: query.clone(),
    });
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    (presented != Some(api.inner.token.as_str()))
        .then(|| failure(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized"))
}

async fn list_all(
    State(api): State<FakeKubeWatch>,
    Path((group, version, plural)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/apis/{group}/{version}/{plural}");
    if let Some(refusal) = admit(&api, &Method::GET, path, &query, &headers) {
        return refusal;
    }
    list_or_watch(&api, &format!("{group}/{version}"), &plural, None, &query)
}

async fn list_namespaced(
    State(api): State<FakeKubeWatch>,
    Path((group, version, namespace, plural)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/apis/{group}/{version}/namespaces/{namespace}/{plural}");
    if let Some(refusal) = admit(&api, &Method::GET, path, &query, &headers) {
        return refusal;
    }
    let api_version = format!("{group}/{version}");
    list_or_watch(&api, &api_version, &plural, Some(&namespace), &query)
}

fn not_installed() -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn list_or_watch(
    api: &FakeKubeWatch,
    api_version: &str,
    plural: &str,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
) -> Response {
    let key = type_key(api_version, plural);
    let watch = matches!(query.get("watch").map(String::as_str), Some("1" | "true"));
    if watch {
        return start_watch(api, &key, namespace, query);
    }
    let store = lock(&api.inner.store);
    let Some(kind) = store.types.get(&key).cloned() else {
        return not_installed();
    };
    let items: Vec<Value> = store
        .objects
        .iter()
        .filter(|((k, ns, _), _)| *k == key && namespace.is_none_or(|n| n == ns))
        .map(|(_, object)| object.clone())
        .collect();
    Json(json!({
        "apiVersion": api_version,
        "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": store.revision.to_string()},
        "items": items,
    }))
    .into_response()
}

fn start_watch(
    api: &FakeKubeWatch,
    key: &str,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
) -> Response {
    if let Some(status) = *lock(&api.inner.refuse_watches) {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return failure(code, "ServiceUnavailable", "watches refused by the test");
    }
    let bookmarks = query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let requested = query
        .get("resourceVersion")
        .and_then(|v| v.parse::<u64>().ok());
    let store = lock(&api.inner.store);
    let Some(kind) = store.types.get(key).cloned() else {
        return not_installed();
    };
    let api_version = key
        .rsplit_once('/')
        .map(|(v, _)| v)
        .unwrap_or_default()
        .to_owned();
    let in_scope = |k: &str, ns: &str| k == key && namespace.is_none_or(|n| n == ns);
    // Without a resourceVersion a watch starts with synthetic ADDED events for what exists.
    let backlog: Vec<String> = match requested {
        None | Some(0) => store
            .objects
            .iter()
            .filter(|((k, ns, _), _)| in_scope(k, ns))
            .map(|(_, o)| json!({"type": "ADDED", "object": o}).to_string())
            .collect(),
        Some(from) if from < store.oldest_watchable => {
            let message = format!(
                "too old resource version: {from} ({})",
                store.oldest_watchable
            );
            if *lock(&api.inner.gone_as_http) {
                return failure(StatusCode::GONE, "Expired", &message);
            }
            let line = json!({"type": "ERROR", "object": status_body(410, "Expired", &message)});
            return watch_response(Body::from(format!("{line}\n")));
        }
        Some(from) => store
            .history
            .iter()
            .filter(|(revision, k, ns, _)| *revision > from && in_scope(k, ns))
            .map(|(_, _, _, line)| line.clone())
            .collect(),
    };
    let mut signals = api.inner.signals.subscribe();
    drop(store);

    let (sender, mut receiver) = mpsc::channel::<String>(256);
    let inner = api.inner.clone();
    let key = key.to_owned();
    let namespace = namespace.map(str::to_owned);
    inner.open_watches.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut open = true;
        for line in backlog {
            open &= sender.send(line).await.is_ok();
        }
        while open {
            tokio::select! {
                () = &mut deadline => break,
                () = sender.closed() => break,
                signal = signals.recv() => match signal {
                    Ok(Signal::Event { key: k, namespace: ns, line }) => {
                        if k == key && namespace.as_deref().is_none_or(|n| n == ns) {
                            open = sender.send(line).await.is_ok();
                        }
                    }
                    Ok(Signal::Bookmark) if bookmarks => {
                        let revision = lock(&inner.store).revision;
                        let line = json!({"type": "BOOKMARK", "object": {
                            "kind": kind, "apiVersion": api_version,
                            "metadata": {"resourceVersion": revision.to_string()},
                        }});
                        open = sender.send(line.to_string()).await.is_ok();
                    }
                    Ok(Signal::Bookmark) => {}
                    // A watcher that fell behind is cut off, as the API server does.
                    Ok(Signal::Close) | Err(_) => break,
                },
            }
        }
        inner.open_watches.fetch_sub(1, Ordering::SeqCst);
    });
    let stream = futures::stream::poll_fn(move |cx| {
        receiver
            .poll_recv(cx)
            .map(|line| line.map(|l| Ok::<_, Infallible>(Bytes::from(format!("{l}\n")))))
    });
    watch_response(Body::from_stream(stream))
}

fn watch_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn get_object(
    State(api): State<FakeKubeWatch>,
    Path((group, version, namespace, plural, name)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}");
    if let Some(refusal) = admit(&api, &Method::GET, path, &HashMap::new(), &headers) {
        return refusal;
    }
    match api.object(&format!("{group}/{version}"), &plural, &namespace, &name) {
        Some(object) => Json(object).into_response(),
        None => failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{plural}.{group} \"{name}\" not found"),
        ),
    }
}

async fn patch_status(
    State(api): State<FakeKubeWatch>,
    Path((group, version, namespace, plural, name)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}/status");
    if let Some(refusal) = admit(&api, &Method::PATCH, path, &HashMap::new(), &headers) {
        return refusal;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/merge-patch+json" {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        );
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the patch is not JSON",
        );
    };
    let key = type_key(&format!("{group}/{version}"), &plural);
    let mut store = lock(&api.inner.store);
    let id = (key.clone(), namespace.clone(), name.clone());
    let Some(mut object) = store.objects.get(&id).cloned() else {
        return failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{plural}.{group} \"{name}\" not found"),
        );
    };
    // The status subresource ignores everything but `status`.
    if let Some(status) = patch.get("status") {
        merge(&mut object["status"], status);
    }
    store.revision += 1;
    object["metadata"]["resourceVersion"] = json!(store.revision.to_string());
    store.objects.insert(id, object.clone());
    api.record_event(&mut store, &key, &namespace, "MODIFIED", object.clone());
    Json(object).into_response()
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(existing) = target {
        for (key, value) in fields {
            if value.is_null() {
                existing.remove(key);
            } else {
                merge(existing.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}
