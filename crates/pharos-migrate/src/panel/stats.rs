//! Single-value panels: `stat`, the legacy `singlestat`, `gauge` and `bargauge`.

use serde_json::{Map, Value, json};

use super::{as_number, defaults, options, put};
use crate::Losses;
use crate::color::to_hex;
use crate::units::{calculation, defaults_format, format, mappings, number, thresholds};

pub(super) fn stat(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let defaults = defaults(panel);
    let options = options(panel);
    let mut spec = Map::new();
    spec.insert(
        "calculation".into(),
        json!(calculation(options, losses, location)),
    );
    put(
        &mut spec,
        "format",
        defaults_format(defaults, losses, location),
    );
    put(
        &mut spec,
        "thresholds",
        thresholds(defaults.get("thresholds"), losses, location),
    );
    match options.get("colorMode").and_then(Value::as_str) {
        Some("value") => {
            spec.insert("colorMode".into(), json!("value"));
        }
        Some("background" | "background_solid") => {
            spec.insert("colorMode".into(), json!("background_solid"));
        }
        Some("none") => {
            spec.insert("colorMode".into(), json!("none"));
        }
        _ => {}
    }
    if options.get("graphMode").and_then(Value::as_str) == Some("area") {
        spec.insert("sparkline".into(), json!({}));
    }
    // The label shown instead of the value.
    let fields = options
        .pointer("/reduceOptions/fields")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(label) = fields
        .strip_prefix("/^")
        .and_then(|rest| rest.strip_suffix("$/"))
    {
        spec.insert("metricLabel".into(), json!(label));
    } else if options.get("textMode").and_then(Value::as_str) == Some("name")
        && let Some(legend) = panel
            .pointer("/targets/0/legendFormat")
            .and_then(Value::as_str)
        && let Some(label) = legend
            .strip_prefix("{{")
            .and_then(|rest| rest.strip_suffix("}}"))
        && !label.contains('{')
    {
        spec.insert("metricLabel".into(), json!(label.trim()));
    }
    let mut all_mappings = mappings(
        defaults.get("mappings").unwrap_or(&Value::Null),
        losses,
        location,
    );
    for entry in panel
        .pointer("/fieldConfig/overrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for property in entry
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = property.get("id").and_then(Value::as_str).unwrap_or("");
            if id == "mappings" {
                all_mappings.extend(mappings(
                    property.get("value").unwrap_or(&Value::Null),
                    losses,
                    location,
                ));
            } else {
                losses.add(
                    location,
                    format!("override `{id}`"),
                    "stat charts have no per-series settings in Perses",
                );
            }
        }
    }
    if !all_mappings.is_empty() {
        spec.insert("mappings".into(), Value::Array(all_mappings));
    }
    Value::Object(spec)
}

