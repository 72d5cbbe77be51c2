//! Grafana → Perses dashboard migration: converts a Grafana dashboard's JSON model into a Perses
//! `Dashboard` resource and reports every element that could not be carried over.
//!
//! The conversion follows what Perses' `POST /api/migrate` produces with the stock plugins, and
//! differs on purpose where Perses loses information (see `docs/user/grafana-import.md`):
//! the real time range and refresh interval are kept, unsupported panels become a Markdown panel
//! that says what they were, and every element that is not carried over is listed in
//! [`Migration::losses`].
//!
//! Entry point: [`migrate`]. It never panics on any input.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

mod color;
mod dashboard;
mod panel;
mod query;
mod table;
mod text;
mod units;
mod variable;

/// Largest Grafana JSON document accepted, in bytes of compact JSON text (5 MiB).
pub const MAX_JSON_BYTES: usize = 5 * 1024 * 1024;
/// Most panels (rows and nested panels included) accepted in one dashboard.
pub const MAX_PANELS: usize = 2_000;
/// Deepest JSON nesting accepted (a real dashboard stays well under 20 levels).
pub const MAX_DEPTH: usize = 64;

/// What `POST /api/migrate` receives (Perses field names on the wire: `grafanaDashboard`,
/// `input`, `useDefaultDatasource`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrateRequest {
    /// The Grafana dashboard JSON model (or a Grafana API envelope `{"dashboard": …, "meta": …}`).
    pub grafana_dashboard: Value,
    /// `$KEY` / `${KEY}` replacements applied to the raw JSON text before conversion, like the
    /// `__inputs` of a dashboard exported "for sharing externally".
    pub input: BTreeMap<String, String>,
    /// When true, no query or variable names a datasource: Perses uses the default one.
    pub use_default_datasource: bool,
}

/// The converted dashboard and everything that could not be carried over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migration {
    /// `{"kind":"Dashboard","metadata":{"name","project":""},"spec":{…}}`.
    pub dashboard: Value,
    /// Every element of the Grafana dashboard that was dropped or changed, in dashboard order.
    pub losses: Vec<Loss>,
}

/// One element that was not converted faithfully.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// Where: `dashboard`, `panel "CPU" (id 4)`, `panel "CPU" (id 4), query B`, `variable "instance"`.
    pub location: String,
    /// The Grafana element, e.g. ``override `custom.lineWidth` ``.
    pub what: String,
    /// Why it was dropped or changed, and what Perses shows instead.
    pub why: String,
}

/// Why a document cannot be migrated at all. Each message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrateError {
    /// The document is not a Grafana dashboard (an alert rule, a list, a Perses dashboard, …).
    #[error("not a Grafana dashboard: {0}")]
    NotADashboard(String),
    /// A Grafana dashboard in a schema this converter does not read.
    #[error("unsupported Grafana dashboard schema ({schema}): {hint}")]
    UnsupportedSchema {
        /// The schema found, e.g. `v2 (dashboard.grafana.app/v2beta1)` or `schemaVersion 5`.
        schema: String,
        /// What to do about it.
        hint: String,
    },
    /// The document exceeds a size limit.
    #[error(
        "the Grafana dashboard is too large: {what} is {actual}, the limit is {limit}; split it into several dashboards"
    )]
    TooLarge {
        /// What was measured (`JSON text (bytes)`, `panels`).
        what: &'static str,
        /// The measured value.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// The JSON nests deeper than [`MAX_DEPTH`] levels, which no real dashboard does.
    #[error(
        "the Grafana dashboard is nested more than {limit} levels deep; a real dashboard model stays under 20, so this is not a dashboard export"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The `input` replacements turned the dashboard into text that is no longer JSON.
    #[error("the dashboard is not valid JSON after applying `input` replacements: {0}")]
    InvalidInput(String),
}

