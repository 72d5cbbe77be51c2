//! One Grafana panel → one Perses panel.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::color::to_hex;
use crate::query::{self, Queries};
use crate::table;
use crate::units::{
    calculation, calculation_of, defaults_format, format, mappings, number, thresholds,
};

/// How a panel was converted, for the fidelity report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Converted to a Perses chart (or Markdown from a Grafana text panel).
    Converted,
    /// Kept as a Markdown panel explaining what it was.
    Placeholder,
}

/// `panel "CPU" (id 4)`.
pub(crate) fn location(panel: &Value) -> String {
    let title = panel.get("title").and_then(Value::as_str).unwrap_or("");
    match panel.get("id").and_then(Value::as_i64) {
        Some(id) => format!("panel {title:?} (id {id})"),
        None => format!("panel {title:?}"),
    }
}

/// Converts one (non-row) Grafana panel.
pub(crate) fn convert(
    panel: &Value,
    use_default_datasource: bool,
    losses: &mut Losses,
) -> (Value, Outcome) {
    let location = location(panel);
    let kind = panel.get("type").and_then(Value::as_str);
    let mut display = Map::new();
    display.insert(
        "name".into(),
        json!(panel.get("title").and_then(Value::as_str).unwrap_or("")),
    );
    if let Some(description) = panel.get("description").and_then(Value::as_str)
        && !description.is_empty()
    {
        display.insert("description".into(), json!(description));
    }

    if let Some(library) = panel.get("libraryPanel")
        && (kind.is_none() || panel.get("targets").is_none() && panel.get("options").is_none())
    {
        let name = library.get("name").and_then(Value::as_str).unwrap_or("");
        let uid = library.get("uid").and_then(Value::as_str).unwrap_or("");
        losses.add(
            &location,
            format!("library panel uid `{uid}`"),
            "library panels are stored outside the dashboard JSON; kept as a Markdown note",
        );
        let text = format!(
            "**Grafana library panel not converted**\n\nThis panel was the Grafana library panel {}(uid `{uid}`). \
             Library panels live outside the dashboard JSON, so their content was not part of the import. \
             In Grafana, unlink the library panel (or export the dashboard with \"Export for sharing externally\") and import again.",
            if name.is_empty() {
                String::new()
            } else {
                format!("**{name}** ")
            }
        );
        return (markdown_panel(display, &text, None), Outcome::Placeholder);
    }

    let Some(kind) = kind else {
        losses.add(&location, "panel without `type`", "kept as a Markdown note");
        let text = "**Grafana panel not converted**\n\nThis Grafana panel had no `type`.";
        return (markdown_panel(display, text, None), Outcome::Placeholder);
    };

    if kind == "text" {
        let text = text_panel(panel, losses, &location);
        let mut spec = Map::new();
        spec.insert("display".into(), Value::Object(display));
        spec.insert(
            "plugin".into(),
            json!({"kind": "Markdown", "spec": {"text": text}}),
        );
        insert_links(&mut spec, panel, losses, &location);
        return (json!({"kind": "Panel", "spec": spec}), Outcome::Converted);
    }
    let queries = query::convert(panel, use_default_datasource, losses, &location);
    let plugin = match kind {
        "timeseries" => Some(
            json!({"kind": "TimeSeriesChart", "spec": timeseries(panel, &queries, losses, &location)}),
        ),
        "graph" => Some(
            json!({"kind": "TimeSeriesChart", "spec": graph(panel, &queries, losses, &location)}),
        ),
        "stat" => Some(json!({"kind": "StatChart", "spec": stat(panel, losses, &location)})),
        "singlestat" => {
            Some(json!({"kind": "StatChart", "spec": singlestat(panel, losses, &location)}))
        }
        "gauge" => Some(json!({"kind": "GaugeChart", "spec": gauge(panel, losses, &location)})),
        "bargauge" => {
            Some(json!({"kind": "BarChart", "spec": bar_gauge(panel, losses, &location)}))
        }
        "table" | "table-old" => {
            Some(json!({"kind": "Table", "spec": table::spec(panel, losses, &location)}))
        }
        "piechart" => Some(json!({"kind": "PieChart", "spec": pie(panel, losses, &location)})),
        "heatmap" => {
            Some(json!({"kind": "HeatMapChart", "spec": heatmap(panel, losses, &location)}))
        }
        "status-history" => Some(
            json!({"kind": "StatusHistoryChart", "spec": status_history(panel, losses, &location)}),
        ),
        "logs" => Some(json!({"kind": "LogsTable", "spec": logs(panel)})),
        "text" => {
            let text = text_panel(panel, losses, &location);
            let mut spec = Map::new();
            spec.insert("display".into(), Value::Object(display));
            spec.insert(
                "plugin".into(),
                json!({"kind": "Markdown", "spec": {"text": text}}),
            );
            insert_links(&mut spec, panel, losses, &location);
            return (json!({"kind": "Panel", "spec": spec}), Outcome::Converted);
        }
        _ => None,
    };

    let Some(plugin) = plugin else {
        let why = format!(
            "Perses has no panel plugin for the Grafana `{kind}` panel type; kept as a Markdown note with its queries"
        );
        losses.add(&location, format!("panel type `{kind}`"), &why);
        let text = placeholder_text(
            &format!("**Grafana `{kind}` panel not converted**"),
            &format!("Perses has no panel plugin for the Grafana `{kind}` panel type."),
            panel,
        );
        return (
            markdown_panel(display, &text, Some((panel, losses, &location))),
            Outcome::Placeholder,
        );
    };

    if queries.queries.is_empty() && !queries.dropped.is_empty() {
        let reasons: Vec<&str> = queries
            .dropped
            .iter()
            .map(|(_, reason, _)| reason.as_str())
            .collect();
        losses.add(
            &location,
            format!("panel type `{kind}` with only unsupported queries"),
            "none of its queries can run in Perses; kept as a Markdown note with its queries",
        );
        let text = placeholder_text(
            &format!("**Grafana `{kind}` panel not converted**"),
            &format!(
                "None of its queries can run in Perses (datasource type {}).",
                reasons.join(", ")
            ),
            panel,
        );
        return (
            markdown_panel(display, &text, Some((panel, losses, &location))),
            Outcome::Placeholder,
        );
    }

    common_losses(panel, kind, losses, &location);
    let mut spec = Map::new();
    spec.insert("display".into(), Value::Object(display));
    spec.insert("plugin".into(), plugin);
    if !queries.queries.is_empty() {
        spec.insert("queries".into(), Value::Array(queries.queries));
    }
    insert_links(&mut spec, panel, losses, &location);
    (json!({"kind": "Panel", "spec": spec}), Outcome::Converted)
}

