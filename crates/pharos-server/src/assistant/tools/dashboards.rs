//! Dashboard tools: `list_dashboards`, `get_dashboard` (its panels and their queries) and
//! `get_panel_data` (a panel's queries run as a live viewer runs them) — the resource service
//! and the live layer with the user's caller, so a dashboard the user may not read is one
//! that does not exist.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use pharos_assistant::tools::{ToolError, ToolOutput, TypedTool};
use pharos_model::Kind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::metrics::summarise;
use super::time::duration_ms;
use super::{ToolContext, from_api};
use crate::resources::ListParams;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    #[serde(default)]
    project: Option<String>,
}

pub(crate) struct ListDashboards(pub(crate) Arc<ToolContext>);

impl TypedTool for ListDashboards {
    type Args = ListArgs;
    const NAME: &'static str = "list_dashboards";
    const DESCRIPTION: &'static str = "Lists the dashboards the user may read (all projects, or one), with project, \
        name, display name and panel count.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {"project": {"type": "string"}},
            "additionalProperties": false
        })
    }

    fn run(&self, args: ListArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let documents = self
                .0
                .state
                .resources
                .list(
                    &self.0.caller,
                    Kind::Dashboard,
                    None,
                    &ListParams {
                        project: args.project,
                        ..ListParams::default()
                    },
                )
                .await
                .map_err(from_api)?;
            let dashboards: Vec<Value> = documents
                .iter()
                .map(|d| {
                    json!({
                        "project": d.pointer("/metadata/project"),
                        "name": d.pointer("/metadata/name"),
                        "display_name": d.pointer("/spec/display/name"),
                        "panels": d.pointer("/spec/panels").and_then(Value::as_object).map_or(0, |p| p.len()),
                    })
                })
                .collect();
            Ok(ToolOutput {
                summary: format!("{} dashboards", dashboards.len()),
                content: json!({"dashboards": dashboards}),
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetArgs {
    project: String,
    name: String,
}

pub(crate) struct GetDashboard(pub(crate) Arc<ToolContext>);

/// A panel as a reader wants it: title, kind and its queries.
fn panel_outline(key: &str, panel: &Value) -> Value {
    let queries: Vec<Value> = panel
        .pointer("/spec/queries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|q| {
            json!({
                "kind": q.pointer("/spec/plugin/kind"),
                "query": q.pointer("/spec/plugin/spec/query"),
                "datasource": q.pointer("/spec/plugin/spec/datasource/name"),
            })
        })
        .collect();
    json!({
        "panel": key,
        "title": panel.pointer("/spec/display/name"),
        "description": panel.pointer("/spec/display/description"),
        "kind": panel.pointer("/spec/plugin/kind"),
        "queries": queries,
    })
}

impl TypedTool for GetDashboard {
    type Args = GetArgs;
    const NAME: &'static str = "get_dashboard";
    const DESCRIPTION: &'static str = "One dashboard: its variables and every panel with title, description, chart kind \
        and PromQL queries (with $variables). Use get_panel_data to see a panel's numbers.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {"project": {"type": "string"}, "name": {"type": "string"}},
            "required": ["project", "name"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: GetArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let document = self
                .0
                .state
                .resources
                .get(
                    &self.0.caller,
                    Kind::Dashboard,
                    Some(&args.project),
                    &args.name,
                )
                .await
                .map_err(from_api)?
                .document;
            let panels: Vec<Value> = document
                .pointer("/spec/panels")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(key, panel)| panel_outline(key, panel))
                .collect();
            let variables: Vec<Value> = document
                .pointer("/spec/variables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| json!({"name": v.pointer("/spec/name"), "kind": v["kind"]}))
                .collect();
            Ok(ToolOutput {
                summary: format!("{} panels", panels.len()),
                content: json!({
                    "project": args.project,
                    "name": args.name,
                    "display_name": document.pointer("/spec/display/name"),
                    "duration": document.pointer("/spec/duration"),
                    "variables": variables,
                    "panels": panels,
                }),
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PanelArgs {
    project: String,
    dashboard: String,
    #[serde(default)]
    panel: Option<String>,
    #[serde(default)]
    range: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, Value>,
}

pub(crate) struct GetPanelData(pub(crate) Arc<ToolContext>);

impl TypedTool for GetPanelData {
    type Args = PanelArgs;
    const NAME: &'static str = "get_panel_data";
    const DESCRIPTION: &'static str = "Runs a dashboard panel's queries over the last `range` (default 1h) as the \
        dashboard would, with `variables` ({name: value or [values]}) or the dashboard's defaults. `panel` is the \
        key get_dashboard lists; without it every panel runs. Returns each query's series summarised.";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "project": {"type": "string"},
                "dashboard": {"type": "string"},
                "panel": {"type": "string", "description": "the panel's key from get_dashboard"},
                "range": {"type": "string", "description": "e.g. 1h, 6h, 7d (default 1h)"},
                "variables": {"type": "object", "additionalProperties": {}}
            },
            "required": ["project", "dashboard"],
            "additionalProperties": false
        })
    }

    fn run(&self, args: PanelArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let range_ms = match &args.range {
                Some(text) => duration_ms("range", text)?,
                None => 3_600_000,
            };
            let mut values = BTreeMap::new();
            for (name, value) in args.variables {
                let list = match value {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect(),
                    Value::String(text) => vec![text],
                    other => vec![other.to_string()],
                };
                values.insert(name, list);
            }
            let answers = crate::live::panel_answers(
                &self.0.state,
                &self.0.caller,
                &args.project,
                &args.dashboard,
                args.panel.as_deref(),
                range_ms,
                values,
            )
            .await
            .map_err(from_api)?;
            if answers.is_empty() {
                return Err(ToolError::NotFound(format!(
                    "no Prometheus query in {}; get_dashboard lists the panels",
                    args.panel
                        .map_or_else(|| "the dashboard".to_owned(), |p| format!("panel {p}"))
                )));
            }
            let mut failed = 0;
            let results: Vec<Value> = answers
                .into_iter()
                .map(|a| {
                    let mut item =
                        json!({"panel": a.panel, "index": a.index, "query": a.query.as_ref().ok()});
                    match a.answer {
                        Ok(answer) => item["result"] = summarise(&answer).0,
                        Err(error) => {
                            failed += 1;
                            item["error"] = json!(error);
                        }
                    }
                    item
                })
                .collect();
            Ok(ToolOutput {
                summary: format!("{} queries run, {failed} failed", results.len()),
                content: json!({"queries": results}),
            })
        })
    }
}
