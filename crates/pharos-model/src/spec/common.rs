//! Building blocks shared by several specs: plugin headers, display blocks, the
//! datasource selector and the common panel types (format, thresholds, legend, ...).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::check::{Checker, Fields, Need, Object, element, is_hex_color, is_variable_reference};
use crate::spec::plugins::unknown_kind_message;

/// Values of the shared `calculation` type.
pub(crate) const CALCULATIONS: &[&str] = &[
    "first",
    "last",
    "first-number",
    "last-number",
    "mean",
    "sum",
    "min",
    "max",
];

/// Units accepted by the shared `format.unit`.
pub(crate) const UNITS: &[&str] = &[
    // time
    "nanoseconds",
    "microseconds",
    "milliseconds",
    "seconds",
    "minutes",
    "hours",
    "days",
    "weeks",
    "months",
    "years",
    // percent and plain numbers
    "percent",
    "percent-decimal",
    "decimal",
    // data
    "bits",
    "decbits",
    "bytes",
    "decbytes",
    // throughput
    "bits/sec",
    "decbits/sec",
    "bytes/sec",
    "decbytes/sec",
    "counts/sec",
    "events/sec",
    "messages/sec",
    "ops/sec",
    "packets/sec",
    "reads/sec",
    "records/sec",
    "requests/sec",
    "rows/sec",
    "writes/sec",
    // currency
    "aud",
    "cad",
    "chf",
    "cny",
    "eur",
    "gbp",
    "hkd",
    "inr",
    "jpy",
    "krw",
    "nok",
    "nzd",
    "sek",
    "sgd",
    "usd",
    // temperature
    "celsius",
    "fahrenheit",
    // dates
    "datetime-iso",
    "datetime-us",
    "datetime-local",
    "date-iso",
    "date-us",
    "date-local",
    "time-local",
    "time-iso",
    "time-us",
    "relative-time",
    "unix-timestamp",
    "unix-timestamp-ms",
];

/// A `{kind, metadata?, spec}` plugin whose kind is known.
pub(crate) struct Plugin<'v> {
    pub(crate) kind: &'v str,
    /// The plugin spec; an omitted spec is treated as `{}` (Perses writes it out that way).
    pub(crate) spec: Fields<'v>,
}

fn empty_object() -> &'static Object {
    static EMPTY: OnceLock<Object> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// Checks the plugin object at `parent.key`; returns it when its kind is in `known`.
pub(crate) fn check_plugin<'v>(
    checker: &mut Checker,
    parent: &Fields<'v>,
    key: &str,
    what: &str,
    known: &[&str],
) -> Option<Plugin<'v>> {
    let plugin = parent.object(checker, key, Need::Required)?;
    if let Some(metadata) = plugin.object(checker, "metadata", Need::Optional) {
        metadata.string(checker, "version", Need::Optional);
        metadata.string(checker, "registry", Need::Optional);
    }
    let spec = match plugin.field(checker, "spec", Need::Optional) {
        None => Some(Fields {
            map: empty_object(),
            path: plugin.path_of("spec"),
        }),
        Some(value) => checker.object(&plugin.path_of("spec"), value),
    };
    let kind = plugin.non_empty_string(checker, "kind", Need::Required)?;
    if !known.contains(&kind) {
        checker.report(
            plugin.path_of("kind"),
            unknown_kind_message(what, kind, known),
        );
        return None;
    }
    Some(Plugin { kind, spec: spec? })
}

/// `display: {name?, description?}` (both strings).
pub(crate) fn check_display(checker: &mut Checker, parent: &Fields<'_>) {
    if let Some(display) = parent.object(checker, "display", Need::Optional) {
        display.string(checker, "name", Need::Optional);
        display.string(checker, "description", Need::Optional);
    }
}

/// The shared datasource selector: `"$var"` or `{kind, name?}`.
pub(crate) fn check_datasource_selector(checker: &mut Checker, parent: &Fields<'_>) {
    let path = parent.path_of("datasource");
    match parent.get("datasource") {
        None => {}
        Some(Value::String(text)) if is_variable_reference(text) => {}
        Some(Value::String(text)) => {
            checker.report(
                path,
                format!(
                    "a datasource given as a string must be a variable reference such as \"$datasource\" (got {text:?})"
                ),
            );
        }
        Some(value @ Value::Object(_)) => {
            if let Some(selector) = checker.object(&path, value) {
                selector.reject_unknown(checker, &["kind", "name"]);
                selector.non_empty_string(checker, "kind", Need::Required);
                selector.string(checker, "name", Need::Optional);
            }
        }
        Some(other) => checker.wrong_type(
            &path,
            "a \"$variable\" string or a {kind, name} object",
            other,
        ),
    }
}

/// `calculation`, one of [`CALCULATIONS`].
pub(crate) fn check_calculation(checker: &mut Checker, parent: &Fields<'_>, need: Need) {
    parent.one_of(checker, "calculation", CALCULATIONS, need);
}

