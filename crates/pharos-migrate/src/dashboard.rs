//! Dashboard-level conversion: metadata, time settings, links, rows → grid layouts.

use serde_json::{Map, Value, json};

use crate::panel::{self, Outcome};
use crate::text::{is_duration, resource_name};
use crate::{Losses, Migration, variable};

/// Perses' default dashboard duration.
const DEFAULT_DURATION: &str = "1h";

/// One top-level element after re-nesting expanded rows.
enum Entry<'g> {
    Panel(&'g Value),
    Row {
        row: &'g Value,
        children: Vec<&'g Value>,
        /// Legacy (`rows[]`) rows carry no gridPos; their panels get one computed.
        legacy: bool,
    },
}

pub(crate) fn convert(grafana: &Value, use_default_datasource: bool) -> Migration {
    let mut losses = Losses::default();
    let title = grafana.get("title").and_then(Value::as_str).unwrap_or("");

    let mut metadata = Map::new();
    metadata.insert(
        "name".into(),
        json!(dashboard_name(grafana, title, &mut losses)),
    );
    metadata.insert("project".into(), json!(""));
    let tags = tags(grafana, &mut losses);
    if !tags.is_empty() {
        metadata.insert("tags".into(), Value::Array(tags));
    }

    let mut spec = Map::new();
    let mut display = Map::new();
    display.insert("name".into(), json!(title));
    if let Some(description) = grafana.get("description").and_then(Value::as_str)
        && !description.is_empty()
    {
        display.insert("description".into(), json!(description));
    }
    spec.insert("display".into(), Value::Object(display));

    let variables = variable::convert(grafana, use_default_datasource, &mut losses);
    if !variables.is_empty() {
        spec.insert("variables".into(), Value::Array(variables));
    }

    let (panels, layouts) = layout(grafana, use_default_datasource, &mut losses);
    spec.insert("panels".into(), Value::Object(panels));
    spec.insert("layouts".into(), Value::Array(layouts));
    spec.insert("duration".into(), json!(duration(grafana, &mut losses)));
    if let Some(refresh) = refresh(grafana, &mut losses) {
        spec.insert("refreshInterval".into(), json!(refresh));
    }
    if let Some(timezone) = grafana.get("timezone").and_then(Value::as_str)
        && timezone.eq_ignore_ascii_case("utc")
    {
        spec.insert("timezone".into(), json!("UTC"));
    }
    let links = links(grafana, &mut losses);
    if !links.is_empty() {
        spec.insert("links".into(), Value::Array(links));
    }
    dashboard_losses(grafana, &mut losses);

    Migration {
        dashboard: json!({"kind": "Dashboard", "metadata": metadata, "spec": spec}),
        losses: losses.0,
    }
}

fn dashboard_name(grafana: &Value, title: &str, losses: &mut Losses) -> String {
    let uid = grafana.get("uid").and_then(Value::as_str).unwrap_or("");
    let from_uid = resource_name(uid, false);
    if !from_uid.is_empty() {
        if from_uid != uid {
            losses.add(
                "dashboard",
                format!("uid `{uid}`"),
                format!("not a valid Perses name; the dashboard is named `{from_uid}`"),
            );
        }
        return from_uid;
    }
    let from_title = resource_name(title, true);
    if from_title.is_empty() {
        "grafana-dashboard".to_string()
    } else {
        from_title
    }
}

fn tags(grafana: &Value, losses: &mut Losses) -> Vec<Value> {
    let mut out = Vec::new();
    for tag in grafana
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(tag) = tag.as_str() else { continue };
        let trimmed = tag.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 50 {
            losses.add(
                "dashboard",
                format!("tag {tag:?}"),
                "Perses tags are 1 to 50 characters",
            );
            continue;
        }
        if out.len() >= 20 {
            losses.add(
                "dashboard",
                format!("tag {tag:?}"),
                "Perses keeps at most 20 tags",
            );
            continue;
        }
        if !out.iter().any(|t: &Value| t.as_str() == Some(trimmed)) {
            out.push(json!(trimmed));
        }
    }
    out
}

