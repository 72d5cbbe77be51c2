//! Grafana `table` / `table-old` panels → Perses `Table`.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::color::to_hex;
use crate::units::{format, number};

/// Column settings being built, in creation order.
struct Columns {
    list: Vec<(String, Map<String, Value>, Option<i64>)>,
    header_from_override: HashSet<String>,
}

impl Columns {
    fn column(&mut self, name: &str) -> &mut (String, Map<String, Value>, Option<i64>) {
        let position = match self
            .list
            .iter()
            .position(|(existing, _, _)| existing == name)
        {
            Some(position) => position,
            None => {
                let mut settings = Map::new();
                settings.insert("name".into(), json!(name));
                self.list.push((name.to_string(), settings, None));
                self.list.len() - 1
            }
        };
        // `position` is always in range: found above or just pushed.
        let last = self.list.len().saturating_sub(1);
        let index = position.min(last);
        &mut self.list[index]
    }
}

/// The Perses `Table` spec of a Grafana table panel.
pub(crate) fn spec(panel: &Value, losses: &mut Losses, location: &str) -> Value {
    let mut spec = Map::new();
    let options = panel.get("options").unwrap_or(&Value::Null);
    match options.get("cellHeight").and_then(Value::as_str) {
        Some("sm") => {
            spec.insert("density".into(), json!("compact"));
        }
        Some("md") => {
            spec.insert("density".into(), json!("standard"));
        }
        Some("lg") => {
            spec.insert("density".into(), json!("comfortable"));
        }
        _ => {}
    }
    let targets: Vec<String> = panel
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(position, target)| crate::query::ref_id(target, position))
        .collect();
    let normalize = |name: &str| -> String {
        match name {
            "Time" => "timestamp".to_string(),
            "Value" => "value".to_string(),
            _ => match name.strip_prefix("Value #") {
                Some(ref_id) => match targets.iter().position(|id| id == ref_id) {
                    Some(position) => format!("value #{}", position + 1),
                    None => format!("value #{ref_id}"),
                },
                None => name.to_string(),
            },
        }
    };
    let mut columns = Columns {
        list: Vec::new(),
        header_from_override: HashSet::new(),
    };

    if panel.get("type").and_then(Value::as_str) == Some("table-old")
        || panel.get("styles").is_some()
    {
        legacy_styles(panel, &mut columns, &normalize, losses, location);
    }

    let transformations: Vec<&Value> = panel
        .get("transformations")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|t| t.get("disabled").and_then(Value::as_bool) != Some(true))
                .collect()
        })
        .unwrap_or_default();
    let renames: Vec<(String, String)> = transformations
        .iter()
        .filter(|t| t.get("id").and_then(Value::as_str) == Some("organize"))
        .filter_map(|t| {
            t.pointer("/options/renameByName")
                .and_then(Value::as_object)
        })
        .flat_map(|map| {
            map.iter()
                .filter_map(|(from, to)| Some((from.clone(), to.as_str()?.to_string())))
        })
        .collect();
    let header_lookup = |shown: &str| -> String {
        match renames.iter().find(|(_, to)| to == shown) {
            Some((from, _)) => normalize(from),
            None => normalize(shown),
        }
    };

    // 1. Overrides (by displayed column name).
    for entry in panel
        .pointer("/fieldConfig/overrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let matcher = entry.get("matcher").unwrap_or(&Value::Null);
        let id = matcher.get("id").and_then(Value::as_str).unwrap_or("");
        let Some(shown) = matcher
            .get("options")
            .and_then(Value::as_str)
            .filter(|_| id == "byName")
        else {
            losses.add(
                location,
                format!("column override matching {id}"),
                "Perses column settings apply to one named column; only by-name overrides are converted",
            );
            continue;
        };
        let name = header_lookup(shown);
        for property in entry
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = property.get("id").and_then(Value::as_str).unwrap_or("");
            let value = property.get("value");
            match key {
                "displayName" => {
                    if let Some(header) = value.and_then(Value::as_str) {
                        columns
                            .column(&name)
                            .1
                            .insert("header".into(), json!(header));
                        columns.header_from_override.insert(name.clone());
                    }
                }
                "custom.width" => {
                    let width = match value.and_then(Value::as_f64) {
                        Some(width) => number(width),
                        None => json!("auto"),
                    };
                    columns.column(&name).1.insert("width".into(), width);
                }
                "custom.align" => match value.and_then(Value::as_str) {
                    Some(align @ ("left" | "center" | "right")) => {
                        columns.column(&name).1.insert("align".into(), json!(align));
                    }
                    _ => {
                        columns.column(&name);
                    }
                },
                "custom.hidden" => {
                    let hide = value.and_then(Value::as_bool).unwrap_or(false);
                    columns.column(&name).1.insert("hide".into(), json!(hide));
                }
                "unit" => {
                    let unit = value.and_then(Value::as_str);
                    let converted = format(unit, None, losses, location);
                    let column = columns.column(&name);
                    if let Some(Value::Object(converted)) = converted {
                        merge_format(&mut column.1, converted);
                    }
                }
                "decimals" => {
                    if let Some(decimals) = value.and_then(Value::as_u64) {
                        let mut converted = Map::new();
                        converted.insert("decimalPlaces".into(), json!(decimals));
                        merge_format(&mut columns.column(&name).1, converted);
                    }
                }
                "links" => {
                    let link = value
                        .and_then(Value::as_array)
                        .and_then(|links| links.last());
                    if let Some(link) = link {
                        let mut data_link = Map::new();
                        data_link.insert(
                            "url".into(),
                            json!(link.get("url").and_then(Value::as_str).unwrap_or("")),
                        );
                        if let Some(title) = link.get("title").and_then(Value::as_str) {
                            data_link.insert("title".into(), json!(title));
                        }
                        data_link.insert(
                            "openNewTab".into(),
                            json!(
                                link.get("targetBlank")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false)
                            ),
                        );
                        if value
                            .and_then(Value::as_array)
                            .is_some_and(|links| links.len() > 1)
                        {
                            losses.add(
                                location,
                                format!(
                                    "{} links on column `{shown}`",
                                    value.and_then(Value::as_array).map_or(0, Vec::len)
                                ),
                                "a Perses column has one link; the last one is kept",
                            );
                        }
                        columns
                            .column(&name)
                            .1
                            .insert("dataLink".into(), Value::Object(data_link));
                    }
                }
                "mappings" => {
                    let cells = cell_settings(value.unwrap_or(&Value::Null), losses, location);
                    let column = columns.column(&name);
                    let list = column
                        .1
                        .entry("cellSettings")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = list {
                        list.extend(cells);
                    }
                }
                "noValue" => {
                    let text = match value {
                        Some(Value::String(text)) => text.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    let cell = json!({"condition": {"kind": "Misc", "spec": {"value": "null"}}, "text": text});
                    let column = columns.column(&name);
                    let list = column
                        .1
                        .entry("cellSettings")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = list {
                        list.insert(0, cell);
                    }
                }
                other => losses.add(
                    location,
                    format!("column override `{other}` on `{shown}`"),
                    "Perses column settings have no such option",
                ),
            }
        }
    }

    // 2. Transformations.
    let mut transforms = Vec::new();
    for transformation in &transformations {
        let id = transformation
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("");
        match id {
            "organize" => {
                let options = transformation.get("options").unwrap_or(&Value::Null);
                for (field, hide) in options
                    .get("excludeByName")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let hide = hide.as_bool().unwrap_or(false);
                    columns
                        .column(&normalize(field))
                        .1
                        .insert("hide".into(), json!(hide));
                }
                for (field, index) in options
                    .get("indexByName")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let name = normalize(field);
                    if let Some(index) = index.as_i64()
                        && let Some(column) = columns.list.iter_mut().find(|(n, _, _)| *n == name)
                    {
                        column.2 = Some(index);
                    }
                }
                for (field, header) in options
                    .get("renameByName")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let name = normalize(field);
                    let sticky = columns.header_from_override.contains(&name);
                    let column = columns.column(&name);
                    if !sticky && let Some(header) = header.as_str() {
                        column.1.insert("header".into(), json!(header));
                    }
                }
                // Indexes of columns created by the rename above.
                for (field, index) in options
                    .get("indexByName")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let name = normalize(field);
                    if let Some(index) = index.as_i64()
                        && let Some(column) = columns.list.iter_mut().find(|(n, _, _)| *n == name)
                    {
                        column.2 = Some(index);
                    }
                }
            }
            "merge" => transforms.push(json!({"kind": "MergeSeries", "spec": {}})),
            "joinByField" => {
                let field = transformation
                    .pointer("/options/byField")
                    .and_then(Value::as_str)
                    .unwrap_or("Time");
                if let Some(mode) = transformation
                    .pointer("/options/mode")
                    .and_then(Value::as_str)
                    && mode != "outer"
                {
                    losses.add(
                        location,
                        format!("`{mode}` join"),
                        "Perses joins rows by column value (outer join)",
                    );
                }
                transforms.push(
                    json!({"kind": "JoinByColumnValue", "spec": {"columns": [normalize(field)]}}),
                );
            }
            other => losses.add(
                location,
                format!("transformation `{other}`"),
                "Perses tables support organize (columns), merge and join by field only",
            ),
        }
    }

    // 3. Sort by Grafana's column index; columns without one keep their order, last.
    for sort in options
        .get("sortBy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(shown) = sort.get("displayName").and_then(Value::as_str) {
            let descending = sort.get("desc").and_then(Value::as_bool) == Some(true);
            columns.column(&header_lookup(shown)).1.insert(
                "sort".into(),
                json!(if descending { "desc" } else { "asc" }),
            );
        }
    }
    let mut list = columns.list;
    list.sort_by_key(|(_, _, index)| index.unwrap_or(i64::MAX));
    let settings: Vec<Value> = list
        .into_iter()
        .map(|(_, map, _)| Value::Object(map))
        .collect();
    if !settings.is_empty() {
        spec.insert("columnSettings".into(), Value::Array(settings));
    }

    let defaults = panel
        .pointer("/fieldConfig/defaults")
        .unwrap_or(&Value::Null);
    let cells = cell_settings(
        defaults.get("mappings").unwrap_or(&Value::Null),
        losses,
        location,
    );
    if !cells.is_empty() {
        spec.insert("cellSettings".into(), Value::Array(cells));
    }
    if !transforms.is_empty() {
        spec.insert("transforms".into(), Value::Array(transforms));
    }
    if let Some(unit) = defaults.get("unit").and_then(Value::as_str)
        && !unit.is_empty()
    {
        losses.add(
            location,
            format!("table-wide unit `{unit}`"),
            "Perses sets units per column; add it to the columns that need it",
        );
    }
    if let Some(kind) = defaults
        .pointer("/custom/cellOptions/type")
        .and_then(Value::as_str)
        && kind != "auto"
    {
        losses.add(
            location,
            format!("cell display `{kind}`"),
            "Perses table cells show plain values",
        );
    }
    if options.pointer("/footer/show").and_then(Value::as_bool) == Some(true) {
        losses.add(location, "table footer", "Perses tables have no footer");
    }
    Value::Object(spec)
}

