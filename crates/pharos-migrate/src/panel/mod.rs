//! One Grafana panel → one Perses panel: dispatch by Grafana type, the Markdown placeholder,
//! links, and the helpers the chart converters share.

mod charts;
mod other;
mod stats;

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::color::to_hex;
use crate::query;
use crate::table;
use crate::units::{calculation_of, number};
use charts::{graph, timeseries};
use other::{heatmap, logs, pie, status_history, text_panel};
use stats::{bar_gauge, gauge, singlestat, stat};

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
