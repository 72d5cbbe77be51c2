//! Time-series charts: Grafana `timeseries` and the legacy `graph` panel.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{
    as_number, compile_js_regex, defaults, fixed_color, legend, line_width, matched_targets,
    options, put, y_axis_bounds,
};
use crate::Losses;
use crate::color::to_hex;
use crate::query::Queries;
use crate::units::{defaults_format, format, number, thresholds};

pub(super) fn timeseries(
    panel: &Value,
    queries: &Queries,
    losses: &mut Losses,
    location: &str,
) -> Value {
    let defaults = defaults(panel);
    let custom = defaults.get("custom").unwrap_or(&Value::Null);
    let mut spec = Map::new();
    put(
        &mut spec,
        "legend",
        legend(options(panel), true, losses, location),
    );

    let mut visual = Map::new();
    match custom.get("drawStyle").and_then(Value::as_str) {
        Some("line") => {
            visual.insert("display".into(), json!("line"));
        }
        Some("bars") => {
            visual.insert("display".into(), json!("bar"));
        }
        Some("points") => {
            visual.insert("display".into(), json!("line"));
            visual.insert("showPoints".into(), json!("always"));
            losses.add(
                location,
                "draw style `points`",
                "Perses draws lines with points instead",
            );
        }
        _ => {}
    }
    put(
        &mut visual,
        "lineWidth",
        line_width(as_number(custom.get("lineWidth")), losses, location),
    );
    if let Some(fill) = as_number(custom.get("fillOpacity")) {
        visual.insert("areaOpacity".into(), number((fill / 100.0).clamp(0.0, 1.0)));
    }
    match custom.get("spanNulls") {
        Some(Value::Bool(span)) => {
            visual.insert("connectNulls".into(), json!(span));
        }
        Some(Value::Number(limit)) => {
            visual.insert("connectNulls".into(), json!(true));
            losses.add(
                location,
                format!("connect nulls only below {limit} ms"),
                "Perses connects every gap or none",
            );
        }
        _ => {}
    }
    if let Some(style) = custom.pointer("/lineStyle/fill").and_then(Value::as_str) {
        put(&mut visual, "lineStyle", line_style(style));
    }
    match custom.pointer("/stacking/mode").and_then(Value::as_str) {
        Some("normal") => {
            visual.insert("stack".into(), json!("all"));
        }
        Some("percent") => {
            visual.insert("stack".into(), json!("all"));
            losses.add(
                location,
                "100% stacking",
                "Perses (as Perses' own migration does) stacks the absolute values",
            );
        }
        _ => {}
    }
    if custom.get("showPoints").and_then(Value::as_str) == Some("always") {
        visual.insert("showPoints".into(), json!("always"));
    }
    if !visual.is_empty() {
        spec.insert("visual".into(), Value::Object(visual));
    }

    let mut y_axis = Map::new();
    put(
        &mut y_axis,
        "format",
        defaults_format(defaults, losses, location),
    );
    if let Some(label) = custom.get("axisLabel").and_then(Value::as_str)
        && !label.is_empty()
    {
        y_axis.insert("label".into(), json!(label));
    }
    if custom.get("axisPlacement").and_then(Value::as_str) == Some("hidden") {
        y_axis.insert("show".into(), json!(false));
    }
    y_axis_bounds(
        &mut y_axis,
        as_number(defaults.get("min")),
        as_number(defaults.get("max")),
        losses,
        location,
    );
    let log_base = as_number(defaults.get("logBase")).or_else(|| {
        (custom
            .pointer("/scaleDistribution/type")
            .and_then(Value::as_str)
            == Some("log"))
        .then(|| as_number(custom.pointer("/scaleDistribution/log")))
        .flatten()
    });
    if let Some(base) = log_base {
        if base == 2.0 || base == 10.0 {
            y_axis.insert("logBase".into(), number(base));
        } else if base != 1.0 {
            losses.add(
                location,
                format!("log scale base {base}"),
                "Perses supports base 2 and 10 only",
            );
        }
    }
    if !y_axis.is_empty() {
        spec.insert("yAxis".into(), Value::Object(y_axis));
    }

    if let Some(mode) = custom
        .pointer("/thresholdsStyle/mode")
        .and_then(Value::as_str)
        && mode != "off"
    {
        put(
            &mut spec,
            "thresholds",
            thresholds(defaults.get("thresholds"), losses, location),
        );
    }
    if defaults.pointer("/color/mode").and_then(Value::as_str) == Some("fixed") {
        losses.add(
            location,
            "fixed series colour",
            "Perses uses its palette for the whole chart",
        );
    }

    // Per-query settings from the default transform and the overrides.
    let mut settings: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    if custom.get("transform").and_then(Value::as_str) == Some("negative-Y") {
        for index in queries.index_of_target.iter().flatten() {
            settings
                .entry(*index)
                .or_default()
                .insert("negativeY".into(), json!(true));
        }
    }
    for entry in panel
        .pointer("/fieldConfig/overrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(positions) = matched_targets(
            entry.get("matcher").unwrap_or(&Value::Null),
            panel,
            losses,
            location,
        ) else {
            continue;
        };
        let indexes: Vec<usize> = positions
            .iter()
            .filter_map(|position| queries.index_of_target.get(*position).copied().flatten())
            .collect();
        for property in entry
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = property.get("id").and_then(Value::as_str).unwrap_or("");
            let value = property.get("value").unwrap_or(&Value::Null);
            let mut set: Vec<(&str, Value)> = Vec::new();
            match id {
                "color" => {
                    if let Some(hex) = fixed_color(value, losses, location) {
                        set.push(("colorMode", json!("fixed")));
                        set.push(("colorValue", json!(hex)));
                    }
                }
                "custom.fillOpacity" => {
                    if let Some(fill) = as_number(Some(value)) {
                        set.push(("areaOpacity", number((fill / 100.0).clamp(0.0, 1.0))));
                    }
                }
                "custom.lineStyle" => {
                    if let Some(style) = value
                        .get("fill")
                        .and_then(Value::as_str)
                        .and_then(line_style)
                    {
                        set.push(("lineStyle", style));
                    }
                }
                "unit" => {
                    if let Some(format) = format(value.as_str(), None, losses, location) {
                        set.push(("format", format));
                    }
                }
                "custom.transform" => {
                    if value.as_str() == Some("negative-Y") {
                        set.push(("negativeY", json!(true)));
                    }
                }
                _ => losses.add(
                    location,
                    format!("override `{id}`"),
                    "Perses query settings have no such option",
                ),
            }
            for index in &indexes {
                let entry = settings.entry(*index).or_default();
                for (key, value) in &set {
                    entry.insert((*key).into(), value.clone());
                }
            }
        }
    }
    let query_settings: Vec<Value> = settings
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(index, mut values)| {
            values.insert("queryIndex".into(), json!(index));
            Value::Object(values)
        })
        .collect();
    if !query_settings.is_empty() {
        spec.insert("querySettings".into(), Value::Array(query_settings));
    }
    Value::Object(spec)
}

