//! One test per dashboard rule: each breaks one thing in a valid dashboard and checks the
//! reported path and message.

mod common;

use common::{assert_rejected, errors_for, insert, remove, set, valid_dashboard};
use pharos_model::{Kind, decode_resource};
use serde_json::json;

const CPU_PLUGIN: &str = "/spec/panels/cpu/spec/plugin";
const CPU_QUERY_SPEC: &str = "/spec/panels/cpu/spec/queries/0/spec/plugin/spec";

fn rejected(body: &serde_json::Value, path: &str, message: &str) {
    assert_rejected(Kind::Dashboard, body, path, message);
}

/// A dashboard whose `cpu` panel uses `plugin`.
fn with_cpu_plugin(plugin: serde_json::Value) -> serde_json::Value {
    set(valid_dashboard(), CPU_PLUGIN, plugin)
}

#[test]
fn the_sample_dashboard_is_valid() {
    let resource = decode_resource(Kind::Dashboard, &valid_dashboard()).unwrap();
    assert_eq!(resource.metadata.project.as_deref(), Some("demo"));
}

#[test]
fn empty_spec_is_rejected() {
    let body = set(valid_dashboard(), "/spec", json!({}));
    rejected(&body, "spec", "spec cannot be empty");
}

#[test]
fn panels_are_required() {
    let body = remove(valid_dashboard(), "/spec", "panels");
    rejected(&body, "spec.panels", "is required");
}

#[test]
fn panel_keys_follow_the_name_rules() {
    let panel = valid_dashboard()["spec"]["panels"]["notes"].clone();
    let body = insert(valid_dashboard(), "/spec/panels", "f o o", panel);
    rejected(
        &body,
        "spec.panels.f o o",
        "\"f o o\" is not a correct name. It should match the regexp: ^[a-zA-Z0-9_.-]+$",
    );
}

#[test]
fn panel_kind_must_be_panel() {
    let body = set(valid_dashboard(), "/spec/panels/cpu/kind", json!("Widget"));
    rejected(
        &body,
        "spec.panels.cpu.kind",
        "must be \"Panel\" (got \"Widget\")",
    );
}

#[test]
fn panel_display_must_be_an_object_with_a_string_name() {
    let body = set(
        valid_dashboard(),
        "/spec/panels/cpu/spec/display/name",
        json!(7),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.display.name",
        "must be a string (got number)",
    );
}

#[test]
fn unknown_panel_plugin_kind_lists_the_known_ones() {
    let body = with_cpu_plugin(json!({"kind": "FooChart", "spec": {}}));
    let errors = errors_for(Kind::Dashboard, &body);
    let error = errors
        .at("spec.panels.cpu.spec.plugin.kind")
        .expect("plugin kind error");
    assert!(
        error.message.starts_with(
            "unknown panel plugin kind \"FooChart\" (known: TimeSeriesChart, StatChart"
        ),
        "{}",
        error.message
    );
}

#[test]
fn markdown_needs_text() {
    let body = with_cpu_plugin(json!({"kind": "Markdown", "spec": {}}));
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.text",
        "is required",
    );
    let body = with_cpu_plugin(json!({"kind": "Markdown"}));
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.text",
        "is required",
    );
}

#[test]
fn stat_chart_calculation_must_be_a_known_calculation() {
    let body = with_cpu_plugin(json!({"kind": "StatChart", "spec": {"calculation": "median"}}));
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.calculation",
        "must be one of first, last, first-number, last-number, mean, sum, min, max (got \"median\")",
    );
}

#[test]
fn gauge_bar_and_pie_charts_require_calculation() {
    for kind in ["GaugeChart", "BarChart"] {
        let body = with_cpu_plugin(json!({"kind": kind, "spec": {}}));
        rejected(
            &body,
            "spec.panels.cpu.spec.plugin.spec.calculation",
            "is required",
        );
    }
    let body = with_cpu_plugin(json!({"kind": "PieChart", "spec": {"radius": 50}}));
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.calculation",
        "is required",
    );
}

