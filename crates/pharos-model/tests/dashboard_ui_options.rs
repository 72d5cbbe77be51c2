//! Options a newer Perses schema allows but the web UI bundled in pharos cannot draw: the
//! validator refuses them, so a stored dashboard never shows a crashed panel (issue 9).

mod common;

use common::{assert_rejected, set, valid_dashboard};
use pharos_model::{Kind, decode_resource};
use serde_json::{Value, json};

const CPU_PLUGIN: &str = "/spec/panels/cpu/spec/plugin";

fn with_cpu_plugin(plugin: Value) -> Value {
    set(valid_dashboard(), CPU_PLUGIN, plugin)
}

fn accepted(body: &Value) {
    if let Err(errors) = decode_resource(Kind::Dashboard, body) {
        panic!("expected the dashboard to be accepted; got:\n{errors}");
    }
}

/// The units the bundled formatters know, from the contract file `ui/e2e` checks.
fn bundled_units() -> Vec<String> {
    let contract: Value =
        serde_json::from_str(include_str!("../../../testdata/ui/bundled-ui-options.json"))
            .expect("the contract file is JSON");
    contract["formatUnits"]
        .as_array()
        .expect("the contract lists formatUnits")
        .iter()
        .map(|unit| unit.as_str().expect("units are strings").to_owned())
        .collect()
}

#[test]
fn every_unit_the_ui_formats_is_accepted() {
    let units = bundled_units();
    assert!(units.len() > 20, "{units:?}");
    for unit in units {
        accepted(&with_cpu_plugin(
            json!({"kind": "TimeSeriesChart", "spec": {
                "yAxis": {"format": {"unit": unit}}
            }}),
        ));
    }
}

#[test]
fn units_the_ui_cannot_format_are_refused_in_every_format() {
    // Each crashed the panel in the browser ("Cannot read properties of undefined (reading 'group')").
    for unit in [
        "celsius",
        "nanoseconds",
        "decbytes",
        "decbits/sec",
        "datetime-iso",
    ] {
        for (plugin, path) in [
            (
                json!({"kind": "TimeSeriesChart", "spec": {"yAxis": {"format": {"unit": unit}}}}),
                "yAxis.format.unit",
            ),
            (
                json!({"kind": "StatChart", "spec": {"calculation": "last", "format": {"unit": unit}}}),
                "format.unit",
            ),
            (
                json!({"kind": "Table", "spec": {"columnSettings": [{"name": "value", "format": {"unit": unit}}]}}),
                "columnSettings[0].format.unit",
            ),
        ] {
            assert_rejected(
                Kind::Dashboard,
                &with_cpu_plugin(plugin),
                &format!("spec.panels.cpu.spec.plugin.spec.{path}"),
                &format!("unknown unit {unit:?}: the web UI cannot draw it (known: milliseconds,"),
            );
        }
    }
}

#[test]
fn a_value_mapping_regex_the_ui_cannot_compile_is_refused() {
    let mapping = |pattern: &str| {
        with_cpu_plugin(json!({"kind": "StatChart", "spec": {
            "calculation": "last",
            "mappings": [{"kind": "Regex", "spec": {"pattern": pattern, "result": {"value": "x"}}}]
        }}))
    };
    assert_rejected(
        Kind::Dashboard,
        &mapping("^(5xx"),
        "spec.panels.cpu.spec.plugin.spec.mappings[0].spec.pattern",
        "\"^(5xx\" is not a regular expression the web UI can use: a group `(` is not closed",
    );
    assert_rejected(
        Kind::Dashboard,
        &mapping("/err/x"),
        "spec.panels.cpu.spec.plugin.spec.mappings[0].spec.pattern",
        "the flags after the closing `/` may only be g, i, m and y",
    );
    accepted(&mapping("/^err(or)?$/i"));
    accepted(&mapping("5.."));
}

#[test]
fn a_stat_metric_label_the_ui_cannot_compile_is_refused() {
    let stat = |label: &str| {
        with_cpu_plugin(
            json!({"kind": "StatChart", "spec": {"calculation": "last", "metricLabel": label}}),
        )
    };
    assert_rejected(
        Kind::Dashboard,
        &stat("*"),
        "spec.panels.cpu.spec.plugin.spec.metricLabel",
        "has nothing to repeat",
    );
    accepted(&stat("instance"));
    accepted(&stat("/^(pod|instance)$/"));
}

#[test]
fn a_table_cell_condition_regex_the_ui_cannot_compile_is_refused() {
    let table = |expr: &str| {
        with_cpu_plugin(json!({"kind": "Table", "spec": {"columnSettings": [{
            "name": "value",
            "cellSettings": [{"condition": {"kind": "Regex", "spec": {"expr": expr}}, "textColor": "#ff0000"}]
        }]}}))
    };
    assert_rejected(
        Kind::Dashboard,
        &table("[0-9"),
        "spec.panels.cpu.spec.plugin.spec.columnSettings[0].cellSettings[0].condition.spec.expr",
        "a character class `[` is not closed",
    );
    accepted(&table("^[0-9]+$"));
}