fn markdown_panel(
    display: Map<String, Value>,
    text: &str,
    links_of: Option<(&Value, &mut Losses, &str)>,
) -> Value {
    let mut spec = Map::new();
    spec.insert("display".into(), Value::Object(display));
    spec.insert(
        "plugin".into(),
        json!({"kind": "Markdown", "spec": {"text": text}}),
    );
    if let Some((panel, losses, location)) = links_of {
        insert_links(&mut spec, panel, losses, location);
    }
    json!({"kind": "Panel", "spec": spec})
}

/// Markdown explaining an unconverted panel, with its queries.
fn placeholder_text(heading: &str, why: &str, panel: &Value) -> String {
    let mut text = format!("{heading}\n\n{why}");
    let targets: Vec<&Value> = panel
        .get("targets")
        .and_then(Value::as_array)
        .map(|targets| targets.iter().collect())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for target in targets {
        let ref_id = target.get("refId").and_then(Value::as_str).unwrap_or("");
        let query = ["expr", "query", "rawSql", "target", "expression"]
            .iter()
            .find_map(|key| {
                target
                    .get(*key)
                    .and_then(Value::as_str)
                    .filter(|q| !q.is_empty())
            });
        if let Some(query) = query {
            let fence = if query.contains("```") { "~~~" } else { "```" };
            lines.push(format!(
                "{}\n{fence}\n{query}\n{fence}",
                if ref_id.is_empty() {
                    "Query:".to_string()
                } else {
                    format!("Query {ref_id}:")
                }
            ));
        }
    }
    if !lines.is_empty() {
        text.push_str("\n\nQueries of the Grafana panel:\n\n");
        text.push_str(&lines.join("\n\n"));
    }
    text
}

fn insert_links(spec: &mut Map<String, Value>, panel: &Value, losses: &mut Losses, location: &str) {
    let mut links = Vec::new();
    for link in panel
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let url = link.get("url").and_then(Value::as_str).unwrap_or("");
        if url.is_empty() {
            losses.add(
                location,
                "panel link without URL",
                "Perses links need a URL",
            );
            continue;
        }
        let mut out = Map::new();
        if let Some(title) = link.get("title").and_then(Value::as_str)
            && !title.is_empty()
        {
            out.insert("name".into(), json!(title));
        }
        out.insert("url".into(), json!(url));
        if link.get("targetBlank").and_then(Value::as_bool) == Some(true) {
            out.insert("targetBlank".into(), json!(true));
        }
        if url.contains('$') {
            out.insert("renderVariables".into(), json!(true));
        }
        links.push(Value::Object(out));
    }
    if !links.is_empty() {
        spec.insert("links".into(), Value::Array(links));
    }
}

