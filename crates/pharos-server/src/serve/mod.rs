//! The HTTP listener. It accepts connections up to a cap kept below the open-files limit,
//! serves each with hyper's HTTP/1.1 driver over the router, and closes connections that idle,
//! dribble a request head, or stall a request body (limits in [`HttpSettings`]). On shutdown
//! it stops accepting, lets requests in progress finish and closes idle connections.
//!
//! At the cap, the longest-idle connection is closed to make room, so a crowd of idle clients
//! cannot lock everybody else out; only when every connection has a request in progress does a
//! newcomer get 503. Accept errors (out of descriptors) close an idle connection and back off
//! briefly instead of spinning.

mod connection;
mod open_files;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::config::HttpSettings;
pub use connection::{BODY_READ_TIMEOUT_REASON, BodyReadTimeout};
use connection::{CloseReason, Connection, GuardedBody, TimedBody, TrackedIo};
pub use open_files::{OpenFilesLimit, connection_cap, current_soft_limit, raise_open_files_limit};

/// The `reason` of `pharos_refusals_total` for a connection refused at the cap.
pub const CONNECTION_LIMIT_REASON: &str = "connection_limit";
/// The `reason` of `pharos_refusals_total` for a request head that did not arrive in time.
pub const HEADER_READ_TIMEOUT_REASON: &str = "header_read_timeout";

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the requests in
/// progress. The connection cap is `settings.max_connections` lowered to fit the current
/// open-files limit (raise it first with [`raise_open_files_limit`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let cap = connection_cap(settings.max_connections, current_soft_limit());
    tracing::info!(
        max_connections = cap,
        configured = settings.max_connections,
        open_files = current_soft_limit(),
        header_read_timeout = ?settings.header_read_timeout,
        body_read_timeout = ?settings.body_read_timeout,
        idle_timeout = ?settings.idle_timeout,
        "HTTP connection limits"
    );
    let settings = Arc::new(settings.clone());
    let registry = Arc::new(Registry::default());
    let refusal = over_cap_response(cap);
    let (stop, stopped) = watch::channel(false);
    // Every connection task holds a sender; `recv` returns `None` once all have ended.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff.reset();
                if registry.len() >= cap {
                    let victims = registry.make_room(1);
                    if victims.is_empty() {
                        refuse(&stream, &refusal);
                        continue;
                    }
                    // Accept no faster than connections close, or a crowd would run the
                    // process out of descriptors before the evicted ones are gone.
                    wait_closed(&victims).await;
                }
                // Without TCP_NODELAY the last chunk of a streamed (proxied) answer waits for
                // the client's delayed ACK: ~40 ms on every proxied request (measured in bench/).
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
                let (id, connection) = registry.register();
                let task = ConnectionTask {
                    connection,
                    peer,
                    router: router.clone(),
                    settings: Arc::clone(&settings),
                    stopped: stopped.clone(),
                };
                let (registry, alive) = (Arc::clone(&registry), alive.clone());
                tokio::spawn(async move {
                    let connection = Arc::clone(&task.connection);
                    task.run(stream).await;
                    connection.mark_closed();
                    registry.unregister(id);
                    drop(alive);
                });
            }
            // The client gave up before we got to it; nothing to wait for.
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                metrics::counter!("pharos_http_accept_errors_total").increment(1);
                // Usually out of descriptors: closing idle connections gives some back.
                wait_closed(&registry.make_room(EVICTED_WHEN_OUT_OF_DESCRIPTORS)).await;
                let pause = backoff.next_pause();
                if pause == AcceptBackoff::FIRST {
                    tracing::warn!(%error, connections = registry.len(), "cannot accept connections; backing off");
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    drop(listener);
    tracing::info!(
        connections = registry.len(),
        "stopped accepting; finishing requests in progress"
    );
    let _ = stop.send(true);
    drop(alive);
    let _ = all_ended.recv().await;
    Ok(())
}

/// What one connection's task needs.
struct ConnectionTask {
    connection: Arc<Connection>,
    /// The client's address, handed to handlers as `ConnectInfo` (audit, login throttling).
    peer: std::net::SocketAddr,
    router: Router,
    settings: Arc<HttpSettings>,
    stopped: watch::Receiver<bool>,
}

