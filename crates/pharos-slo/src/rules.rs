//! Alerting on breaches. Pharos evaluates one built-in rule over every service: the newest
//! bucket's P95 against the service's threshold, which [`crate::SloService::threshold_samples`]
//! writes into the store as [`THRESHOLD_METRIC`] (so a threshold change applies at the next
//! evaluation without reloading rules). Teams running their own Prometheus get the same alert
//! with literal thresholds from [`export_rule_file`].

use serde::Serialize;

use crate::model::{Objective, ServiceEntry};

/// The gauge carrying each service's threshold.
pub const THRESHOLD_METRIC: &str = "pharos_service_latency_threshold_ms";
/// The name the built-in rule file is shown under in `/api/v1/rules`.
pub const BREACH_RULES_FILE: &str = "builtin:slo-rules.yml";

/// The built-in rule file (Prometheus format).
pub const BREACH_RULES: &str = r#"groups:
  - name: pharos-slo
    interval: 30s
    rules:
      - alert: ServiceLatencyBreach
        expr: |
          max by (service) (last_over_time(pharos_service_latency_p95_ms[5m]))
          > on (service)
          max by (service) (pharos_service_latency_threshold_ms)
        labels:
          severity: page
        annotations:
          summary: "P95 latency of {{ $labels.service }} is over its threshold"
          description: "The 5-minute P95 latency of {{ $labels.service }} is {{ $value | humanize }} ms, above the threshold set for it."
      - alert: ServiceLatencyBudgetBurn
        expr: |
          (
              max by (service) (pharos_service_slo_burn_rate{window="1h"}) > 14.4
            and
              max by (service) (pharos_service_slo_burn_rate{window="5m"}) > 14.4
          )
          or
          (
              max by (service) (pharos_service_slo_burn_rate{window="6h"}) > 6
            and
              max by (service) (pharos_service_slo_burn_rate{window="30m"}) > 6
          )
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service }} is spending its latency error budget fast"
          description: "Requests of {{ $labels.service }} slower than its objective's threshold burn the error budget {{ $value | humanize }} times faster than the objective allows."
      - alert: ServiceLatencyBudgetBurnSlow
        expr: |
          (
              max by (service) (pharos_service_slo_burn_rate{window="1d"}) > 3
            and
              max by (service) (pharos_service_slo_burn_rate{window="2h"}) > 3
          )
          or
          (
              max by (service) (pharos_service_slo_burn_rate{window="3d"}) > 1
            and
              max by (service) (pharos_service_slo_burn_rate{window="6h"}) > 1
          )
        labels:
          severity: ticket
        annotations:
          summary: "{{ $labels.service }} is spending its latency error budget"
          description: "At {{ $value | humanize }} times the allowed rate, the error budget of {{ $labels.service }} runs out before the objective's window ends."
"#;

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    name: &'static str,
    interval: &'static str,
    rules: Vec<AlertRule>,
}

#[derive(Serialize)]
struct AlertRule {
    alert: &'static str,
    expr: String,
    labels: std::collections::BTreeMap<&'static str, String>,
    annotations: std::collections::BTreeMap<&'static str, String>,
}

/// The slow-request ratio of `service` over `window` (PromQL over the bucket gauges).
fn slow_ratio(service: &str, threshold_ms: u32, window: &str) -> String {
    let total = format!(
        "sum(sum_over_time(last_over_time(pharos_service_requests{{service=\"{service}\"}}[5m])[{window}:5m]))"
    );
    let fast = format!(
        "sum(sum_over_time(last_over_time(pharos_service_fast_requests{{service=\"{service}\", le_ms=\"{threshold_ms}\"}}[5m])[{window}:5m]))"
    );
    format!("(1 - {fast} / {total})")
}

/// The two burn-rate alerts of `objective` with the windows and factors of
/// [`BREACH_RULES`], the budget written out.
fn burn_rules(id: &str, objective: &Objective) -> Vec<AlertRule> {
    let service = crate::latency::quote(id);
    let budget = 1.0 - objective.target;
    let pair = |long: &str, short: &str, factor: f64| {
        let limit = factor * budget;
        format!(
            "({} > {limit} and {} > {limit})",
            slow_ratio(&service, objective.threshold_ms, long),
            slow_ratio(&service, objective.threshold_ms, short)
        )
    };
    let rule = |alert, severity: &str, expr: String| AlertRule {
        alert,
        expr,
        labels: [
            ("severity", severity.to_owned()),
            ("service", id.to_owned()),
        ]
        .into(),
        annotations: [(
            "summary",
            format!(
                "{id} spends its latency error budget ({} % within {} ms)",
                objective.target * 100.0,
                objective.threshold_ms
            ),
        )]
        .into(),
    };
    vec![
        rule(
            "ServiceLatencyBudgetBurn",
            "page",
            format!("{} or {}", pair("1h", "5m", 14.4), pair("6h", "30m", 6.0)),
        ),
        rule(
            "ServiceLatencyBudgetBurnSlow",
            "ticket",
            format!("{} or {}", pair("1d", "2h", 3.0), pair("3d", "6h", 1.0)),
        ),
    ]
}

/// A Prometheus rule file alerting on breaches of `entries`, one rule per service with its
/// threshold written out (for a Prometheus that has the `pharos_service_*` series, e.g. by
/// remote-write from Pharos, but not the threshold gauge).
pub fn export_rule_file(entries: &[ServiceEntry]) -> String {
    let mut rules: Vec<AlertRule> = entries
        .iter()
        .map(|entry| {
            let service = crate::latency::quote(&entry.id);
            AlertRule {
                alert: "ServiceLatencyBreach",
                expr: format!(
                    "max by (service) (last_over_time(pharos_service_latency_p95_ms{{service=\"{service}\"}}[5m])) > {}",
                    entry.threshold_ms
                ),
                labels: [
                    ("severity", "page".to_owned()),
                    ("service", entry.id.clone()),
                ]
                .into(),
                annotations: [
                    (
                        "summary",
                        format!("P95 latency of {} is over {} ms", entry.id, entry.threshold_ms),
                    ),
                    (
                        "description",
                        "The 5-minute P95 latency is {{ $value | humanize }} ms.".to_owned(),
                    ),
                ]
                .into(),
            }
        })
        .collect();
    for entry in entries {
        if let Some(objective) = &entry.objective {
            rules.extend(burn_rules(&entry.id, objective));
        }
    }
    let file = RuleFile {
        groups: vec![Group {
            name: "pharos-slo",
            interval: "30s",
            rules,
        }],
    };
    serde_saphyr::to_string(&file)
        .unwrap_or_else(|error| format!("# cannot write rules: {error}\n"))
}
