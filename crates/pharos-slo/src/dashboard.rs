//! The "Service latency" dashboard (Perses): a week of one service's 5-minute P95 with its
//! baselines (the threshold and the breaches are drawn on it by the server's breach overlay),
//! P50/P99, requests and errors per bucket, and the error ratio; the `service` variable lists
//! only the services it is made for (a project's services).

use serde_json::{Value, json};

/// `metadata.name` of the dashboard in a project.
pub const DASHBOARD_NAME: &str = "service-latency";

const P95: &str =
    r#"max by (service) (last_over_time(pharos_service_latency_p95_ms{service="$service"}[5m]))"#;
/// The rolling baseline as PromQL, the API's definition: at a bucket's end, the median of the
/// 2,016 bucket P95s before the bucket.
const BASELINE: &str = r#"quantile_over_time(0.5, max by (service) (last_over_time(pharos_service_latency_p95_ms{service="$service"}[5m]))[7d:5m] offset 5m)"#;
/// The same-time-of-week baseline, exactly as the API computes it.
const SAME_TIME: &str = r#"avg_over_time(max by (service) (last_over_time(pharos_service_latency_p95_ms{service="$service"}[5m]))[1h:5m] offset 6d23h30m)"#;

fn query(datasource: &str, promql: &str, legend: &str) -> Value {
    json!({
        "kind": "TimeSeriesQuery",
        "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {
            "datasource": {"kind": "PrometheusDatasource", "name": datasource},
            "query": promql,
            "seriesNameFormat": legend,
        }}}
    })
}

fn chart(title: &str, description: &str, unit: &str, queries: Vec<Value>) -> Value {
    json!({
        "kind": "Panel",
        "spec": {
            "display": {"name": title, "description": description},
            "plugin": {"kind": "TimeSeriesChart", "spec": {
                "legend": {"position": "bottom", "mode": "list"},
                "yAxis": {"format": {"unit": unit}},
                "visual": {"display": "line", "lineWidth": 1.5, "areaOpacity": 0.05},
            }},
            "queries": queries,
        }
    })
}

fn regex_of(services: &[String]) -> String {
    let escaped: Vec<String> = services
        .iter()
        .map(|s| {
            s.chars()
                .flat_map(|c| {
                    let special = ".+*?()[]{}|^$\\".contains(c);
                    special
                        .then_some('\\')
                        .into_iter()
                        .chain(std::iter::once(c))
                })
                .collect()
        })
        .collect();
    escaped.join("|").replace('\\', "\\\\")
}

/// The dashboard in `project`, over `datasource`, for `services`.
pub fn service_latency_dashboard(project: &str, datasource: &str, services: &[String]) -> Value {
    let p95_panel = chart(
        "P95 latency",
        "The 5-minute P95 from the access logs, the rolling baseline (median of the previous week) and the same time last week. The threshold (dashed) and breach buckets (red) come from the service's SLO.",
        "milliseconds",
        vec![
            query(datasource, P95, "P95"),
            query(datasource, BASELINE, "baseline (median of the week)"),
            query(datasource, SAME_TIME, "same time last week"),
        ],
    );
    let quantiles = chart(
        "P50 and P99 latency",
        "The median and the 99th percentile of each 5-minute bucket.",
        "milliseconds",
        vec![
            query(
                datasource,
                r#"max by (service) (last_over_time(pharos_service_latency_p50_ms{service="$service"}[5m]))"#,
                "P50",
            ),
            query(
                datasource,
                r#"max by (service) (last_over_time(pharos_service_latency_p99_ms{service="$service"}[5m]))"#,
                "P99",
            ),
        ],
    );
    let volume = chart(
        "Requests and errors per 5 minutes",
        "Requests logged in each bucket, and those answered with a status of 500 or more.",
        "decimal",
        vec![
            query(
                datasource,
                r#"sum by (service) (last_over_time(pharos_service_requests{service="$service"}[5m]))"#,
                "requests",
            ),
            query(
                datasource,
                r#"sum by (service) (last_over_time(pharos_service_errors{service="$service"}[5m]))"#,
                "errors",
            ),
        ],
    );
    let ratio = chart(
        "Error ratio",
        "Errors (status ≥ 500) as a share of the bucket's requests.",
        "percent-decimal",
        vec![query(
            datasource,
            r#"sum by (service) (last_over_time(pharos_service_errors{service="$service"}[5m])) / sum by (service) (last_over_time(pharos_service_requests{service="$service"}[5m]))"#,
            "error ratio",
        )],
    );
    let item = |x: u32, y: u32, w: u32, key: &str| json!({"x": x, "y": y, "width": w, "height": 8, "content": {"$ref": format!("#/spec/panels/{key}")}});
    json!({
        "kind": "Dashboard",
        "metadata": {"name": DASHBOARD_NAME, "project": project},
        "spec": {
            "display": {
                "name": "Service latency",
                "description": "Latency SLO of one service, from its access logs: P95 per 5 minutes against its baseline and threshold, with breaches marked.",
            },
            "duration": "7d",
            "refreshInterval": "1m",
            "variables": [{
                "kind": "ListVariable",
                "spec": {
                    "name": "service",
                    "display": {"name": "Service"},
                    "allowAllValue": false,
                    "allowMultiple": false,
                    "sort": "alphabetical-asc",
                    "plugin": {"kind": "PrometheusLabelValuesVariable", "spec": {
                        "datasource": {"kind": "PrometheusDatasource", "name": datasource},
                        "labelName": "service",
                        "matchers": [format!("pharos_service_requests{{service=~\"{}\"}}", regex_of(services))],
                    }},
                }
            }],
            "panels": {"p95": p95_panel, "quantiles": quantiles, "volume": volume, "errorRatio": ratio},
            "layouts": [{"kind": "Grid", "spec": {
                "display": {"title": "Latency", "collapse": {"open": true}},
                "items": [item(0, 0, 24, "p95"), item(0, 8, 12, "quantiles"), item(12, 8, 12, "volume"), item(0, 16, 12, "errorRatio")],
            }}],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_lists_exactly_the_given_services() {
        let d = service_latency_dashboard("shop", "local", &["a.b".into(), "c-d".into()]);
        let matcher = d
            .pointer("/spec/variables/0/spec/plugin/spec/matchers/0")
            .unwrap();
        // In PromQL text the regex a\.b|c-d has its backslash escaped once more.
        assert_eq!(matcher, r#"pharos_service_requests{service=~"a\\.b|c-d"}"#);
        assert_eq!(d["metadata"]["project"], "shop");
        assert_eq!(d["spec"]["duration"], "7d");
    }
}
