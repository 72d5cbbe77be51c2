//! `query_metrics`: PromQL, instant or over a window, fleet-wide, on named clusters or as a
//! project member — through [`CallerMetrics`], so exactly what the user could ask by hand.
//! Series come back summarised (min, max, mean, last) with their points, largest first.

use std::sync::Arc;

use futures::future::BoxFuture;
use pharos_assistant::tools::{ToolError, ToolOutput, TypedTool};
use pharos_query::{BackendError, InstantQuery, MetricsBackend, QueryAnswer, RangeQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ToolContext;
use super::time::{time_ms, window};
use crate::assistant::metrics::CallerMetrics;

/// `query_metrics` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryArgs {
    query: String,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<String>>,
    #[serde(default)]
    project: Option<String>,
}

pub(crate) struct QueryMetrics(pub(crate) Arc<ToolContext>);

/// A backend failure as the model reads it.
pub(crate) fn from_backend(error: BackendError) -> ToolError {
    match error {
        BackendError::Refused {
            status: 403,
            message,
            ..
        } => ToolError::Forbidden(message),
        BackendError::Refused { message, .. } => ToolError::InvalidArguments(message),
        other => ToolError::Failed(other.to_string()),
    }
}

fn number(value: &Value) -> Option<f64> {
    value
        .as_str()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// A Prometheus answer as a reader wants it: each series with its labels, min/max/mean/last
/// and points `[unix seconds, value]`, largest maximum first; the answer's warnings kept.
pub(crate) fn summarise(answer: &QueryAnswer) -> (Value, String) {
    let data = answer.data.to_value();
    let result_type = data["resultType"].as_str().unwrap_or("unknown").to_owned();
    let empty = Vec::new();
    let result = data["result"].as_array().unwrap_or(&empty);
    let mut series: Vec<(f64, Value)> = Vec::with_capacity(result.len());
    for item in result {
        let labels = item["metric"].clone();
        if let Some(values) = item["values"].as_array() {
            let points: Vec<(f64, f64)> = values
                .iter()
                .filter_map(|p| Some((p[0].as_f64()?, number(&p[1])?)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let max = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            let min = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
            let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
            let last = points.last().map_or(0.0, |p| p.1);
            series.push((
                max,
                json!({
                    "labels": labels, "min": min, "max": max, "mean": mean, "last": last,
                    "count": points.len(),
                    "points": points.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
                }),
            ));
        } else if let Some(value) = number(&item["value"][1]) {
            series.push((value, json!({"labels": labels, "value": value})));
        }
    }
    series.sort_by(|a, b| b.0.total_cmp(&a.0));
    let count = series.len();
    let summary = if count == 0 {
        "no series".to_owned()
    } else {
        format!("{count} series ({result_type})")
    };
    let mut body = json!({
        "resultType": result_type,
        "series_count": count,
        "series": series.into_iter().map(|(_, s)| s).collect::<Vec<_>>(),
    });
    if !answer.warnings.is_empty() {
        body["warnings"] = json!(answer.warnings);
    }
    if !answer.infos.is_empty() {
        body["infos"] = json!(answer.infos);
    }
    if result_type == "scalar" || result_type == "string" {
        body["value"] = data["result"].clone();
    }
    (body, summary)
}

impl TypedTool for QueryMetrics {
    type Args = QueryArgs;
    const NAME: &'static str = "query_metrics";
    const DESCRIPTION: &'static str = "Runs a PromQL query over the fleet's metrics (every series carries a `cluster` label) \
        or, with `project`, as a member of that project (its namespaces only). Give `start` (and optionally `end`, `step`) \
        for a range, or `time` (default now) for an instant. Times: now, now-1h, RFC 3339 or Unix seconds. Returns each \
        series with min/max/mean/last and points, largest first; clusters that did not answer are named in `warnings`.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "PromQL, e.g. sum by (cluster) (DCGM_FI_DEV_GPU_UTIL)"},
                "start": {"type": "string", "description": "range start: now-1h, RFC 3339 or Unix seconds"},
                "end": {"type": "string", "description": "range end (default now)"},
                "step": {"type": "string", "description": "range step, e.g. 60s (default: about 240 points)"},
                "time": {"type": "string", "description": "instant evaluation time (default now)"},
                "clusters": {"type": "array", "items": {"type": "string"}, "description": "only these clusters"},
                "project": {"type": "string", "description": "ask as a member of this project"}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: QueryArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let context = &self.0;
            let backend = CallerMetrics::new(
                context.state.clone(),
                context.caller.clone(),
                args.project,
                args.clusters,
            );
            let now = pharos_query::now_ms();
            let answer = if args.start.is_some() || args.end.is_some() || args.step.is_some() {
                if args.time.is_some() {
                    return Err(ToolError::InvalidArguments(
                        "give time for an instant query or start/end/step for a range, not both"
                            .to_owned(),
                    ));
                }
                let w = window(
                    args.start.as_deref(),
                    args.end.as_deref(),
                    args.step.as_deref(),
                    3_600_000,
                    now,
                )?;
                backend
                    .range(&RangeQuery {
                        query: args.query.clone(),
                        start_ms: w.start_ms,
                        end_ms: w.end_ms,
                        step_ms: w.step_ms,
                        timeout: None,
                    })
                    .await
            } else {
                let time_ms = match &args.time {
                    Some(text) => time_ms("time", text, now)?,
                    None => now,
                };
                backend
                    .instant(&InstantQuery {
                        query: args.query.clone(),
                        time_ms,
                        timeout: None,
                    })
                    .await
            }
            .map_err(from_backend)?;
            let (mut content, summary) = summarise(&answer);
            content["query"] = json!(args.query);
            Ok(ToolOutput { content, summary })
        })
    }
}
