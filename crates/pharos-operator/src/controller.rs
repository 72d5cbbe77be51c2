//! The list-then-watch loop of one resource type: list (apply every CR, sweep what was
//! deleted meanwhile), then watch from the list's resourceVersion; bookmarks move the
//! version on, `410 Gone` (as an `ERROR` event or an HTTP status) and the periodic resync
//! relist, a stream the server ends is reopened at once, failures back off.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::KubeError;
use crate::kube::{KubeClient, ResourceType, WatchEvent, status_error};
use crate::reconcile::{Reconciler, identity};

/// Timing of the loop.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// `timeoutSeconds` of each watch.
    pub watch_timeout: Duration,
    /// A full relist (and sweep) at least this often.
    pub resync: Duration,
    /// First wait after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait after failures.
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            watch_timeout: Duration::from_secs(300),
            resync: Duration::from_secs(600),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Exponential backoff.
struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    fn new(timing: &Timing) -> Self {
        Self {
            next: timing.min_backoff,
            min: timing.min_backoff,
            max: timing.max_backoff,
        }
    }

    fn step(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Why a watch ended.
enum WatchEnd {
    /// Relist: 410 Gone, a retry is due or the resync interval passed.
    Relist,
    /// Shut down.
    Stop,
}

/// Waits `wait` unless the stop signal comes first; `true` when stopping.
async fn pause(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        () = tokio::time::sleep(wait) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}

/// Runs the loop for `resource` until `stop` turns true.
pub async fn run(
    kube: KubeClient,
    reconciler: Reconciler,
    resource: ResourceType,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(&timing);
    loop {
        if *stop.borrow() {
            return;
        }
        let (version, settled) = match relist(&kube, &reconciler, &resource).await {
            Ok(listed) => listed,
            Err(error) => {
                let wait = backoff.step();
                tracing::warn!(resource = %resource.name(), %error, ?wait, "list failed");
                if pause(wait, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        // Something transient failed: try the whole list again after a backoff, watching
        // meanwhile.
        let retry_at = (!settled).then(|| Instant::now() + backoff.step());
        if settled {
            backoff.reset();
        }
        let resync_at = Instant::now() + timing.resync;
        match watch_from(
            &kube,
            &reconciler,
            &resource,
            &timing,
            version,
            retry_at,
            resync_at,
            &mut stop,
        )
        .await
        {
            WatchEnd::Relist => {}
            WatchEnd::Stop => return,
        }
    }
}

/// Lists, applies every CR and sweeps; the list's resourceVersion and whether everything
/// settled.
async fn relist(
    kube: &KubeClient,
    reconciler: &Reconciler,
    resource: &ResourceType,
) -> Result<(String, bool), KubeError> {
    let list = kube.list(resource).await?;
    tracing::info!(resource = %resource.name(), objects = list.items.len(), resource_version = %list.resource_version, "listed");
    let mut settled = true;
    let mut present = HashSet::new();
    for cr in &list.items {
        present.insert(identity(cr));
        settled &= reconciler.reconcile(resource, cr).await;
    }
    match reconciler.sweep(resource, &present).await {
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(resource = %resource.name(), %error, "sweep of deleted CRs failed");
            settled = false;
        }
    }
    Ok((list.resource_version, settled))
}

/// Watches from `version` until a relist is due or the stop signal.
#[allow(clippy::too_many_arguments)] // the loop's state, passed once
async fn watch_from(
    kube: &KubeClient,
    reconciler: &Reconciler,
    resource: &ResourceType,
    timing: &Timing,
    mut version: String,
    mut retry_at: Option<Instant>,
    resync_at: Instant,
    stop: &mut watch::Receiver<bool>,
) -> WatchEnd {
    let mut backoff = Backoff::new(timing);
    loop {
        if Instant::now() >= retry_at.map_or(resync_at, |r| r.min(resync_at)) {
            return WatchEnd::Relist;
        }
        let mut stream = match kube.watch(resource, &version, timing.watch_timeout).await {
            Ok(stream) => stream,
            Err(KubeError::Gone(message)) => {
                tracing::info!(resource = %resource.name(), %version, %message, "watch expired (410): relisting");
                return WatchEnd::Relist;
            }
            Err(error) => {
                let wait = backoff.step();
                tracing::warn!(resource = %resource.name(), %error, ?wait, "watch failed");
                if pause(wait, stop).await {
                    return WatchEnd::Stop;
                }
                continue;
            }
        };
        backoff.reset();
        loop {
            let relist_at = retry_at.map_or(resync_at, |r| r.min(resync_at));
            let event = tokio::select! {
                event = stream.next() => event,
                () = tokio::time::sleep_until(relist_at) => return WatchEnd::Relist,
                _ = stop.wait_for(|s| *s) => return WatchEnd::Stop,
            };
            let event = match event {
                // The server's timeout: reopen from where we are.
                Ok(None) => break,
                Ok(Some(event)) => event,
                Err(error) => {
                    let wait = backoff.step();
                    tracing::warn!(resource = %resource.name(), %error, ?wait, "watch stream broke");
                    if pause(wait, stop).await {
                        return WatchEnd::Stop;
                    }
                    break;
                }
            };
            if let Some(next) = event.resource_version() {
                version = next.to_owned();
            }
            match event {
                WatchEvent::Added(cr) | WatchEvent::Modified(cr) => {
                    // A transient failure: keep watching, relist (which retries) later.
                    if !reconciler.reconcile(resource, &cr).await && retry_at.is_none() {
                        retry_at = Some(Instant::now() + backoff.step());
                    }
                }
                WatchEvent::Deleted(cr) => {
                    if let Err(error) = reconciler.remove(resource, &cr).await {
                        tracing::warn!(resource = %resource.name(), %error, "delete failed; the next relist sweeps it");
                        if retry_at.is_none() {
                            retry_at = Some(Instant::now() + backoff.step());
                        }
                    }
                }
                WatchEvent::Bookmark(_) => {
                    tracing::debug!(resource = %resource.name(), %version, "bookmark");
                }
                WatchEvent::Error(status) => match status_error(&status) {
                    KubeError::Gone(message) => {
                        tracing::info!(resource = %resource.name(), %message, "watch expired (410): relisting");
                        return WatchEnd::Relist;
                    }
                    error => {
                        let wait = backoff.step();
                        tracing::warn!(resource = %resource.name(), %error, ?wait, "watch error event");
                        if pause(wait, stop).await {
                            return WatchEnd::Stop;
                        }
                        break;
                    }
                },
            }
        }
    }
}