fn common_losses(panel: &Value, kind: &str, losses: &mut Losses, location: &str) {
    if kind != "table"
        && let Some(transformations) = panel.get("transformations").and_then(Value::as_array)
    {
        for transformation in transformations {
            if transformation.get("disabled").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let id = transformation
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?");
            if id == "organize" && organize_is_empty(transformation) {
                continue;
            }
            losses.add(
                location,
                format!("transformation `{id}`"),
                "Perses transforms exist only for tables; the data is shown untransformed",
            );
        }
    }
    for key in ["timeFrom", "timeShift"] {
        if let Some(value) = panel.get(key).and_then(Value::as_str)
            && !value.is_empty()
        {
            losses.add(
                location,
                format!("`{key}: {value}`"),
                "Perses panels always use the dashboard time range",
            );
        }
    }
    if panel.get("alert").is_some_and(|alert| !alert.is_null()) {
        losses.add(location, "legacy alert rule", "Perses has no alerting");
    }
    if kind != "table"
        && let Some(links) = panel
            .pointer("/fieldConfig/defaults/links")
            .and_then(Value::as_array)
        && !links.is_empty()
    {
        losses.add(
            location,
            format!("{} data link(s)", links.len()),
            "Perses charts have no per-series data links (only tables do)",
        );
    }
}

fn organize_is_empty(transformation: &Value) -> bool {
    let options = transformation.get("options");
    ["excludeByName", "indexByName", "renameByName"]
        .iter()
        .all(|key| {
            options
                .and_then(|options| options.get(*key))
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
        })
}

fn defaults(panel: &Value) -> &Value {
    panel
        .pointer("/fieldConfig/defaults")
        .unwrap_or(&Value::Null)
}

fn options(panel: &Value) -> &Value {
    panel.get("options").unwrap_or(&Value::Null)
}

fn as_number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.into(), value);
    }
}

/// Legend of the new (`options.legend`) panels; `values_from` maps Grafana calcs.
fn legend(
    options: &Value,
    with_values: bool,
    losses: &mut Losses,
    location: &str,
) -> Option<Value> {
    let legend = options.get("legend")?;
    if legend.get("showLegend").and_then(Value::as_bool) == Some(false)
        || legend.get("displayMode").and_then(Value::as_str) == Some("hidden")
        || legend.get("show").and_then(Value::as_bool) == Some(false)
    {
        return None;
    }
    let mut out = Map::new();
    let position = match legend.get("placement").and_then(Value::as_str) {
        Some("right") => "right",
        _ => "bottom",
    };
    out.insert("position".into(), json!(position));
    let mode = match legend.get("displayMode").and_then(Value::as_str) {
        Some("table") => "table",
        _ => "list",
    };
    out.insert("mode".into(), json!(mode));
    if with_values {
        let mut values = Vec::new();
        for calc in legend
            .get("calcs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(calc) = calc.as_str() else { continue };
            match calculation_of(calc) {
                Some(mapped) => values.push(json!(mapped)),
                None => losses.add(
                    location,
                    format!("legend value `{calc}`"),
                    "Perses legends have no such calculation",
                ),
            }
        }
        if !values.is_empty() {
            out.insert("values".into(), Value::Array(values));
        }
    }
    Some(Value::Object(out))
}

fn y_axis_bounds(
    y_axis: &mut Map<String, Value>,
    min: Option<f64>,
    max: Option<f64>,
    losses: &mut Losses,
    location: &str,
) {
    if let Some(min) = min {
        y_axis.insert("min".into(), number(min));
    }
    if let Some(max) = max {
        if min.is_some_and(|min| max < min) {
            losses.add(
                location,
                format!("axis max {max}"),
                "lower than the axis min",
            );
        } else {
            y_axis.insert("max".into(), number(max));
        }
    }
}

fn line_width(value: Option<f64>, losses: &mut Losses, location: &str) -> Option<Value> {
    let width = value?;
    if !(0.25..=3.0).contains(&width) {
        let clamped = width.clamp(0.25, 3.0);
        losses.add(
            location,
            format!("line width {width}"),
            format!("Perses line widths go from 0.25 to 3; {clamped} is used"),
        );
        return Some(number(clamped));
    }
    Some(number(width))
}

