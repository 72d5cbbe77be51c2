//! Checks of the panel plugin specs whose schema is modelled here.
//!
//! The Perses CUE schemas of these plugins are closed, so unknown top-level fields are
//! rejected. Plugins not listed in [`check_panel_plugin_spec`] accept any object.

use crate::check::{Checker, Fields, Need};
use crate::spec::common::{
    CALCULATIONS, check_calculation, check_format, check_hex_color, check_js_regex, check_legend,
    check_mappings, check_thresholds, objects_in,
};
use crate::spec::js_regex;

const SORT_ORDERS: &[&str] = &["asc", "desc"];
const VALUE_MODES: &[&str] = &["value", "percentage"];
const LINE_STYLES: &[&str] = &["solid", "dashed", "dotted"];

/// Checks `spec` (the `plugin.spec` of a panel) against the schema of plugin `kind`.
pub(crate) fn check_panel_plugin_spec(checker: &mut Checker, kind: &str, spec: &Fields<'_>) {
    match kind {
        "TimeSeriesChart" => time_series_chart(checker, spec),
        "StatChart" => stat_chart(checker, spec),
        "GaugeChart" => gauge_chart(checker, spec),
        "BarChart" => bar_chart(checker, spec),
        "PieChart" => pie_chart(checker, spec),
        "Table" => table(checker, spec),
        "Markdown" => markdown(checker, spec),
        _ => {}
    }
}

fn time_series_chart(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &[
            "legend",
            "tooltip",
            "yAxis",
            "thresholds",
            "visual",
            "querySettings",
        ],
    );
    check_legend(checker, spec, CALCULATIONS);
    if let Some(tooltip) = spec.object(checker, "tooltip", Need::Optional) {
        tooltip.boolean(checker, "enablePinning");
    }
    if let Some(y_axis) = spec.object(checker, "yAxis", Need::Optional) {
        y_axis.boolean(checker, "show");
        y_axis.string(checker, "label", Need::Optional);
        check_format(checker, &y_axis);
        let min = y_axis.number(checker, "min", Need::Optional);
        let max = y_axis.number(checker, "max", Need::Optional);
        if let (Some(min), Some(max)) = (min, max)
            && max < min
        {
            checker.report(
                y_axis.path_of("max"),
                format!("must be greater than or equal to min ({min})"),
            );
        }
        if let Some(log_base) = y_axis.number(checker, "logBase", Need::Optional)
            && log_base != 2.0
            && log_base != 10.0
        {
            checker.report(y_axis.path_of("logBase"), "must be 2 or 10");
        }
    }
    check_thresholds(checker, spec);
    if let Some(visual) = spec.object(checker, "visual", Need::Optional) {
        visual.one_of(checker, "display", &["line", "bar"], Need::Optional);
        visual.number_in(checker, "lineWidth", 0.25, 3.0);
        visual.one_of(checker, "lineStyle", LINE_STYLES, Need::Optional);
        visual.number_in(checker, "areaOpacity", 0.0, 1.0);
        visual.one_of(checker, "showPoints", &["auto", "always"], Need::Optional);
        if let Some(palette) = visual.object(checker, "palette", Need::Optional) {
            palette.one_of(checker, "mode", &["auto", "categorical"], Need::Required);
        }
        visual.number_in(checker, "pointRadius", 0.0, 6.0);
        visual.one_of(checker, "stack", &["all", "percent"], Need::Optional);
        visual.boolean(checker, "connectNulls");
    }
    for setting in objects_in(checker, spec, "querySettings", Need::Optional) {
        setting.non_negative_integer(checker, "queryIndex", Need::Required);
        setting.one_of(
            checker,
            "colorMode",
            &["fixed", "fixed-single"],
            Need::Optional,
        );
        check_hex_color(checker, &setting, "colorValue");
        setting.one_of(checker, "lineStyle", LINE_STYLES, Need::Optional);
        setting.number_in(checker, "areaOpacity", 0.0, 1.0);
        check_format(checker, &setting);
    }
}

fn stat_chart(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &[
            "calculation",
            "metricLabel",
            "format",
            "thresholds",
            "sparkline",
            "valueFontSize",
            "colorMode",
            "legendMode",
            "mappings",
        ],
    );
    check_calculation(checker, spec, Need::Required);
    // The UI matches label names against it as a regex (`/regex/flags` or an exact name).
    check_js_regex(
        checker,
        spec,
        "metricLabel",
        js_regex::slash_pattern_problem,
    );
    check_format(checker, spec);
    check_thresholds(checker, spec);
    if let Some(sparkline) = spec.object(checker, "sparkline", Need::Optional) {
        sparkline.reject_unknown(checker, &["color", "width"]);
        sparkline.string(checker, "color", Need::Optional);
        sparkline.number(checker, "width", Need::Optional);
    }
    spec.number(checker, "valueFontSize", Need::Optional);
    spec.one_of(
        checker,
        "colorMode",
        &["value", "background_solid", "none"],
        Need::Optional,
    );
    spec.one_of(
        checker,
        "legendMode",
        &["auto", "on", "off"],
        Need::Optional,
    );
    check_mappings(checker, spec);
}

