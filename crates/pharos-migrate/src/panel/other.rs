//! Pie charts, heatmaps, status history, logs and text panels.

use serde_json::{Map, Value, json};

use super::{defaults, legend, options, put};
use crate::Losses;
use crate::color::to_hex;
use crate::units::{calculation, defaults_format, format, mappings};

pub(super) fn pie(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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
    if let Some(mut legend) = legend(options, false, losses, location) {
        let values: Vec<Value> = options
            .pointer("/legend/values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|value| match value.as_str() {
                Some("value") => Some(json!("abs")),
                Some("percent") => Some(json!("relative")),
                _ => None,
            })
            .collect();
        if !values.is_empty()
            && let Value::Object(map) = &mut legend
        {
            map.insert("values".into(), Value::Array(values));
        }
        spec.insert("legend".into(), legend);
    }
    if options
        .get("displayLabels")
        .and_then(Value::as_array)
        .is_some_and(|labels| !labels.is_empty())
    {
        spec.insert("showLabels".into(), json!(true));
    }
    if let Some(color) = defaults.get("color")
        && matches!(
            color.get("mode").and_then(Value::as_str),
            Some("fixed" | "shades")
        )
        && let Some(hex) = color
            .get("fixedColor")
            .and_then(Value::as_str)
            .and_then(to_hex)
    {
        spec.insert("colorPalette".into(), json!([hex]));
    }
    spec.insert("radius".into(), json!(50));
    if options.get("pieType").and_then(Value::as_str) == Some("donut") {
        losses.add(location, "donut style", "Perses draws a full pie");
    }
    Value::Object(spec)
}

pub(super) fn heatmap(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let options = options(panel);
    let mut spec = Map::new();
    // Grafana ≥ 9 keeps the axis in options.yAxis; older heatmaps in panel.yAxis.
    let axis = options
        .get("yAxis")
        .or_else(|| panel.get("yAxis"))
        .unwrap_or(&Value::Null);
    put(
        &mut spec,
        "yAxisFormat",
        format(
            axis.get("unit")
                .or_else(|| axis.get("format"))
                .and_then(Value::as_str),
            axis.get("decimals"),
            losses,
            location,
        ),
    );
    let legend = options
        .pointer("/legend/show")
        .or_else(|| panel.pointer("/legend/show"));
    if let Some(show) = legend.and_then(Value::as_bool) {
        spec.insert("showVisualMap".into(), json!(show));
    }
    let calculates = options.get("calculate").and_then(Value::as_bool) == Some(true)
        || panel.get("dataFormat").and_then(Value::as_str) == Some("timeseries");
    if calculates {
        losses.add(
            location,
            "heatmap buckets computed by Grafana",
            "Perses draws the buckets the query returns; use a `_bucket` histogram query",
        );
    }
    // The heat map plugin Pharos bundles (Perses' 0.3) says "only native histograms are
    // supported" for anything else, so a heat map over classic `_bucket` series shows no data.
    let classic = panel
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("expr").and_then(Value::as_str))
        .any(|expr| expr.contains("_bucket"));
    if classic {
        losses.add(
            location,
            "heat map over classic histogram buckets (`_bucket` series)",
            "the Perses heat map panel draws native histograms only; this panel will show no data until its queries return native histograms",
        );
    }
    Value::Object(spec)
}

pub(super) fn status_history(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let mut spec = Map::new();
    put(
        &mut spec,
        "legend",
        legend(options(panel), false, losses, location),
    );
    spec.insert("sorting".into(), json!("asc"));
    let out = mappings(
        defaults(panel).get("mappings").unwrap_or(&Value::Null),
        losses,
        location,
    );
    if !out.is_empty() {
        spec.insert("mappings".into(), Value::Array(out));
    }
    Value::Object(spec)
}

pub(super) fn logs(panel: &Value) -> Value {
    let options = options(panel);
    json!({
        "allowWrap": options.get("wrapLogMessage").and_then(Value::as_bool).unwrap_or(false),
        "enableDetails": options.get("enableLogDetails").and_then(Value::as_bool).unwrap_or(true),
        "showTime": options.get("showTime").and_then(Value::as_bool).unwrap_or(false),
    })
}

pub(super) fn text_panel(panel: &Value, losses: &mut Losses, location: &str) -> String {
    let options = options(panel);
    let content = options
        .get("content")
        .or_else(|| panel.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mode = options
        .get("mode")
        .or_else(|| panel.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("markdown");
    match mode {
        "html" => {
            if content.contains('<') {
                losses.add(
                    location,
                    "HTML text",
                    "kept as is; Perses renders it as Markdown, so scripts, styles and some tags are not shown",
                );
            }
            content
        }
        "code" => {
            let language = options
                .pointer("/code/language")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("```{language}\n{content}\n```")
        }
        _ => content,
    }
}
