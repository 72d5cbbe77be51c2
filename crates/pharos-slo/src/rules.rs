//! Alerting on breaches. Pharos evaluates one built-in rule over every service: the newest
//! bucket's P95 against the service's threshold, which [`crate::SloService::threshold_samples`]
//! writes into the store as [`THRESHOLD_METRIC`] (so a threshold change applies at the next
//! evaluation without reloading rules). Teams running their own Prometheus get the same alert
//! with literal thresholds from [`export_rule_file`].

use serde::Serialize;

use crate::model::ServiceEntry;

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

/// A Prometheus rule file alerting on breaches of `entries`, one rule per service with its
/// threshold written out (for a Prometheus that has the `pharos_service_*` series, e.g. by
/// remote-write from Pharos, but not the threshold gauge).
pub fn export_rule_file(entries: &[ServiceEntry]) -> String {
    let rules = entries
        .iter()
        .map(|entry| {
            let service = entry.id.replace('\\', "\\\\").replace('"', "\\\"");
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
