//! Which Prometheus endpoints a tenant-restricted proxy serves, and the rewrite of their
//! parameters so every selector carries the tenant matcher.

use pharos_enforce::{EnforceError, Enforcer, TenantPolicy};

use super::super::forward::Outgoing;
use super::form::{FormRules, Param, rewrite_request};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// How an endpoint is made tenant-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Enforcement {
    /// `query` parameters are PromQL (`query`, `query_range`, `query_exemplars`).
    Query,
    /// `match[]` parameters are series selectors (`series`, `labels`, `label/<n>/values`);
    /// one is added when the client sent none.
    Selectors,
    /// The endpoint returns no series data (`parse_query`, `status/buildinfo`).
    Passthrough,
}

/// Classifies a Prometheus API sub-path; `None` means the endpoint cannot be enforced
/// and must be refused.
pub(super) fn classify(sub_path: &str) -> Option<Enforcement> {
    let path = sub_path.trim_end_matches('/');
    match path {
        "/api/v1/query" | "/api/v1/query_range" | "/api/v1/query_exemplars" => {
            Some(Enforcement::Query)
        }
        "/api/v1/series" | "/api/v1/labels" => Some(Enforcement::Selectors),
        "/api/v1/parse_query" | "/api/v1/status/buildinfo" => Some(Enforcement::Passthrough),
        _ => {
            let name = path
                .strip_prefix("/api/v1/label/")?
                .strip_suffix("/values")?;
            super::is_path_name(name).then_some(Enforcement::Selectors)
        }
    }
}

/// The message for a refused endpoint.
fn refusal(sub_path: &str) -> ApiError {
    super::unenforceable_endpoint(format!(
        "\"{sub_path}\" cannot be restricted to this project's namespaces; a project with \
         spec.namespaces may only use /api/v1/query, /api/v1/query_range, /api/v1/query_exemplars, \
         /api/v1/series, /api/v1/labels and /api/v1/label/<name>/values"
    ))
}

/// Makes a Prometheus API request tenant-safe: `query` is enforced PromQL, `match[]` (and the
/// `match` spelling some Prometheus-compatible servers also read) are enforced selectors.
pub(super) fn enforce(
    state: &AppState,
    policy: &TenantPolicy,
    request: &mut Outgoing,
) -> ApiResult<()> {
    let enforcement = classify(&request.sub_path).ok_or_else(|| refusal(&request.sub_path))?;
    if enforcement == Enforcement::Passthrough {
        return Ok(());
    }
    let enforcer = &state.enforcer;
    let rewrite = |key: &str, value: &str| rewrite_value(enforcement, enforcer, policy, key, value);
    let rules = FormRules {
        rewrite: &rewrite,
        selector_keys: &["match[]", "match"],
        default: (enforcement == Enforcement::Selectors)
            .then(|| ("match[]", policy.selector_text())),
        // Every Prometheus endpoint here but label values also answers a form POST.
        accepts_post: !request.sub_path.starts_with("/api/v1/label/"),
        max_url_query_bytes: state.settings.proxy.max_url_query_bytes,
    };
    rewrite_request(request, &rules)
}

/// Rewrites one parameter for `enforcement`; parameters that select nothing pass unchanged.
fn rewrite_value(
    enforcement: Enforcement,
    enforcer: &Enforcer,
    policy: &TenantPolicy,
    key: &str,
    value: &str,
) -> ApiResult<Param> {
    let rewritten = match (enforcement, key) {
        (Enforcement::Query, "query") => {
            metrics::counter!("pharos_proxy_enforced_queries_total").increment(1);
            enforcer
                .enforce_query(policy, value)
                .map_err(refused)?
                .to_string()
        }
        (Enforcement::Selectors, "match[]" | "match") => enforcer
            .enforce_selector(policy, value)
            .map_err(refused)?
            .to_string(),
        _ => value.to_owned(),
    };
    Ok(Param::Keep(rewritten))
}

fn refused(err: EnforceError) -> ApiError {
    metrics::counter!("pharos_proxy_refused_queries_total").increment(1);
    ApiError::bad_request(format!("query refused by tenant enforcement: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_enforce::ConflictMode;

    fn policy() -> TenantPolicy {
        TenantPolicy::new(
            "namespace",
            vec!["team-a".to_owned()],
            ConflictMode::Replace,
        )
        .unwrap()
    }

    #[test]
    fn classifies_prometheus_endpoints() {
        assert_eq!(classify("/api/v1/query"), Some(Enforcement::Query));
        assert_eq!(classify("/api/v1/query_range/"), Some(Enforcement::Query));
        assert_eq!(
            classify("/api/v1/label/job/values"),
            Some(Enforcement::Selectors)
        );
        assert_eq!(classify("/api/v1/labels"), Some(Enforcement::Selectors));
        assert_eq!(
            classify("/api/v1/parse_query"),
            Some(Enforcement::Passthrough)
        );
        assert_eq!(classify("/api/v1/label//values"), None);
        assert_eq!(classify("/api/v1/status/config"), None);
        assert_eq!(classify("/federate"), None);
        assert_eq!(classify("/api/v1/admin/tsdb/delete_series"), None);
    }

    fn keep(param: Param) -> String {
        match param {
            Param::Keep(value) => value,
            Param::Drop => panic!("dropped"),
        }
    }

    #[test]
    fn query_and_match_parameters_are_enforced_and_others_kept() {
        let enforcer = Enforcer::new(100);
        let p = policy();
        let query = keep(rewrite_value(Enforcement::Query, &enforcer, &p, "query", "up").unwrap());
        assert_eq!(query, r#"up{namespace="team-a"}"#);
        let time = keep(rewrite_value(Enforcement::Query, &enforcer, &p, "time", "10").unwrap());
        assert_eq!(time, "10");
        for key in ["match[]", "match"] {
            let selector = keep(
                rewrite_value(Enforcement::Selectors, &enforcer, &p, key, "{job=\"x\"}").unwrap(),
            );
            assert_eq!(selector, r#"{job="x",namespace="team-a"}"#, "{key}");
        }
    }

    #[test]
    fn label_names_in_paths_must_be_names() {
        assert_eq!(classify("/api/v1/label/../values"), None);
        assert_eq!(classify("/api/v1/label/a b/values"), None);
    }

    #[test]
    fn unparsable_queries_are_refused_with_the_reason() {
        let enforcer = Enforcer::new(100);
        let err = rewrite_value(Enforcement::Query, &enforcer, &policy(), "query", "sum(")
            .err()
            .unwrap();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("tenant enforcement"), "{err}");
    }
}
