//! Which Prometheus endpoints a tenant-restricted proxy serves, and the rewrite of their
//! parameters so every selector carries the tenant matcher.

use pharos_enforce::{EnforceError, Enforcer, TenantPolicy};

use crate::error::{ApiError, ApiResult};

/// How an endpoint is made tenant-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
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
pub fn classify(sub_path: &str) -> Option<Enforcement> {
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
            (!name.is_empty() && !name.contains('/')).then_some(Enforcement::Selectors)
        }
    }
}

/// The message for a refused endpoint.
pub fn refusal(sub_path: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "\"{sub_path}\" cannot be restricted to this project's namespaces; a project with \
         spec.namespaces may only use /api/v1/query, /api/v1/query_range, /api/v1/query_exemplars, \
         /api/v1/series, /api/v1/labels and /api/v1/label/<name>/values"
    ))
}

/// Rewrites form-encoded parameters (a query string or a form body) for `enforcement`.
/// `add_default_match` is true for the one parameter set that must carry a `match[]`
/// when the client sent none (the body of a POST, else the query string).
pub fn rewrite_form(
    encoded: &str,
    enforcement: Enforcement,
    enforcer: &Enforcer,
    policy: &TenantPolicy,
    add_default_match: bool,
) -> ApiResult<String> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut saw_match = false;
    for (key, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
        let rewritten = match (enforcement, key.as_ref()) {
            (Enforcement::Query, "query") => {
                metrics::counter!("pharos_proxy_enforced_queries_total").increment(1);
                enforcer
                    .enforce_query(policy, &value)
                    .map_err(refused)?
                    .to_string()
            }
            (Enforcement::Selectors, "match[]") => {
                saw_match = true;
                enforcer
                    .enforce_selector(policy, &value)
                    .map_err(refused)?
                    .to_string()
            }
            _ => value.into_owned(),
        };
        out.append_pair(&key, &rewritten);
    }
    if enforcement == Enforcement::Selectors && add_default_match && !saw_match {
        out.append_pair("match[]", &policy.selector_text());
    }
    Ok(out.finish())
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

    #[test]
    fn query_parameters_are_enforced_and_others_kept() {
        let enforcer = Enforcer::new(100);
        let out = rewrite_form(
            "query=up&time=10",
            Enforcement::Query,
            &enforcer,
            &policy(),
            true,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(out.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs[0].0, "query");
        assert!(
            pairs[0].1.contains("namespace=\"team-a\""),
            "{}",
            pairs[0].1
        );
        assert_eq!(pairs[1], ("time".to_owned(), "10".to_owned()));
    }

    #[test]
    fn selectors_get_a_default_match_when_none_was_sent() {
        let enforcer = Enforcer::new(100);
        let out = rewrite_form(
            "start=1",
            Enforcement::Selectors,
            &enforcer,
            &policy(),
            true,
        )
        .unwrap();
        assert!(
            out.contains("match%5B%5D=%7Bnamespace%3D%22team-a%22%7D"),
            "{out}"
        );
        let untouched = rewrite_form(
            "start=1",
            Enforcement::Selectors,
            &enforcer,
            &policy(),
            false,
        )
        .unwrap();
        assert_eq!(untouched, "start=1");
    }

    #[test]
    fn unparsable_queries_are_refused_with_the_reason() {
        let enforcer = Enforcer::new(100);
        let err =
            rewrite_form("query=sum(", Enforcement::Query, &enforcer, &policy(), true).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("tenant enforcement"), "{err}");
    }
}
