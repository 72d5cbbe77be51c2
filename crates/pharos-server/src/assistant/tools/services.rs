//! `service_latency`: a service's latency SLO (P95 against its threshold and baselines,
//! breaches, burn rates, data quality) from the SLO service, as the user's own services page
//! shows it — a service the user may not read is one that does not exist.

use std::sync::Arc;

use futures::future::BoxFuture;
use pharos_assistant::tools::{ToolError, ToolOutput, TypedTool};
use pharos_slo::{LatencyRange, SloError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ToolContext;
use crate::services::CallerViewer;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LatencyArgs {
    service: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

pub(crate) struct ServiceLatency(pub(crate) Arc<ToolContext>);

fn from_slo(error: SloError) -> ToolError {
    match error {
        SloError::NotFound(_) => ToolError::NotFound(error.to_string()),
        SloError::Forbidden(message) => ToolError::Forbidden(message),
        SloError::Invalid(_) | SloError::ThresholdOutOfRange { .. } => {
            ToolError::InvalidArguments(error.to_string())
        }
        other => ToolError::Failed(other.to_string()),
    }
}

impl TypedTool for ServiceLatency {
    type Args = LatencyArgs;
    const NAME: &'static str = "service_latency";
    const DESCRIPTION: &'static str = "A service's latency SLO from its access logs: threshold, objective, P95 of the \
        newest 5-minute bucket against the rolling and same-time-last-week baselines, breaches in the last 24 h, burn \
        rates, and the buckets of a window (`from`/`to`: now-6h, RFC 3339; default the last 6 hours) with P50/P95/P99, \
        requests, errors and breach flags.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "service": {"type": "string", "description": "the service id (its `service` label)"},
                "from": {"type": "string", "description": "window start, e.g. now-6h"},
                "to": {"type": "string", "description": "window end (default now)"}
            },
            "required": ["service"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: LatencyArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let viewer = CallerViewer(&self.0.caller);
            let now = pharos_query::now_ms();
            let slo = &self.0.state.slo;
            let view = slo
                .get(&viewer, &args.service, now)
                .await
                .map_err(from_slo)?;
            let from = args.from.unwrap_or_else(|| "now-6h".to_owned());
            let range = LatencyRange::parse(Some(&from), args.to.as_deref(), None, now)
                .map_err(from_slo)?;
            let latency = slo
                .latency(&viewer, &args.service, range)
                .await
                .map_err(from_slo)?;
            let breaches = latency.buckets.iter().filter(|b| b.breach).count();
            // Newest buckets first: the budget keeps the recent ones.
            let mut buckets = serde_json::to_value(&latency.buckets)
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            if let Value::Array(items) = &mut buckets {
                items.reverse();
            }
            Ok(ToolOutput {
                summary: format!(
                    "{}: threshold {} ms, {} buckets, {breaches} breaching",
                    args.service,
                    latency.threshold_ms,
                    latency.buckets.len()
                ),
                content: json!({
                    "service": view,
                    "window": {"from": latency.from, "to": latency.to, "step_seconds": latency.step_seconds},
                    "baseline": latency.baseline,
                    "buckets_newest_first": buckets,
                    "quality": latency.quality,
                }),
            })
        })
    }
}
