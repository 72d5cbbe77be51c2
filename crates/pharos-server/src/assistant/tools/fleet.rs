//! The fleet tools: `list_alerts`, `get_gpu_nodes`, `list_clusters`, `get_cluster_status` —
//! the fleet service's own calls with the user's access (read on the global `Cluster` scope).

use std::sync::Arc;

use futures::future::BoxFuture;
use pharos_assistant::tools::{ToolError, ToolOutput, TypedTool};
use pharos_fleet::{AlertFilter, ListFilter, Targets};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ToolContext, from_fleet};
use crate::fleet::CallerAccess;

fn strings_schema(description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": description})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertArgs {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

pub(crate) struct ListAlerts(pub(crate) Arc<ToolContext>);

impl TypedTool for ListAlerts {
    type Args = AlertArgs;
    const NAME: &'static str = "list_alerts";
    const DESCRIPTION: &'static str = "Lists the fleet's alerts (from Pharos' rules, Alertmanager webhooks and polled \
        Alertmanagers), newest first, with labels, state, severity, start and end. Filter by cluster, severity, \
        state (firing or resolved) and namespace.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "cluster": {"type": "string"},
                "severity": {"type": "string", "description": "e.g. critical, warning, page"},
                "state": {"type": "string", "enum": ["firing", "resolved"]},
                "namespace": {"type": "string"}
            },
            "additionalProperties": false
        })
    }

    fn run(&self, args: AlertArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let pairs: Vec<(&str, String)> = [
                ("cluster", args.cluster),
                ("severity", args.severity),
                ("state", args.state),
                ("namespace", args.namespace),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let filter = AlertFilter::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .map_err(from_fleet)?;
            let content = self
                .0
                .state
                .fleet
                .alerts(&CallerAccess(&self.0.caller), &filter)
                .map_err(from_fleet)?;
            let count = content["alerts"].as_array().map_or(0, Vec::len);
            Ok(ToolOutput {
                summary: format!("{count} alerts"),
                content,
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GpuArgs {
    #[serde(default)]
    clusters: Option<Vec<String>>,
}

pub(crate) struct GetGpuNodes(pub(crate) Arc<ToolContext>);

impl TypedTool for GetGpuNodes {
    type Args = GpuArgs;
    const NAME: &'static str = "get_gpu_nodes";
    const DESCRIPTION: &'static str = "The GPU nodes of the fleet now (DCGM exporter): per node its cluster, GPU model \
        and count, utilisation, memory used/total, temperature, power and XID errors, with a summary by cluster and model.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {"clusters": strings_schema("only these clusters")},
            "additionalProperties": false
        })
    }

    fn run(&self, args: GpuArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let targets = match args.clusters {
                Some(names) if !names.is_empty() => Targets::Named(names),
                _ => Targets::Available,
            };
            let fleet = self
                .0
                .state
                .fleet
                .gpu_fleet(
                    &CallerAccess(&self.0.caller),
                    &targets,
                    pharos_query::now_ms(),
                )
                .await
                .map_err(from_fleet)?;
            let nodes = fleet.nodes_json();
            let count = nodes["nodes"].as_array().map_or(0, Vec::len);
            Ok(ToolOutput {
                summary: format!("{count} GPU nodes"),
                content: json!({"summary": fleet.summary_json(), "nodes": nodes}),
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterArgs {
    #[serde(default, rename = "type")]
    cluster_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

pub(crate) struct ListClusters(pub(crate) Arc<ToolContext>);

impl TypedTool for ListClusters {
    type Args = ClusterArgs;
    const NAME: &'static str = "list_clusters";
    const DESCRIPTION: &'static str = "Lists the registered clusters with type (hub, spoke, edge, far_edge), health \
        (healthy, degraded, unreachable) and its reason, region, labels and capabilities (Prometheus version, DCGM, \
        Alertmanager, kube-state-metrics).";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["hub", "spoke", "edge", "far_edge"]},
                "status": {"type": "string", "enum": ["healthy", "degraded", "unreachable", "unknown"]},
                "region": {"type": "string"}
            },
            "additionalProperties": false
        })
    }

    fn run(&self, args: ClusterArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let pairs: Vec<(&str, String)> = [
                ("type", args.cluster_type),
                ("status", args.status),
                ("region", args.region),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let filter = ListFilter::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .map_err(from_fleet)?;
            let page = self
                .0
                .state
                .fleet
                .list(&CallerAccess(&self.0.caller), &filter)
                .await
                .map_err(from_fleet)?;
            Ok(ToolOutput {
                summary: format!("{} clusters", page.total),
                content: json!({"total": page.total, "clusters": page.items}),
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {
    name: String,
}

pub(crate) struct GetClusterStatus(pub(crate) Arc<ToolContext>);

impl TypedTool for GetClusterStatus {
    type Args = StatusArgs;
    const NAME: &'static str = "get_cluster_status";
    const DESCRIPTION: &'static str = "One cluster's health now (status, reason, check latency) and its last status \
        transitions, newest first.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {"name": {"type": "string", "description": "the cluster's name"}},
            "required": ["name"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: StatusArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let report = self
                .0
                .state
                .fleet
                .status(&CallerAccess(&self.0.caller), &args.name)
                .await
                .map_err(from_fleet)?;
            let content =
                serde_json::to_value(&report).map_err(|e| ToolError::Failed(e.to_string()))?;
            let state = content
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned();
            Ok(ToolOutput {
                summary: format!("cluster {} is {state}", args.name),
                content,
            })
        })
    }
}
