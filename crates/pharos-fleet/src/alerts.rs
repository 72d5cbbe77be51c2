//! Alerts from Alertmanager: webhook intake (payload version 4), deduplication by fingerprint,
//! state history and a bounded in-memory book.
//!
//! * An alert belongs to the cluster named by the webhook URL (`?cluster=`, one receiver per
//!   cluster), else to its `cluster` label, else to `unknown`. It is identified by its cluster
//!   and its fingerprint (Alertmanager's, or computed from the labels exactly as Alertmanager
//!   does: FNV-1a 64 over the sorted names and values).
//! * Only state changes publish events (`ALERT_FIRED`, `ALERT_RESOLVED`, topic `alerts`): a
//!   repeated delivery (Alertmanager re-sends every `repeat_interval` and retries) updates the
//!   alert quietly. A firing delivery for a resolved alert with the same `startsAt` is a late
//!   copy and does not fire it again; a new `startsAt` does.
//! * The book keeps at most `max_alerts`; past that the alert resolved longest ago goes first,
//!   then (only when every kept alert fires) the one that changed longest ago. Each alert keeps
//!   its last [`HISTORY`] transitions. A delivery carries at most `max_per_webhook` alerts and
//!   each alert's labels and annotations at most [`MAX_ALERT_BYTES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::FleetError;
use crate::events::EventType;
use crate::federate::parse_time;
use crate::service::{Access, FleetAction, FleetService};

use crate::alert_delivery::invalid;
pub use crate::alert_delivery::{Delivery, fingerprint, parse_delivery};

/// Transitions kept per alert.
pub const HISTORY: usize = 20;
/// Largest labels + annotations of one alert (names and values, in bytes).
pub const MAX_ALERT_BYTES: usize = 16 * 1024;
/// The cluster of alerts that name none.
pub const UNKNOWN_CLUSTER: &str = "unknown";

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Resolved.
    Resolved,
    /// Firing.
    Firing,
}

impl AlertState {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "firing" => Some(Self::Firing),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// One transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// The state entered.
    pub state: AlertState,
    /// When Pharos received it.
    pub at: DateTime<Utc>,
}

/// One alert as kept and listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetAlert {
    /// Its cluster.
    pub cluster: String,
    /// Alertmanager's fingerprint (or the one computed from the labels).
    pub fingerprint: String,
    /// `firing` or `resolved`.
    pub state: AlertState,
    /// `labels.alertname`.
    pub alertname: Option<String>,
    /// `labels.severity`.
    pub severity: Option<String>,
    /// `labels.namespace`.
    pub namespace: Option<String>,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// All annotations.
    pub annotations: BTreeMap<String, String>,
    /// `startsAt`.
    pub starts_at: Option<DateTime<Utc>>,
    /// `endsAt` (`null` while Alertmanager sends its zero time).
    pub ends_at: Option<DateTime<Utc>>,
    /// `generatorURL`.
    pub generator_url: Option<String>,
    /// The Alertmanager receiver that sent it last.
    pub receiver: Option<String>,
    /// When Pharos first received it.
    pub first_seen: DateTime<Utc>,
    /// When Pharos last received it.
    pub last_seen: DateTime<Utc>,
    /// Deliveries received.
    pub deliveries: u64,
    /// The last transitions, oldest first.
    pub history: Vec<Transition>,
}

impl FleetAlert {
    fn changed_at(&self) -> DateTime<Utc> {
        self.history.last().map_or(self.first_seen, |t| t.at)
    }
}

/// What one delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntakeReport {
    /// Alerts in the delivery.
    pub received: usize,
    /// Alerts that started firing (new, or firing again).
    pub fired: usize,
    /// Alerts that resolved.
    pub resolved: usize,
    /// Repeated deliveries of an unchanged state.
    pub unchanged: usize,
    /// Alerts dropped from the book to stay within its bound.
    pub evicted: usize,
}

/// `GET /api/v1/fleet/alerts` filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    /// Cluster name.
    pub cluster: Option<String>,
    /// `labels.severity`.
    pub severity: Option<String>,
    /// State.
    pub state: Option<AlertState>,
    /// `labels.namespace`.
    pub namespace: Option<String>,
    /// Changed state at or after (ms since the epoch).
    pub since_ms: Option<i64>,
    /// At most this many (newest change first).
    pub limit: usize,
}

/// Default and largest `limit`.
pub const LIST_LIMIT: (usize, usize) = (500, 10_000);