/// `now-6h` → `6h`; anything else is reported and Perses' default is used.
fn duration(grafana: &Value, losses: &mut Losses) -> String {
    let time = grafana.get("time");
    let from = time.and_then(|t| t.get("from")).and_then(Value::as_str);
    let to = time.and_then(|t| t.get("to")).and_then(Value::as_str);
    if let Some(to) = to
        && to != "now"
    {
        losses.add(
            "dashboard",
            format!("time range end `{to}`"),
            "Perses dashboards always end at now",
        );
    }
    match from {
        None => DEFAULT_DURATION.to_string(),
        Some(from) => match from.strip_prefix("now-") {
            Some(duration) if is_duration(duration) => duration.to_string(),
            Some(duration) if duration.ends_with('M') => {
                let months = duration.trim_end_matches('M').parse::<u64>().unwrap_or(1);
                let days = months * 30;
                losses.add(
                    "dashboard",
                    format!("time range `{from}`"),
                    format!("Perses durations have no months; {days}d is used"),
                );
                format!("{days}d")
            }
            _ => {
                losses.add(
                    "dashboard",
                    format!("time range start `{from}`"),
                    format!(
                        "Perses dashboards show the last <duration>; {DEFAULT_DURATION} is used"
                    ),
                );
                DEFAULT_DURATION.to_string()
            }
        },
    }
}

fn refresh(grafana: &Value, losses: &mut Losses) -> Option<String> {
    let refresh = grafana.get("refresh")?.as_str()?;
    if refresh.is_empty() {
        return None;
    }
    if is_duration(refresh) {
        return Some(refresh.to_string());
    }
    losses.add(
        "dashboard",
        format!("refresh `{refresh}`"),
        "not a fixed interval; the dashboard does not refresh on its own",
    );
    None
}

fn links(grafana: &Value, losses: &mut Losses) -> Vec<Value> {
    let mut out = Vec::new();
    for link in grafana
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = link.get("title").and_then(Value::as_str).unwrap_or("");
        let kind = link.get("type").and_then(Value::as_str).unwrap_or("link");
        let url = link.get("url").and_then(Value::as_str).unwrap_or("");
        if kind != "link" || url.is_empty() {
            let tags: Vec<&str> = link
                .get("tags")
                .and_then(Value::as_array)
                .map(|tags| tags.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            losses.add(
                "dashboard",
                format!(
                    "link {title:?} ({kind}{})",
                    if tags.is_empty() {
                        String::new()
                    } else {
                        format!(", tags {}", tags.join(", "))
                    }
                ),
                "Perses links point to one URL; lists of dashboards by tag are not supported",
            );
            continue;
        }
        let mut out_link = Map::new();
        if !title.is_empty() {
            out_link.insert("name".into(), json!(title));
        }
        out_link.insert("url".into(), json!(url));
        if let Some(tooltip) = link.get("tooltip").and_then(Value::as_str)
            && !tooltip.is_empty()
        {
            out_link.insert("tooltip".into(), json!(tooltip));
        }
        if link.get("includeVars").and_then(Value::as_bool) == Some(true) {
            out_link.insert("renderVariables".into(), json!(true));
        }
        if link.get("targetBlank").and_then(Value::as_bool) == Some(true) {
            out_link.insert("targetBlank".into(), json!(true));
        }
        if link.get("keepTime").and_then(Value::as_bool) == Some(true) {
            losses.add(
                "dashboard",
                format!("link {title:?} keeps the time range"),
                "Perses links do not carry the time range",
            );
        }
        out.push(Value::Object(out_link));
    }
    out
}

fn dashboard_losses(grafana: &Value, losses: &mut Losses) {
    for annotation in grafana
        .pointer("/annotations/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let built_in = annotation.get("builtIn").and_then(Value::as_i64) == Some(1);
        let enabled = annotation
            .get("enable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if built_in || !enabled {
            continue;
        }
        let name = annotation.get("name").and_then(Value::as_str).unwrap_or("");
        losses.add(
            "dashboard",
            format!("annotation {name:?}"),
            "Grafana annotations are not converted; add a Perses annotation by hand",
        );
    }
    if let Some(tooltip) = grafana.get("graphTooltip").and_then(Value::as_i64)
        && tooltip != 0
    {
        losses.add(
            "dashboard",
            "shared crosshair/tooltip",
            "Perses has no dashboard-wide tooltip setting",
        );
    }
}

