//! Admission control: at most `query.max_concurrent` queries and listings evaluate at once;
//! the others wait in line for at most `query.queue_timeout` and are then refused, so a storm
//! of queries degrades into quick "retry later" answers instead of every query (and every other
//! request sharing the machine) slowing down together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::QueryError;

/// The `reason` label of `pharos_refusals_total` for a query refused after waiting in line.
pub const QUEUE_TIMEOUT_REASON: &str = "query_queue_timeout";

/// Hands out evaluation slots. Cheap to share: clone the `Arc` it lives in.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    queue_timeout: Duration,
}

/// One evaluation slot; the slot is free again when this is dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    _running: GaugeGuard,
}

impl Admission {
    /// `max_concurrent` slots (at least one); a caller waits at most `queue_timeout` for one.
    pub fn new(max_concurrent: usize, queue_timeout: Duration) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            queue_timeout,
        }
    }

    /// Waits for a free slot, at most `queue_timeout`; then [`QueryError::Overloaded`].
    /// Dropping the returned future (the client went away) leaves the line at once.
    pub async fn admit(&self) -> Result<Slot, QueryError> {
        let permit = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let _queued = GaugeGuard::new("pharos_query_queued");
                let waited = tokio::time::timeout(
                    self.queue_timeout,
                    Arc::clone(&self.slots).acquire_owned(),
                )
                .await;
                match waited {
                    Ok(Ok(permit)) => permit,
                    // Elapsed, or the semaphore was closed (never done; treated alike).
                    Ok(Err(_)) | Err(_) => {
                        metrics::counter!("pharos_refusals_total", "reason" => QUEUE_TIMEOUT_REASON)
                            .increment(1);
                        return Err(QueryError::Overloaded {
                            max_concurrent: self.max_concurrent,
                            queue_timeout: self.queue_timeout,
                        });
                    }
                }
            }
        };
        Ok(Slot {
            _permit: permit,
            _running: GaugeGuard::new("pharos_query_running"),
        })
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

/// Adds one to a gauge for as long as it lives.
#[derive(Debug)]
struct GaugeGuard(&'static str);

impl GaugeGuard {
    fn new(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        Self(name)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_most_max_concurrent_slots_are_handed_out() {
        let admission = Admission::new(2, Duration::from_secs(5));
        let first = admission.admit().await.unwrap();
        let _second = admission.admit().await.unwrap();
        assert_eq!(admission.available(), 0);
        // The third waits; once a slot is freed it gets in.
        let third = tokio::spawn({
            let admission = Arc::new(admission);
            let waiting = Arc::clone(&admission);
            async move { waiting.admit().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(first);
        third.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_waits_past_the_queue_timeout_is_refused_naming_the_limits() {
        let admission = Admission::new(1, Duration::from_secs(3));
        let _busy = admission.admit().await.unwrap();
        let started = tokio::time::Instant::now();
        let error = admission.admit().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let text = error.to_string();
        assert!(
            text.contains("query.max_concurrent") && text.contains("query.queue_timeout 3s"),
            "{text}"
        );
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_leaves_the_line_and_a_dropped_slot_frees_its_place() {
        let admission = Arc::new(Admission::new(1, Duration::from_secs(60)));
        let held = admission.admit().await.unwrap();
        // A waiter whose client went away (its future is dropped) takes no slot later.
        let waiter = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        drop(held);
        assert_eq!(admission.available(), 1);
        let again = admission.admit().await.unwrap();
        assert_eq!(admission.available(), 0);
        drop(again);
        assert_eq!(admission.available(), 1);
    }

    #[test]
    fn zero_slots_are_raised_to_one() {
        assert_eq!(Admission::new(0, Duration::from_secs(1)).available(), 1);
    }
}
