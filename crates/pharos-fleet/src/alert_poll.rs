//! Polling each cluster's Alertmanager (`GET /api/v2/alerts`), for clusters whose Alertmanager
//! cannot reach Pharos by webhook (or to fill the book after a restart, since webhooks are only
//! sent on change and on `repeat_interval`).
//!
//! A poll runs after each health check of a cluster that has an `alertmanager_url` and answered
//! the check, so it follows the type's cadence (hub 15 s … far edge 120 s) and timeout. The
//! active, unsilenced, uninhibited alerts are filed as firing, under the cluster's name, with the
//! fingerprint Alertmanager gives them (the same one its webhooks carry, so a webhook and a poll
//! of one alert are one entry). An alert seen by the previous poll and missing from this one has
//! resolved. A failed poll changes nothing: no answer is not "everything resolved".

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::credentials::Connection;
use crate::probe;
use crate::service::FleetService;

/// The receiver name recorded for alerts that came by polling.
pub const POLL_RECEIVER: &str = "alertmanager-api";

/// Why a poll gave nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PollFailure(pub(crate) String);

/// The active alerts of the cluster's Alertmanager, as Alertmanager answers them (a JSON array
/// of gettable alerts); `None` when the cluster has no Alertmanager.
pub(crate) async fn active_alerts(
    conn: &Connection,
    timeout: Duration,
    max_bytes: usize,
) -> Option<Result<Vec<Value>, PollFailure>> {
    let base = conn.alertmanager.as_ref()?;
    let url = probe::endpoint(
        base,
        "/api/v2/alerts",
        &[
            ("active", "true"),
            ("silenced", "false"),
            ("inhibited", "false"),
        ],
    );
    let answer = match probe::fetch(conn, url, timeout, max_bytes).await {
        Err(failure) => Err(PollFailure(failure.to_string())),
        Ok((status, _)) if !(200..300).contains(&status) => {
            Err(PollFailure(format!("Alertmanager answered HTTP {status}")))
        }
        Ok((_, body)) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(alerts)) => Ok(alerts),
            _ => Err(PollFailure(
                "the answer of /api/v2/alerts is not a JSON array: is this an Alertmanager (v2 API)?"
                    .to_owned(),
            )),
        },
    };
    Some(answer)
}