#[test]
fn pie_chart_radius_must_be_a_number() {
    let body = with_cpu_plugin(
        json!({"kind": "PieChart", "spec": {"calculation": "sum", "radius": "big"}}),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.radius",
        "must be a number (got string)",
    );
}

#[test]
fn time_series_legend_position_is_an_enum() {
    let body = set(
        valid_dashboard(),
        "/spec/panels/cpu/spec/plugin/spec/legend/position",
        json!("top"),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.legend.position",
        "must be one of bottom, right (got \"top\")",
    );
}

#[test]
fn time_series_visual_and_y_axis_are_typed() {
    let body = with_cpu_plugin(json!({"kind": "TimeSeriesChart", "spec": {
        "visual": {"lineWidth": 5, "display": "area"},
        "yAxis": {"min": 10, "max": 1, "show": "yes"}
    }}));
    let errors = errors_for(Kind::Dashboard, &body);
    let base = "spec.panels.cpu.spec.plugin.spec";
    for (path, message) in [
        ("visual.lineWidth", "must be between 0.25 and 3 (got 5)"),
        ("visual.display", "must be one of line, bar (got \"area\")"),
        ("yAxis.max", "must be greater than or equal to min (10)"),
        ("yAxis.show", "must be a boolean (got string)"),
    ] {
        let full = format!("{base}.{path}");
        assert_eq!(
            errors.at(&full).map(|e| e.message.as_str()),
            Some(message),
            "{full}:\n{errors}"
        );
    }
}

#[test]
fn format_unit_must_be_a_string() {
    let body = with_cpu_plugin(
        json!({"kind": "GaugeChart", "spec": {"calculation": "last", "format": {"unit": 3}}}),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.format.unit",
        "must be a string (got number)",
    );
}

#[test]
fn threshold_step_values_must_be_numbers() {
    let body = with_cpu_plugin(json!({"kind": "TimeSeriesChart", "spec": {
        "thresholds": {"steps": [{"value": 1}, {"value": "80", "color": "red"}]}
    }}));
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.thresholds.steps[1].value",
        "must be a number (got string)",
    );
}

#[test]
fn closed_panel_schemas_reject_unknown_top_level_fields() {
    let body = with_cpu_plugin(
        json!({"kind": "TimeSeriesChart", "spec": {"legned": {"position": "bottom"}}}),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.plugin.spec.legned",
        "unknown field \"legned\"",
    );
    // Plugins whose schema is not modelled accept any spec.
    let open = with_cpu_plugin(json!({"kind": "HeatMapChart", "spec": {"anything": 1}}));
    assert!(decode_resource(Kind::Dashboard, &open).is_ok());
}

#[test]
fn query_kind_must_be_a_query_type() {
    let body = set(
        valid_dashboard(),
        "/spec/panels/cpu/spec/queries/0/kind",
        json!("MetricQuery"),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.queries[0].kind",
        "unknown query kind \"MetricQuery\"",
    );
}

#[test]
fn query_plugin_kind_must_be_known() {
    let body = set(
        valid_dashboard(),
        "/spec/panels/cpu/spec/queries/0/spec/plugin/kind",
        json!("ExoticQuery"),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.queries[0].spec.plugin.kind",
        "unknown query plugin kind \"ExoticQuery\"",
    );
}

#[test]
fn prometheus_query_must_not_be_empty() {
    let body = set(
        valid_dashboard(),
        &format!("{CPU_QUERY_SPEC}/query"),
        json!(""),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.queries[0].spec.plugin.spec.query",
        "cannot be empty",
    );
}

