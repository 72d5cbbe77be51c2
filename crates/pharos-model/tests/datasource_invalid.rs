//! Datasource and GlobalDatasource rules, one test each.

mod common;

use common::{assert_rejected, insert, remove, set, valid_datasource};
use pharos_model::{Kind, decode_resource, find_http_proxy};
use serde_json::json;

const PLUGIN_SPEC: &str = "/spec/plugin/spec";
const PROXY_SPEC: &str = "/spec/plugin/spec/proxy/spec";

fn rejected(body: &serde_json::Value, path: &str, message: &str) {
    assert_rejected(Kind::Datasource, body, path, message);
}

#[test]
fn the_sample_datasource_is_valid_and_its_proxy_is_usable() {
    let resource = decode_resource(Kind::Datasource, &valid_datasource()).unwrap();
    let proxy = find_http_proxy(&resource.spec).unwrap().unwrap();
    assert_eq!(proxy.url.host_str(), Some("prometheus"));
    assert!(proxy.allows("POST", "/api/v1/query_range"));
}

#[test]
fn direct_url_and_proxy_are_exclusive() {
    let body = insert(
        valid_datasource(),
        PLUGIN_SPEC,
        "directUrl",
        json!("http://p:9090"),
    );
    rejected(
        &body,
        "spec.plugin.spec",
        "directUrl and proxy cannot both be set",
    );
}

#[test]
fn prometheus_needs_direct_url_or_proxy() {
    let body = remove(valid_datasource(), PLUGIN_SPEC, "proxy");
    rejected(
        &body,
        "spec.plugin.spec",
        "exactly one of directUrl or proxy is required",
    );
}

#[test]
fn proxy_kind_must_be_known() {
    let body = set(
        valid_datasource(),
        "/spec/plugin/spec/proxy/kind",
        json!("SocksProxy"),
    );
    rejected(
        &body,
        "spec.plugin.spec.proxy.kind",
        "must be one of HTTPProxy, SQLProxy (got \"SocksProxy\")",
    );
}

#[test]
fn proxy_url_must_be_absolute_http() {
    for bad in ["prometheus:9090/x", "ftp://prometheus", "/relative"] {
        let body = set(valid_datasource(), &format!("{PROXY_SPEC}/url"), json!(bad));
        rejected(
            &body,
            "spec.plugin.spec.proxy.spec.url",
            "must be an absolute http or https URL",
        );
    }
    let body = remove(valid_datasource(), PROXY_SPEC, "url");
    rejected(&body, "spec.plugin.spec.proxy.spec.url", "is required");
}

#[test]
fn endpoint_pattern_must_compile() {
    let body = set(
        valid_datasource(),
        &format!("{PROXY_SPEC}/allowedEndpoints/0/endpointPattern"),
        json!("/api/v1/(query"),
    );
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.allowedEndpoints[0].endpointPattern",
        "is not a valid regular expression",
    );
}

#[test]
fn endpoint_method_is_an_http_method() {
    let body = set(
        valid_datasource(),
        &format!("{PROXY_SPEC}/allowedEndpoints/0/method"),
        json!("FETCH"),
    );
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.allowedEndpoints[0].method",
        "must be one of GET, POST, PUT, PATCH, DELETE (got \"FETCH\")",
    );
}

#[test]
fn headers_map_strings_to_strings() {
    let body = set(
        valid_datasource(),
        &format!("{PROXY_SPEC}/headers/X-Scope-OrgID"),
        json!(1),
    );
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.headers.X-Scope-OrgID",
        "must be a string (got number)",
    );
}

#[test]
fn proxy_secret_must_be_a_valid_name() {
    let body = set(
        valid_datasource(),
        &format!("{PROXY_SPEC}/secret"),
        json!("my secret"),
    );
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.secret",
        "invalid secret name",
    );
}

#[test]
fn proxy_spec_is_closed() {
    let body = insert(valid_datasource(), PROXY_SPEC, "timeout", json!("5s"));
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.timeout",
        "unknown field \"timeout\"",
    );
}

#[test]
fn scrape_interval_must_be_a_duration() {
    let body = set(
        valid_datasource(),
        &format!("{PLUGIN_SPEC}/scrapeInterval"),
        json!("15"),
    );
    rejected(
        &body,
        "spec.plugin.spec.scrapeInterval",
        "is not a valid duration",
    );
}

#[test]
fn query_params_map_strings_to_strings() {
    let body = set(
        valid_datasource(),
        &format!("{PLUGIN_SPEC}/queryParams"),
        json!({"dedup": false}),
    );
    rejected(
        &body,
        "spec.plugin.spec.queryParams.dedup",
        "must be a string (got boolean)",
    );
}

#[test]
fn default_must_be_a_boolean() {
    let body = set(valid_datasource(), "/spec/default", json!("yes"));
    rejected(&body, "spec.default", "must be a boolean (got string)");
}

#[test]
fn unknown_datasource_plugin_kind_is_rejected() {
    let body = set(
        valid_datasource(),
        "/spec/plugin/kind",
        json!("GraphiteDatasource"),
    );
    rejected(
        &body,
        "spec.plugin.kind",
        "unknown datasource plugin kind \"GraphiteDatasource\" (known: PrometheusDatasource",
    );
}

#[test]
fn other_datasource_kinds_get_the_same_proxy_checks() {
    let body = set(
        valid_datasource(),
        "/spec/plugin/kind",
        json!("TempoDatasource"),
    );
    let body = remove(body, PLUGIN_SPEC, "scrapeInterval");
    let body = remove(body, PLUGIN_SPEC, "queryParams");
    assert!(decode_resource(Kind::Datasource, &body).is_ok());
    let body = set(body, &format!("{PROXY_SPEC}/url"), json!("tempo:3200"));
    rejected(
        &body,
        "spec.plugin.spec.proxy.spec.url",
        "must be an absolute http or https URL",
    );
}

#[test]
fn global_datasources_use_the_same_rules() {
    let body = set(valid_datasource(), "/kind", json!("GlobalDatasource"));
    let body = remove(body, "/metadata", "project");
    assert!(decode_resource(Kind::GlobalDatasource, &body).is_ok());
    let body = set(body, "/spec/plugin/spec/proxy/kind", json!("Proxy"));
    assert_rejected(
        Kind::GlobalDatasource,
        &body,
        "spec.plugin.spec.proxy.kind",
        "must be one of HTTPProxy, SQLProxy",
    );
}
