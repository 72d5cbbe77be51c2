//! Building blocks shared by several specs: plugin headers, display blocks, the
//! datasource selector and the common panel types (format, thresholds, legend, ...).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::check::{Checker, Fields, Need, Object, element, is_hex_color, is_variable_reference};
use crate::spec::js_regex;
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

/// Units accepted by the shared `format.unit`: exactly the units the formatters of the web UI
/// bundled in pharos know (`UNIT_CONFIG` of `@perses-dev/core` 0.52). Any other unit passes a
/// newer Perses schema but crashes the panel in the UI ("reading 'group'"), so it is refused.
/// The list is checked against `testdata/ui/bundled-ui-options.json`, which `ui/e2e` checks
/// against the bundled code (decision 0012).
pub(crate) const UNITS: &[&str] = &[
    // time
    "milliseconds",
    "seconds",
    "minutes",
    "hours",
    "days",
    "weeks",
    "months",
    "years",
    // percent (`%` is shorthand for `percent`) and plain numbers
    "percent",
    "percent-decimal",
    "%",
    "decimal",
    // data
    "bytes",
    // throughput
    "bits/sec",
    "bytes/sec",
    "counts/sec",
    "events/sec",
    "messages/sec",
    "ops/sec",
    "packets/sec",
    "reads/sec",
    "requests/sec",
    "records/sec",
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
];

/// `legend.position` values the bundled UI lays out.
pub(crate) const LEGEND_POSITIONS: &[&str] = &["bottom", "right"];
/// `legend.mode` values.
pub(crate) const LEGEND_MODES: &[&str] = &["list", "table"];
/// `legend.size` values.
pub(crate) const LEGEND_SIZES: &[&str] = &["small", "medium"];

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
            format!(
                "unknown unit {unit:?}: the web UI cannot draw it (known: {})",
                UNITS.join(", ")
            ),
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
    legend.one_of(checker, "position", LEGEND_POSITIONS, Need::Required);
    legend.one_of(checker, "mode", LEGEND_MODES, Need::Optional);
    legend.one_of(checker, "size", LEGEND_SIZES, Need::Optional);
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
        let kind = mapping.one_of(
            checker,
            "kind",
            &["Value", "Range", "Regex", "Misc"],
            Need::Required,
        );
        let Some(spec) = mapping.object(checker, "spec", Need::Required) else {
            continue;
        };
        if kind == Some("Regex") {
            check_js_regex(checker, &spec, "pattern", js_regex::slash_pattern_problem);
        }
        if let Some(result) = spec.object(checker, "result", Need::Required) {
            result.string(checker, "value", Need::Required);
            check_hex_color(checker, &result, "color");
        }
    }
}

/// An optional string at `parent.key` that the web UI compiles as a JavaScript regex; `problem`
/// says why the UI would fail on it ([`js_regex::pattern_problem`] or its `/regex/flags` form).
pub(crate) fn check_js_regex(
    checker: &mut Checker,
    parent: &Fields<'_>,
    key: &str,
    problem: fn(&str) -> Option<&'static str>,
) {
    if let Some(pattern) = parent.string(checker, key, Need::Optional)
        && let Some(problem) = problem(pattern)
    {
        checker.report(
            parent.path_of(key),
            format!("{pattern:?} is not a regular expression the web UI can use: {problem}"),
        );
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

#[cfg(test)]
mod bundled_ui_options {
    //! The validator's lists against `testdata/ui/bundled-ui-options.json`, which `ui/e2e`
    //! checks against the Perses code bundled in the UI: a drift on either side fails a test.

    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::{CALCULATIONS, LEGEND_MODES, LEGEND_POSITIONS, LEGEND_SIZES, UNITS};

    const CONTRACT: &str = include_str!("../../../../testdata/ui/bundled-ui-options.json");

    fn bundled(key: &str) -> BTreeSet<String> {
        let contract: Value = serde_json::from_str(CONTRACT).expect("the contract file is JSON");
        contract[key]
            .as_array()
            .unwrap_or_else(|| panic!("the contract has no list {key:?}"))
            .iter()
            .map(|value| value.as_str().expect("a string").to_owned())
            .collect()
    }

    fn accepted(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|&value| value.to_owned()).collect()
    }

    fn assert_same(key: &str, validator: &[&str]) {
        let bundled = bundled(key);
        let accepted = accepted(validator);
        assert!(!bundled.is_empty(), "{key}: empty list in the contract");
        let ui_lacks: Vec<_> = accepted.difference(&bundled).collect();
        let validator_lacks: Vec<_> = bundled.difference(&accepted).collect();
        assert!(
            ui_lacks.is_empty() && validator_lacks.is_empty(),
            "{key}: the validator accepts {ui_lacks:?} that the web UI cannot draw, \
             and refuses {validator_lacks:?} that it can"
        );
    }

    #[test]
    fn units_are_the_bundled_formatters_units() {
        assert_same("formatUnits", UNITS);
    }

    #[test]
    fn calculations_and_legend_choices_are_the_bundled_ones() {
        assert_same("calculations", CALCULATIONS);
        assert_same("legendValues", CALCULATIONS);
        assert_same("legendPositions", LEGEND_POSITIONS);
        assert_same("legendModes", LEGEND_MODES);
        assert_same("legendSizes", LEGEND_SIZES);
    }
}
