//! A small Kubernetes API client: list, watch (newline-delimited JSON events) and merge-patch
//! of the `status` subresource, for namespaced custom resources across all namespaces.

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use serde_json::Value;

use crate::error::KubeError;
use crate::pharos::Target;

/// Where a pod finds its service account.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Time for one non-watch request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time a watch gets past its `timeoutSeconds` before the client gives up on it (a
/// stream that went silent because the connection died without a FIN).
const WATCH_SLACK: Duration = Duration::from_secs(30);

/// A custom resource type the operator watches, and the Pharos kind it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group (`perses.dev`).
    pub group: String,
    /// Version (`v1alpha1`).
    pub version: String,
    /// Plural resource name (`persesdashboards`).
    pub plural: String,
    /// Kind (`PersesDashboard`).
    pub kind: String,
    /// What it becomes in Pharos.
    pub target: Target,
}

impl ResourceType {
    /// A type.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, target: Target) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            plural: plural.to_owned(),
            kind: kind.to_owned(),
            target,
        }
    }

    /// `plural.group`, as RBAC and `kubectl` name it.
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The tag that marks a Pharos resource as applied from this type (at most 50
    /// characters, the longest tag Pharos keeps; decision 0028).
    pub fn owner_tag(&self) -> String {
        format!("pharos-operator:{}", self.name())
    }

    fn collection_path(&self) -> String {
        format!("/apis/{}/{}/{}", self.group, self.version, self.plural)
    }

    fn status_path(&self, namespace: &str, name: &str) -> String {
        format!(
            "/apis/{}/{}/namespaces/{namespace}/{}/{name}/status",
            self.group, self.version, self.plural
        )
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone)]
enum Credentials {
    /// A fixed bearer token (`--kube-token`).
    Token(String),
    /// The projected service account token, re-read on every request because the kubelet
    /// rotates it.
    TokenFile(PathBuf),
}

/// The Kubernetes API client.
#[derive(Debug, Clone)]
pub struct KubeClient {
    base: String,
    credentials: Credentials,
    http: reqwest::Client,
}

/// A list answer: the objects and the resourceVersion to watch from.
#[derive(Debug, Clone)]
pub struct ObjectList {
    /// The objects.
    pub items: Vec<Value>,
    /// `metadata.resourceVersion` of the list.
    pub resource_version: String,
}

/// One event of a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// An object appeared (or existed when a watch without resourceVersion started).
    Added(Value),
    /// An object changed (spec, metadata or status).
    Modified(Value),
    /// An object was deleted; its last state.
    Deleted(Value),
    /// Nothing changed for this type up to this resourceVersion.
    Bookmark(String),
    /// The watch failed; the `Status` object (`code: 410` means relist).
    Error(Value),
}

impl WatchEvent {
    /// The resourceVersion the event moves the watch to, if any.
    pub fn resource_version(&self) -> Option<&str> {
        match self {
            Self::Added(o) | Self::Modified(o) | Self::Deleted(o) => {
                o["metadata"]["resourceVersion"].as_str()
            }
            Self::Bookmark(version) => Some(version),
            Self::Error(_) => None,
        }
    }
}

/// Decodes one line of a watch stream.
pub fn parse_event(line: &[u8]) -> Result<WatchEvent, KubeError> {
    let mut event: Value = serde_json::from_slice(line)
        .map_err(|e| KubeError::Decode(format!("watch event is not JSON: {e}")))?;
    let object = event["object"].take();
    match event["type"].as_str() {
        Some("ADDED") => Ok(WatchEvent::Added(object)),
        Some("MODIFIED") => Ok(WatchEvent::Modified(object)),
        Some("DELETED") => Ok(WatchEvent::Deleted(object)),
        Some("BOOKMARK") => object["metadata"]["resourceVersion"]
            .as_str()
            .map(|v| WatchEvent::Bookmark(v.to_owned()))
            .ok_or_else(|| KubeError::Decode("BOOKMARK without resourceVersion".to_owned())),
        Some("ERROR") => Ok(WatchEvent::Error(object)),
        other => Err(KubeError::Decode(format!(
            "unknown watch event type {other:?}"
        ))),
    }
}

/// The `Status` of an `ERROR` event as an error: 410 becomes [`KubeError::Gone`].
pub fn status_error(status: &Value) -> KubeError {
    let code = status["code"].as_u64().unwrap_or(500);
    let message = status["message"].as_str().unwrap_or_default().to_owned();
    if code == 410 {
        return KubeError::Gone(message);
    }
    KubeError::Status {
        status: u16::try_from(code).unwrap_or(500),
        reason: status["reason"].as_str().unwrap_or_default().to_owned(),
        message,
    }
}

/// An open watch: events as they arrive.
pub struct WatchStream {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream").finish_non_exhaustive()
    }
}

impl WatchStream {
    /// The next event; `None` when the server ended the stream (its timeout).
    pub async fn next(&mut self) -> Result<Option<WatchEvent>, KubeError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return parse_event(&line).map(Some);
            }
            match self.body.next().await {
                Some(chunk) => self.buffer.extend_from_slice(&chunk?),
                None if self.buffer.iter().all(u8::is_ascii_whitespace) => return Ok(None),
                // A last event without its newline.
                None => return parse_event(&std::mem::take(&mut self.buffer)).map(Some),
            }
        }
    }
}

