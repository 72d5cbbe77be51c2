//! What the datasource proxy needs from a datasource spec: the HTTP proxy settings
//! (target URL, allowed endpoints, extra headers, secret) and the secret's credentials.

mod headers;
mod secret;

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;
use url::Url;

use crate::check::{Checker, Fields, Need, child, element};
use crate::errors::ValidationErrors;
use crate::name::validate_name;
use crate::spec::common::objects_in;

pub use secret::{BasicAuth, OAuth, SecretAuthorization, SecretSpec, TlsConfig};

/// HTTP methods an allowed endpoint may name.
pub const ALLOWED_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A validated `HTTPProxy` spec.
#[derive(Debug, Clone)]
pub struct HttpProxySpec {
    /// Where requests are forwarded (absolute http or https URL).
    pub url: Url,
    /// Endpoints that may be called; empty means no restriction.
    pub allowed_endpoints: Vec<AllowedEndpoint>,
    /// Extra headers to send upstream.
    pub headers: BTreeMap<String, String>,
    /// Name of the Secret holding credentials, if any.
    pub secret: Option<String>,
}

impl HttpProxySpec {
    /// True when a request may go through: no restriction configured, or one endpoint allows it.
    pub fn allows(&self, method: &str, sub_path: &str) -> bool {
        self.allowed_endpoints.is_empty()
            || self
                .allowed_endpoints
                .iter()
                .any(|endpoint| endpoint.allows(method, sub_path))
    }
}

/// One `allowedEndpoints` entry.
#[derive(Debug, Clone)]
pub struct AllowedEndpoint {
    /// The compiled `endpointPattern`.
    pub pattern: Regex,
    /// The HTTP method, upper case.
    pub method: String,
}

impl AllowedEndpoint {
    /// True when `method` is this endpoint's method and the pattern occurs in `sub_path`
    /// (unanchored, as the pattern is written by the datasource author).
    pub fn allows(&self, method: &str, sub_path: &str) -> bool {
        self.method == method && self.pattern.is_match(sub_path)
    }
}

/// Searches a datasource spec for an `{"kind": "HTTPProxy", "spec": {...}}` object at any
/// depth and validates it. `None` when there is no HTTP proxy (e.g. `directUrl` mode).
///
/// Error paths are relative to `datasource_spec`, e.g. `plugin.spec.proxy.spec.url`.
pub fn find_http_proxy(datasource_spec: &Value) -> Option<Result<HttpProxySpec, ValidationErrors>> {
    let (path, proxy_spec) = locate_http_proxy(datasource_spec, "")?;
    let mut checker = Checker::new();
    let parsed = checker
        .object(&path, proxy_spec)
        .and_then(|fields| check_http_proxy_spec(&mut checker, &fields));
    Some(match parsed {
        Some(spec) if !checker.has_errors() => Ok(spec),
        _ => Err(checker.into_errors()),
    })
}

/// The `plugin.kind` of a datasource spec, e.g. `"PrometheusDatasource"`.
pub fn datasource_plugin_kind(spec: &Value) -> Option<&str> {
    spec.get("plugin")?.get("kind")?.as_str()
}

/// True when the datasource spec says `"default": true`.
pub fn datasource_is_default(spec: &Value) -> bool {
    spec.get("default")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Path of the `spec` of the first HTTPProxy object, depth first in document order.
fn locate_http_proxy<'v>(value: &'v Value, path: &str) -> Option<(String, &'v Value)> {
    match value {
        Value::Object(map) => {
            if map.get("kind").and_then(Value::as_str) == Some("HTTPProxy")
                && let Some(spec) = map.get("spec")
            {
                return Some((child(path, "spec"), spec));
            }
            map.iter()
                .find_map(|(key, nested)| locate_http_proxy(nested, &child(path, key)))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, nested)| locate_http_proxy(nested, &element(path, index))),
        _ => None,
    }
}

/// Validates every HTTPProxy object in a datasource spec other than `plugin.spec.proxy` (which
/// the datasource checker validates itself), because the proxy uses the first one it finds
/// anywhere ([`find_http_proxy`]).
pub(crate) fn check_other_http_proxies(checker: &mut Checker, datasource: &Fields<'_>) {
    let checked = child(&child(&child(&datasource.path, "plugin"), "spec"), "proxy");
    for (key, value) in datasource.map {
        check_http_proxies_in(checker, value, &datasource.path_of(key), &checked);
    }
}

fn check_http_proxies_in(checker: &mut Checker, value: &Value, path: &str, skip: &str) {
    match value {
        Value::Object(map) => {
            if path != skip && map.get("kind").and_then(Value::as_str) == Some("HTTPProxy") {
                let spec_path = child(path, "spec");
                match map.get("spec") {
                    Some(spec) => {
                        if let Some(fields) = checker.object(&spec_path, spec) {
                            check_http_proxy_spec(checker, &fields);
                        }
                    }
                    None => checker.report(spec_path, "is required"),
                }
                return;
            }
            for (key, nested) in map {
                check_http_proxies_in(checker, nested, &child(path, key), skip);
            }
        }
        Value::Array(items) => {
            for (index, nested) in items.iter().enumerate() {
                check_http_proxies_in(checker, nested, &element(path, index), skip);
            }
        }
        _ => {}
    }
}