fn merge_format(column: &mut Map<String, Value>, converted: Map<String, Value>) {
    let format = column.entry("format").or_insert_with(|| json!({}));
    if let Value::Object(format) = format {
        format.extend(converted);
    }
}

/// `table-old` `styles` → column settings.
fn legacy_styles(
    panel: &Value,
    columns: &mut Columns,
    normalize: &dyn Fn(&str) -> String,
    losses: &mut Losses,
    location: &str,
) {
    for style in panel
        .get("styles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(pattern) = style.get("pattern").and_then(Value::as_str) else {
            continue;
        };
        if pattern.starts_with('/') {
            losses.add(
                location,
                format!("column style for /{pattern}/"),
                "Perses column settings name one column; regex styles are not converted",
            );
            continue;
        }
        let column = columns.column(&normalize(pattern));
        if let Some(alias) = style.get("alias").and_then(Value::as_str)
            && !alias.is_empty()
        {
            column.1.insert("header".into(), json!(alias));
        }
        if style.get("type").and_then(Value::as_str) == Some("hidden") {
            column.1.insert("hide".into(), json!(true));
        }
        if let Some(align @ ("left" | "center" | "right")) =
            style.get("align").and_then(Value::as_str)
        {
            column.1.insert("align".into(), json!(align));
        }
        let unit = style.get("unit").and_then(Value::as_str).unwrap_or("short");
        if !matches!(unit, "short" | "none" | "") {
            losses.add(
                location,
                format!("column `{pattern}` unit `{unit}`"),
                "legacy column units are not converted",
            );
        }
    }
}

