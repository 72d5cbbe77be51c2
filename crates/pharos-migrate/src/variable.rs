//! Grafana `templating.list` → Perses dashboard variables.

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::panel::strip_slashes;
use crate::query::{datasource_kind, selector};
use crate::text::{call_arguments, split_arguments, variable_reference};

/// Converts every templating variable. Returns the Perses variables and how many were kept.
pub(crate) fn convert(
    dashboard: &Value,
    use_default_datasource: bool,
    losses: &mut Losses,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    for variable in dashboard
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = variable.get("name").and_then(Value::as_str).unwrap_or("");
        let location = format!("variable {name:?}");
        if let Err(why) = check_name(name) {
            losses.add(&location, "variable", why);
            continue;
        }
        if !names.insert(name.to_string()) {
            losses.add(
                &location,
                "duplicate variable",
                "a variable with this name was already converted",
            );
            continue;
        }
        if let Some(converted) =
            convert_one(variable, name, use_default_datasource, losses, &location)
        {
            out.push(converted);
        }
    }
    out
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a variable without a name cannot be referenced; not converted".to_string());
    }
    if name.starts_with("__") {
        return Err(
            "names starting with `__` are reserved for Perses built-ins; not converted".to_string(),
        );
    }
    let non_word = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .count();
    let ok = match non_word {
        0 => name.chars().any(|c| !c.is_ascii_digit()),
        1 => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid Perses variable name (letters, digits and _); not converted"
        ))
    }
}

fn display(variable: &Value) -> Value {
    let mut display = Map::new();
    if let Some(label) = variable.get("label").and_then(Value::as_str)
        && !label.is_empty()
    {
        display.insert("name".into(), json!(label));
    }
    if let Some(description) = variable.get("description").and_then(Value::as_str)
        && !description.is_empty()
    {
        display.insert("description".into(), json!(description));
    }
    let hidden = variable.get("hide").and_then(Value::as_i64) == Some(2);
    display.insert("hidden".into(), json!(hidden));
    Value::Object(display)
}

fn current_value(variable: &Value) -> Option<Value> {
    match variable.pointer("/current/value")? {
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(json!(text)),
        Value::Array(items) => {
            let items: Vec<Value> = items.iter().filter(|v| v.is_string()).cloned().collect();
            if items.is_empty() {
                None
            } else {
                Some(Value::Array(items))
            }
        }
        _ => None,
    }
}

fn query_text(variable: &Value) -> String {
    match variable.get("query") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(map)) => map
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    }
}

fn text_variable(name: &str, variable: &Value, value: String, constant: bool) -> Value {
    let mut spec = Map::new();
    spec.insert("display".into(), display(variable));
    spec.insert("value".into(), json!(value));
    if constant {
        spec.insert("constant".into(), json!(true));
    }
    spec.insert("name".into(), json!(name));
    json!({"kind": "TextVariable", "spec": spec})
}