/// Builds `spec.panels` and `spec.layouts`.
fn layout(
    grafana: &Value,
    use_default: bool,
    losses: &mut Losses,
) -> (Map<String, Value>, Vec<Value>) {
    let entries = entries(grafana, losses);
    let mut panels = Map::new();
    let mut layouts = Vec::new();
    let mut loose = Vec::new();
    let mut groups = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match entry {
            Entry::Panel(panel) => {
                let key = index.to_string();
                if let Some(item) = add_panel(panel, &key, &mut panels, use_default, losses, None) {
                    loose.push(item);
                }
            }
            Entry::Row {
                row,
                children,
                legacy,
            } => {
                let mut items = Vec::new();
                let mut cursor = LegacyCursor::default();
                for (position, child) in children.iter().enumerate() {
                    let key = format!("{index}_{position}");
                    let legacy_pos = legacy.then(|| cursor.place(child, row));
                    if let Some(item) =
                        add_panel(child, &key, &mut panels, use_default, losses, legacy_pos)
                    {
                        items.push(item);
                    }
                }
                groups.push(group(row, items, *legacy, index));
            }
        }
    }
    if !loose.is_empty() {
        fill_missing_positions(&mut loose);
        layouts.push(json!({"kind": "Grid", "spec": {"display": {"title": "Panel Group 1"}, "items": loose}}));
    }
    layouts.extend(groups);
    (panels, layouts)
}

/// Top-level panels and rows, with the panels that follow an expanded row nested into it.
fn entries<'g>(grafana: &'g Value, losses: &mut Losses) -> Vec<Entry<'g>> {
    let mut entries: Vec<Entry<'g>> = Vec::new();
    if let Some(panels) = grafana.get("panels").and_then(Value::as_array) {
        for panel in panels {
            if !panel.is_object() {
                losses.add("dashboard", format!("panel {panel}"), "not a JSON object");
                continue;
            }
            if panel.get("type").and_then(Value::as_str) == Some("row") {
                let children = panel
                    .get("panels")
                    .and_then(Value::as_array)
                    .map(|children| children.iter().filter(|c| c.is_object()).collect())
                    .unwrap_or_default();
                entries.push(Entry::Row {
                    row: panel,
                    children,
                    legacy: false,
                });
            } else if let Some(Entry::Row { children, .. }) = entries.last_mut() {
                children.push(panel);
            } else {
                entries.push(Entry::Panel(panel));
            }
        }
    } else if let Some(rows) = grafana.get("rows").and_then(Value::as_array) {
        for row in rows.iter().filter(|row| row.is_object()) {
            let children = row
                .get("panels")
                .and_then(Value::as_array)
                .map(|children| children.iter().filter(|c| c.is_object()).collect())
                .unwrap_or_default();
            entries.push(Entry::Row {
                row,
                children,
                legacy: true,
            });
        }
    }
    entries
}

