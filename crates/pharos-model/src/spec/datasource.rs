//! Datasource specs: Datasource, GlobalDatasource and dashboard-local datasources.

use std::collections::HashSet;

use crate::check::{Checker, Fields, Need};
use crate::proxy::{check_http_proxy_spec, check_http_url, check_other_http_proxies};
use crate::spec::common::{check_display, check_plugin};
use crate::spec::plugins::DATASOURCE_KINDS;

/// Checks a datasource spec: `{display?, default?, plugin: {kind, spec}}`.
pub(crate) fn check_datasource_spec(checker: &mut Checker, spec: &Fields<'_>) {
    check_display(checker, spec);
    spec.boolean(checker, "default");
    let Some(plugin) = check_plugin(
        checker,
        spec,
        "plugin",
        "datasource plugin",
        DATASOURCE_KINDS,
    ) else {
        return;
    };
    let plugin_spec = &plugin.spec;
    let is_prometheus = plugin.kind == "PrometheusDatasource";
    if is_prometheus {
        plugin_spec.reject_unknown(
            checker,
            &["directUrl", "proxy", "scrapeInterval", "queryParams"],
        );
        plugin_spec.duration(checker, "scrapeInterval", Need::Optional);
        plugin_spec.string_map(checker, "queryParams");
    }
    let has_direct_url = plugin_spec.get("directUrl").is_some();
    let has_proxy = plugin_spec.get("proxy").is_some();
    if has_direct_url && has_proxy {
        checker.report(
            &plugin_spec.path,
            "directUrl and proxy cannot both be set: use directUrl for browser access or proxy to go through the server",
        );
    } else if is_prometheus && !has_direct_url && !has_proxy {
        checker.report(
            &plugin_spec.path,
            "exactly one of directUrl or proxy is required",
        );
    }
    if let Some(direct_url) = plugin_spec.string(checker, "directUrl", Need::Optional) {
        check_http_url(checker, &plugin_spec.path_of("directUrl"), direct_url);
    }
    if let Some(proxy) = plugin_spec.object(checker, "proxy", Need::Optional) {
        check_proxy(checker, &proxy);
    }
    check_other_http_proxies(checker, spec);
}

fn check_proxy(checker: &mut Checker, proxy: &Fields<'_>) {
    let kind = proxy.one_of(checker, "kind", &["HTTPProxy", "SQLProxy"], Need::Required);
    let Some(proxy_spec) = proxy.object(checker, "spec", Need::Required) else {
        return;
    };
    match kind {
        Some("HTTPProxy") => {
            check_http_proxy_spec(checker, &proxy_spec);
        }
        Some("SQLProxy") => {
            proxy_spec.string(checker, "secret", Need::Optional);
        }
        _ => {}
    }
}

/// Checks `spec.datasources` of a dashboard: each entry, and one default per plugin kind.
pub(crate) fn check_dashboard_datasources(checker: &mut Checker, dashboard: &Fields<'_>) {
    let Some(datasources) = dashboard.object(checker, "datasources", Need::Optional) else {
        return;
    };
    let mut kinds_with_default: HashSet<&str> = HashSet::new();
    for (name, value) in datasources.map {
        let Some(spec) = checker.object(&datasources.path_of(name), value) else {
            continue;
        };
        check_datasource_spec(checker, &spec);
        let is_default = spec.get("default").and_then(|v| v.as_bool()) == Some(true);
        let plugin_kind = spec
            .get("plugin")
            .and_then(|plugin| plugin.get("kind"))
            .and_then(|kind| kind.as_str());
        if let (true, Some(plugin_kind)) = (is_default, plugin_kind)
            && !kinds_with_default.insert(plugin_kind)
        {
            checker.report(
                    spec.path_of("default"),
                    format!(
                        "{name} can not be defined as default datasource: there is already a default defined for kind {plugin_kind:?}"
                    ),
                );
        }
    }
}
