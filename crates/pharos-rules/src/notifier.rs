//! Sending alerts to Alertmanagers (API v2, `POST /api/v2/alerts` with a JSON array of
//! postable alerts). One bounded queue feeds every configured Alertmanager; when they are
//! slow or down the queue fills and the oldest alerts are dropped (and counted), so rule
//! evaluation never waits for a notification.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::alert::LabelMap;

/// Alerts per request.
const BATCH: usize = 256;

/// One alert as Alertmanager's API v2 takes it (`postableAlert`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostableAlert {
    /// Identity of the alert (external labels added).
    pub labels: LabelMap,
    /// Rendered annotations.
    pub annotations: LabelMap,
    /// RFC 3339.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// RFC 3339: the resolution time, or how long a firing alert is valid without news.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

/// The queue and the Alertmanagers it drains to.
#[derive(Debug)]
pub struct Notifier {
    queue: Mutex<VecDeque<PostableAlert>>,
    capacity: usize,
    wake: tokio::sync::Notify,
    client: reqwest::Client,
    targets: Vec<url::Url>,
    timeout: Duration,
}

impl Notifier {
    /// A notifier for the Alertmanagers at `targets` (their base URLs).
    pub fn new(targets: Vec<url::Url>, capacity: usize, timeout: Duration) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            wake: tokio::sync::Notify::new(),
            client: reqwest::Client::builder()
                .connect_timeout(timeout)
                .build()
                .unwrap_or_default(),
            targets,
            timeout,
        }
    }

    /// Queues `alerts`, dropping the oldest queued ones past the capacity.
    pub fn enqueue(&self, alerts: Vec<PostableAlert>) {
        if alerts.is_empty() || self.targets.is_empty() {
            return;
        }
        let mut dropped = 0u64;
        {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.extend(alerts);
            while queue.len() > self.capacity {
                queue.pop_front();
                dropped += 1;
            }
            metrics::gauge!("pharos_rules_notifications_queue_length").set(queue.len() as f64);
        }
        if dropped > 0 {
            metrics::counter!("pharos_rules_notifications_dropped_total").increment(dropped);
            tracing::warn!(dropped, "alert queue full: dropped the oldest alerts");
        }
        self.wake.notify_one();
    }

    /// Alerts waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// Sends until `stop` turns true.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            self.drain().await;
            tokio::select! {
                () = self.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Sends everything queued now, in batches.
    pub async fn drain(&self) {
        loop {
            let batch: Vec<PostableAlert> = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                let n = queue.len().min(BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let sends = self.targets.iter().map(|target| self.send(target, &batch));
            futures::future::join_all(sends).await;
        }
    }

    async fn send(&self, target: &url::Url, batch: &[PostableAlert]) {
        let url = alerts_url(target);
        let result = self
            .client
            .post(url.clone())
            .timeout(self.timeout)
            .json(batch)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        let outcome = match result {
            Ok(_) => "sent",
            Err(error) => {
                tracing::warn!(alertmanager = %target, %error, alerts = batch.len(), "cannot send alerts");
                "error"
            }
        };
        metrics::counter!("pharos_rules_notifications_total", "alertmanager" => target.to_string(), "outcome" => outcome)
            .increment(batch.len() as u64);
    }
}

/// `<base>/api/v2/alerts`, keeping a path prefix of the base URL.
pub fn alerts_url(base: &url::Url) -> url::Url {
    let mut url = base.clone();
    let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(n: usize) -> PostableAlert {
        PostableAlert {
            labels: LabelMap::from([("n".to_owned(), n.to_string())]),
            annotations: LabelMap::new(),
            starts_at: "2026-01-01T00:00:00.000Z".to_owned(),
            ends_at: "2026-01-01T00:04:00.000Z".to_owned(),
            generator_url: "http://pharos/graph".to_owned(),
        }
    }

    #[test]
    fn the_queue_keeps_the_newest_alerts() {
        let target = url::Url::parse("http://127.0.0.1:9").unwrap();
        let notifier = Notifier::new(vec![target], 3, Duration::from_secs(1));
        notifier.enqueue((0..5).map(alert).collect());
        assert_eq!(notifier.queued(), 3);
        let queue = notifier.queue.lock().unwrap();
        let kept: Vec<&str> = queue.iter().map(|a| a.labels["n"].as_str()).collect();
        assert_eq!(kept, ["2", "3", "4"]);
    }

    #[test]
    fn without_alertmanagers_nothing_is_queued() {
        let notifier = Notifier::new(Vec::new(), 3, Duration::from_secs(1));
        notifier.enqueue(vec![alert(1)]);
        assert_eq!(notifier.queued(), 0);
    }

    #[test]
    fn the_wire_form_and_url() {
        let json = serde_json::to_value(vec![alert(1)]).unwrap();
        assert_eq!(
            json[0].as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "labels",
                "annotations",
                "startsAt",
                "endsAt",
                "generatorURL"
            ]
        );
        let base = url::Url::parse("http://am:9093/prefix/").unwrap();
        assert_eq!(
            alerts_url(&base).as_str(),
            "http://am:9093/prefix/api/v2/alerts"
        );
    }

    #[tokio::test]
    async fn an_unreachable_alertmanager_times_out_and_the_queue_drains() {
        let target = url::Url::parse("http://127.0.0.1:9").unwrap();
        let notifier = Notifier::new(vec![target], 10, Duration::from_millis(500));
        notifier.enqueue(vec![alert(1), alert(2)]);
        tokio::time::timeout(Duration::from_secs(5), notifier.drain())
            .await
            .unwrap();
        assert_eq!(notifier.queued(), 0);
    }
}