/// Converts a Grafana dashboard into a Perses `Dashboard` resource.
///
/// Checks size and depth first, applies `input`, unwraps Grafana API and Kubernetes-style
/// envelopes, then converts. Anything that cannot be carried over is listed in the result's
/// `losses`; only documents that are not dashboards at all are refused.
pub fn migrate(request: &MigrateRequest) -> Result<Migration, MigrateError> {
    check_depth(&request.grafana_dashboard)?;
    let text = serde_json::to_string(&request.grafana_dashboard)
        .map_err(|error| MigrateError::NotADashboard(error.to_string()))?;
    if text.len() > MAX_JSON_BYTES {
        return Err(MigrateError::TooLarge {
            what: "JSON text (bytes)",
            actual: text.len(),
            limit: MAX_JSON_BYTES,
        });
    }
    let substituted;
    let document = if request.input.is_empty() {
        &request.grafana_dashboard
    } else {
        let replaced = apply_input(&text, &request.input);
        if replaced.len() > MAX_JSON_BYTES {
            return Err(MigrateError::TooLarge {
                what: "JSON text after `input` replacements (bytes)",
                actual: replaced.len(),
                limit: MAX_JSON_BYTES,
            });
        }
        substituted = serde_json::from_str::<Value>(&replaced)
            .map_err(|error| MigrateError::InvalidInput(error.to_string()))?;
        &substituted
    };
    let grafana = unwrap_dashboard(document)?;
    let panels = count_panels(grafana);
    if panels > MAX_PANELS {
        return Err(MigrateError::TooLarge {
            what: "panels",
            actual: panels,
            limit: MAX_PANELS,
        });
    }
    Ok(dashboard::convert(grafana, request.use_default_datasource))
}

