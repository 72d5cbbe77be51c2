//! Alert thresholds and states for a dashboard's charts:
//! `GET /api/v1/projects/{p}/dashboards/{d}/alerts?range=1h&var-<name>=...` finds, for every
//! Prometheus panel query, the alerting rules of its datasource that watch the same expression
//! (`<expression> > 80` on the panel's expression, compared on the PromQL tree without the
//! tenant label), with the threshold to draw and the pending/firing intervals of the window.
//!
//! The intervals come from the `ALERTS` series, queried through the same tenant enforcement as
//! the panel, so a tenant only sees its own alerts; the rule list itself is read by the server
//! and only rules matching a query the caller may run are returned.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
};
use pharos_query::{RangeQuery, now_ms, threshold_of};
use serde_json::{Value, json};

use super::{parse_params, queries};
use crate::{
    error::ApiResult,
    identity::Caller,
    proxy::{self, DatasourceRef},
    state::AppState,
};

/// One alerting rule as the rules API lists it.
struct Rule {
    name: String,
    group: String,
    expr: String,
    for_seconds: f64,
    labels: Value,
    annotations: Value,
}

fn rules_of(groups: &Value) -> Vec<Rule> {
    let mut rules = Vec::new();
    for group in groups.as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            if rule["type"] != "alerting" {
                continue;
            }
            rules.push(Rule {
                name: rule["name"].as_str().unwrap_or_default().to_owned(),
                group: group["name"].as_str().unwrap_or_default().to_owned(),
                expr: rule["query"].as_str().unwrap_or_default().to_owned(),
                for_seconds: rule["duration"].as_f64().unwrap_or(0.0),
                labels: rule["labels"].clone(),
                annotations: rule["annotations"].clone(),
            });
        }
    }
    rules
}

/// Runs of consecutive points (at most one step apart) of each `alertstate`, as
/// `{"state", "start", "end"}` in milliseconds.
fn intervals(data: &Value, step_ms: i64) -> Vec<Value> {
    let mut runs: Vec<(String, i64, i64)> = Vec::new();
    for series in data["result"].as_array().into_iter().flatten() {
        let state = series["metric"]["alertstate"]
            .as_str()
            .unwrap_or("firing")
            .to_owned();
        let mut current: Option<(i64, i64)> = None;
        for point in series["values"].as_array().into_iter().flatten() {
            // Timestamps are float seconds; milliseconds are exact in f64 for any real date.
            #[allow(clippy::cast_possible_truncation)]
            let at = (point[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
            current = match current {
                Some((start, end)) if at - end <= step_ms => Some((start, at)),
                Some(run) => {
                    runs.push((state.clone(), run.0, run.1));
                    Some((at, at))
                }
                None => Some((at, at)),
            };
        }
        if let Some((start, end)) = current {
            runs.push((state, start, end));
        }
    }
    runs.sort_by_key(|(_, start, _)| *start);
    runs.into_iter()
        .map(|(state, start, end)| json!({"state": state, "start": start, "end": end}))
        .collect()
}

fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The handler.
pub(super) async fn overlays(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, dashboard)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = parse_params(raw.as_deref(), 1)?;
    let prepared = queries::prepare(&state, &caller, &project, &dashboard, &params).await?;
    let label = state.settings.tenancy.label.clone();
    let end = now_ms();
    let start = end - prepared.range_ms;
    let mut rules_by_source: HashMap<String, Result<Vec<Rule>, String>> = HashMap::new();
    let mut overlays = Vec::new();
    let mut breach_panels = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for live in &prepared.queries {
        let (Ok(query), Some(reference)) = (&live.query, &live.datasource) else {
            continue;
        };
        // A service's P95: its breaches, once per panel.
        if let Some(service) = super::breaches::service_of(query)
            && breach_panels.insert(live.panel.clone())
            && let Some(overlay) = super::breaches::overlay(
                &state,
                &caller,
                &live.panel,
                live.index,
                &service,
                start,
                end,
            )
            .await
        {
            overlays.push(overlay);
        }
        let source = format!("{reference:?}");
        if !rules_by_source.contains_key(&source) {
            let fetched = proxy::alerting_rules_of(&state, reference.clone())
                .await
                .map(|groups| rules_of(&groups))
                .map_err(|failure| failure.message);
            rules_by_source.insert(source.clone(), fetched);
        }
        let rules = match rules_by_source.get(&source) {
            Some(Ok(rules)) => rules,
            Some(Err(message)) => {
                errors.push(json!({"panel": live.panel, "index": live.index, "error": message}));
                continue;
            }
            None => continue,
        };
        for rule in rules {
            let Some(threshold) = threshold_of(&rule.expr, &label) else {
                continue;
            };
            if !threshold.applies_to(query, &label) {
                continue;
            }
            let states =
                alert_intervals(&state, reference, &rule.name, start, end, prepared.step_ms).await;
            let (intervals, error) = match states {
                Ok(intervals) => (intervals, None),
                Err(message) => (Vec::new(), Some(message)),
            };
            let now_state = intervals
                .last()
                .filter(|last| {
                    last["end"]
                        .as_i64()
                        .is_some_and(|e| e >= end - 2 * prepared.step_ms)
                })
                .and_then(|last| last["state"].as_str())
                .unwrap_or("inactive")
                .to_owned();
            overlays.push(json!({
                "panel": live.panel,
                "index": live.index,
                "rule": rule.name,
                "group": rule.group,
                "op": threshold.op,
                "threshold": threshold.value,
                "for_seconds": rule.for_seconds,
                "state": now_state,
                "intervals": intervals,
                "labels": rule.labels,
                "annotations": rule.annotations,
                "error": error,
            }));
        }
    }
    Ok(Json(json!({
        "start": start,
        "end": end,
        "step_ms": prepared.step_ms,
        "overlays": overlays,
        "errors": errors,
    })))
}

/// The pending and firing intervals of `rule` in the window, from `ALERTS` through the
/// datasource's tenant enforcement.
async fn alert_intervals(
    state: &AppState,
    reference: &DatasourceRef,
    rule: &str,
    start: i64,
    end: i64,
    step_ms: i64,
) -> Result<Vec<Value>, String> {
    let answer = proxy::range_through(
        state,
        reference.clone(),
        RangeQuery {
            query: format!("ALERTS{{alertname=\"{}\"}}", quoted(rule)),
            start_ms: start,
            end_ms: end,
            step_ms,
            timeout: None,
        },
    )
    .await
    .map_err(|failure| failure.message)?;
    Ok(intervals(&answer.data.to_value(), step_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_points_make_one_interval_per_state() {
        let data = json!({"resultType": "matrix", "result": [
            {"metric": {"alertstate": "pending"}, "values": [[100, "1"], [115, "1"]]},
            {"metric": {"alertstate": "firing"}, "values": [[130, "1"], [145, "1"], [160, "1"], [220, "1"]]},
        ]});
        let runs = intervals(&data, 15_000);
        assert_eq!(
            runs,
            vec![
                json!({"state": "pending", "start": 100_000, "end": 115_000}),
                json!({"state": "firing", "start": 130_000, "end": 160_000}),
                json!({"state": "firing", "start": 220_000, "end": 220_000}),
            ]
        );
        assert_eq!(quoted("a\"b"), "a\\\"b");
    }
}
