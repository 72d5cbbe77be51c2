//! Draining long-lived responses at shutdown. Event streams (`/api/v1/live/...`,
//! `/api/v1/events`) and the fleet WebSocket (`/ws`) never end by themselves, so a graceful
//! shutdown that waits for requests in progress would wait for them until the pod is killed,
//! and their clients would only learn of it from a reset connection. Once [`Drain::start`] is
//! called, every stream sends a last message saying "reconnect" and ends: an event stream an
//! `event: reconnect` with an SSE `retry:` (the browser's `EventSource` waits that long, then
//! reconnects, through the Service, to a replica that is still up), the WebSocket a close frame
//! with code 1012 "service restart". The reconnect delay is spread over
//! [`RECONNECT_MIN`]..[`RECONNECT_MAX`] so the clients of a stopping replica do not all land on
//! the others in the same instant.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use futures::{Stream, StreamExt as _};
use serde_json::json;
use tokio::sync::watch;

/// Shortest reconnect delay suggested to a drained client.
pub const RECONNECT_MIN: Duration = Duration::from_millis(500);
/// Longest reconnect delay suggested to a drained client.
pub const RECONNECT_MAX: Duration = Duration::from_millis(3_000);
/// The WebSocket close code for "the server is restarting, reconnect" (RFC 6455 registry:
/// 1012 Service Restart).
pub const WS_SERVICE_RESTART: u16 = 1012;

/// The shutdown notice shared by every long-lived response. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Drain {
    started: Arc<watch::Sender<bool>>,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            started: Arc::new(watch::channel(false).0),
        }
    }
}

impl Drain {
    /// Tells every stream to send its reconnect hint and end. Idempotent.
    pub fn start(&self) {
        self.started.send_replace(true);
    }

    /// Whether [`start`](Self::start) was called.
    pub fn is_started(&self) -> bool {
        *self.started.borrow()
    }

    /// Resolves once [`start`](Self::start) is called (at once if it was).
    pub fn started(&self) -> impl Future<Output = ()> + Send + use<> {
        let mut receiver = self.started.subscribe();
        async move {
            // The sender lives as long as any `Drain` clone; an error means it is gone, which
            // only happens when nothing can start the drain any more.
            let _ = receiver.wait_for(|started| *started).await;
        }
    }

    /// `events` until the drain starts, then one `reconnect` event (with its SSE `retry:`) and
    /// the end of the stream.
    pub fn event_stream<S>(
        &self,
        events: S,
    ) -> impl Stream<Item = Result<Event, Infallible>> + Send + use<S>
    where
        S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
    {
        let drain = self.clone();
        // Evaluated once `events` has ended: only a drained stream says goodbye; one that ended
        // by itself (its source closed) just ends.
        let farewell = futures::stream::once(async move {
            drain.is_started().then(|| {
                let delay = reconnect_delay();
                Ok(Event::default()
                    .event("reconnect")
                    .retry(delay)
                    .data(reconnect_notice(delay).to_string()))
            })
        })
        .filter_map(futures::future::ready);
        // `take_until` polls the notice first, so a drained stream sends no further event.
        events.take_until(self.started()).chain(farewell)
    }
}

/// The body of the reconnect notice (SSE data, WebSocket close reason).
pub fn reconnect_notice(delay: Duration) -> serde_json::Value {
    json!({
        "reason": "server shutting down",
        "reconnect_after_ms": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
    })
}

/// A delay in [`RECONNECT_MIN`]..=[`RECONNECT_MAX`], different per client.
pub fn reconnect_delay() -> Duration {
    let spread = RECONNECT_MAX.saturating_sub(RECONNECT_MIN);
    let millis = u64::try_from(spread.as_millis()).unwrap_or(0);
    RECONNECT_MIN + Duration::from_millis(rand::random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(event: &Event) -> String {
        // `Event` has no getters; its Debug output holds the serialised fields.
        format!("{event:?}")
    }

    #[tokio::test]
    async fn a_drained_stream_ends_with_one_reconnect_event() {
        let drain = Drain::default();
        let endless = futures::stream::repeat_with(|| Ok(Event::default().data("tick"))).then(
            |event| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                event
            },
        );
        let mut stream = Box::pin(drain.event_stream(endless));
        let first = stream.next().await.and_then(Result::ok);
        assert!(first.is_some_and(|e| text(&e).contains("tick")));
        drain.start();
        let mut rest = Vec::new();
        let collected = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(event)) = stream.next().await {
                rest.push(text(&event));
            }
        })
        .await;
        assert!(
            collected.is_ok(),
            "the stream did not end after the drain started"
        );
        let reconnects: Vec<_> = rest.iter().filter(|e| e.contains("reconnect")).collect();
        assert_eq!(reconnects.len(), 1, "{rest:?}");
        assert!(
            rest.last().is_some_and(|e| e.contains("retry:")),
            "{rest:?}"
        );
        assert!(
            rest.last()
                .is_some_and(|e| e.contains("reconnect_after_ms"))
        );
    }

    #[tokio::test]
    async fn a_stream_that_ends_by_itself_sends_no_reconnect_event() {
        let drain = Drain::default();
        let two = futures::stream::iter([
            Ok(Event::default().data("a")),
            Ok(Event::default().data("b")),
        ]);
        let all: Vec<_> = drain.event_stream(two).collect().await;
        assert_eq!(all.len(), 2);
        assert!(all.iter().flatten().all(|e| !text(e).contains("reconnect")));
    }

    #[test]
    fn reconnect_delays_stay_in_their_range() {
        for _ in 0..200 {
            let delay = reconnect_delay();
            assert!(
                (RECONNECT_MIN..=RECONNECT_MAX).contains(&delay),
                "{delay:?}"
            );
        }
    }

    #[tokio::test]
    async fn started_resolves_for_late_and_early_waiters() {
        let drain = Drain::default();
        let early = tokio::spawn(drain.started());
        assert!(!drain.is_started());
        drain.start();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), early)
                .await
                .is_ok()
        );
        assert!(
            tokio::time::timeout(Duration::from_secs(1), drain.started())
                .await
                .is_ok()
        );
    }
}
