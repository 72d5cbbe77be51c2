//! Loki through a tenant-restricted project: every LogQL `query`, `match[]` and `match`
//! parameter gets the tenant matcher in each stream selector; endpoints that take a selector
//! but got none get the tenant selector; everything else is refused.

use pharos_enforce::{LogqlError, TenantPolicy, enforce_logql};

use super::super::forward::Outgoing;
use super::form::{FormRules, Param, rewrite_request};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// How a Loki endpoint is made tenant-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `query` is a LogQL query and required (`query`, `query_range`).
    Query,
    /// `query` is an optional selector or log query; the tenant selector when absent.
    OptionalSelector {
        /// Whether Loki also serves it as a form POST.
        accepts_post: bool,
    },
    /// `match[]` selectors (`series`); the tenant selector when absent.
    Series,
    /// Returns no log data.
    Passthrough,
}

fn classify(sub_path: &str) -> Option<Endpoint> {
    let path = sub_path
        .trim_end_matches('/')
        .strip_prefix("/loki/api/v1")?;
    let endpoint = match path {
        "/query" | "/query_range" => Endpoint::Query,
        "/series" => Endpoint::Series,
        "/labels"
        | "/index/stats"
        | "/index/volume"
        | "/index/volume_range"
        | "/patterns"
        | "/detected_labels"
        | "/detected_fields" => Endpoint::OptionalSelector {
            accepts_post: false,
        },
        "/status/buildinfo" | "/format_query" => Endpoint::Passthrough,
        _ => {
            let name = path
                .strip_prefix("/label/")
                .or_else(|| path.strip_prefix("/detected_field/"))?
                .strip_suffix("/values")?;
            if !super::is_path_name(name) {
                return None;
            }
            Endpoint::OptionalSelector {
                accepts_post: false,
            }
        }
    };
    Some(endpoint)
}

fn refusal(sub_path: &str) -> ApiError {
    super::unenforceable_endpoint(format!(
        "a LokiDatasource cannot serve \"{sub_path}\" to a project restricted to namespaces: only \
         /loki/api/v1/query, query_range, series, labels, label/<name>/values, index/stats, \
         index/volume, index/volume_range, patterns, detected_labels, detected_fields and \
         detected_field/<name>/values are restricted to a tenant (no tail, push, delete, rules \
         or config)"
    ))
}

/// Enforces the policy on one Loki request.
pub(super) fn enforce(
    state: &AppState,
    policy: &TenantPolicy,
    request: &mut Outgoing,
) -> ApiResult<()> {
    let endpoint = classify(&request.sub_path).ok_or_else(|| refusal(&request.sub_path))?;
    let tenant_selector = policy.selector_text();
    let max_bytes = state.settings.tenancy.max_query_bytes;
    let enforce_value = |value: &str| -> ApiResult<Param> {
        metrics::counter!("pharos_proxy_enforced_queries_total").increment(1);
        enforce_logql(policy, value, max_bytes)
            .map(Param::Keep)
            .map_err(refused)
    };
    let (selector_keys, default, accepts_post): (&[&str], _, _) = match endpoint {
        Endpoint::Passthrough => return Ok(()),
        Endpoint::Query => (&["query"], None, true),
        Endpoint::OptionalSelector { accepts_post } => {
            (&["query"], Some(("query", tenant_selector)), accepts_post)
        }
        Endpoint::Series => (
            &["match[]", "match"],
            Some(("match[]", tenant_selector)),
            true,
        ),
    };
    let rewrite = |key: &str, value: &str| {
        if selector_keys.contains(&key) {
            enforce_value(value)
        } else {
            Ok(Param::Keep(value.to_owned()))
        }
    };
    let rules = FormRules {
        rewrite: &rewrite,
        selector_keys,
        default,
        accepts_post,
        max_url_query_bytes: state.settings.proxy.max_url_query_bytes,
    };
    rewrite_request(request, &rules)
}

fn refused(err: LogqlError) -> ApiError {
    match &err {
        LogqlError::TooLong { .. } => {
            metrics::counter!("pharos_refusals_total", "reason" => "logql_too_long").increment(1);
        }
        _ => metrics::counter!("pharos_proxy_refused_queries_total").increment(1),
    }
    ApiError::bad_request(format!("query refused by tenant enforcement: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_loki_endpoints() {
        assert_eq!(classify("/loki/api/v1/query_range"), Some(Endpoint::Query));
        assert_eq!(classify("/loki/api/v1/series/"), Some(Endpoint::Series));
        assert_eq!(
            classify("/loki/api/v1/label/app/values"),
            Some(Endpoint::OptionalSelector {
                accepts_post: false
            })
        );
        assert_eq!(
            classify("/loki/api/v1/format_query"),
            Some(Endpoint::Passthrough)
        );
        for refused in [
            "/loki/api/v1/tail",
            "/loki/api/v1/push",
            "/loki/api/v1/delete",
            "/loki/api/v1/label/../values",
            "/api/v1/query",
            "/config",
            "/loki/api/v1/rules",
        ] {
            assert_eq!(classify(refused), None, "{refused}");
        }
    }
}
