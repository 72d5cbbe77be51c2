//! One client connection: what it is doing (a request in progress, a request head arriving,
//! or nothing), the timers that follow from that, and the request-body deadline.
//!
//! hyper's own `header_read_timeout` also starts when a keep-alive connection goes idle, so it
//! would close idle connections after the (short) header timeout. We turn it off and keep the
//! state here instead: bytes read with no request in progress start the header clock; a
//! finished response starts the idle clock.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::config::HttpSettings;

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A request head did not arrive within `http.header_read_timeout`.
    HeaderReadTimeout,
    /// No request for `http.idle_timeout`.
    IdleTimeout,
}

/// Shared between the connection's task, its I/O, its requests and the accept loop.
#[derive(Debug)]
pub struct Connection {
    activity: Mutex<Activity>,
    /// Wakes the connection's task to recompute its deadline.
    changed: Notify,
    /// Asks the connection's task to close at once (the accept loop needs room).
    evict: Notify,
    evicting: AtomicBool,
    /// Signalled once the socket is closed (the accept loop waits for room).
    closed: Notify,
}

#[derive(Debug)]
struct Activity {
    requests_in_progress: usize,
    /// When the last response finished (or the connection was accepted).
    idle_since: Instant,
    /// When the first byte of the next request head arrived, while no request was in progress.
    head_started: Option<Instant>,
}

impl Connection {
    /// A connection accepted now.
    pub fn new() -> Self {
        Self {
            activity: Mutex::new(Activity {
                requests_in_progress: 0,
                idle_since: Instant::now(),
                head_started: None,
            }),
            changed: Notify::new(),
            evict: Notify::new(),
            evicting: AtomicBool::new(false),
            closed: Notify::new(),
        }
    }

    fn activity(&self) -> MutexGuard<'_, Activity> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.activity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived from the client.
    fn bytes_read(&self) {
        let mut activity = self.activity();
        if activity.requests_in_progress == 0 && activity.head_started.is_none() {
            activity.head_started = Some(Instant::now());
            drop(activity);
            // The deadline moves from the idle timeout to the (shorter) header timeout.
            self.changed.notify_one();
        }
    }

    /// A request head was parsed and handed to the router; the guard marks its end.
    pub fn request_started(self: &std::sync::Arc<Self>) -> RequestGuard {
        let mut activity = self.activity();
        activity.requests_in_progress += 1;
        activity.head_started = None;
        RequestGuard(std::sync::Arc::clone(self))
    }

    /// When this connection must close (and why) if nothing changes; `None` while a request
    /// is in progress (a request's own limits bound it).
    pub fn deadline(&self, settings: &HttpSettings) -> Option<(Instant, CloseReason)> {
        let activity = self.activity();
        if activity.requests_in_progress > 0 {
            return None;
        }
        Some(match activity.head_started {
            Some(started) => (
                started + settings.header_read_timeout,
                CloseReason::HeaderReadTimeout,
            ),
            None => (
                activity.idle_since + settings.idle_timeout,
                CloseReason::IdleTimeout,
            ),
        })
    }

    /// Since when the connection has had no request in progress; `None` while it has one.
    pub fn idle_since(&self) -> Option<Instant> {
        let activity = self.activity();
        (activity.requests_in_progress == 0)
            .then(|| activity.head_started.unwrap_or(activity.idle_since))
    }

    /// Resolves when the deadline may have changed.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Resolves when the accept loop asked this connection to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Asks the connection to close unless that was asked already; true if this call did.
    pub fn evict(&self) -> bool {
        let first = !self.evicting.swap(true, Ordering::AcqRel);
        if first {
            self.evict.notify_one();
        }
        first
    }

    /// The socket has been closed.
    pub fn mark_closed(&self) {
        self.closed.notify_one();
    }

    /// Resolves once [`mark_closed`](Self::mark_closed) was called (by one waiter).
    pub async fn closed(&self) {
        self.closed.notified().await;
    }

    /// Whether the connection is being closed to make room.
    pub fn is_evicting(&self) -> bool {
        self.evicting.load(Ordering::Acquire)
    }
}