impl ConnectionTask {
    /// Drives the connection until the client leaves, a timer closes it, it is evicted, or
    /// shutdown has let its last request finish.
    async fn run(mut self, stream: TcpStream) {
        let io = TokioIo::new(TrackedIo::new(stream, Arc::clone(&self.connection)));
        let service = {
            let (connection, router) = (Arc::clone(&self.connection), self.router.clone());
            let body_timeout = self.settings.body_read_timeout;
            let peer = self.peer;
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let request_guard = connection.request_started();
                let mut request =
                    request.map(|body| axum::body::Body::new(TimedBody::new(body, body_timeout)));
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let router = router.clone();
                async move {
                    let response = match router.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(response.map(|body| GuardedBody::new(body, request_guard)))
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        // hyper's header timer would also run while a keep-alive connection idles; ours
        // (see `connection`) tells the two apart.
        builder.timer(TokioTimer::new()).header_read_timeout(None);
        // Upgrades on (the WebSocket at /ws): the connection future then ends once the 101 is
        // sent and hands the socket to the upgraded side, which owns it from there.
        let driver = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(driver);
        let mut draining = false;
        loop {
            let wake_at = self.connection.deadline(&self.settings).map(|(at, _)| at);
            tokio::select! {
                result = driver.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now)), if wake_at.is_some() => {
                    if let Some((at, reason)) = self.connection.deadline(&self.settings)
                        && at <= Instant::now()
                    {
                        record_close(reason);
                        return;
                    }
                }
                () = self.connection.changed() => {}
                () = self.connection.evicted() => {
                    metrics::counter!("pharos_http_connections_closed_total", "reason" => "evicted_for_room").increment(1);
                    return;
                }
                changed = self.stopped.changed(), if !draining => {
                    // A dropped sender means the server is gone: stop as well.
                    let _ = changed;
                    draining = true;
                    driver.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

fn record_close(reason: CloseReason) {
    match reason {
        CloseReason::HeaderReadTimeout => {
            metrics::counter!("pharos_refusals_total", "reason" => HEADER_READ_TIMEOUT_REASON)
                .increment(1);
        }
        CloseReason::IdleTimeout => {
            metrics::counter!("pharos_http_connections_closed_total", "reason" => "idle_timeout")
                .increment(1);
        }
    }
}

/// The open connections, by id.
#[derive(Default)]
struct Registry {
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self) -> (u64, Arc<Connection>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new());
        let mut connections = self.lock();
        connections.insert(id, Arc::clone(&connection));
        metrics::gauge!("pharos_http_connections_open").set(connections.len() as f64);
        (id, connection)
    }

    fn unregister(&self, id: u64) {
        let mut connections = self.lock();
        connections.remove(&id);
        metrics::gauge!("pharos_http_connections_open").set(connections.len() as f64);
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Asks the `count` longest-idle connections (no request in progress) to close and
    /// returns them; empty when every connection is busy or already closing.
    fn make_room(&self, count: usize) -> Vec<Arc<Connection>> {
        let connections = self.lock();
        let mut idle: Vec<_> = connections
            .values()
            .filter(|connection| !connection.is_evicting())
            .filter_map(|connection| connection.idle_since().map(|since| (since, connection)))
            .collect();
        idle.sort_unstable_by_key(|(since, _)| *since);
        idle.into_iter()
            .take(count)
            .filter(|(_, connection)| connection.evict())
            .map(|(_, connection)| Arc::clone(connection))
            .collect()
    }
}

/// Idle connections closed at once when accepting fails (typically for lack of descriptors).
const EVICTED_WHEN_OUT_OF_DESCRIPTORS: usize = 16;

/// Waits (briefly) until `victims` have closed their sockets.
async fn wait_closed(victims: &[Arc<Connection>]) {
    let all = futures::future::join_all(victims.iter().map(|victim| victim.closed()));
    let _ = tokio::time::timeout(Duration::from_millis(100), all).await;
}

/// Errors that concern one incoming connection only; the listener itself is fine.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Pauses after accept errors: 10 ms, doubling up to 1 s, back to 10 ms after a success.
#[derive(Debug, Default)]
struct AcceptBackoff {
    next: Option<Duration>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn next_pause(&mut self) -> Duration {
        let pause = self.next.unwrap_or(Self::FIRST);
        self.next = Some((pause * 2).min(Self::MAX));
        pause
    }

    fn reset(&mut self) {
        self.next = None;
    }
}

/// The complete answer to a connection refused at the cap.
fn over_cap_response(cap: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "message": format!(
            "too many connections: all {cap} connections allowed (http.max_connections, lowered \
             to fit the open-files limit) have a request in progress; retry later"
        )
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers 503 without reading the request, as far as the socket buffer takes it at once,
/// and closes: a refused client must not hold a descriptor.
fn refuse(stream: &TcpStream, response: &[u8]) {
    metrics::counter!("pharos_refusals_total", "reason" => CONNECTION_LIMIT_REASON).increment(1);
    let _ = stream.try_write(response);
}

#[cfg(test)]
mod tests;
