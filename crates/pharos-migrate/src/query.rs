//! Grafana panel targets → Perses queries.

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::text::{is_duration, rewrite_template, series_name_format, variable_reference};

/// Where a target's data comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// Prometheus, with a datasource selector when a concrete datasource is named.
    Prometheus(Option<Value>),
    /// Loki, likewise.
    Loki(Option<Value>),
    /// Anything else: the description of the datasource type.
    Unsupported(String),
}

/// The queries of one panel.
#[derive(Debug, Default)]
pub(crate) struct Queries {
    /// Perses queries, in target order.
    pub(crate) queries: Vec<Value>,
    /// For each Grafana target (by position), the index of its Perses query.
    pub(crate) index_of_target: Vec<Option<usize>>,
    /// Targets that could not be converted: `(refId, reason, query text)`.
    pub(crate) dropped: Vec<(String, String, String)>,
    /// Number of Grafana targets that are visible (not hidden).
    pub(crate) visible_targets: usize,
}

/// The datasource selector kind for a Grafana datasource type.
pub(crate) fn datasource_kind(grafana_type: &str) -> Option<&'static str> {
    Some(match grafana_type {
        "prometheus" => "PrometheusDatasource",
        "loki" => "LokiDatasource",
        "tempo" => "TempoDatasource",
        "jaeger" => "JaegerDatasource",
        "grafana-pyroscope-datasource" | "pyroscope" => "PyroscopeDatasource",
        "grafana-clickhouse-datasource" | "clickhouse" => "ClickHouseDatasource",
        "grafana-opensearch-datasource" | "opensearch" => "OpenSearchDatasource",
        "victoriametrics-logs-datasource" => "VictoriaLogsDatasource",
        "alertmanager" => "AlertManagerDatasource",
        _ => return None,
    })
}

/// A `{kind, name}` selector for a concrete datasource name/uid; `None` for variable references
/// and empty names (the default datasource of the kind is then used).
pub(crate) fn selector(kind: &str, name: Option<&str>) -> Option<Value> {
    let name = name.map(str::trim).filter(|name| !name.is_empty())?;
    if variable_reference(name).is_some() || name == "default" {
        return None;
    }
    Some(json!({"kind": kind, "name": name}))
}

/// Classifies the effective datasource of a target (its own, else the panel's).
pub(crate) fn source(datasource: Option<&Value>, has_expr: bool) -> Source {
    match datasource {
        None | Some(Value::Null) => {
            if has_expr {
                Source::Prometheus(None)
            } else {
                Source::Unsupported("unknown datasource (the target has no `expr`)".to_string())
            }
        }
        Some(Value::String(name)) => match name.as_str() {
            "-- Grafana --" | "grafana" => {
                Source::Unsupported("Grafana built-in (test data, annotations)".to_string())
            }
            "-- Dashboard --" => Source::Unsupported(
                "`-- Dashboard --` (reuses another panel's results)".to_string(),
            ),
            "-- Mixed --" => source(None, has_expr),
            _ if has_expr => Source::Prometheus(selector("PrometheusDatasource", Some(name))),
            _ => Source::Unsupported(format!("datasource `{name}` (the target has no `expr`)")),
        },
        Some(Value::Object(map)) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
            let uid = map.get("uid").and_then(Value::as_str);
            match (kind, uid) {
                (_, Some("-- Mixed --")) => source(None, has_expr),
                (_, Some("-- Dashboard --")) | ("datasource", _) => Source::Unsupported(
                    "`-- Dashboard --` (reuses another panel's results)".to_string(),
                ),
                (_, Some("-- Grafana --")) | ("grafana", _) => {
                    Source::Unsupported("Grafana built-in (test data, annotations)".to_string())
                }
                ("prometheus", _) => Source::Prometheus(selector("PrometheusDatasource", uid)),
                ("loki", _) => Source::Loki(selector("LokiDatasource", uid)),
                ("", _) if has_expr => Source::Prometheus(selector("PrometheusDatasource", uid)),
                ("", _) => {
                    Source::Unsupported("unknown datasource (the target has no `expr`)".to_string())
                }
                (other, _) => Source::Unsupported(format!("`{other}`")),
            }
        }
        Some(other) => Source::Unsupported(format!("datasource {other}")),
    }
}