/// Validates the `spec` of an HTTPProxy object and builds the typed form.
pub(crate) fn check_http_proxy_spec(
    checker: &mut Checker,
    proxy_spec: &Fields<'_>,
) -> Option<HttpProxySpec> {
    proxy_spec.reject_unknown(checker, &["url", "allowedEndpoints", "headers", "secret"]);
    let url = proxy_spec
        .string(checker, "url", Need::Required)
        .and_then(|text| check_http_url(checker, &proxy_spec.path_of("url"), text));
    let mut allowed_endpoints = Vec::new();
    for endpoint in objects_in(checker, proxy_spec, "allowedEndpoints", Need::Optional) {
        let pattern = endpoint
            .string(checker, "endpointPattern", Need::Required)
            .and_then(|text| match Regex::new(text) {
                Ok(pattern) => Some(pattern),
                Err(error) => {
                    checker.report(
                        endpoint.path_of("endpointPattern"),
                        format!("{text:?} is not a valid regular expression: {error}"),
                    );
                    None
                }
            });
        let method = endpoint.one_of(checker, "method", ALLOWED_METHODS, Need::Required);
        if let (Some(pattern), Some(method)) = (pattern, method) {
            allowed_endpoints.push(AllowedEndpoint {
                pattern,
                method: method.to_string(),
            });
        }
    }
    let headers = headers::check_headers(checker, proxy_spec);
    let secret = proxy_spec.string(checker, "secret", Need::Optional);
    if let Some(secret) = secret
        && let Err(message) = validate_name(secret)
    {
        checker.report(
            proxy_spec.path_of("secret"),
            format!("invalid secret name: {message}"),
        );
    }
    Some(HttpProxySpec {
        url: url?,
        allowed_endpoints,
        headers,
        secret: secret.map(str::to_string),
    })
}

/// Parses an absolute `http`/`https` URL with a host, reporting anything else.
pub(crate) fn check_http_url(checker: &mut Checker, path: &str, text: &str) -> Option<Url> {
    let problem = match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => return Some(url),
        Ok(url) => format!("scheme {:?} is not supported", url.scheme()),
        Err(error) => error.to_string(),
    };
    checker.report(
        path,
        format!("must be an absolute http or https URL such as \"http://prometheus:9090\" (got {text:?}: {problem})"),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prometheus_with_proxy(proxy_spec: Value) -> Value {
        json!({"plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": proxy_spec}}}})
    }

    #[test]
    fn finds_and_parses_a_nested_http_proxy() {
        let spec = prometheus_with_proxy(json!({
            "url": "http://localhost:9090",
            "allowedEndpoints": [{"endpointPattern": "/api/v1/query", "method": "POST"}],
            "headers": {"X-Scope-OrgID": "t1"},
            "secret": "prom-auth"
        }));
        let proxy = find_http_proxy(&spec).unwrap().unwrap();
        assert_eq!(proxy.url.as_str(), "http://localhost:9090/");
        assert_eq!(
            proxy.headers.get("X-Scope-OrgID").map(String::as_str),
            Some("t1")
        );
        assert_eq!(proxy.secret.as_deref(), Some("prom-auth"));
        assert!(proxy.allows("POST", "/api/v1/query"));
        assert!(!proxy.allows("GET", "/api/v1/query"));
        assert!(!proxy.allows("POST", "/api/v1/series"));
    }

    #[test]
    fn no_proxy_in_direct_url_mode() {
        let spec = json!({"plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": "http://x:9090"}}});
        assert!(find_http_proxy(&spec).is_none());
    }

    #[test]
    fn invalid_proxy_reports_paths_relative_to_the_datasource_spec() {
        let spec = prometheus_with_proxy(
            json!({"url": "localhost:9090", "allowedEndpoints": [{"endpointPattern": "(", "method": "GET"}]}),
        );
        let errors = find_http_proxy(&spec).unwrap().unwrap_err();
        assert!(
            errors.at("plugin.spec.proxy.spec.url").is_some(),
            "{errors}"
        );
        assert!(
            errors
                .at("plugin.spec.proxy.spec.allowedEndpoints[0].endpointPattern")
                .is_some(),
            "{errors}"
        );
    }

    #[test]
    fn bad_headers_are_reported_with_their_path() {
        for headers in [
            json!({"X\r\nY": "z"}),
            json!({"": "v"}),
            json!({"X": "a\u{0}b"}),
        ] {
            let spec = prometheus_with_proxy(json!({"url": "http://p:9090", "headers": headers}));
            let errors = find_http_proxy(&spec).unwrap().unwrap_err();
            assert!(
                errors
                    .to_string()
                    .contains("plugin.spec.proxy.spec.headers["),
                "{errors}"
            );
        }
    }

    #[test]
    fn allowed_endpoint_matches_unanchored_and_by_method() {
        let endpoint = AllowedEndpoint {
            pattern: Regex::new("/api/v1/label/([a-zA-Z0-9_-]+)/values").unwrap(),
            method: "GET".into(),
        };
        assert!(endpoint.allows("GET", "/api/v1/label/job/values"));
        assert!(endpoint.allows("GET", "/prefix/api/v1/label/job/values"));
        assert!(!endpoint.allows("POST", "/api/v1/label/job/values"));
        assert!(!endpoint.allows("GET", "/api/v1/labels"));
    }

    #[test]
    fn empty_allow_list_means_unrestricted() {
        let spec = prometheus_with_proxy(json!({"url": "https://prom.example"}));
        let proxy = find_http_proxy(&spec).unwrap().unwrap();
        assert!(proxy.allows("DELETE", "/anything"));
    }

    #[test]
    fn reads_plugin_kind_and_default_flag() {
        let spec = json!({"default": true, "plugin": {"kind": "TempoDatasource", "spec": {}}});
        assert_eq!(datasource_plugin_kind(&spec), Some("TempoDatasource"));
        assert!(datasource_is_default(&spec));
        assert!(!datasource_is_default(&json!({"plugin": {}})));
        assert_eq!(datasource_plugin_kind(&json!({})), None);
    }
}
