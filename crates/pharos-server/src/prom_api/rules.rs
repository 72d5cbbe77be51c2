//! `GET /api/v1/rules` and `GET /api/v1/alerts` of the embedded store (Prometheus format),
//! thin over `pharos_rules::RuleManager`; and the same two answers for a tenant going through
//! the `local` datasource proxy, narrowed to alerts and rules carrying its namespaces.

use axum::{extract::State, response::Response};
use pharos_enforce::TenantPolicy;
use pharos_rules::{LabelMap, RuleManager, RuleTypeFilter, Visible};
use serde_json::{Value, json};

use super::params::PromParams;
use super::response::{PromError, success};
use crate::state::AppState;

/// Paths answered from the rule manager.
const RULES: &str = "/api/v1/rules";
const ALERTS: &str = "/api/v1/alerts";

/// `GET /api/v1/rules[?type=alert|record]`.
pub async fn rules(
    State(state): State<AppState>,
    params: PromParams,
) -> Result<Response, PromError> {
    let filter = type_filter(params.get("type"))?;
    Ok(success(
        rules_value(state.rules.as_deref(), filter, None),
        &[],
    ))
}

/// `GET /api/v1/alerts`: pending and firing alerts.
pub async fn alerts(State(state): State<AppState>) -> Response {
    success(alerts_value(state.rules.as_deref(), None), &[])
}

fn type_filter(value: Option<&str>) -> Result<RuleTypeFilter, PromError> {
    RuleTypeFilter::parse(value).map_err(PromError::bad_data)
}

fn rules_value(
    manager: Option<&RuleManager>,
    filter: RuleTypeFilter,
    visible: Visible<'_>,
) -> Value {
    manager.map_or_else(
        || json!({"groups": []}),
        |m| serde_json::to_value(m.rules_data(filter, visible)).unwrap_or_default(),
    )
}

fn alerts_value(manager: Option<&RuleManager>, visible: Visible<'_>) -> Value {
    manager.map_or_else(
        || json!({"alerts": []}),
        |m| serde_json::to_value(m.alerts_data(visible)).unwrap_or_default(),
    )
}

/// Whether the proxy should answer `sub_path` of the embedded store from the rule manager.
pub(crate) fn is_rules_path(sub_path: &str) -> bool {
    matches!(sub_path.trim_end_matches('/'), RULES | ALERTS)
}

/// The answer to `sub_path` (see [`is_rules_path`]) for a caller restricted by `policy`: only
/// alerts whose tenant label is one of its values, and rules with such an alert or such a
/// label of their own. A series without the label belongs to no tenant and is not shown.
pub(crate) fn tenant_answer(
    state: &AppState,
    policy: Option<&TenantPolicy>,
    sub_path: &str,
    query: Option<&str>,
) -> Response {
    let visible = |labels: &LabelMap| {
        policy.is_none_or(|policy| {
            labels
                .get(policy.label())
                .is_some_and(|value| policy.values().iter().any(|v| v == value))
        })
    };
    let visible: Visible<'_> = Some(&visible);
    let manager = state.rules.as_deref();
    if sub_path.trim_end_matches('/') == ALERTS {
        return success(alerts_value(manager, visible), &[]);
    }
    let kind = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(key, _)| key == "type")
            .map(|(_, value)| value.into_owned())
    });
    match type_filter(kind.as_deref()) {
        Ok(filter) => success(rules_value(manager, filter, visible), &[]),
        Err(error) => axum::response::IntoResponse::into_response(error),
    }
}
