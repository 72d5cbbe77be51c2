//! The assistant's tools over the service layer, built for one asking user: the same registry
//! serves the chat and MCP. Each tool calls the service a human's request would call, with
//! that user's [`Caller`], so permissions and tenant enforcement are checked where they always
//! are — a prompt cannot widen them. Results are shaped for reading (series summarised with
//! min/max/mean/last, sorted so the budget keeps the top ones) before the registry budgets them.

mod analysis;
mod dashboards;
mod fleet;
mod metrics;
mod services;
pub(crate) mod time;

use std::sync::Arc;

use pharos_assistant::budget::Budget;
use pharos_assistant::llm::ToolSpec;
use pharos_assistant::tools::{ToolError, ToolRegistry, spec_of, typed};
use pharos_fleet::FleetError;

use crate::{error::ApiError, identity::Caller, state::AppState};

/// What every tool of one registry shares.
#[derive(Clone)]
pub(crate) struct ToolContext {
    pub(crate) state: AppState,
    pub(crate) caller: Caller,
}

/// The tools `caller` may call, results cut to `budget`.
pub(crate) fn registry(state: &AppState, caller: &Caller, budget: Budget) -> ToolRegistry {
    let context = Arc::new(ToolContext {
        state: state.clone(),
        caller: caller.clone(),
    });
    let mut registry = ToolRegistry::new(budget);
    registry.register(typed(metrics::QueryMetrics(Arc::clone(&context))));
    registry.register(typed(fleet::ListAlerts(Arc::clone(&context))));
    registry.register(typed(fleet::GetGpuNodes(Arc::clone(&context))));
    registry.register(typed(fleet::ListClusters(Arc::clone(&context))));
    registry.register(typed(fleet::GetClusterStatus(Arc::clone(&context))));
    registry.register(typed(dashboards::ListDashboards(Arc::clone(&context))));
    registry.register(typed(dashboards::GetDashboard(Arc::clone(&context))));
    registry.register(typed(dashboards::GetPanelData(Arc::clone(&context))));
    registry.register(typed(analysis::DetectAnomalies(Arc::clone(&context))));
    registry.register(typed(analysis::ExplainIncident(Arc::clone(&context))));
    registry.register(typed(services::ServiceLatency(context)));
    registry
}

/// Every tool's name, description and argument schema, without a user (offline evaluation
/// runs the same tools' descriptions against recorded outputs).
pub fn specs() -> Vec<ToolSpec> {
    vec![
        spec_of::<metrics::QueryMetrics>(),
        spec_of::<fleet::ListAlerts>(),
        spec_of::<fleet::GetGpuNodes>(),
        spec_of::<fleet::ListClusters>(),
        spec_of::<fleet::GetClusterStatus>(),
        spec_of::<dashboards::ListDashboards>(),
        spec_of::<dashboards::GetDashboard>(),
        spec_of::<dashboards::GetPanelData>(),
        spec_of::<analysis::DetectAnomalies>(),
        spec_of::<analysis::ExplainIncident>(),
        spec_of::<services::ServiceLatency>(),
    ]
}

/// A service-layer refusal as the model reads it.
pub(crate) fn from_api(error: ApiError) -> ToolError {
    match error {
        ApiError::BadRequest(message) => ToolError::InvalidArguments(message),
        ApiError::Forbidden(message) | ApiError::Unauthorized(message) => {
            ToolError::Forbidden(message)
        }
        ApiError::NotFound => {
            ToolError::NotFound("no such resource (or not visible to you)".into())
        }
        ApiError::Missing(message) => ToolError::NotFound(message),
        other => ToolError::Failed(other.to_string()),
    }
}

/// A fleet refusal as the model reads it.
pub(crate) fn from_fleet(error: FleetError) -> ToolError {
    match error {
        FleetError::Invalid(message) => ToolError::InvalidArguments(message),
        FleetError::Forbidden(message) => ToolError::Forbidden(message),
        FleetError::NotFound(_) => ToolError::NotFound(error.to_string()),
        other => ToolError::Failed(other.to_string()),
    }
}