/// A TextVariable keeping the current value, for variables Perses cannot list.
fn fallback(
    name: &str,
    variable: &Value,
    losses: &mut Losses,
    location: &str,
    what: String,
    why: &str,
) -> Value {
    let value = match current_value(variable) {
        Some(Value::String(text)) => text,
        Some(Value::Array(items)) => items
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    losses.add(
        location,
        what,
        format!("{why}; kept as a text variable with the value {value:?} so queries that use it still work"),
    );
    text_variable(name, variable, value, false)
}

fn convert_one(
    variable: &Value,
    name: &str,
    use_default_datasource: bool,
    losses: &mut Losses,
    location: &str,
) -> Option<Value> {
    let kind = variable.get("type").and_then(Value::as_str).unwrap_or("");
    let query = query_text(variable);
    let plugin = match kind {
        "constant" => return Some(text_variable(name, variable, query, true)),
        "textbox" => {
            let value = match variable.pointer("/current/value") {
                Some(Value::String(text)) => text.clone(),
                _ => query,
            };
            return Some(text_variable(name, variable, value, false));
        }
        "custom" => {
            json!({"kind": "StaticListVariable", "spec": {"values": custom_values(&query)}})
        }
        "interval" => {
            let values: Vec<Value> = query
                .split(',')
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(|value| json!(value))
                .collect();
            if variable.get("auto").and_then(Value::as_bool) == Some(true) {
                losses.add(
                    location,
                    "`auto` interval option",
                    "Perses has no automatic interval value; use $__interval in queries instead",
                );
            }
            json!({"kind": "StaticListVariable", "spec": {"values": values}})
        }
        "datasource" => {
            let Some(plugin_kind) = datasource_kind(&query) else {
                return Some(fallback(
                    name,
                    variable,
                    losses,
                    location,
                    format!("datasource variable of type `{query}`"),
                    "Perses has no datasource plugin for this type",
                ));
            };
            if let Some(regex) = variable.get("regex").and_then(Value::as_str)
                && !regex.is_empty()
            {
                losses.add(
                    location,
                    format!("datasource filter `{regex}`"),
                    "Perses lists every datasource of the kind",
                );
            }
            json!({"kind": "DatasourceVariable", "spec": {"datasourcePluginKind": plugin_kind}})
        }
        "query" => {
            let datasource = variable.get("datasource");
            let (is_prometheus, uid) = match datasource {
                None | Some(Value::Null) => (true, None),
                Some(Value::String(name)) => (true, Some(name.as_str())),
                Some(Value::Object(map)) => {
                    let kind = map
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("prometheus");
                    (
                        kind == "prometheus" || kind.is_empty(),
                        map.get("uid").and_then(Value::as_str),
                    )
                }
                Some(_) => (false, None),
            };
            if !is_prometheus {
                let kind = datasource
                    .and_then(|d| d.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                return Some(fallback(
                    name,
                    variable,
                    losses,
                    location,
                    format!("query variable on a `{kind}` datasource"),
                    "Perses can list values from Prometheus only (as migrated)",
                ));
            }
            let datasource = if use_default_datasource {
                None
            } else {
                selector("PrometheusDatasource", uid)
            };
            let regex = variable.get("regex").and_then(Value::as_str).unwrap_or("");
            match prometheus_plugin(&query, regex, losses, location) {
                Some((mut plugin, capturing)) => {
                    if let (Some(datasource), Some(Value::Object(spec))) =
                        (datasource, plugin.get_mut("spec"))
                    {
                        spec.insert("datasource".into(), datasource);
                    }
                    return Some(list_variable(
                        name, variable, plugin, capturing, losses, location,
                    ));
                }
                None => {
                    return Some(fallback(
                        name,
                        variable,
                        losses,
                        location,
                        "empty query".to_string(),
                        "the variable has no query",
                    ));
                }
            }
        }
        "adhoc" => {
            losses.add(
                location,
                "ad hoc filters",
                "Perses has no ad hoc filters; add the label matchers to the queries",
            );
            return None;
        }
        other => {
            return Some(fallback(
                name,
                variable,
                losses,
                location,
                format!("variable type `{other}`"),
                "Perses has no such variable",
            ));
        }
    };
    let capturing = match variable.get("regex").and_then(Value::as_str) {
        Some(regex) if !regex.is_empty() && kind == "custom" => {
            capturing_regexp(regex, losses, location)
        }
        _ => None,
    };
    Some(list_variable(
        name, variable, plugin, capturing, losses, location,
    ))
}

fn list_variable(
    name: &str,
    variable: &Value,
    plugin: Value,
    capturing: Option<String>,
    losses: &mut Losses,
    location: &str,
) -> Value {
    let include_all = variable
        .get("includeAll")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let multi = variable
        .get("multi")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut spec = Map::new();
    spec.insert("display".into(), display(variable));
    if let Some(value) = current_value(variable) {
        let value = match value {
            Value::Array(mut items) if !multi => {
                if items.len() > 1 {
                    losses.add(
                        location,
                        "several default values",
                        "the variable takes one value; the first is kept",
                    );
                }
                items.truncate(1);
                items.into_iter().next().unwrap_or(Value::Null)
            }
            other => other,
        };
        let is_all = |v: &Value| v.as_str() == Some("$__all");
        let refers_to_all = is_all(&value)
            || value
                .as_array()
                .is_some_and(|items| items.iter().any(is_all));
        let auto = value.as_str().is_some_and(|v| v.starts_with("$__auto"));
        let unresolved = value
            .as_str()
            .is_some_and(|v| variable_reference(v).is_some())
            && !is_all(&value);
        if auto {
            losses.add(
                location,
                "default value `auto`",
                "Perses has no automatic interval value; the first value is used",
            );
        } else if (!refers_to_all || include_all) && !unresolved && !value.is_null() {
            spec.insert("defaultValue".into(), value);
        }
    }
    spec.insert("allowAllValue".into(), json!(include_all));
    spec.insert("allowMultiple".into(), json!(multi));
    if include_all
        && let Some(all) = variable.get("allValue").and_then(Value::as_str)
        && !all.is_empty()
    {
        spec.insert("customAllValue".into(), json!(all));
    }
    if let Some(regex) = capturing {
        spec.insert("capturingRegexp".into(), json!(regex));
    }
    if let Some(sort) = variable.get("sort").and_then(Value::as_i64) {
        let mapped = match sort {
            1 => Some("alphabetical-asc"),
            2 => Some("alphabetical-desc"),
            3 => Some("numerical-asc"),
            4 => Some("numerical-desc"),
            5 => Some("alphabetical-ci-asc"),
            6 => Some("alphabetical-ci-desc"),
            7 | 8 => {
                losses.add(
                    location,
                    "natural sort",
                    "Perses has no natural sort; case-insensitive alphabetical is used",
                );
                Some(if sort == 7 {
                    "alphabetical-ci-asc"
                } else {
                    "alphabetical-ci-desc"
                })
            }
            _ => None,
        };
        if let Some(mapped) = mapped {
            spec.insert("sort".into(), json!(mapped));
        }
    }
    spec.insert("plugin".into(), plugin);
    spec.insert("name".into(), json!(name));
    json!({"kind": "ListVariable", "spec": spec})
}

/// `one, two , three : 3` → `["one","two",{"label":"three","value":"3"}]` (`\,` is a comma).
fn custom_values(query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once(" : ") {
            Some((label, value)) => json!({"label": label.trim(), "value": value.trim()}),
            None => json!(item),
        })
        .collect()
}

/// Grafana variable regex → Perses `capturingRegexp` (same meaning: filter, and the first
/// group is the value). Named groups and flags have no equivalent.
fn capturing_regexp(regex: &str, losses: &mut Losses, location: &str) -> Option<String> {
    let (pattern, flags) = strip_slashes(regex);
    if pattern.contains("(?<") {
        losses.add(
            location,
            format!("regex `{regex}` with named groups"),
            "Perses' capturing regexp has no text/value groups; the values are not filtered",
        );
        return None;
    }
    if !flags.is_empty() && flags != "g" {
        losses.add(
            location,
            format!("regex flags `{flags}`"),
            "Perses' capturing regexp takes no flags",
        );
    }
    Some(pattern.to_string())
}

/// The Prometheus variable plugin for a Grafana query, and the capturing regexp to set.
fn prometheus_plugin(
    query: &str,
    regex: &str,
    losses: &mut Losses,
    location: &str,
) -> Option<(Value, Option<String>)> {
    let query = query.trim();
    if query.is_empty() {
        return None;
    }
    let capturing = || -> Option<&str> { (!regex.is_empty()).then_some(regex) };
    if let Some(arguments) = call_arguments(query, "label_names") {
        let matchers: Vec<Value> = split_arguments(arguments)
            .into_iter()
            .filter(|m| !m.is_empty())
            .map(Value::from)
            .collect();
        let capture = capturing().and_then(|r| capturing_regexp(r, losses, location));
        return Some((
            json!({"kind": "PrometheusLabelNamesVariable", "spec": {"matchers": matchers}}),
            capture,
        ));
    }
    if let Some(arguments) = call_arguments(query, "label_values") {
        let mut parts = split_arguments(arguments);
        let label = parts.pop().unwrap_or_default();
        let matchers: Vec<Value> = parts
            .into_iter()
            .filter(|m| !m.is_empty())
            .map(Value::from)
            .collect();
        let capture = capturing().and_then(|r| capturing_regexp(r, losses, location));
        return Some((
            json!({"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": label, "matchers": matchers}}),
            capture,
        ));
    }
    if let Some(arguments) = call_arguments(query, "metrics") {
        let pattern = arguments.trim();
        let matchers = if pattern.is_empty() {
            Vec::new()
        } else {
            vec![json!(format!(
                "{{__name__=~\"{}\"}}",
                pattern.replace('"', "\\\"")
            ))]
        };
        let capture = capturing().and_then(|r| capturing_regexp(r, losses, location));
        return Some((
            json!({"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": "__name__", "matchers": matchers}}),
            capture,
        ));
    }
    let expr = call_arguments(query, "query_result")
        .unwrap_or(query)
        .to_string();
    let mut spec = Map::new();
    spec.insert("expr".into(), json!(expr));
    match label_from_regex(regex) {
        Some((label, filter)) => {
            spec.insert("labelName".into(), json!(label));
            if !filter {
                losses.add(
                    location,
                    format!("regex `{regex}`"),
                    format!("the value is taken from label `{label}`; the extra filtering in the regex is not applied"),
                );
            }
        }
        None => {
            if let Some(label) = single_by_label(&expr) {
                spec.insert("labelName".into(), json!(label));
            }
            if !regex.is_empty() {
                losses.add(
                    location,
                    format!("regex `{regex}`"),
                    "Perses PromQL variables take the value of one label; this regex could not be turned into a label name",
                );
            } else if !spec.contains_key("labelName") {
                losses.add(
                    location,
                    "query result without a label",
                    "Perses PromQL variables list the values of one label; name it with a `by (label)` clause",
                );
            }
        }
    }
    Some((
        json!({"kind": "PrometheusPromQLVariable", "spec": spec}),
        None,
    ))
}