impl AlertFilter {
    /// Parses query parameters; unknown ones are refused.
    pub fn from_pairs<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FleetError> {
        let mut filter = Self {
            limit: LIST_LIMIT.0,
            ..Self::default()
        };
        for (key, value) in pairs {
            let text = Some(value.to_owned()).filter(|v| !v.is_empty());
            match key {
                "cluster" => filter.cluster = text,
                "severity" => filter.severity = text,
                "namespace" => filter.namespace = text,
                "state" => {
                    filter.state = Some(AlertState::parse(value).ok_or_else(|| {
                        FleetError::Invalid(format!("state \"{value}\" is not firing or resolved"))
                    })?);
                }
                "since" => {
                    filter.since_ms = Some(parse_time("since", &Value::String(value.to_owned()))?);
                }
                "limit" => {
                    filter.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|l| (1..=LIST_LIMIT.1).contains(l))
                        .ok_or_else(|| {
                            FleetError::Invalid(format!(
                                "limit \"{value}\" is not a number from 1 to {}",
                                LIST_LIMIT.1
                            ))
                        })?;
                }
                other => {
                    return Err(FleetError::Invalid(format!(
                        "unknown parameter \"{other}\": filter with cluster, severity, state (firing|resolved), namespace, since, limit"
                    )));
                }
            }
        }
        Ok(filter)
    }

    fn matches(&self, alert: &FleetAlert) -> bool {
        self.cluster.as_ref().is_none_or(|c| *c == alert.cluster)
            && self
                .severity
                .as_ref()
                .is_none_or(|s| alert.severity.as_ref() == Some(s))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| alert.namespace.as_ref() == Some(n))
            && self.state.is_none_or(|s| s == alert.state)
            && self
                .since_ms
                .is_none_or(|since| alert.changed_at().timestamp_millis() >= since)
    }
}

type Key = (String, String);

/// The bounded book of alerts.
#[derive(Debug)]
pub struct AlertBook {
    max_alerts: usize,
    max_per_webhook: usize,
    inner: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    alerts: HashMap<Key, (u64, FleetAlert)>,
    /// Eviction order: resolved before firing, then oldest change first.
    order: BTreeSet<(AlertState, u64, Key)>,
    seq: u64,
}

impl Book {
    fn put(&mut self, key: Key, alert: FleetAlert, changed: bool) {
        let old = self.alerts.get(&key).map(|(seq, a)| (*seq, a.state));
        let seq = match old {
            Some((seq, state)) if !changed => {
                debug_assert_eq!(state, alert.state);
                seq
            }
            Some((seq, state)) => {
                self.order.remove(&(state, seq, key.clone()));
                self.seq += 1;
                self.order.insert((alert.state, self.seq, key.clone()));
                self.seq
            }
            None => {
                self.seq += 1;
                self.order.insert((alert.state, self.seq, key.clone()));
                self.seq
            }
        };
        self.alerts.insert(key, (seq, alert));
    }

    fn evict_one(&mut self) -> bool {
        let Some(first) = self.order.pop_first() else {
            return false;
        };
        self.alerts.remove(&first.2);
        true
    }
}

fn event_data(alert: &FleetAlert) -> Value {
    json!({
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "severity": alert.severity,
        "namespace": alert.namespace,
        "state": alert.state,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "generator_url": alert.generator_url,
    })
}

impl AlertBook {
    /// A book of at most `max_alerts`, taking at most `max_per_webhook` per delivery.
    pub fn new(max_alerts: usize, max_per_webhook: usize) -> Self {
        Self {
            max_alerts: max_alerts.max(1),
            max_per_webhook: max_per_webhook.max(1),
            inner: Mutex::default(),
        }
    }

    /// Most alerts per delivery.
    pub fn max_per_webhook(&self) -> usize {
        self.max_per_webhook
    }