/// Marks one request in progress; dropped when its response has been sent (or abandoned).
#[derive(Debug)]
pub struct RequestGuard(std::sync::Arc<Connection>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut activity = self.0.activity();
        activity.requests_in_progress = activity.requests_in_progress.saturating_sub(1);
        if activity.requests_in_progress == 0 {
            activity.idle_since = Instant::now();
            activity.head_started = None;
            drop(activity);
            self.0.changed.notify_one();
        }
    }
}

/// The client socket, reporting reads to its [`Connection`].
#[derive(Debug)]
pub struct TrackedIo<S> {
    inner: S,
    connection: std::sync::Arc<Connection>,
}

impl<S> TrackedIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, connection: std::sync::Arc<Connection>) -> Self {
        Self { inner, connection }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.connection.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A request body did not arrive within `http.body_read_timeout`. Handlers that read bodies
/// find it in the error's source chain and answer 408.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body did not arrive within {} (http.body_read_timeout); send it faster or \
     raise the limit",
    pharos_model::format_duration(*timeout)
)]
pub struct BodyReadTimeout {
    /// The configured limit.
    pub timeout: Duration,
}

/// The reason label of `pharos_refusals_total` for a body that did not arrive in time.
pub const BODY_READ_TIMEOUT_REASON: &str = "body_read_timeout";

/// A request body that fails with [`BodyReadTimeout`] once its deadline has passed.
pub struct TimedBody<B> {
    inner: B,
    deadline: Instant,
    timeout: Duration,
    /// Armed on the first wait, so bodies read at once (and GETs) never touch the timer.
    sleep: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl<B> TimedBody<B> {
    /// `inner` must be complete `timeout` from now.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            sleep: None,
            expired: false,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.expired = true;
            metrics::counter!("pharos_refusals_total", "reason" => BODY_READ_TIMEOUT_REASON)
                .increment(1);
            return Poll::Ready(Some(Err(Box::new(BodyReadTimeout {
                timeout: this.timeout,
            }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as in progress until it has been sent.
pub struct GuardedBody<B> {
    inner: B,
    _request: RequestGuard,
}

impl<B> GuardedBody<B> {
    /// `inner`, ending `request` when dropped.
    pub fn new(inner: B, request: RequestGuard) -> Self {
        Self {
            inner,
            _request: request,
        }
    }
}

impl<B: Body + Unpin> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use futures::StreamExt as _;
    use http_body_util::BodyExt as _;

    use super::*;

    fn settings() -> HttpSettings {
        HttpSettings {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(60),
            ..HttpSettings::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_follows_what_the_connection_is_doing() {
        let connection = Arc::new(Connection::new());
        let accepted = Instant::now();
        assert_eq!(
            connection.deadline(&settings()),
            Some((accepted + Duration::from_secs(60), CloseReason::IdleTimeout))
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        connection.bytes_read();
        assert_eq!(
            connection.deadline(&settings()),
            Some((
                accepted + Duration::from_secs(7),
                CloseReason::HeaderReadTimeout
            ))
        );
        let request = connection.request_started();
        assert_eq!(connection.deadline(&settings()), None);
        assert_eq!(connection.idle_since(), None);
        // Body bytes of a request in progress start no header clock.
        connection.bytes_read();
        tokio::time::advance(Duration::from_secs(30)).await;
        drop(request);
        assert_eq!(
            connection.deadline(&settings()),
            Some((accepted + Duration::from_secs(95), CloseReason::IdleTimeout))
        );
    }

    #[test]
    fn a_connection_is_evicted_once() {
        let connection = Connection::new();
        assert!(!connection.is_evicting());
        assert!(connection.evict());
        assert!(!connection.evict());
        assert!(connection.is_evicting());
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_fails_with_the_limit_after_the_timeout() {
        // Half a body, then nothing: the client stopped sending.
        let frames = futures::stream::iter([Ok::<_, std::io::Error>(Frame::data(
            Bytes::from_static(b"half"),
        ))])
        .chain(futures::stream::pending());
        let timed = TimedBody::new(
            http_body_util::StreamBody::new(frames),
            Duration::from_secs(3),
        );
        let started = Instant::now();
        let error = timed.collect().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let timeout = error.downcast_ref::<BodyReadTimeout>().unwrap();
        assert_eq!(timeout.timeout, Duration::from_secs(3));
        assert!(error.to_string().contains("3s (http.body_read_timeout)"));
    }
}