#[test]
fn prometheus_query_option_types_are_checked() {
    let body = insert(
        valid_dashboard(),
        CPU_QUERY_SPEC,
        "seriesNameFormat",
        json!(1),
    );
    let body = insert(body, CPU_QUERY_SPEC, "minStep", json!("fast"));
    let body = insert(body, CPU_QUERY_SPEC, "resolution", json!("high"));
    let body = insert(body, CPU_QUERY_SPEC, "instant", json!("no"));
    let errors = errors_for(Kind::Dashboard, &body);
    let base = "spec.panels.cpu.spec.queries[0].spec.plugin.spec";
    for (field, message) in [
        ("seriesNameFormat", "must be a string"),
        ("minStep", "must be a duration or a \"$variable\""),
        ("resolution", "must be a number"),
        ("instant", "must be a boolean"),
    ] {
        let error = errors.at(&format!("{base}.{field}"));
        assert!(
            error.is_some_and(|e| e.message.starts_with(message)),
            "{field}:\n{errors}"
        );
    }
    // A variable is fine for minStep.
    let body = insert(valid_dashboard(), CPU_QUERY_SPEC, "minStep", json!("$step"));
    assert!(decode_resource(Kind::Dashboard, &body).is_ok());
}

#[test]
fn datasource_selector_is_a_variable_or_kind_and_name() {
    let body = set(
        valid_dashboard(),
        &format!("{CPU_QUERY_SPEC}/datasource"),
        json!("prom"),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.queries[0].spec.plugin.spec.datasource",
        "must be a variable reference",
    );
    let body = set(
        valid_dashboard(),
        &format!("{CPU_QUERY_SPEC}/datasource"),
        json!({"name": "prom"}),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.queries[0].spec.plugin.spec.datasource.kind",
        "is required",
    );
    let body = set(
        valid_dashboard(),
        &format!("{CPU_QUERY_SPEC}/datasource"),
        json!("$ds"),
    );
    assert!(decode_resource(Kind::Dashboard, &body).is_ok());
}

#[test]
fn layouts_are_required() {
    let body = remove(valid_dashboard(), "/spec", "layouts");
    rejected(&body, "spec.layouts", "is required");
    let empty = set(valid_dashboard(), "/spec/layouts", json!([]));
    assert!(decode_resource(Kind::Dashboard, &empty).is_ok());
}

#[test]
fn layout_kind_must_be_grid_or_tabs() {
    let body = set(valid_dashboard(), "/spec/layouts/0/kind", json!("Flex"));
    rejected(
        &body,
        "spec.layouts[0].kind",
        "must be one of Grid, Tabs (got \"Flex\")",
    );
}

#[test]
fn layout_item_coordinates_are_non_negative_integers() {
    let body = set(
        valid_dashboard(),
        "/spec/layouts/0/spec/items/1/x",
        json!(-1),
    );
    rejected(
        &body,
        "spec.layouts[0].spec.items[1].x",
        "must be 0 or more (got -1)",
    );
    let body = set(
        valid_dashboard(),
        "/spec/layouts/0/spec/items/1/width",
        json!(1.5),
    );
    rejected(
        &body,
        "spec.layouts[0].spec.items[1].width",
        "must be a whole number",
    );
    let body = remove(valid_dashboard(), "/spec/layouts/0/spec/items/1", "height");
    rejected(&body, "spec.layouts[0].spec.items[1].height", "is required");
}

#[test]
fn layout_ref_must_point_into_spec_panels() {
    let body = set(
        valid_dashboard(),
        "/spec/layouts/0/spec/items/1/content/$ref",
        json!("#/spec/notes"),
    );
    rejected(
        &body,
        "spec.layouts[0].spec.items[1].content.$ref",
        "must have the form \"#/spec/panels/<panel key>\"",
    );
}

#[test]
fn layout_ref_must_name_an_existing_panel() {
    let body = set(
        valid_dashboard(),
        "/spec/layouts/0/spec/items/1/content/$ref",
        json!("#/spec/panels/missing"),
    );
    rejected(
        &body,
        "spec.layouts[0].spec.items[1].content.$ref",
        "no panel found for ref \"#/spec/panels/missing\"",
    );
}