fn line_style(style: &str) -> Option<Value> {
    Some(json!(match style {
        "solid" => "solid",
        "dash" => "dashed",
        "dot" => "dotted",
        _ => return None,
    }))
}

/// Legacy `graph` panel (Grafana ≤ 7).
pub(super) fn graph(
    panel: &Value,
    queries: &Queries,
    losses: &mut Losses,
    location: &str,
) -> Value {
    let mut spec = Map::new();
    if let Some(legend) = panel.get("legend")
        && legend.get("show").and_then(Value::as_bool) != Some(false)
    {
        let mut out = Map::new();
        let right = legend.get("rightSide").and_then(Value::as_bool) == Some(true);
        out.insert(
            "position".into(),
            json!(if right { "right" } else { "bottom" }),
        );
        let table = legend.get("alignAsTable").and_then(Value::as_bool) == Some(true);
        out.insert("mode".into(), json!(if table { "table" } else { "list" }));
        if legend.get("values").and_then(Value::as_bool) == Some(true) {
            let values: Vec<Value> = [
                ("min", "min"),
                ("max", "max"),
                ("avg", "mean"),
                ("current", "last-number"),
                ("total", "sum"),
            ]
            .iter()
            .filter(|(key, _)| legend.get(*key).and_then(Value::as_bool) == Some(true))
            .map(|(_, value)| json!(value))
            .collect();
            if !values.is_empty() {
                out.insert("values".into(), Value::Array(values));
            }
        }
        spec.insert("legend".into(), Value::Object(out));
    }

    let mut y_axis = Map::new();
    let axes = panel.get("yaxes").and_then(Value::as_array);
    if let Some(left) = axes.and_then(|axes| axes.first()) {
        put(
            &mut y_axis,
            "format",
            format(
                left.get("format").and_then(Value::as_str),
                panel.get("decimals").or_else(|| left.get("decimals")),
                losses,
                location,
            ),
        );
        if let Some(label) = left.get("label").and_then(Value::as_str)
            && !label.is_empty()
        {
            y_axis.insert("label".into(), json!(label));
        }
        if left.get("show").and_then(Value::as_bool) == Some(false) {
            y_axis.insert("show".into(), json!(false));
        }
        y_axis_bounds(
            &mut y_axis,
            as_number(left.get("min")),
            as_number(left.get("max")),
            losses,
            location,
        );
        if let Some(base) = as_number(left.get("logBase")) {
            if base == 2.0 || base == 10.0 {
                y_axis.insert("logBase".into(), number(base));
            } else if base != 1.0 {
                losses.add(
                    location,
                    format!("log scale base {base}"),
                    "Perses supports base 2 and 10 only",
                );
            }
        }
    }
    if !y_axis.is_empty() {
        spec.insert("yAxis".into(), Value::Object(y_axis));
    }

    let mut visual = Map::new();
    let lines = panel.get("lines").and_then(Value::as_bool).unwrap_or(true);
    let bars = panel.get("bars").and_then(Value::as_bool) == Some(true);
    let points = panel.get("points").and_then(Value::as_bool) == Some(true);
    if bars && !lines {
        visual.insert("display".into(), json!("bar"));
    } else {
        visual.insert("display".into(), json!("line"));
        if bars {
            losses.add(
                location,
                "bars drawn together with lines",
                "Perses draws one style per chart; lines are kept",
            );
        }
    }
    if points {
        visual.insert("showPoints".into(), json!("always"));
    }
    put(
        &mut visual,
        "lineWidth",
        line_width(as_number(panel.get("linewidth")), losses, location),
    );
    if let Some(fill) = as_number(panel.get("fill")) {
        visual.insert("areaOpacity".into(), number((fill / 10.0).clamp(0.0, 1.0)));
    }
    if panel.get("nullPointMode").and_then(Value::as_str) == Some("connected") {
        visual.insert("connectNulls".into(), json!(true));
    }
    if panel.get("dashes").and_then(Value::as_bool) == Some(true) {
        visual.insert("lineStyle".into(), json!("dashed"));
    }
    if panel.get("stack").and_then(Value::as_bool) == Some(true) {
        visual.insert("stack".into(), json!("all"));
        if panel.get("percentage").and_then(Value::as_bool) == Some(true) {
            losses.add(
                location,
                "100% stacking",
                "Perses stacks the absolute values",
            );
        }
    }
    if panel.get("steppedLine").and_then(Value::as_bool) == Some(true) {
        losses.add(
            location,
            "stepped line",
            "Perses draws straight lines between points",
        );
    }
    spec.insert("visual".into(), Value::Object(visual));

    // Legacy thresholds: lines at given values.
    let mut steps = Vec::new();
    for threshold in panel
        .get("thresholds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(value) = as_number(threshold.get("value")) else {
            continue;
        };
        let color = match threshold.get("colorMode").and_then(Value::as_str) {
            Some("critical") => Some("#f2495c".to_string()),
            Some("warning") => Some("#fade2a".to_string()),
            Some("ok") => Some("#73bf69".to_string()),
            _ => threshold
                .get("lineColor")
                .or_else(|| threshold.get("fillColor"))
                .and_then(Value::as_str)
                .and_then(to_hex),
        };
        let mut step = Map::new();
        step.insert("value".into(), number(value));
        put(&mut step, "color", color.map(Value::from));
        steps.push(Value::Object(step));
    }
    if !steps.is_empty() {
        spec.insert("thresholds".into(), json!({"steps": steps}));
    }

    // Series colours and overrides, tied to a query through its legend format.
    let targets: Vec<&Value> = panel
        .get("targets")
        .and_then(Value::as_array)
        .map(|targets| targets.iter().collect())
        .unwrap_or_default();
    let query_of_alias = |alias: &str| -> Option<usize> {
        let regex = alias
            .starts_with('/')
            .then(|| compile_js_regex(alias))
            .flatten();
        targets.iter().enumerate().find_map(|(position, target)| {
            let legend = target
                .get("legendFormat")
                .and_then(Value::as_str)
                .unwrap_or("");
            let matches = match &regex {
                Some(regex) => !legend.is_empty() && regex.is_match(legend),
                None => legend == alias,
            };
            if matches {
                queries.index_of_target.get(position).copied().flatten()
            } else {
                None
            }
        })
    };
    let mut settings: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    for (alias, color) in panel
        .get("aliasColors")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let hex = color.as_str().and_then(to_hex);
        match (query_of_alias(alias), hex) {
            (Some(index), Some(hex)) => {
                let entry = settings.entry(index).or_default();
                entry.insert("colorMode".into(), json!("fixed"));
                entry.insert("colorValue".into(), json!(hex));
            }
            _ => losses.add(
                location,
                format!("series colour for `{alias}`"),
                "no query has this legend, so the colour cannot be tied to a query",
            ),
        }
    }
    for entry in panel
        .get("seriesOverrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let alias = entry.get("alias").and_then(Value::as_str).unwrap_or("");
        let Some(index) = query_of_alias(alias) else {
            losses.add(
                location,
                format!("series override for `{alias}`"),
                "no query has this legend, so the override cannot be tied to a query",
            );
            continue;
        };
        for (key, value) in entry.as_object().into_iter().flatten() {
            let setting = settings.entry(index).or_default();
            match key.as_str() {
                "alias" | "$$hashKey" | "zindex" => {}
                "color" => {
                    if let Some(hex) = value.as_str().and_then(to_hex) {
                        setting.insert("colorMode".into(), json!("fixed"));
                        setting.insert("colorValue".into(), json!(hex));
                    }
                }
                "fill" => {
                    if let Some(fill) = as_number(Some(value)) {
                        setting.insert("areaOpacity".into(), number((fill / 10.0).clamp(0.0, 1.0)));
                    }
                }
                "dashes" if value.as_bool() == Some(true) => {
                    setting.insert("lineStyle".into(), json!("dashed"));
                }
                "transform" if value.as_str() == Some("negative-Y") => {
                    setting.insert("negativeY".into(), json!(true));
                }
                other => losses.add(
                    location,
                    format!("series override `{other}` for `{alias}`"),
                    "Perses query settings have no such option",
                ),
            }
        }
    }
    let query_settings: Vec<Value> = settings
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(index, mut values)| {
            values.insert("queryIndex".into(), json!(index));
            Value::Object(values)
        })
        .collect();
    if !query_settings.is_empty() {
        spec.insert("querySettings".into(), Value::Array(query_settings));
    }
    if panel
        .get("yaxes")
        .and_then(Value::as_array)
        .and_then(|axes| axes.get(1))
        .is_some()
        && panel
            .get("seriesOverrides")
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter()
                    .any(|o| o.get("yaxis").and_then(Value::as_i64) == Some(2))
            })
    {
        losses.add(location, "right y axis", "Perses charts have one y axis");
    }
    Value::Object(spec)
}
