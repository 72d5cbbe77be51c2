//! Tempo through a tenant-restricted project: searches and tag lookups run with the tenant
//! condition inside their TraceQL spanset filter (`q`, the tenant filter alone when absent).
//! Reading a trace by id is refused: a trace is not tied to one namespace, and its spans
//! from other namespaces would come back whole.

use pharos_enforce::{TenantPolicy, TraceqlError, enforce_traceql};

use super::super::forward::Outgoing;
use super::form::{FormRules, Param, rewrite_request};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// How a Tempo endpoint is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `q` is a TraceQL filter, the tenant filter when absent.
    Filtered,
    /// Returns no trace data.
    Passthrough,
}

fn classify(sub_path: &str) -> Result<Endpoint, String> {
    let path = sub_path.trim_end_matches('/');
    match path {
        "/api/search" | "/api/v2/search/tags" => return Ok(Endpoint::Filtered),
        "/api/echo" | "/api/status/buildinfo" => return Ok(Endpoint::Passthrough),
        _ => {}
    }
    if let Some(tag) = path
        .strip_prefix("/api/v2/search/tag/")
        .and_then(|rest| rest.strip_suffix("/values"))
        && super::is_path_name(tag)
    {
        return Ok(Endpoint::Filtered);
    }
    let reason = if path.starts_with("/api/traces/") || path.starts_with("/api/v2/traces/") {
        "it cannot be queried by trace id from a project restricted to namespaces: a trace is \
         not tied to one namespace, so its spans from other namespaces would be returned"
    } else if path == "/api/search/tags" || path.starts_with("/api/search/tag/") {
        "the v1 tag endpoints cannot be filtered; use /api/v2/search/tags and \
         /api/v2/search/tag/<tag>/values, which take a TraceQL filter"
    } else {
        "only /api/search, /api/v2/search/tags and /api/v2/search/tag/<tag>/values can be \
         restricted to this project's namespaces"
    };
    Err(reason.to_owned())
}

/// Enforces the policy on one Tempo request.
pub(super) fn enforce(
    state: &AppState,
    policy: &TenantPolicy,
    request: &mut Outgoing,
) -> ApiResult<()> {
    let endpoint = classify(&request.sub_path).map_err(|reason| {
        super::unenforceable_endpoint(format!(
            "a TempoDatasource cannot serve \"{}\": {reason}",
            request.sub_path
        ))
    })?;
    if endpoint == Endpoint::Passthrough {
        return Ok(());
    }
    let tenancy = &state.settings.tenancy;
    let attribute = tenancy.trace_attribute.as_str();
    let values = policy.values();
    let enforce_q = |value: &str| {
        metrics::counter!("pharos_proxy_enforced_queries_total").increment(1);
        enforce_traceql(attribute, values, value, tenancy.max_query_bytes).map_err(refused)
    };
    let rewrite = |key: &str, value: &str| match key {
        "q" => enforce_q(value).map(Param::Keep),
        // Tag search is ANDed across a trace's spans, not within one span, so it cannot carry
        // the tenant condition; TraceQL can.
        "tags" => Err(ApiError::bad_request(
            "the tags parameter cannot be restricted to this project's namespaces; search \
             with a TraceQL filter in q instead, e.g. q={ span.http.method = \"GET\" }",
        )),
        _ => Ok(Param::Keep(value.to_owned())),
    };
    let tenant_only =
        enforce_traceql(attribute, values, "", tenancy.max_query_bytes).map_err(refused)?;
    let rules = FormRules {
        rewrite: &rewrite,
        selector_keys: &["q"],
        default: Some(("q", tenant_only)),
        accepts_post: false,
        max_url_query_bytes: state.settings.proxy.max_url_query_bytes,
    };
    rewrite_request(request, &rules)
}

fn refused(err: TraceqlError) -> ApiError {
    match &err {
        TraceqlError::TooLong { .. } => {
            metrics::counter!("pharos_refusals_total", "reason" => "traceql_too_long").increment(1);
        }
        _ => metrics::counter!("pharos_proxy_refused_queries_total").increment(1),
    }
    ApiError::bad_request(format!("query refused by tenant enforcement: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_tempo_endpoints() {
        assert_eq!(classify("/api/search"), Ok(Endpoint::Filtered));
        assert_eq!(
            classify("/api/v2/search/tag/resource.service.name/values"),
            Ok(Endpoint::Filtered)
        );
        assert_eq!(classify("/api/echo"), Ok(Endpoint::Passthrough));
        let by_id = classify("/api/traces/0af7651916cd43dd8448eb211c80319c").unwrap_err();
        assert!(by_id.contains("not tied to one namespace"), "{by_id}");
        assert!(classify("/api/search/tags").is_err());
        assert!(classify("/api/metrics/query_range").is_err());
        assert!(classify("/api/v2/search/tag/../values").is_err());
    }
}