#[test]
fn tabs_layout_refs_are_checked_too() {
    let tabs = json!({"kind": "Tabs", "spec": {"tabs": [{"name": "one", "items": [
        {"x": 0, "y": 0, "width": 1, "height": 1, "content": {"$ref": "#/spec/panels/nope"}}
    ]}]}});
    let body = set(valid_dashboard(), "/spec/layouts/0", tabs);
    rejected(
        &body,
        "spec.layouts[0].spec.tabs[0].items[0].content.$ref",
        "no panel found for ref",
    );
}

#[test]
fn duration_must_parse() {
    let body = set(valid_dashboard(), "/spec/duration", json!("1 hour"));
    rejected(&body, "spec.duration", "is not a valid duration");
}

#[test]
fn refresh_interval_must_parse() {
    let body = set(valid_dashboard(), "/spec/refreshInterval", json!("30m1h"));
    rejected(&body, "spec.refreshInterval", "is not a valid duration");
}

#[test]
fn local_datasources_are_validated_as_datasource_specs() {
    let body = insert(
        valid_dashboard(),
        "/spec",
        "datasources",
        json!({"prom": {"plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": "not a url"}}}}),
    );
    rejected(
        &body,
        "spec.datasources.prom.plugin.spec.directUrl",
        "must be an absolute http or https URL",
    );
}

#[test]
fn only_one_default_local_datasource_per_plugin_kind() {
    let direct = |url: &str| json!({"default": true, "plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": url}}});
    let body = insert(
        valid_dashboard(),
        "/spec",
        "datasources",
        json!({"a": direct("http://a:9090"), "b": direct("http://b:9090")}),
    );
    rejected(
        &body,
        "spec.datasources.b.default",
        "b can not be defined as default datasource: there is already a default defined for kind \"PrometheusDatasource\"",
    );
}

#[test]
fn links_need_a_url() {
    let body = insert(
        valid_dashboard(),
        "/spec",
        "links",
        json!([{"name": "Runbook"}]),
    );
    rejected(&body, "spec.links[0].url", "is required");
    let body = insert(
        valid_dashboard(),
        "/spec/panels/cpu/spec",
        "links",
        json!([{"url": 5}]),
    );
    rejected(
        &body,
        "spec.panels.cpu.spec.links[0].url",
        "must be a string",
    );
}

#[test]
fn ephemeral_dashboards_need_a_ttl() {
    let body = set(valid_dashboard(), "/kind", json!("EphemeralDashboard"));
    assert_rejected(Kind::EphemeralDashboard, &body, "spec.ttl", "is required");
    let body = insert(body, "/spec", "ttl", json!("soon"));
    assert_rejected(
        Kind::EphemeralDashboard,
        &body,
        "spec.ttl",
        "is not a valid duration",
    );
    let body = set(body, "/spec/ttl", json!("7d"));
    assert!(decode_resource(Kind::EphemeralDashboard, &body).is_ok());
}

#[test]
fn every_problem_is_reported_at_once() {
    let body = set(valid_dashboard(), "/spec/duration", json!("forever"));
    let body = set(body, "/spec/panels/cpu/kind", json!("Chart"));
    let body = set(
        body,
        "/spec/layouts/0/spec/items/0/content/$ref",
        json!("#/spec/panels/ghost"),
    );
    let errors = errors_for(Kind::Dashboard, &body);
    assert_eq!(errors.len(), 3, "{errors}");
    assert!(errors.at("spec.duration").is_some(), "{errors}");
    assert!(errors.at("spec.panels.cpu.kind").is_some(), "{errors}");
    assert_eq!(
        errors
            .at("spec.layouts[0].spec.items[0].content.$ref")
            .map(|e| e.message.as_str()),
        Some("no panel found for ref \"#/spec/panels/ghost\""),
        "{errors}"
    );
    assert_eq!(errors.to_string().lines().count(), 3);
}