/// Turns a gettable alert into the webhook shape the book files (`None` for a malformed one).
fn as_webhook_alert(alert: &Value, status: &str) -> Option<(String, Value)> {
    let fingerprint = alert.get("fingerprint")?.as_str()?.to_owned();
    let mut shaped = json!({
        "status": status,
        "labels": alert.get("labels")?.clone(),
        "annotations": alert.get("annotations").cloned().unwrap_or(Value::Null),
        "startsAt": alert.get("startsAt").cloned().unwrap_or(Value::Null),
        "endsAt": alert.get("endsAt").cloned().unwrap_or(Value::Null),
        "generatorURL": alert.get("generatorURL").cloned().unwrap_or(Value::Null),
        "fingerprint": fingerprint,
    });
    if status == "resolved" {
        shaped["endsAt"] = json!(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    Some((fingerprint, shaped))
}

impl FleetService {
    /// Files one poll's answer for `cluster`: every alert in it fires, and those of the previous
    /// poll that are gone resolve. Malformed alerts are skipped (and counted).
    pub(crate) fn file_polled(&self, cluster: &str, alerts: &[Value]) {
        let mut now_active = BTreeMap::new();
        let mut malformed = 0_u64;
        for alert in alerts {
            match as_webhook_alert(alert, "firing") {
                Some((fingerprint, shaped)) => {
                    now_active.insert(fingerprint, shaped);
                }
                None => malformed += 1,
            }
        }
        if malformed > 0 {
            metrics::counter!("pharos_fleet_alert_poll_malformed_total", "cluster" => cluster.to_owned())
                .increment(malformed);
        }
        let previous = self
            .inner
            .polled
            .lock()
            .ok()
            .and_then(|mut polled| polled.insert(cluster.to_owned(), now_active.clone()))
            .unwrap_or_default();
        let mut delivery: Vec<Value> = now_active.into_values().collect();
        for (fingerprint, alert) in previous {
            if !delivery
                .iter()
                .any(|a| a["fingerprint"] == fingerprint.as_str())
            {
                let mut resolved = alert;
                resolved["status"] = json!("resolved");
                resolved["endsAt"] = json!(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
                delivery.push(resolved);
            }
        }
        if let Err(error) = self.file_alerts(Some(cluster), POLL_RECEIVER, &delivery) {
            tracing::warn!(cluster, %error, "an Alertmanager poll answer was not filed");
        }
    }

    /// Polls the cluster's Alertmanager (if it has one) and files the answer.
    pub(crate) async fn poll_alerts(&self, conn: &Connection, timeout: Duration) {
        let max = self.inner.options.max_answer_bytes;
        match active_alerts(conn, timeout, max).await {
            None => {}
            Some(Ok(alerts)) => {
                metrics::counter!("pharos_fleet_alert_polls_total", "cluster" => conn.cluster.clone(), "outcome" => "ok")
                    .increment(1);
                self.file_polled(&conn.cluster, &alerts);
            }
            Some(Err(PollFailure(why))) => {
                metrics::counter!("pharos_fleet_alert_polls_total", "cluster" => conn.cluster.clone(), "outcome" => "error")
                    .increment(1);
                tracing::debug!(cluster = %conn.cluster, %why, "Alertmanager poll failed");
            }
        }
    }

    /// Forgets what the last poll of a deleted cluster saw.
    pub(crate) fn forget_polled(&self, cluster: &str) {
        if let Ok(mut polled) = self.inner.polled.lock() {
            polled.remove(cluster);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gettable(name: &str, fingerprint: &str) -> Value {
        json!({"labels": {"alertname": name, "severity": "warning"},
            "annotations": {"summary": format!("{name} is firing")},
            "startsAt": "2026-12-06T06:00:00.000Z", "endsAt": "2026-12-06T06:05:00.000Z",
            "updatedAt": "2026-12-06T06:00:00.000Z", "generatorURL": "http://prometheus/graph",
            "fingerprint": fingerprint, "receivers": [{"name": "default"}],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}})
    }

    async fn service() -> (FleetService, pharos_store::testing::TempDirGuard) {
        let (store, guard) = pharos_store::testing::sqlite_store().await;
        let options = crate::FleetOptions::default();
        (
            FleetService::new(store, options, reqwest::Client::new()),
            guard,
        )
    }

    #[tokio::test]
    async fn polled_alerts_fire_and_resolve_when_they_leave_the_answer() {
        let (fleet, _dir) = service().await;
        let mut events = fleet.bus().subscribe(vec![crate::Topic::Alerts]);
        fleet.file_polled("east", &[gettable("A", "aaaa"), gettable("B", "bbbb")]);
        let filter = crate::AlertFilter {
            limit: 100,
            ..crate::AlertFilter::default()
        };
        let (alerts, total) = fleet.inner.alerts.list(&filter);
        assert_eq!((alerts.len(), total), (2, 2));
        assert!(alerts.iter().all(|a| a.cluster == "east"
            && a.state == crate::AlertState::Firing
            && a.receiver.as_deref() == Some(POLL_RECEIVER)));
        // The same answer again changes nothing; B gone resolves B only.
        fleet.file_polled("east", &[gettable("A", "aaaa"), gettable("B", "bbbb")]);
        fleet.file_polled("east", &[gettable("A", "aaaa")]);
        let (alerts, _) = fleet.inner.alerts.list(&filter);
        let state_of = |f: &str| alerts.iter().find(|a| a.fingerprint == f).map(|a| a.state);
        assert_eq!(state_of("aaaa"), Some(crate::AlertState::Firing));
        assert_eq!(state_of("bbbb"), Some(crate::AlertState::Resolved));
        let mut kinds = Vec::new();
        while let Ok(crate::Received::Event(event)) =
            tokio::time::timeout(Duration::from_millis(50), events.next())
                .await
                .map_err(|_| ())
        {
            kinds.push(event.event_type);
        }
        assert_eq!(
            kinds,
            [
                crate::EventType::AlertFired,
                crate::EventType::AlertFired,
                crate::EventType::AlertResolved
            ]
        );
    }

    #[tokio::test]
    async fn malformed_alerts_are_skipped_not_filed() {
        let (fleet, _dir) = service().await;
        fleet.file_polled("east", &[json!({"labels": {"alertname": "X"}}), json!(3)]);
        assert!(fleet.inner.alerts.is_empty());
    }
}