/// `.*job="([^"]*)".*` → (`job`, true when the group accepts any value).
fn label_from_regex(regex: &str) -> Option<(String, bool)> {
    let (pattern, _) = strip_slashes(regex);
    let position = pattern.find("=\"(").or_else(|| pattern.find("=\\\"("))?;
    let before = pattern.get(..position)?;
    let label: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if label.is_empty() {
        return None;
    }
    let after = pattern.get(position..)?;
    let group_start = after.find('(')?;
    let group = after.get(group_start + 1..)?;
    let group = group.get(..group.find(')')?)?;
    let any = matches!(
        group,
        ".*" | ".+" | "[^\"]*" | "[^\"]+" | "[^\\\"]*" | "[^\\\"]+" | ".*?" | ".+?"
    );
    Some((label, any))
}

/// The label of `… by (label) …` when the expression groups by exactly one label.
fn single_by_label(expr: &str) -> Option<String> {
    let lower = expr.to_ascii_lowercase();
    let mut labels = Vec::new();
    let mut rest = lower.as_str();
    let mut offset = 0;
    while let Some(position) = rest.find("by") {
        let start = offset + position;
        let before_ok = start == 0
            || !expr
                .get(..start)
                .and_then(|b| b.chars().last())
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = expr.get(start + 2..).unwrap_or("").trim_start();
        if before_ok
            && let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            labels.push(inner.get(..end).unwrap_or("").to_string());
        }
        offset = start + 2;
        rest = lower.get(offset..).unwrap_or("");
    }
    let first = labels.first()?;
    let parts: Vec<&str> = first
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (parts.len() == 1 && labels.iter().all(|l| l == first))
        .then(|| parts.first().map(|p| p.to_string()))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_values_with_labels_and_escapes() {
        assert_eq!(
            custom_values("one,  two  ,three : 3  "),
            vec![
                json!("one"),
                json!("two"),
                json!({"label": "three", "value": "3"})
            ]
        );
        assert_eq!(custom_values(r"a\,b, c"), vec![json!("a,b"), json!("c")]);
    }

    #[test]
    fn label_from_regexes() {
        assert_eq!(
            label_from_regex(r#".*type=\"(.*)\".*"#),
            Some(("type".to_string(), true))
        );
        assert_eq!(
            label_from_regex(r#"^.*job="([a-z-]+)".*$"#),
            Some(("job".to_string(), false))
        );
        assert_eq!(label_from_regex(""), None);
        assert_eq!(
            single_by_label("max by (cluster) (x)"),
            Some("cluster".to_string())
        );
        assert_eq!(single_by_label("present_over_time(up[1h])"), None);
    }
}