/// Grafana value mappings → Perses table cell settings.
fn cell_settings(list: &Value, losses: &mut Losses, location: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |condition: Value, result: &Value, losses: &mut Losses| {
        let mut cell = Map::new();
        cell.insert("condition".into(), condition);
        if let Some(text) = result.get("text").and_then(Value::as_str) {
            cell.insert("text".into(), json!(text));
        }
        if let Some(color) = result.get("color").and_then(Value::as_str) {
            match to_hex(color) {
                Some(hex) => {
                    cell.insert("backgroundColor".into(), json!(hex));
                }
                None => losses.add(
                    location,
                    format!("cell colour `{color}`"),
                    "not a fixed colour Perses can use",
                ),
            }
        }
        out.push(Value::Object(cell));
    };
    for mapping in list.as_array().into_iter().flatten() {
        let options = mapping.get("options").unwrap_or(&Value::Null);
        let result = options.get("result").unwrap_or(&Value::Null);
        match mapping.get("type").and_then(Value::as_str) {
            Some("value") => {
                for (value, result) in options.as_object().into_iter().flatten() {
                    push(
                        json!({"kind": "Value", "spec": {"value": value}}),
                        result,
                        losses,
                    );
                }
            }
            Some("range") => {
                let mut range = Map::new();
                if let Some(from) = options.get("from").and_then(Value::as_f64) {
                    range.insert("min".into(), number(from));
                }
                if let Some(to) = options.get("to").and_then(Value::as_f64) {
                    range.insert("max".into(), number(to));
                }
                push(json!({"kind": "Range", "spec": range}), result, losses);
            }
            Some("regex") => {
                let pattern = options.get("pattern").and_then(Value::as_str).unwrap_or("");
                push(
                    json!({"kind": "Regex", "spec": {"expr": pattern}}),
                    result,
                    losses,
                );
            }
            Some("special") => {
                let value = match options.get("match").and_then(Value::as_str) {
                    Some("nan") => "NaN",
                    Some("true") => "true",
                    Some("false") => "false",
                    Some("empty") => "empty",
                    _ => "null",
                };
                push(
                    json!({"kind": "Misc", "spec": {"value": value}}),
                    result,
                    losses,
                );
            }
            other => losses.add(
                location,
                format!("value mapping of type {}", other.unwrap_or("(none)")),
                "unknown mapping type",
            ),
        }
    }
    out
}