/// Target positions an override matcher selects.
fn matched_targets(
    matcher: &Value,
    panel: &Value,
    losses: &mut Losses,
    location: &str,
) -> Option<Vec<usize>> {
    let id = matcher.get("id").and_then(Value::as_str).unwrap_or("");
    let option = matcher.get("options").and_then(Value::as_str).unwrap_or("");
    let targets: Vec<&Value> = panel
        .get("targets")
        .and_then(Value::as_array)
        .map(|targets| targets.iter().collect())
        .unwrap_or_default();
    let legend_of = |target: &Value| {
        target
            .get("legendFormat")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let positions: Vec<usize> = match id {
        "byName" => targets
            .iter()
            .enumerate()
            .filter(|(_, target)| legend_of(target) == option)
            .map(|(position, _)| position)
            .collect(),
        "byFrameRefID" => targets
            .iter()
            .enumerate()
            .filter(|(_, target)| target.get("refId").and_then(Value::as_str) == Some(option))
            .map(|(position, _)| position)
            .collect(),
        "byRegexp" => {
            let Some(regex) = compile_js_regex(option) else {
                losses.add(
                    location,
                    format!("override matching /{option}/"),
                    "the regular expression cannot be read",
                );
                return None;
            };
            targets
                .iter()
                .enumerate()
                .filter(|(_, target)| {
                    let legend = legend_of(target);
                    !legend.is_empty() && regex.is_match(&legend)
                })
                .map(|(position, _)| position)
                .collect()
        }
        other => {
            losses.add(
                location,
                format!("override matching {other} `{}`", matcher.get("options").map(Value::to_string).unwrap_or_default()),
                "Perses query settings apply to whole queries; only series-name, regex and query matchers are converted",
            );
            return None;
        }
    };
    if positions.is_empty() {
        let why = if id == "byFrameRefID" {
            "no query has this refId; not converted"
        } else {
            "it matches series by their displayed name, which no query's legend format equals; not converted"
        };
        losses.add(location, format!("override matching {id} `{option}`"), why);
        return None;
    }
    Some(positions)
}

/// Compiles a Grafana `/regex/flags` or bare regex.
pub(crate) fn compile_js_regex(text: &str) -> Option<regex::Regex> {
    let (pattern, flags) = strip_slashes(text);
    let prefix = if flags.contains('i') { "(?i)" } else { "" };
    regex::Regex::new(&format!("{prefix}{pattern}")).ok()
}

/// `/pattern/flags` → `(pattern, flags)`; a bare pattern has no flags.
pub(crate) fn strip_slashes(text: &str) -> (&str, &str) {
    if let Some(inner) = text.strip_prefix('/')
        && let Some(end) = inner.rfind('/')
    {
        let flags = inner.get(end + 1..).unwrap_or("");
        if flags.chars().all(|c| "gimsuy".contains(c)) {
            return (inner.get(..end).unwrap_or(""), flags);
        }
    }
    (text, "")
}

fn fixed_color(value: &Value, losses: &mut Losses, location: &str) -> Option<String> {
    let mode = value.get("mode").and_then(Value::as_str).unwrap_or("");
    let color = value.get("fixedColor").and_then(Value::as_str);
    match (mode, color) {
        ("fixed" | "shades", Some(color)) => match to_hex(color) {
            Some(hex) => Some(hex),
            None => {
                losses.add(
                    location,
                    format!("colour `{color}`"),
                    "not a fixed colour Perses can use",
                );
                None
            }
        },
        _ => {
            losses.add(
                location,
                format!("colour mode `{mode}`"),
                "only fixed colours can be set per query in Perses",
            );
            None
        }
    }
}

fn timeseries(panel: &Value, queries: &Queries, losses: &mut Losses, location: &str) -> Value {
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
fn graph(panel: &Value, queries: &Queries, losses: &mut Losses, location: &str) -> Value {
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

fn stat(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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
fn singlestat(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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

fn gauge(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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

fn bar_gauge(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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

fn pie(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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

fn heatmap(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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
    Value::Object(spec)
}

fn status_history(panel: &Value, losses: &mut Losses, location: &str) -> Value {
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

fn logs(panel: &Value) -> Value {
    let options = options(panel);
    json!({
        "allowWrap": options.get("wrapLogMessage").and_then(Value::as_bool).unwrap_or(false),
        "enableDetails": options.get("enableLogDetails").and_then(Value::as_bool).unwrap_or(true),
        "showTime": options.get("showTime").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn text_panel(panel: &Value, losses: &mut Losses, location: &str) -> String {
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