/// Refuses documents nested deeper than [`MAX_DEPTH`] without recursing.
fn check_depth(value: &Value) -> Result<(), MigrateError> {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(MigrateError::TooDeep { limit: MAX_DEPTH });
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// Replaces `${KEY}` and `$KEY` (not followed by a word character) with the JSON-string-escaped
/// value, in the raw JSON text, as Perses does.
fn apply_input(text: &str, input: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    // Longest keys first so `$DS` does not eat the start of `$DS_PROMETHEUS`.
    let mut keys: Vec<(&String, &String)> = input.iter().collect();
    keys.sort_by_key(|(key, _)| std::cmp::Reverse(key.len()));
    for (key, value) in keys {
        if key.is_empty() {
            continue;
        }
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_default();
        out = out.replace(&format!("${{{key}}}"), escaped);
        let needle = format!("${key}");
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(position) = rest.find(&needle) {
            let (before, after) = rest.split_at(position);
            result.push_str(before);
            let tail = after.get(needle.len()..).unwrap_or_default();
            let continues = tail
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if continues {
                result.push_str(&needle);
            } else {
                result.push_str(escaped);
            }
            rest = tail;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Finds the classic Grafana dashboard model inside `document`, or says what it is instead.
fn unwrap_dashboard(document: &Value) -> Result<&Value, MigrateError> {
    let map = match document {
        Value::Object(map) => map,
        Value::Array(items) => {
            return Err(MigrateError::NotADashboard(format!(
                "got a JSON array of {} elements; send one Grafana dashboard object (the JSON model from Dashboard settings → JSON Model, or Export → Save to file)",
                items.len()
            )));
        }
        other => {
            return Err(MigrateError::NotADashboard(format!(
                "got a JSON {}; send the Grafana dashboard JSON model, an object with `title` and `panels`",
                json_type(other)
            )));
        }
    };
    // Grafana 12 "schema v2" (and the Kubernetes-style envelope of Grafana 12 APIs).
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let spec = map.get("spec");
    let has_elements =
        map.contains_key("elements") || spec.is_some_and(|spec| spec.get("elements").is_some());
    if api_version.starts_with("dashboard.grafana.app/v2") || has_elements {
        let schema = if api_version.is_empty() {
            "v2 (`elements`)".to_string()
        } else {
            format!("v2 ({api_version})")
        };
        return Err(MigrateError::UnsupportedSchema {
            schema,
            hint: "Grafana 12 \"schema v2\" dashboards (elements + layout) cannot be migrated yet; in Grafana, export the dashboard as classic JSON (Export → Export as JSON with the v1 / classic model) and import that".to_string(),
        });
    }
    if api_version.starts_with("dashboard.grafana.app/")
        && let Some(inner @ Value::Object(_)) = spec
    {
        return check_classic(inner);
    }
    // A Perses dashboard sent back by mistake.
    if map.get("kind").and_then(Value::as_str) == Some("Dashboard")
        && spec.is_some_and(|spec| {
            spec.get("layouts").is_some() || spec.get("panels").is_some_and(Value::is_object)
        })
    {
        return Err(MigrateError::NotADashboard(
            "this is already a Perses dashboard (kind Dashboard with spec.panels/spec.layouts); create it directly with POST /api/v1/projects/<project>/dashboards".to_string(),
        ));
    }
    // Grafana HTTP API envelope: GET /api/dashboards/uid/<uid> answers {"dashboard": …, "meta": …};
    // the import API takes {"dashboard": …, "overwrite": …}.
    if let Some(inner @ Value::Object(_)) = map.get("dashboard")
        && !looks_like_dashboard(map)
    {
        return check_classic(inner);
    }
    check_classic(document)
}

fn check_classic(document: &Value) -> Result<&Value, MigrateError> {
    let Value::Object(map) = document else {
        return Err(MigrateError::NotADashboard(
            "the `dashboard` field is not an object".to_string(),
        ));
    };
    if !looks_like_dashboard(map) {
        return Err(MigrateError::NotADashboard(describe_non_dashboard(map)));
    }
    if let Some(version) = map.get("schemaVersion").and_then(Value::as_i64)
        && version < 6
    {
        return Err(MigrateError::UnsupportedSchema {
            schema: format!("schemaVersion {version}"),
            hint: "dashboards older than schemaVersion 6 (Grafana 2) are not read; import the file into any Grafana from 5 to 11 and export it again, which upgrades the model".to_string(),
        });
    }
    for (key, expected) in [("panels", "an array"), ("rows", "an array")] {
        if let Some(value) = map.get(key)
            && !value.is_array()
            && !value.is_null()
        {
            return Err(MigrateError::NotADashboard(format!(
                "`{key}` must be {expected}, got a JSON {}",
                json_type(value)
            )));
        }
    }
    Ok(document)
}

fn looks_like_dashboard(map: &serde_json::Map<String, Value>) -> bool {
    let has_layout = map.get("panels").is_some_and(Value::is_array)
        || map.get("rows").is_some_and(Value::is_array);
    let has_title = map.get("title").is_some_and(Value::is_string);
    (has_layout || has_title) && !map.contains_key("condition") && !map.contains_key("ruleGroup")
}

fn describe_non_dashboard(map: &serde_json::Map<String, Value>) -> String {
    if map.contains_key("condition")
        || map.contains_key("ruleGroup")
        || map.contains_key("rules") && map.contains_key("interval")
        || map.contains_key("groups")
    {
        return "this looks like a Grafana alert rule or rule group; Perses has no alerting, only dashboards can be migrated".to_string();
    }
    let keys: Vec<&str> = map.keys().take(8).map(String::as_str).collect();
    format!(
        "an object without `panels`, `rows` or `title` (keys: {}); send the dashboard JSON model (Dashboard settings → JSON Model) or the body of GET /api/dashboards/uid/<uid>",
        if keys.is_empty() {
            "none".to_string()
        } else {
            keys.join(", ")
        }
    )
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every panel object, rows and nested panels included.
fn count_panels(dashboard: &Value) -> usize {
    let mut count = 0;
    let mut stack: Vec<&Value> = Vec::new();
    if let Some(panels) = dashboard.get("panels").and_then(Value::as_array) {
        stack.extend(panels);
    }
    if let Some(rows) = dashboard.get("rows").and_then(Value::as_array) {
        for row in rows {
            count += 1;
            if let Some(panels) = row.get("panels").and_then(Value::as_array) {
                stack.extend(panels);
            }
        }
    }
    while let Some(panel) = stack.pop() {
        count += 1;
        if let Some(children) = panel.get("panels").and_then(Value::as_array) {
            stack.extend(children);
        }
    }
    count
}

/// Collects losses during one conversion.
#[derive(Debug, Default)]
pub(crate) struct Losses(pub(crate) Vec<Loss>);

impl Losses {
    pub(crate) fn add(
        &mut self,
        location: impl Into<String>,
        what: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.0.push(Loss {
            location: location.into(),
            what: what.into(),
            why: why.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_replaces_both_forms_and_escapes() {
        let mut input = BTreeMap::new();
        input.insert("DS".to_string(), "a\"b".to_string());
        input.insert("DS_PROMETHEUS".to_string(), "prom".to_string());
        let text = r#"{"a":"${DS_PROMETHEUS}","b":"$DS_PROMETHEUS x","c":"$DS","d":"$DSX"}"#;
        let out = apply_input(text, &input);
        assert_eq!(out, r#"{"a":"prom","b":"prom x","c":"a\"b","d":"$DSX"}"#);
    }

    #[test]
    fn depth_is_checked_without_recursion() {
        let mut value = json!(1);
        for _ in 0..200 {
            value = json!([value]);
        }
        assert_eq!(
            check_depth(&value),
            Err(MigrateError::TooDeep { limit: MAX_DEPTH })
        );
        // Dropping a deep Value recurses in serde_json; 200 levels is fine.
    }
}