impl KubeClient {
    /// A client for `base` (`https://host:port`) with a fixed bearer token and, optionally, a
    /// CA bundle (PEM) to trust besides the system's.
    pub fn new(base: &str, token: &str, ca_pem: Option<&[u8]>) -> Result<Self, KubeError> {
        Self::build(base, Credentials::Token(token.to_owned()), ca_pem)
    }

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account
    /// token and CA under `/var/run/secrets/kubernetes.io/serviceaccount`.
    pub fn in_cluster() -> Result<Self, KubeError> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
            KubeError::Config(
                "KUBERNETES_SERVICE_HOST is not set (not in a pod? use --kube-url)".to_owned(),
            )
        })?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".to_owned());
        // An IPv6 service address needs brackets in a URL.
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let dir = PathBuf::from(SERVICE_ACCOUNT_DIR);
        let ca = std::fs::read(dir.join("ca.crt"))
            .map_err(|e| KubeError::Config(format!("{SERVICE_ACCOUNT_DIR}/ca.crt: {e}")))?;
        Self::build(
            &format!("https://{host}:{port}"),
            Credentials::TokenFile(dir.join("token")),
            Some(&ca),
        )
    }

    fn build(
        base: &str,
        credentials: Credentials,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, KubeError> {
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(pem) = ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| KubeError::Config(format!("CA bundle: {e}")))?;
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            credentials,
            http: builder
                .build()
                .map_err(|e| KubeError::Config(format!("HTTP client: {e}")))?,
        })
    }

    fn bearer(&self) -> Result<String, KubeError> {
        match &self.credentials {
            Credentials::Token(token) => Ok(token.clone()),
            Credentials::TokenFile(path) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| KubeError::Config(format!("{}: {e}", path.display()))),
        }
    }

    /// Lists every object of the type in all namespaces.
    pub async fn list(&self, resource: &ResourceType) -> Result<ObjectList, KubeError> {
        let response = self
            .http
            .get(format!("{}{}", self.base, resource.collection_path()))
            .bearer_auth(self.bearer()?)
            .send()
            .await?;
        let mut list: Value = checked(response).await?.json().await?;
        let resource_version = list["metadata"]["resourceVersion"]
            .as_str()
            .ok_or_else(|| KubeError::Decode("list without metadata.resourceVersion".to_owned()))?
            .to_owned();
        let items = match list["items"].take() {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            _ => return Err(KubeError::Decode("list items is not an array".to_owned())),
        };
        Ok(ObjectList {
            items,
            resource_version,
        })
    }

    /// Watches the type from `resource_version`, with bookmarks; the server ends the stream
    /// after `timeout`.
    pub async fn watch(
        &self,
        resource: &ResourceType,
        resource_version: &str,
        timeout: Duration,
    ) -> Result<WatchStream, KubeError> {
        let seconds = timeout.as_secs().max(1).to_string();
        let response = self
            .http
            .get(format!("{}{}", self.base, resource.collection_path()))
            .query(&[
                ("watch", "1"),
                ("resourceVersion", resource_version),
                ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", &seconds),
            ])
            .bearer_auth(self.bearer()?)
            .timeout(timeout + WATCH_SLACK)
            .send()
            .await?;
        let response = checked(response).await?;
        Ok(WatchStream {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        })
    }

    /// Merge-patches the object's `status` subresource; `false` when the object is gone.
    pub async fn patch_status(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
        status: &Value,
    ) -> Result<bool, KubeError> {
        let body = serde_json::json!({ "status": status });
        let response = self
            .http
            .patch(format!(
                "{}{}",
                self.base,
                resource.status_path(namespace, name)
            ))
            .bearer_auth(self.bearer()?)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/merge-patch+json",
            )
            .body(body.to_string())
            .send()
            .await?;
        match checked(response).await {
            Ok(_) => Ok(true),
            Err(KubeError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The response if it is a success; its `Status` as an error otherwise.
async fn checked(response: reqwest::Response) -> Result<reqwest::Response, KubeError> {
    let code = response.status();
    if code.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let status: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
        serde_json::json!({"code": code.as_u16(), "message": text.trim(), "reason": code.canonical_reason()})
    });
    let mut error = status_error(&status);
    // The HTTP status is the truth even when the body's `code` is missing or different.
    if code.as_u16() == 410 {
        error = KubeError::Gone(status["message"].as_str().unwrap_or_default().to_owned());
    } else if let KubeError::Status { status, .. } = &mut error {
        *status = code.as_u16();
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_event_type() {
        let added =
            parse_event(br#"{"type":"ADDED","object":{"metadata":{"resourceVersion":"7"}}}"#);
        assert_eq!(
            added
                .ok()
                .and_then(|e| e.resource_version().map(str::to_owned)),
            Some("7".to_owned())
        );
        let bookmark = parse_event(
            br#"{"type":"BOOKMARK","object":{"kind":"X","metadata":{"resourceVersion":"42"}}}"#,
        );
        assert!(matches!(bookmark, Ok(WatchEvent::Bookmark(v)) if v == "42"));
        let gone = parse_event(br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#);
        match gone {
            Ok(WatchEvent::Error(status)) => {
                assert!(matches!(status_error(&status), KubeError::Gone(m) if m == "too old"))
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_event(br#"{"type":"SURPRISE","object":{}}"#).is_err());
        assert!(parse_event(b"not json").is_err());
    }

    #[test]
    fn owner_tags_fit_in_a_pharos_tag() {
        let types = crate::default_types();
        for resource in &types {
            assert!(
                resource.owner_tag().chars().count() <= 50,
                "{}",
                resource.owner_tag()
            );
        }
    }
}