/// The shared `format`: `{unit?, decimalPlaces?, shortValues?, customLabel?}`.
pub(crate) fn check_format(checker: &mut Checker, parent: &Fields<'_>) {
    let Some(format) = parent.object(checker, "format", Need::Optional) else {
        return;
    };
    format.reject_unknown(
        checker,
        &["unit", "decimalPlaces", "shortValues", "customLabel"],
    );
    if let Some(unit) = format.string(checker, "unit", Need::Optional)
        && !UNITS.contains(&unit)
    {
        checker.report(
            format.path_of("unit"),
            format!("unknown unit {unit:?} (known: {})", UNITS.join(", ")),
        );
    }
    format.number(checker, "decimalPlaces", Need::Optional);
    format.boolean(checker, "shortValues");
    format.non_empty_string(checker, "customLabel", Need::Optional);
}

/// The shared `thresholds`: `{mode?, defaultColor?, steps?: [{value, color?, name?}]}`.
pub(crate) fn check_thresholds(checker: &mut Checker, parent: &Fields<'_>) {
    let Some(thresholds) = parent.object(checker, "thresholds", Need::Optional) else {
        return;
    };
    thresholds.one_of(checker, "mode", &["percent", "absolute"], Need::Optional);
    thresholds.string(checker, "defaultColor", Need::Optional);
    thresholds.one_of(
        checker,
        "colorMode",
        &["value", "background_solid", "none"],
        Need::Optional,
    );
    let Some(steps) = thresholds.array(checker, "steps", Need::Optional) else {
        return;
    };
    let steps_path = thresholds.path_of("steps");
    for (index, step) in steps.iter().enumerate() {
        if let Some(step) = checker.object(&element(&steps_path, index), step) {
            step.number(checker, "value", Need::Required);
            step.string(checker, "color", Need::Optional);
            step.string(checker, "name", Need::Optional);
        }
    }
}

/// A legend `{position, mode?, size?, values?}` whose `values` come from `value_choices`.
pub(crate) fn check_legend(checker: &mut Checker, parent: &Fields<'_>, value_choices: &[&str]) {
    let Some(legend) = parent.object(checker, "legend", Need::Optional) else {
        return;
    };
    legend.one_of(checker, "position", &["bottom", "right"], Need::Required);
    legend.one_of(checker, "mode", &["list", "table"], Need::Optional);
    legend.one_of(checker, "size", &["small", "medium"], Need::Optional);
    if let Some(values) = legend.array(checker, "values", Need::Optional) {
        let path = legend.path_of("values");
        for (index, value) in values.iter().enumerate() {
            checker.one_of(&element(&path, index), value, value_choices);
        }
    }
}

/// Value mappings: `[{kind: Value|Range|Regex|Misc, spec: {..., result: {value, color?}}}]`.
pub(crate) fn check_mappings(checker: &mut Checker, parent: &Fields<'_>) {
    let Some(mappings) = parent.array(checker, "mappings", Need::Optional) else {
        return;
    };
    let path = parent.path_of("mappings");
    for (index, mapping) in mappings.iter().enumerate() {
        let Some(mapping) = checker.object(&element(&path, index), mapping) else {
            continue;
        };
        mapping.one_of(
            checker,
            "kind",
            &["Value", "Range", "Regex", "Misc"],
            Need::Required,
        );
        let Some(spec) = mapping.object(checker, "spec", Need::Required) else {
            continue;
        };
        if let Some(result) = spec.object(checker, "result", Need::Required) {
            result.string(checker, "value", Need::Required);
            check_hex_color(checker, &result, "color");
        }
    }
}

/// An optional `#rgb` / `#rrggbb` colour.
pub(crate) fn check_hex_color(checker: &mut Checker, parent: &Fields<'_>, key: &str) {
    if let Some(color) = parent.string(checker, key, Need::Optional)
        && !is_hex_color(color)
    {
        checker.report(
            parent.path_of(key),
            format!("must be a hexadecimal colour such as \"#ff0000\" (got {color:?})"),
        );
    }
}

/// Every element of the array at `parent.key` as an object, with its path.
pub(crate) fn objects_in<'v>(
    checker: &mut Checker,
    parent: &Fields<'v>,
    key: &str,
    need: Need,
) -> Vec<Fields<'v>> {
    let Some(items) = parent.array(checker, key, need) else {
        return Vec::new();
    };
    let path = parent.path_of(key);
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| checker.object(&element(&path, index), item))
        .collect()
}

/// Dashboard or panel links: `[{url, name?, tooltip?, renderVariables?, targetBlank?}]`.
pub(crate) fn check_links(checker: &mut Checker, parent: &Fields<'_>) {
    for link in objects_in(checker, parent, "links", Need::Optional) {
        link.non_empty_string(checker, "url", Need::Required);
        link.string(checker, "name", Need::Optional);
        link.string(checker, "tooltip", Need::Optional);
        link.boolean(checker, "renderVariables");
        link.boolean(checker, "targetBlank");
    }
}