fn group(row: &Value, items: Vec<Value>, legacy: bool, index: usize) -> Value {
    let title = row.get("title").and_then(Value::as_str).unwrap_or("");
    let collapsed = if legacy {
        row.get("collapse")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    } else {
        row.get("collapsed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let show_title = !legacy
        || row
            .get("showTitle")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let display = if show_title {
        json!({"title": title, "collapse": {"open": !collapsed}})
    } else {
        let title = if title.is_empty() {
            format!("Panel Group {}", index + 1)
        } else {
            title.to_string()
        };
        json!({"title": title})
    };
    let mut spec = Map::new();
    spec.insert("display".into(), display);
    if let Some(repeat) = row.get("repeat").and_then(Value::as_str)
        && !repeat.is_empty()
    {
        spec.insert(
            "repeatVariable".into(),
            json!(repeat.trim_start_matches('$')),
        );
    }
    let mut items = items;
    fill_missing_positions(&mut items);
    spec.insert("items".into(), Value::Array(items));
    json!({"kind": "Grid", "spec": spec})
}

/// Converts a panel, stores it under `key` and returns its grid item.
fn add_panel(
    panel: &Value,
    key: &str,
    panels: &mut Map<String, Value>,
    use_default: bool,
    losses: &mut Losses,
    legacy_position: Option<(u64, u64, u64, u64)>,
) -> Option<Value> {
    if panel.get("type").and_then(Value::as_str) == Some("row") {
        losses.add(
            panel::location(panel),
            "row nested in a row",
            "Perses panel groups do not nest; its panels are not converted",
        );
        return None;
    }
    let (converted, _outcome): (Value, Outcome) = panel::convert(panel, use_default, losses);
    panels.insert(key.to_string(), converted);
    let mut item = Map::new();
    let position = legacy_position.or_else(|| grid_position(panel));
    match position {
        Some((x, y, width, height)) => {
            item.insert("x".into(), json!(x));
            item.insert("y".into(), json!(y));
            item.insert("width".into(), json!(width));
            item.insert("height".into(), json!(height));
        }
        None => {
            // Placed later, below the panels that have a position.
            item.insert("x".into(), json!(0));
            item.insert("y".into(), Value::Null);
            item.insert("width".into(), json!(12));
            item.insert("height".into(), json!(8));
        }
    }
    item.insert(
        "content".into(),
        json!({"$ref": format!("#/spec/panels/{key}")}),
    );
    if let Some(repeat) = panel.get("repeat").and_then(Value::as_str)
        && !repeat.is_empty()
    {
        let mut repeat_variable = Map::new();
        repeat_variable.insert("value".into(), json!(repeat.trim_start_matches('$')));
        if let Some(max) = panel.get("maxPerRow").and_then(Value::as_u64) {
            repeat_variable.insert("maxPer".into(), json!(max));
        }
        let vertical = panel.get("repeatDirection").and_then(Value::as_str) == Some("v");
        repeat_variable.insert(
            "alignment".into(),
            json!(if vertical { "vertical" } else { "horizontal" }),
        );
        item.insert("repeatVariable".into(), Value::Object(repeat_variable));
    }
    Some(Value::Object(item))
}

fn grid_position(panel: &Value) -> Option<(u64, u64, u64, u64)> {
    let grid = panel.get("gridPos")?;
    let read = |key: &str| -> Option<u64> {
        let value = grid.get(key)?.as_f64()?;
        Some(if value.is_finite() && value > 0.0 {
            value.trunc() as u64
        } else {
            0
        })
    };
    Some((
        read("x").unwrap_or(0),
        read("y").unwrap_or(0),
        read("w")?,
        read("h")?,
    ))
}

/// Items without a Grafana position go below the others, at full width halves.
fn fill_missing_positions(items: &mut [Value]) {
    let bottom = items
        .iter()
        .filter_map(|item| {
            let y = item.get("y")?.as_u64()?;
            let height = item.get("height")?.as_u64()?;
            Some(y + height)
        })
        .max()
        .unwrap_or(0);
    let mut x = 0;
    let mut y = bottom;
    for item in items.iter_mut() {
        if item.get("y").is_some_and(Value::is_null) {
            if x >= 24 {
                x = 0;
                y += 8;
            }
            if let Value::Object(map) = item {
                map.insert("x".into(), json!(x));
                map.insert("y".into(), json!(y));
            }
            x += 12;
        }
    }
}

/// Positions of panels in a legacy (`rows[]`) row: `span` (of 12) → width (of 24).
#[derive(Default)]
struct LegacyCursor {
    x: u64,
    y: u64,
    row_height: Option<u64>,
    started: bool,
}

impl LegacyCursor {
    fn place(&mut self, panel: &Value, row: &Value) -> (u64, u64, u64, u64) {
        let height = *self.row_height.get_or_insert_with(|| row_height(row));
        if !self.started {
            self.started = true;
            self.y = 0;
        }
        let span = panel
            .get("span")
            .and_then(Value::as_f64)
            .unwrap_or(12.0)
            .clamp(1.0, 12.0);
        let width = (span * 2.0).round() as u64;
        if self.x + width > 24 {
            self.x = 0;
            self.y += height;
        }
        let position = (self.x, self.y, width, height);
        self.x += width;
        position
    }
}

/// Grafana's legacy row height (`"250px"` or a number of pixels) in grid units.
fn row_height(row: &Value) -> u64 {
    let pixels = match row.get("height") {
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().trim_end_matches("px").parse().ok(),
        _ => None,
    }
    .unwrap_or(250.0);
    ((pixels / 38.0).ceil() as u64).max(1)
}
