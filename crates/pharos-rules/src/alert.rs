//! The alerting state machine of one rule, as Prometheus runs it: a result series starts an
//! alert `pending`; it turns `firing` once the condition held for `for`; when the series goes
//! away a pending alert is dropped and a firing one resolves, after `keep_firing_for` if set.
//! Resolved alerts stay [`KEEP_RESOLVED`] so Alertmanager hears their end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::file::Rule;
use crate::template::Context;

/// How long a resolved alert is kept (and re-sent as resolved if needed).
pub const KEEP_RESOLVED: Duration = Duration::from_secs(15 * 60);

/// Labels of an alert or series, sorted by name.
pub type LabelMap = BTreeMap<String, String>;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Resolved (kept a while to send its end).
    Inactive,
    /// Condition true, `for` not yet over.
    Pending,
    /// Condition held for `for` (or kept by `keep_firing_for`).
    Firing,
}

impl AlertState {
    /// The Prometheus word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        }
    }
}

/// One alert of a rule (one result series).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Labels: the series' labels without `__name__`, the rule's labels, `alertname`.
    pub labels: LabelMap,
    /// Rendered annotations.
    pub annotations: LabelMap,
    /// State.
    pub state: AlertState,
    /// The last value the expression gave.
    pub value: f64,
    /// When the condition became true (ms).
    pub active_at_ms: i64,
    /// When it started firing (ms).
    pub fired_at_ms: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at_ms: Option<i64>,
    /// When it was last handed to the notifier (ms).
    pub last_sent_ms: Option<i64>,
    /// When the condition cleared while `keep_firing_for` keeps it firing (ms).
    pub keep_firing_since_ms: Option<i64>,
    /// Until when a firing alert is valid without a new send (`endsAt` of a firing alert).
    pub valid_until_ms: i64,
}

impl Alert {
    /// Whether the notifier should get it at `now_ms`: firing and not sent for `resend`, or
    /// resolved and its end not sent yet.
    pub fn needs_sending(&self, now_ms: i64, resend: Duration) -> bool {
        match (self.state, self.resolved_at_ms) {
            (AlertState::Pending, _) => false,
            (AlertState::Inactive, Some(resolved)) => {
                self.last_sent_ms.is_none_or(|s| s < resolved)
            }
            (AlertState::Inactive, None) => false,
            (AlertState::Firing, _) => self
                .last_sent_ms
                .is_none_or(|s| s + millis(resend) <= now_ms),
        }
    }
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The alerts of one alerting rule.
#[derive(Debug, Default, Clone)]
pub struct AlertSet {
    alerts: BTreeMap<LabelMap, Alert>,
}

/// What one evaluation of an alerting rule needs besides its result.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Evaluation time (ms).
    pub now_ms: i64,
    /// `$externalLabels` for templates.
    pub external_labels: &'a LabelMap,
    /// Most alerts allowed (0: no limit).
    pub limit: usize,
    /// A firing alert's `endsAt` is this far after its last evaluation.
    pub validity: Duration,
}

impl AlertSet {
    /// Every alert, in label order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// Every alert, to mark what was sent.
    pub fn alerts_mut(&mut self) -> impl Iterator<Item = &mut Alert> {
        self.alerts.values_mut()
    }

    /// Applies one evaluation's result (`(labels, value)` per series) at `step.now_ms`.
    /// On an error (duplicate label sets, the limit) every alert is dropped, as Prometheus
    /// does, and the error is returned for the rule's `lastError`.
    pub fn update(
        &mut self,
        rule: &Rule,
        result: Vec<(LabelMap, f64)>,
        step: &Step<'_>,
    ) -> Result<(), String> {
        let now = step.now_ms;
        let mut seen = BTreeSet::new();
        for (mut series_labels, value) in result {
            series_labels.remove("__name__");
            let context = Context {
                labels: &series_labels,
                external_labels: step.external_labels,
                value,
            };
            let mut labels = series_labels.clone();
            for (name, template) in &rule.label_templates {
                let rendered = template.render(&context);
                if rendered.is_empty() {
                    labels.remove(name);
                } else {
                    labels.insert(name.clone(), rendered);
                }
            }
            labels.insert("alertname".to_owned(), rule.name.clone());
            let annotations: LabelMap = rule
                .annotation_templates
                .iter()
                .map(|(name, template)| (name.clone(), template.render(&context)))
                .collect();
            if !seen.insert(labels.clone()) {
                self.alerts.clear();
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .to_owned(),
                );
            }
            match self.alerts.get_mut(&labels) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = value;
                    alert.annotations = annotations;
                    alert.keep_firing_since_ms = None;
                }
                _ => {
                    self.alerts.insert(
                        labels.clone(),
                        Alert {
                            labels,
                            annotations,
                            state: AlertState::Pending,
                            value,
                            active_at_ms: now,
                            fired_at_ms: None,
                            resolved_at_ms: None,
                            last_sent_ms: None,
                            keep_firing_since_ms: None,
                            valid_until_ms: 0,
                        },
                    );
                }
            }
        }
        let keep_resolved = millis(KEEP_RESOLVED);
        let keep_firing = millis(rule.keep_firing_for);
        self.alerts.retain(|labels, alert| {
            if seen.contains(labels) {
                return true;
            }
            match alert.state {
                AlertState::Pending => false,
                AlertState::Inactive => alert
                    .resolved_at_ms
                    .is_some_and(|resolved| now - resolved <= keep_resolved),
                AlertState::Firing => {
                    if keep_firing > 0 {
                        let since = *alert.keep_firing_since_ms.get_or_insert(now);
                        if now - since < keep_firing {
                            return true;
                        }
                    }
                    alert.state = AlertState::Inactive;
                    alert.resolved_at_ms = Some(now);
                    true
                }
            }
        });
        let hold = millis(rule.hold);
        let mut active = 0;
        for alert in self.alerts.values_mut() {
            if alert.state == AlertState::Pending && now - alert.active_at_ms >= hold {
                alert.state = AlertState::Firing;
                alert.fired_at_ms = Some(now);
            }
            if alert.state != AlertState::Inactive {
                active += 1;
                alert.valid_until_ms = now + millis(step.validity);
            }
        }
        if step.limit > 0 && active > step.limit {
            self.alerts.clear();
            return Err(format!(
                "exceeded limit of {} with {active} alerts",
                step.limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "alert_tests.rs"]
mod tests;