fn gauge_chart(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &["calculation", "format", "thresholds", "max", "legend"],
    );
    check_calculation(checker, spec, Need::Required);
    check_format(checker, spec);
    check_thresholds(checker, spec);
    spec.number(checker, "max", Need::Optional);
    if let Some(legend) = spec.object(checker, "legend", Need::Optional) {
        legend.boolean(checker, "show");
    }
}

fn bar_chart(checker: &mut Checker, spec: &Fields<'_>) {
    // Plugin releases disagree on where colour overrides live, so accept both places.
    spec.reject_unknown(
        checker,
        &[
            "calculation",
            "format",
            "sort",
            "mode",
            "orientation",
            "groupBy",
            "isStacked",
            "colorOverrides",
            "visual",
        ],
    );
    check_calculation(checker, spec, Need::Required);
    check_format(checker, spec);
    spec.one_of(checker, "sort", SORT_ORDERS, Need::Optional);
    spec.one_of(checker, "mode", VALUE_MODES, Need::Optional);
    spec.one_of(
        checker,
        "orientation",
        &["horizontal", "vertical"],
        Need::Optional,
    );
    spec.string_list(checker, "groupBy");
    spec.boolean(checker, "isStacked");
    check_color_overrides(checker, spec);
    if let Some(visual) = spec.object(checker, "visual", Need::Optional) {
        check_color_overrides(checker, &visual);
    }
}

fn check_color_overrides(checker: &mut Checker, parent: &Fields<'_>) {
    for color_override in objects_in(checker, parent, "colorOverrides", Need::Optional) {
        color_override.string(checker, "regex", Need::Required);
        color_override.string(checker, "color", Need::Required);
    }
}

fn pie_chart(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &[
            "legend",
            "calculation",
            "format",
            "sort",
            "mode",
            "showLabels",
            "radius",
            "colorPalette",
        ],
    );
    check_legend(checker, spec, &["abs", "relative"]);
    check_calculation(checker, spec, Need::Required);
    check_format(checker, spec);
    spec.one_of(checker, "sort", SORT_ORDERS, Need::Optional);
    spec.one_of(checker, "mode", VALUE_MODES, Need::Optional);
    spec.boolean(checker, "showLabels");
    spec.number(checker, "radius", Need::Required);
    spec.string_list(checker, "colorPalette");
}

fn table(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &[
            "density",
            "defaultColumnWidth",
            "defaultColumnHeight",
            "defaultColumnHidden",
            "pagination",
            "enableFiltering",
            "enableSorting",
            "selection",
            "actions",
            "columnSettings",
            "cellSettings",
            "transforms",
        ],
    );
    spec.one_of(
        checker,
        "density",
        &["compact", "standard", "comfortable"],
        Need::Optional,
    );
    check_auto_or_number(checker, spec, "defaultColumnWidth");
    check_auto_or_number(checker, spec, "defaultColumnHeight");
    for flag in [
        "defaultColumnHidden",
        "pagination",
        "enableFiltering",
        "enableSorting",
    ] {
        spec.boolean(checker, flag);
    }
    for column in objects_in(checker, spec, "columnSettings", Need::Optional) {
        column.non_empty_string(checker, "name", Need::Required);
        for text in ["header", "headerDescription", "cellDescription"] {
            column.string(checker, text, Need::Optional);
        }
        check_format(checker, &column);
        column.one_of(
            checker,
            "align",
            &["left", "center", "right"],
            Need::Optional,
        );
        column.boolean(checker, "enableSorting");
        column.one_of(checker, "sort", SORT_ORDERS, Need::Optional);
        check_auto_or_number(checker, &column, "width");
        column.boolean(checker, "hide");
        check_cell_settings(checker, &column);
        if let Some(link) = column.object(checker, "dataLink", Need::Optional) {
            link.string(checker, "url", Need::Required);
            link.string(checker, "title", Need::Optional);
            link.boolean(checker, "openNewTab");
        }
    }
    check_cell_settings(checker, spec);
    for transform in objects_in(checker, spec, "transforms", Need::Optional) {
        transform.non_empty_string(checker, "kind", Need::Required);
        transform.object(checker, "spec", Need::Optional);
    }
}

fn check_cell_settings(checker: &mut Checker, parent: &Fields<'_>) {
    for cell in objects_in(checker, parent, "cellSettings", Need::Optional) {
        if let Some(condition) = cell.object(checker, "condition", Need::Required) {
            let kind = condition.one_of(
                checker,
                "kind",
                &["Value", "Range", "Regex", "Misc"],
                Need::Required,
            );
            let spec = condition.object(checker, "spec", Need::Required);
            if let (Some("Regex"), Some(spec)) = (kind, spec) {
                check_js_regex(checker, &spec, "expr", js_regex::pattern_problem);
            }
        }
        for text in ["text", "prefix", "suffix"] {
            cell.string(checker, text, Need::Optional);
        }
        check_hex_color(checker, &cell, "textColor");
        check_hex_color(checker, &cell, "backgroundColor");
    }
}

fn check_auto_or_number(checker: &mut Checker, parent: &Fields<'_>, key: &str) {
    match parent.get(key) {
        None | Some(serde_json::Value::Number(_)) => {}
        Some(serde_json::Value::String(text)) if text == "auto" => {}
        Some(_) => checker.report(parent.path_of(key), "must be \"auto\" or a number"),
    }
}

fn markdown(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(checker, &["text"]);
    spec.string(checker, "text", Need::Required);
}
