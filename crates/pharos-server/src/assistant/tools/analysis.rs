//! `detect_anomalies` and `explain_incident`: the deterministic analysis of
//! `/api/v1/analysis/anomaly` and `/api/v1/analysis/rca` with the user's permissions.

use std::sync::Arc;

use futures::future::BoxFuture;
use pharos_assistant::tools::{ToolError, ToolOutput, TypedTool};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ToolContext, from_api};
use crate::assistant::analysis;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnomalyArgs {
    query: String,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    project: Option<String>,
}

pub(crate) struct DetectAnomalies(pub(crate) Arc<ToolContext>);

impl TypedTool for DetectAnomalies {
    type Args = AnomalyArgs;
    const NAME: &'static str = "detect_anomalies";
    const DESCRIPTION: &'static str = "Finds anomalies in a PromQL query's series over a window (default the last 6 \
        hours) without any model: robust z-score against the same time on earlier days, level shifts, values stuck \
        where they normally move, and abrupt changes of slope. Returns each anomaly with labels, start, end, score, \
        method and a one-line summary, strongest first.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "start": {"type": "string", "description": "default now-6h"},
                "end": {"type": "string", "description": "default now"},
                "step": {"type": "string", "description": "default 60s"},
                "project": {"type": "string", "description": "ask as a member of this project"}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: AnomalyArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let body = json!({
                "query": args.query, "start": args.start, "end": args.end,
                "step": args.step, "project": args.project,
            });
            let content = analysis::detect(&self.0.state, &self.0.caller, body)
                .await
                .map_err(from_api)?;
            let count = content["anomalies"].as_array().map_or(0, Vec::len);
            Ok(ToolOutput {
                summary: format!("{count} anomalies"),
                content,
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentArgs {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    project: Option<String>,
}

pub(crate) struct ExplainIncident(pub(crate) Arc<ToolContext>);

impl TypedTool for ExplainIncident {
    type Args = IncidentArgs;
    const NAME: &'static str = "explain_incident";
    const DESCRIPTION: &'static str = "Root-cause analysis over a window (default the last hour): finds anomalies in \
        the watch list's signals (model latency and errors, GPU utilisation, temperature and power, training \
        throughput, pipeline lag), correlates them with alerts in time and along known dependencies (GPU → workload \
        → latency; pipeline → training), and ranks suspects with the evidence (queries and values) for each.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "start": {"type": "string", "description": "default now-1h"},
                "end": {"type": "string", "description": "default now"},
                "project": {"type": "string", "description": "ask as a member of this project"}
            },
            "additionalProperties": false
        })
    }

    fn run(&self, args: IncidentArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let body = json!({"start": args.start, "end": args.end, "project": args.project});
            let content = analysis::explain(&self.0.state, &self.0.caller, body)
                .await
                .map_err(from_api)?;
            let count = content["suspects"].as_array().map_or(0, Vec::len);
            Ok(ToolOutput {
                summary: format!("{count} suspects"),
                content,
            })
        })
    }
}
