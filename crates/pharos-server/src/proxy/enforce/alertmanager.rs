//! Alertmanager (API v2) through a tenant-restricted project: the alert, alert-group and
//! silence listings get the tenant matcher as one more `filter` (Alertmanager ANDs them);
//! writes, single silences, receivers and `status` (which carries the configuration with
//! receiver credentials) are refused.

use pharos_enforce::{FilterError, TenantPolicy, enforce_client_filter, tenant_filter};

use super::super::forward::Outgoing;
use super::form::{FormRules, Param, rewrite_request};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Whether the endpoint can be restricted: `Ok(true)` filtered, `Ok(false)` passthrough.
fn classify(method: &axum::http::Method, sub_path: &str) -> Result<bool, &'static str> {
    let path = sub_path.trim_end_matches('/');
    if method != axum::http::Method::GET {
        return Err(
            "only reads are allowed; creating alerts or silences and expiring \
                    silences need an unrestricted project",
        );
    }
    match path {
        "/api/v2/alerts" | "/api/v2/alerts/groups" | "/api/v2/silences" => Ok(true),
        "/-/healthy" | "/-/ready" => Ok(false),
        "/api/v2/status" => Err("/api/v2/status returns Alertmanager's configuration, \
                                 including receiver credentials"),
        _ => Err(
            "only /api/v2/alerts, /api/v2/alerts/groups and /api/v2/silences can be \
                  filtered by namespace",
        ),
    }
}

/// Enforces the policy on one Alertmanager request.
pub(super) fn enforce(
    state: &AppState,
    policy: &TenantPolicy,
    request: &mut Outgoing,
) -> ApiResult<()> {
    let filtered = classify(&request.method, &request.sub_path).map_err(|reason| {
        super::unenforceable_endpoint(format!(
            "an AlertManagerDatasource cannot serve {} \"{}\" to a project restricted to \
             namespaces: {reason}",
            request.method, request.sub_path
        ))
    })?;
    if !filtered {
        return Ok(());
    }
    let max_bytes = state.settings.tenancy.max_query_bytes;
    let rewrite = |key: &str, value: &str| match key {
        "filter" => match enforce_client_filter(policy, value, max_bytes).map_err(refused)? {
            Some(kept) => Ok(Param::Keep(kept)),
            None => Ok(Param::Drop),
        },
        _ => Ok(Param::Keep(value.to_owned())),
    };
    let rules = FormRules {
        rewrite: &rewrite,
        // No selector key: the tenant filter is always added.
        selector_keys: &[],
        default: Some(("filter", tenant_filter(policy))),
        accepts_post: false,
        max_url_query_bytes: state.settings.proxy.max_url_query_bytes,
    };
    rewrite_request(request, &rules)
}

fn refused(err: FilterError) -> ApiError {
    match &err {
        FilterError::TooLong { .. } => {
            metrics::counter!("pharos_refusals_total", "reason" => "alertmanager_filter_too_long")
                .increment(1);
        }
        FilterError::Conflicting { .. } => {
            metrics::counter!("pharos_proxy_refused_queries_total").increment(1);
        }
    }
    ApiError::bad_request(format!("filter refused by tenant enforcement: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn only_filterable_reads_pass() {
        assert_eq!(classify(&Method::GET, "/api/v2/alerts"), Ok(true));
        assert_eq!(classify(&Method::GET, "/api/v2/alerts/groups/"), Ok(true));
        assert_eq!(classify(&Method::GET, "/-/ready"), Ok(false));
        assert!(classify(&Method::POST, "/api/v2/silences").is_err());
        assert!(classify(&Method::POST, "/api/v2/alerts").is_err());
        assert!(
            classify(&Method::GET, "/api/v2/status")
                .unwrap_err()
                .contains("credentials")
        );
        assert!(classify(&Method::GET, "/api/v2/receivers").is_err());
        assert!(classify(&Method::GET, "/api/v2/silence/abc").is_err());
        assert!(classify(&Method::DELETE, "/api/v2/silence/abc").is_err());
    }
}