/// Legacy `singlestat` panel (Grafana ≤ 7).
pub(super) fn singlestat(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let mut spec = Map::new();
    let calculation = match panel.get("valueName").and_then(Value::as_str) {
        None | Some("current") => "last-number",
        Some("avg") => "mean",
        Some("min") => "min",
        Some("max") => "max",
        Some("total") => "sum",
        Some("first") => "first",
        Some(other) => {
            losses.add(
                location,
                format!("value `{other}`"),
                "Perses has no such calculation; `last` is used",
            );
            "last"
        }
    };
    spec.insert("calculation".into(), json!(calculation));
    put(
        &mut spec,
        "format",
        format(
            panel.get("format").and_then(Value::as_str),
            panel.get("decimals"),
            losses,
            location,
        ),
    );
    let colors: Vec<&str> = panel
        .get("colors")
        .and_then(Value::as_array)
        .map(|colors| colors.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let levels: Vec<f64> = panel
        .get("thresholds")
        .and_then(Value::as_str)
        .map(|text| {
            text.split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let color_value = panel.get("colorValue").and_then(Value::as_bool) == Some(true);
    let color_background = panel.get("colorBackground").and_then(Value::as_bool) == Some(true);
    if !levels.is_empty() && (color_value || color_background) {
        let mut steps = Vec::new();
        for (position, value) in std::iter::once(0.0)
            .chain(levels.iter().copied())
            .enumerate()
        {
            let mut step = Map::new();
            step.insert("value".into(), number(value));
            put(
                &mut step,
                "color",
                colors
                    .get(position)
                    .and_then(|c| to_hex(c))
                    .map(Value::from),
            );
            steps.push(Value::Object(step));
        }
        spec.insert("thresholds".into(), json!({"steps": steps}));
    }
    let color_mode = if color_background {
        "background_solid"
    } else if color_value {
        "value"
    } else {
        "none"
    };
    spec.insert("colorMode".into(), json!(color_mode));
    if panel.pointer("/sparkline/show").and_then(Value::as_bool) == Some(true) {
        spec.insert("sparkline".into(), json!({}));
    }
    let mut out_mappings = Vec::new();
    for map in panel
        .get("valueMaps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let value = map.get("value").and_then(Value::as_str).unwrap_or("");
        let text = map.get("text").and_then(Value::as_str).unwrap_or("");
        if value == "null" {
            out_mappings.push(
                json!({"kind": "Misc", "spec": {"value": "null", "result": {"value": text}}}),
            );
        } else {
            out_mappings.push(
                json!({"kind": "Value", "spec": {"value": value, "result": {"value": text}}}),
            );
        }
    }
    if panel.get("mappingType").and_then(Value::as_i64) == Some(2) {
        for map in panel
            .get("rangeMaps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut range = Map::new();
            put(&mut range, "from", as_number(map.get("from")).map(number));
            put(&mut range, "to", as_number(map.get("to")).map(number));
            let text = map.get("text").and_then(Value::as_str).unwrap_or("");
            range.insert("result".into(), json!({"value": text}));
            out_mappings.push(json!({"kind": "Range", "spec": range}));
        }
    }
    if !out_mappings.is_empty() {
        spec.insert("mappings".into(), Value::Array(out_mappings));
    }
    for key in ["prefix", "postfix"] {
        if let Some(text) = panel.get(key).and_then(Value::as_str)
            && !text.is_empty()
        {
            losses.add(
                location,
                format!("{key} `{text}`"),
                "Perses stat charts have no prefix or suffix text",
            );
        }
    }
    if panel.pointer("/gauge/show").and_then(Value::as_bool) == Some(true) {
        losses.add(
            location,
            "gauge display",
            "shown as a stat; use a GaugeChart panel for a gauge",
        );
    }
    Value::Object(spec)
}

pub(super) fn gauge(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let defaults = defaults(panel);
    let mut spec = Map::new();
    spec.insert(
        "calculation".into(),
        json!(calculation(options(panel), losses, location)),
    );
    put(
        &mut spec,
        "format",
        defaults_format(defaults, losses, location),
    );
    put(
        &mut spec,
        "thresholds",
        thresholds(defaults.get("thresholds"), losses, location),
    );
    if let Some(max) = as_number(defaults.get("max")) {
        spec.insert("max".into(), number(max));
    }
    if let Some(min) = as_number(defaults.get("min"))
        && min != 0.0
    {
        losses.add(
            location,
            format!("gauge min {min}"),
            "Perses gauges start at 0",
        );
    }
    Value::Object(spec)
}

pub(super) fn bar_gauge(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let defaults = defaults(panel);
    let mut spec = Map::new();
    spec.insert(
        "calculation".into(),
        json!(calculation(options(panel), losses, location)),
    );
    put(
        &mut spec,
        "format",
        defaults_format(defaults, losses, location),
    );
    let steps = defaults
        .pointer("/thresholds/steps")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if steps > 1 && defaults.pointer("/color/mode").and_then(Value::as_str) == Some("thresholds") {
        losses.add(
            location,
            "threshold colours",
            "Perses bar charts have no thresholds",
        );
    }
    Value::Object(spec)
}
