//! Faithful stand-ins, for tests, of the services Pharos talks to that cannot run on a test
//! machine: an OpenID Connect provider ([`idp`]: discovery document, JWKS with rotating RS256 keys,
//! authorization-code flow with PKCE, user info), a Kubernetes API server ([`kube`]: `TokenReview`
//! and `SubjectAccessReview` with RBAC-style rules, and namespaced lists of the resource types a
//! test installs; [`kube_watch`]: custom resources with the real list and watch protocol,
//! bookmarks, 410 Gone and the status subresource, for controllers), Loki ([`loki`]: `query_range`
//! over in-memory streams, answered in Loki's streams JSON, with its limit, direction and 400
//! answers) and an OpenAI-compatible chat-completions server ([`openai`]: scripted turns streamed
//! as OpenAI and vLLM stream text and tool calls, or failing as they fail), and an OpenTelemetry
//! trace receiver ([`otlp`]: OTLP/HTTP `POST /v1/traces` in protobuf and JSON, spans kept for
//! assertions). All speak the real protocols on a real socket, so the code under test cannot tell
//! them from the real thing for the parts it uses; all count or record the requests they serve, so
//! tests can assert on caching and paging.

pub mod idp;
pub mod kube;
pub mod kube_watch;
pub mod loki;
pub mod openai;
pub mod otlp;

/// Locks `mutex`, also after a panic elsewhere poisoned it (a fake keeps serving).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A listener on an ephemeral port of 127.0.0.1 and its base URL.
async fn listen() -> std::io::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

/// Serves `router` on `listener` for the rest of the process.
fn spawn(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
}