/// Converts `panel.targets`. `location` names the panel in losses.
pub(crate) fn convert(
    panel: &Value,
    use_default_datasource: bool,
    losses: &mut Losses,
    location: &str,
) -> Queries {
    let mut out = Queries::default();
    let targets = panel.get("targets").and_then(Value::as_array);
    let panel_datasource = panel.get("datasource");
    let panel_interval = panel
        .get("interval")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty());
    for (position, target) in targets.into_iter().flatten().enumerate() {
        out.index_of_target.push(None);
        let ref_id = target
            .get("refId")
            .or_else(|| target.get("refID"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let query_location = if ref_id.is_empty() {
            format!("{location}, query #{}", position + 1)
        } else {
            format!("{location}, query {ref_id}")
        };
        let expr = target.get("expr").and_then(Value::as_str);
        if target.get("hide").and_then(Value::as_bool) == Some(true) {
            losses.add(
                &query_location,
                format!("hidden query `{}`", expr.unwrap_or("")),
                "hidden in Grafana; Perses has no hidden queries, so it was left out to keep the panel the same",
            );
            continue;
        }
        out.visible_targets += 1;
        let datasource = match target.get("datasource") {
            None | Some(Value::Null) => panel_datasource,
            Some(own) => Some(own),
        };
        let source = source(datasource, expr.is_some());
        let text = expr
            .map(str::to_string)
            .unwrap_or_else(|| describe_target(target));
        match source {
            Source::Unsupported(reason) => {
                losses.add(
                    &query_location,
                    format!("query `{text}`"),
                    format!(
                        "datasource type {reason} has no Perses query plugin; the query is not run"
                    ),
                );
                out.dropped.push((ref_id, reason, text));
            }
            Source::Prometheus(selector) | Source::Loki(selector) if text.trim().is_empty() => {
                let _ = selector;
                losses.add(
                    &query_location,
                    "empty query",
                    "the target has no expression",
                );
            }
            Source::Prometheus(selector) => {
                let rewritten = rewrite_template(&text);
                if !rewritten.changes.is_empty() {
                    losses.add(
                        &query_location,
                        format!("query rewritten: {}", rewritten.changes.join(", ")),
                        "Perses does not understand this Grafana syntax; replaced by the Perses equivalent",
                    );
                }
                for unsupported in &rewritten.unsupported {
                    losses.add(
                        &query_location,
                        format!("{unsupported} in query"),
                        "Perses has no such built-in variable or format; it is sent to Prometheus as written",
                    );
                }
                let mut spec = Map::new();
                if !use_default_datasource && let Some(selector) = selector {
                    spec.insert("datasource".into(), selector);
                }
                spec.insert("query".into(), json!(rewritten.text));
                if let Some(format) = target
                    .get("legendFormat")
                    .and_then(Value::as_str)
                    .and_then(series_name_format)
                {
                    spec.insert("seriesNameFormat".into(), json!(format));
                }
                let interval = target
                    .get("interval")
                    .and_then(Value::as_str)
                    .filter(|i| !i.is_empty())
                    .or(panel_interval);
                if let Some(interval) = interval {
                    match min_step(interval) {
                        Some(step) => {
                            spec.insert("minStep".into(), json!(step));
                        }
                        None => losses.add(
                            &query_location,
                            format!("min interval `{interval}`"),
                            "not a duration or a variable Perses can use as minStep",
                        ),
                    }
                }
                if target.get("instant").and_then(Value::as_bool) == Some(true) {
                    spec.insert("instant".into(), json!(true));
                }
                if let Some(factor) = target.get("intervalFactor").and_then(Value::as_f64)
                    && factor > 1.0
                {
                    losses.add(
                        &query_location,
                        format!("resolution 1/{factor}"),
                        "Perses computes the step from the panel width and minStep only",
                    );
                }
                if let Some(slot) = out.index_of_target.get_mut(position) {
                    *slot = Some(out.queries.len());
                }
                out.queries.push(json!({"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": spec}}}));
            }
            Source::Loki(selector) => {
                let mut spec = Map::new();
                if !use_default_datasource && let Some(selector) = selector {
                    spec.insert("datasource".into(), selector);
                }
                spec.insert("query".into(), json!(text));
                if let Some(slot) = out.index_of_target.get_mut(position) {
                    *slot = Some(out.queries.len());
                }
                out.queries.push(json!({"kind": "LogQuery", "spec": {"plugin": {"kind": "LokiLogQuery", "spec": spec}}}));
            }
        }
    }
    out
}

/// Grafana `interval` (`30s`, `>1m`, `$var`, `${var}`) → Perses `minStep`.
fn min_step(interval: &str) -> Option<String> {
    let interval = interval.trim().trim_start_matches('>');
    if is_duration(interval) {
        return Some(interval.to_string());
    }
    let name = variable_reference(interval)?;
    if name.starts_with("__") {
        return None;
    }
    Some(format!("${name}"))
}

/// The refId of the target at `position`: its own, else the letter Grafana assigns (A, B, …).
pub(crate) fn ref_id(target: &Value, position: usize) -> String {
    match target
        .get("refId")
        .or_else(|| target.get("refID"))
        .and_then(Value::as_str)
    {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => {
            let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
            let mut name = String::new();
            let mut n = position;
            loop {
                name.insert(0, char::from(letters.get(n % 26).copied().unwrap_or(b'A')));
                if n < 26 {
                    break;
                }
                n = n / 26 - 1;
            }
            name
        }
    }
}

/// A one-line description of a non-Prometheus target, for the loss report and Markdown text.
fn describe_target(target: &Value) -> String {
    for key in [
        "expr",
        "query",
        "rawSql",
        "target",
        "rawQuery",
        "expression",
    ] {
        if let Some(text) = target.get(key).and_then(Value::as_str)
            && !text.is_empty()
        {
            return text.to_string();
        }
    }
    let mut compact = target.clone();
    if let Value::Object(map) = &mut compact {
        map.remove("datasource");
        map.remove("refId");
    }
    let text = compact.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}