    /// Files a delivery; answers what it did and the events to publish.
    fn file(
        &self,
        cluster_param: Option<&str>,
        delivery: Delivery,
    ) -> (IntakeReport, Vec<(EventType, String, Value)>) {
        let now = Utc::now();
        let mut report = IntakeReport {
            received: delivery.alerts.len(),
            ..IntakeReport::default()
        };
        let mut events = Vec::new();
        let Ok(mut book) = self.inner.lock() else {
            return (report, events);
        };
        for incoming in delivery.alerts {
            let cluster = cluster_param
                .map(str::to_owned)
                .or_else(|| incoming.labels.get("cluster").cloned())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| UNKNOWN_CLUSTER.to_owned());
            let key = (cluster.clone(), incoming.fingerprint.clone());
            let previous = book.alerts.get(&key).map(|(_, a)| a.clone());
            let label = |name: &str| incoming.labels.get(name).cloned();
            let mut alert = previous.clone().unwrap_or_else(|| FleetAlert {
                cluster,
                fingerprint: incoming.fingerprint.clone(),
                state: incoming.state,
                alertname: None,
                severity: None,
                namespace: None,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                starts_at: None,
                ends_at: None,
                generator_url: None,
                receiver: None,
                first_seen: now,
                last_seen: now,
                deliveries: 0,
                history: Vec::new(),
            });
            let changed = match (&previous, incoming.state) {
                (None, _) => true,
                (Some(p), AlertState::Firing) if p.state == AlertState::Resolved => {
                    // A late copy of the firing notification must not fire it again.
                    incoming.starts_at != p.starts_at
                }
                (Some(p), state) => p.state != state,
            };
            if previous.is_some() && !changed && incoming.state != alert.state {
                // A stale delivery: keep the newer state, count it as a repeat.
                report.unchanged += 1;
                alert.last_seen = now;
                alert.deliveries += 1;
                book.put(key, alert, false);
                continue;
            }
            alert.state = incoming.state;
            alert.alertname = label("alertname");
            alert.severity = label("severity");
            alert.namespace = label("namespace");
            alert.labels = incoming.labels;
            alert.annotations = incoming.annotations;
            alert.starts_at = incoming.starts_at.or(alert.starts_at);
            alert.ends_at = incoming.ends_at;
            alert.generator_url = incoming.generator_url.or(alert.generator_url);
            alert.receiver = delivery.receiver.clone().or(alert.receiver);
            alert.last_seen = now;
            alert.deliveries += 1;
            if changed {
                alert.history.push(Transition {
                    state: alert.state,
                    at: now,
                });
                if alert.history.len() > HISTORY {
                    let extra = alert.history.len() - HISTORY;
                    alert.history.drain(..extra);
                }
                match alert.state {
                    AlertState::Firing => {
                        report.fired += 1;
                        events.push((
                            EventType::AlertFired,
                            alert.cluster.clone(),
                            event_data(&alert),
                        ));
                    }
                    AlertState::Resolved => {
                        report.resolved += 1;
                        events.push((
                            EventType::AlertResolved,
                            alert.cluster.clone(),
                            event_data(&alert),
                        ));
                    }
                }
            } else {
                report.unchanged += 1;
            }
            book.put(key, alert, changed);
            while book.alerts.len() > self.max_alerts && book.evict_one() {
                report.evicted += 1;
            }
        }
        (report, events)
    }

    /// The alerts matching `filter`, newest change first, and how many matched in all.
    pub fn list(&self, filter: &AlertFilter) -> (Vec<FleetAlert>, usize) {
        let Ok(book) = self.inner.lock() else {
            return (Vec::new(), 0);
        };
        let mut matching: Vec<(u64, &FleetAlert)> = book
            .alerts
            .values()
            .filter(|(_, a)| filter.matches(a))
            .map(|(seq, a)| (*seq, a))
            .collect();
        let total = matching.len();
        matching.sort_by_key(|m| std::cmp::Reverse(m.0));
        (
            matching
                .into_iter()
                .take(filter.limit)
                .map(|(_, a)| a.clone())
                .collect(),
            total,
        )
    }

    /// How many alerts fire now.
    pub fn firing(&self) -> usize {
        self.inner.lock().map_or(0, |book| {
            book.order
                .iter()
                .rev()
                .take_while(|(state, _, _)| *state == AlertState::Firing)
                .count()
        })
    }

    /// How many alerts are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |book| book.alerts.len())
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FleetService {
    /// Files an Alertmanager webhook delivery (the caller checked the webhook secret) and
    /// publishes `ALERT_FIRED`/`ALERT_RESOLVED` for the state changes.
    pub fn alert_intake(
        &self,
        cluster: Option<&str>,
        body: &Value,
    ) -> Result<IntakeReport, FleetError> {
        if let Some(name) = cluster
            && (name.is_empty()
                || name.len() > 253
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        {
            return Err(invalid(
                "cluster must be a cluster name (letters, digits, '-', '_', '.')",
            ));
        }
        let book = &self.inner.alerts;
        let delivery = parse_delivery(body, book.max_per_webhook())?;
        let (report, events) = book.file(cluster, delivery);
        metrics::counter!("pharos_fleet_alert_deliveries_total").increment(1);
        metrics::gauge!("pharos_fleet_alerts_kept").set(book.len() as f64);
        metrics::counter!("pharos_fleet_alerts_evicted_total").increment(report.evicted as u64);
        for (event_type, cluster, data) in events {
            self.publish(event_type, &cluster, data);
        }
        Ok(report)
    }

    /// Files alerts that come from inside Pharos (Alertmanager polls, the embedded rules), each in
    /// the webhook's alert shape, in deliveries of at most the book's per-delivery bound: the same
    /// checks, deduplication and events as a webhook.
    pub fn file_alerts(
        &self,
        cluster: Option<&str>,
        receiver: &str,
        alerts: &[Value],
    ) -> Result<(), FleetError> {
        for chunk in alerts.chunks(self.inner.alerts.max_per_webhook()) {
            let body = json!({"version": "4", "receiver": receiver, "alerts": chunk});
            self.alert_intake(cluster, &body)?;
        }
        Ok(())
    }

    /// `GET /api/v1/fleet/alerts` (read on the registry).
    pub fn alerts(&self, access: &dyn Access, filter: &AlertFilter) -> Result<Value, FleetError> {
        access
            .check(FleetAction::Read)
            .map_err(FleetError::Forbidden)?;
        let (alerts, total) = self.inner.alerts.list(filter);
        Ok(json!({"alerts": alerts, "total": total, "limit": filter.limit}))
    }

    /// Alerts firing now (for the summary).
    pub fn firing_alerts(&self) -> usize {
        self.inner.alerts.firing()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn delivery(alerts: Value) -> Delivery {
        parse_delivery(&json!({"version": "4", "alerts": alerts}), 100).unwrap()
    }

    fn alert(name: &str, status: &str, starts: &str) -> Value {
        json!({"status": status, "labels": {"alertname": name, "severity": "warning"},
            "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z"})
    }

    #[test]
    fn fingerprints_are_alertmanagers() {
        let labels = BTreeMap::from([
            ("alertname".to_owned(), "HighQueueDepth".to_owned()),
            ("namespace".to_owned(), "ns-1".to_owned()),
            ("severity".to_owned(), "warning".to_owned()),
        ]);
        // From the captured Alertmanager 0.25 webhook.
        assert_eq!(fingerprint(&labels), "d5a07efff2b258c3");
    }

    #[test]
    fn state_changes_only_and_late_copies_ignored() {
        let book = AlertBook::new(10, 10);
        let t0 = "2026-01-01T00:00:00Z";
        let (r, e) = book.file(None, delivery(json!([alert("A", "firing", t0)])));
        assert_eq!((r.fired, e.len()), (1, 1));
        let (r, e) = book.file(None, delivery(json!([alert("A", "firing", t0)])));
        assert_eq!((r.unchanged, e.len()), (1, 0));
        let (r, _) = book.file(None, delivery(json!([alert("A", "resolved", t0)])));
        assert_eq!(r.resolved, 1);
        let (r, e) = book.file(None, delivery(json!([alert("A", "firing", t0)])));
        assert_eq!((r.unchanged, e.len()), (1, 0), "a late copy");
        let (r, _) = book.file(
            None,
            delivery(json!([alert("A", "firing", "2026-01-01T01:00:00Z")])),
        );
        assert_eq!(r.fired, 1);
        let (alerts, _) = book.list(&AlertFilter {
            limit: 10,
            ..AlertFilter::default()
        });
        assert_eq!(alerts[0].history.len(), 3);
        assert_eq!(alerts[0].cluster, UNKNOWN_CLUSTER);
        assert_eq!(book.firing(), 1);
    }

    #[test]
    fn the_book_evicts_resolved_alerts_first() {
        let book = AlertBook::new(3, 10);
        let t = "2026-01-01T00:00:00Z";
        book.file(None, delivery(json!([alert("old", "firing", t)])));
        book.file(
            None,
            delivery(json!([
                alert("r1", "resolved", t),
                alert("r2", "resolved", t)
            ])),
        );
        let (r, _) = book.file(None, delivery(json!([alert("new", "firing", t)])));
        assert_eq!(r.evicted, 1);
        let names: BTreeSet<String> = book
            .list(&AlertFilter {
                limit: 10,
                ..AlertFilter::default()
            })
            .0
            .into_iter()
            .filter_map(|a| a.alertname)
            .collect();
        assert_eq!(
            names,
            BTreeSet::from(["old".into(), "r2".into(), "new".into()])
        );
        for i in 0..50 {
            book.file(
                None,
                delivery(json!([alert(&format!("f{i}"), "firing", t)])),
            );
        }
        assert_eq!(book.len(), 3);
        assert_eq!(book.firing(), 3);
    }

    #[test]
    fn bad_deliveries_name_the_problem() {
        let bad = |body: Value| parse_delivery(&body, 2).err().unwrap().to_string();
        assert!(bad(json!([1])).contains("not a JSON object"));
        assert!(bad(json!({"version": "3", "alerts": []})).contains("version"));
        assert!(bad(json!({"version": "4"})).contains("no alerts list"));
        let three = json!({"version": "4", "alerts": [{}, {}, {}]});
        assert!(bad(three).contains("limit of 2"));
        let status = json!({"version": "4", "alerts": [{"status": "on", "labels": {"a": "b"}}]});
        assert!(bad(status).contains("status"));
        let labels = json!({"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]});
        assert!(bad(labels).contains("labels.a"));
        let time = json!({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "soon"}]});
        assert!(bad(time).contains("startsAt"));
    }
}
