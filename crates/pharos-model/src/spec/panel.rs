//! Dashboard panels (`spec.panels`) and the queries inside them.

use crate::check::{Checker, Fields, Need, is_variable_reference};
use crate::duration::parse_duration;
use crate::name::validate_name;
use crate::spec::common::{check_datasource_selector, check_links, check_plugin, objects_in};
use crate::spec::panel_plugins::check_panel_plugin_spec;
use crate::spec::plugins::{PANEL_KINDS, QUERY_PLUGIN_KINDS, QUERY_TYPES, unknown_kind_message};

/// Checks every panel of `spec.panels`.
pub(crate) fn check_panels(checker: &mut Checker, panels: &Fields<'_>) {
    for (key, value) in panels.map {
        let path = panels.path_of(key);
        if let Err(message) = validate_name(key) {
            checker.report(&path, format!("invalid panel key: {message}"));
        }
        if let Some(panel) = checker.object(&path, value) {
            check_panel(checker, &panel);
        }
    }
}

fn check_panel(checker: &mut Checker, panel: &Fields<'_>) {
    if let Some(kind) = panel.string(checker, "kind", Need::Required)
        && kind != "Panel"
    {
        checker.report(
            panel.path_of("kind"),
            format!("must be \"Panel\" (got {kind:?})"),
        );
    }
    let Some(spec) = panel.object(checker, "spec", Need::Required) else {
        return;
    };
    if let Some(display) = spec.object(checker, "display", Need::Optional) {
        display.string(checker, "name", Need::Optional);
        display.string(checker, "description", Need::Optional);
        display.boolean(checker, "hideHeader");
    }
    if let Some(plugin) = check_plugin(checker, &spec, "plugin", "panel plugin", PANEL_KINDS) {
        check_panel_plugin_spec(checker, plugin.kind, &plugin.spec);
    }
    for query in objects_in(checker, &spec, "queries", Need::Optional) {
        check_query(checker, &query);
    }
    check_links(checker, &spec);
    for annotation in objects_in(checker, &spec, "annotations", Need::Optional) {
        annotation.object(checker, "plugin", Need::Optional);
    }
}

fn check_query(checker: &mut Checker, query: &Fields<'_>) {
    if let Some(kind) = query.string(checker, "kind", Need::Required)
        && !QUERY_TYPES.contains(&kind)
    {
        checker.report(
            query.path_of("kind"),
            unknown_kind_message("query", kind, QUERY_TYPES),
        );
    }
    let Some(spec) = query.object(checker, "spec", Need::Required) else {
        return;
    };
    spec.string(checker, "name", Need::Optional);
    let Some(plugin) = check_plugin(checker, &spec, "plugin", "query plugin", QUERY_PLUGIN_KINDS)
    else {
        return;
    };
    if plugin.kind == "PrometheusTimeSeriesQuery" {
        check_prometheus_query(checker, &plugin.spec);
    } else {
        check_datasource_selector(checker, &plugin.spec);
    }
}

fn check_prometheus_query(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &[
            "datasource",
            "query",
            "seriesNameFormat",
            "minStep",
            "resolution",
            "instant",
        ],
    );
    check_datasource_selector(checker, spec);
    spec.non_empty_string(checker, "query", Need::Required);
    spec.string(checker, "seriesNameFormat", Need::Optional);
    if let Some(min_step) = spec.string(checker, "minStep", Need::Optional)
        && !is_variable_reference(min_step)
        && let Err(message) = parse_duration(min_step)
    {
        checker.report(
            spec.path_of("minStep"),
            format!("must be a duration or a \"$variable\": {message}"),
        );
    }
    spec.number(checker, "resolution", Need::Optional);
    spec.boolean(checker, "instant");
}
