//! Tenant enforcement in the proxy, by datasource kind. A project with `spec.namespaces` may
//! use a datasource only through an enforcement that understands the kind's query language:
//! PromQL for Prometheus, LogQL stream selectors for Loki, spanset filters for Tempo and label
//! matchers for Alertmanager. Every other kind, and every endpoint an enforcement cannot make
//! safe, is refused with 403 and the reason.

mod alertmanager;
mod form;
mod loki;
mod prometheus;
mod tempo;

use pharos_enforce::TenantPolicy;

use super::{forward::Outgoing, target::ProxyTarget};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Kinds with an enforcement, for messages.
const ENFORCED_KINDS: &str =
    "PrometheusDatasource, LokiDatasource, TempoDatasource and AlertManagerDatasource";

/// Rewrites `request` so it can only read the data `policy` allows, or refuses it.
pub(super) fn enforce(
    state: &AppState,
    target: &ProxyTarget,
    policy: &TenantPolicy,
    request: &mut Outgoing,
) -> ApiResult<()> {
    match target.plugin_kind.as_str() {
        "PrometheusDatasource" => prometheus::enforce(state, policy, request),
        "LokiDatasource" => loki::enforce(state, policy, request),
        "TempoDatasource" => tempo::enforce(state, policy, request),
        "AlertManagerDatasource" => alertmanager::enforce(state, policy, request),
        other => {
            metrics::counter!("pharos_refusals_total", "reason" => "tenancy_unsupported_kind")
                .increment(1);
            let kind = if other.is_empty() {
                "datasource without a plugin kind".to_owned()
            } else {
                other.to_owned()
            };
            Err(ApiError::Forbidden(format!(
                "{} is a {kind}, which cannot be used from a project restricted to namespaces \
                 (spec.namespaces): Pharos can only restrict {ENFORCED_KINDS} to a tenant",
                target.label
            )))
        }
    }
}

/// A 403 for an endpoint the kind's enforcement cannot make safe; `reason` says why.
fn unenforceable_endpoint(reason: String) -> ApiError {
    metrics::counter!("pharos_refusals_total", "reason" => "tenancy_unenforceable_endpoint")
        .increment(1);
    ApiError::Forbidden(reason)
}

/// A label or tag name taken from a path segment: no separators, no `.`/`..` segments that
/// URL normalisation would turn into a different path.
fn is_path_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_exclude_dot_segments_and_separators() {
        assert!(is_path_name("job"));
        assert!(is_path_name("service.name"));
        for bad in ["", ".", "..", "a/b", "a?b", "a b", "a%2f"] {
            assert!(!is_path_name(bad), "{bad:?}");
        }
    }
}
