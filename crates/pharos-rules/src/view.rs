//! The rules and alerts as the Prometheus HTTP API shows them (`/api/v1/rules`,
//! `/api/v1/alerts` `data` objects), optionally narrowed to what one tenant may see.

use serde::Serialize;

use crate::alert::{Alert, AlertState, LabelMap};
use crate::file::RuleKind;
use crate::manager::{RuleManager, rfc3339};

/// Which alerts a caller may see (by their labels); `None` sees everything.
pub type Visible<'a> = Option<&'a dyn Fn(&LabelMap) -> bool>;

/// `?type=` of `/api/v1/rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleTypeFilter {
    /// Both kinds.
    #[default]
    All,
    /// `alert`.
    Alerting,
    /// `record`.
    Recording,
}

impl RuleTypeFilter {
    /// Parses the parameter (`alert`, `record`, or absent).
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value {
            None | Some("") => Ok(Self::All),
            Some("alert") => Ok(Self::Alerting),
            Some("record") => Ok(Self::Recording),
            Some(other) => Err(format!(
                "invalid rule type {other:?}: use type=alert or type=record"
            )),
        }
    }
}

/// `data` of `/api/v1/rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesData {
    /// The groups.
    pub groups: Vec<GroupView>,
}

/// One group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    /// Name.
    pub name: String,
    /// File it came from.
    pub file: String,
    /// Rules.
    pub rules: Vec<serde_json::Value>,
    /// Interval in seconds.
    pub interval: f64,
    /// Limit (0: none).
    pub limit: usize,
    /// Seconds the last evaluation took.
    #[serde(rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// RFC 3339 time of the last evaluation.
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
}

/// One alert (`/api/v1/alerts` and inside alerting rules).
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// Labels.
    pub labels: LabelMap,
    /// Annotations.
    pub annotations: LabelMap,
    /// `pending` or `firing`.
    pub state: AlertState,
    /// When the condition became true.
    #[serde(rename = "activeAt")]
    pub active_at: String,
    /// Since when `keep_firing_for` keeps it firing.
    #[serde(rename = "keepFiringSince", skip_serializing_if = "Option::is_none")]
    pub keep_firing_since: Option<String>,
    /// The last value, as Prometheus writes it (`%e`).
    pub value: String,
}

/// `data` of `/api/v1/alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertsData {
    /// Pending and firing alerts.
    pub alerts: Vec<AlertView>,
}

const NEVER: &str = "0001-01-01T00:00:00Z";

fn alert_view(alert: &Alert) -> AlertView {
    AlertView {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        state: alert.state,
        active_at: rfc3339(alert.active_at_ms),
        keep_firing_since: alert.keep_firing_since_ms.map(rfc3339),
        value: exp_value(alert.value),
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
fn exp_value(v: f64) -> String {
    if !v.is_finite() {
        return crate::format::go_float(v);
    }
    let text = format!("{v:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            let exp: i32 = exp.parse().unwrap_or(0);
            format!(
                "{mantissa}e{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.abs()
            )
        }
        None => text,
    }
}

impl RuleManager {
    /// The `/api/v1/rules` data. With `visible`, a rule is listed when one of its alerts or
    /// its own labels are visible, with only the visible alerts; recording rules only by
    /// their labels (their results belong to whoever their series belong to).
    pub fn rules_data(&self, filter: RuleTypeFilter, visible: Visible<'_>) -> RulesData {
        let mut groups = Vec::new();
        for group in &self.groups {
            let state = group.state.lock().map(|s| s.clone()).unwrap_or_default();
            let mut rules = Vec::new();
            for (rule, rule_state) in group.spec.rules.iter().zip(&state.rules) {
                let alerts: Vec<&Alert> = rule_state
                    .alerts
                    .alerts()
                    .filter(|a| a.state != AlertState::Inactive)
                    .filter(|a| visible.is_none_or(|v| v(&a.labels)))
                    .collect();
                let own_labels_visible = visible.is_none_or(|v| v(&rule.labels));
                let common = |kind: &str| {
                    serde_json::json!({
                        "name": rule.name,
                        "query": rule.expr,
                        "labels": rule.labels,
                        "health": rule_state.health.as_str(),
                        "lastError": rule_state.last_error.clone().unwrap_or_default(),
                        "evaluationTime": rule_state.evaluation_time_s,
                        "lastEvaluation": rule_state.last_evaluation_ms.map_or(NEVER.to_owned(), rfc3339),
                        "type": kind,
                    })
                };
                let value = match rule.kind {
                    RuleKind::Recording => {
                        if filter == RuleTypeFilter::Alerting || !own_labels_visible {
                            continue;
                        }
                        common("recording")
                    }
                    RuleKind::Alerting => {
                        if filter == RuleTypeFilter::Recording
                            || (alerts.is_empty() && !own_labels_visible)
                        {
                            continue;
                        }
                        let state = if alerts.iter().any(|a| a.state == AlertState::Firing) {
                            "firing"
                        } else if alerts.is_empty() {
                            "inactive"
                        } else {
                            "pending"
                        };
                        let mut value = common("alerting");
                        if let Some(object) = value.as_object_mut() {
                            object.insert("state".into(), state.into());
                            object.insert("duration".into(), rule.hold.as_secs_f64().into());
                            object.insert(
                                "keepFiringFor".into(),
                                rule.keep_firing_for.as_secs_f64().into(),
                            );
                            object.insert(
                                "annotations".into(),
                                serde_json::to_value(&rule.annotations).unwrap_or_default(),
                            );
                            let views: Vec<AlertView> =
                                alerts.iter().map(|a| alert_view(a)).collect();
                            object.insert(
                                "alerts".into(),
                                serde_json::to_value(views).unwrap_or_default(),
                            );
                        }
                        value
                    }
                };
                rules.push(value);
            }
            // A tenant does not learn of groups it has nothing in.
            if visible.is_some() && rules.is_empty() {
                continue;
            }
            groups.push(GroupView {
                name: group.spec.name.clone(),
                file: group.spec.file.clone(),
                rules,
                interval: group.interval.as_secs_f64(),
                limit: group.spec.limit,
                evaluation_time: state.evaluation_time_s,
                last_evaluation: state.last_evaluation_ms.map_or(NEVER.to_owned(), rfc3339),
            });
        }
        RulesData { groups }
    }

    /// The `/api/v1/alerts` data: pending and firing alerts (those `visible` allows).
    pub fn alerts_data(&self, visible: Visible<'_>) -> AlertsData {
        let mut alerts = Vec::new();
        for group in &self.groups {
            let state = group.state.lock().map(|s| s.clone()).unwrap_or_default();
            for rule_state in &state.rules {
                alerts.extend(
                    rule_state
                        .alerts
                        .alerts()
                        .filter(|a| a.state != AlertState::Inactive)
                        .filter(|a| visible.is_none_or(|v| v(&a.labels)))
                        .map(alert_view),
                );
            }
        }
        AlertsData { alerts }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_written_like_prometheus() {
        assert_eq!(super::exp_value(1.0), "1e+00");
        assert_eq!(super::exp_value(0.25), "2.5e-01");
        assert_eq!(super::exp_value(1234.5), "1.2345e+03");
    }
}
