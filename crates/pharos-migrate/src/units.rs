//! Shared panel building blocks: units → `format`, reducers → `calculation`, thresholds and
//! value mappings.

use serde_json::{Map, Value, json};

use crate::Losses;
use crate::color::to_hex;

/// Grafana unit id → Perses `format.unit`, limited to the units the bundled web UI can draw
/// (pharos-model refuses the others).
const UNITS: &[(&str, &str)] = &[
    ("none", "decimal"),
    ("short", "decimal"),
    ("percent", "percent"),
    ("percentunit", "percent-decimal"),
    ("ms", "milliseconds"),
    ("s", "seconds"),
    ("m", "minutes"),
    ("h", "hours"),
    ("d", "days"),
    ("dtdurationms", "milliseconds"),
    ("dtdurations", "seconds"),
    ("bytes", "bytes"),
    ("Bps", "bytes/sec"),
    ("binBps", "bytes/sec"),
    ("bps", "bits/sec"),
    ("binbps", "bits/sec"),
    ("reqps", "requests/sec"),
    ("rps", "reads/sec"),
    ("wps", "writes/sec"),
    ("ops", "ops/sec"),
    ("iops", "ops/sec"),
    ("pps", "packets/sec"),
    ("cps", "counts/sec"),
    ("eps", "events/sec"),
    ("mps", "messages/sec"),
    ("recps", "records/sec"),
    ("rowsps", "rows/sec"),
    ("currencyUSD", "usd"),
    ("currencyEUR", "eur"),
    ("currencyGBP", "gbp"),
    ("currencyJPY", "jpy"),
    ("currencyCHF", "chf"),
    ("currencyCAD", "cad"),
    ("currencyAUD", "aud"),
    ("currencyCNY", "cny"),
    ("currencyINR", "inr"),
    ("currencyKRW", "krw"),
    ("currencyNOK", "nok"),
    ("currencyNZD", "nzd"),
    ("currencySEK", "sek"),
    ("currencySGD", "sgd"),
    ("currencyHKD", "hkd"),
];

/// Units shown with a nearby unit; the loss says so.
const APPROXIMATE_UNITS: &[(&str, &str, &str)] = &[(
    "decbytes",
    "bytes",
    "the web UI has no decimal-prefix bytes unit; shown as bytes",
)];

/// The Perses unit for a Grafana unit id, if it has one.
pub(crate) fn perses_unit(grafana: &str) -> Option<&'static str> {
    UNITS
        .iter()
        .find(|(id, _)| *id == grafana)
        .map(|(_, unit)| *unit)
}

/// `{unit?, decimalPlaces?}` for a Grafana unit and decimals, or `None` when neither is set.
pub(crate) fn format(
    unit: Option<&str>,
    decimals: Option<&Value>,
    losses: &mut Losses,
    location: &str,
) -> Option<Value> {
    let decimals = decimals.and_then(decimal_places);
    let mut format = Map::new();
    match unit.map(str::trim).filter(|unit| !unit.is_empty()) {
        None => {
            decimals?;
            format.insert("unit".into(), json!("decimal"));
        }
        Some(unit) => {
            if let Some(mapped) = perses_unit(unit) {
                format.insert("unit".into(), json!(mapped));
            } else if let Some((_, mapped, why)) =
                APPROXIMATE_UNITS.iter().find(|(id, _, _)| *id == unit)
            {
                format.insert("unit".into(), json!(mapped));
                losses.add(location, format!("unit `{unit}`"), *why);
            } else {
                losses.add(
                    location,
                    format!("unit `{unit}`"),
                    "Perses (as bundled) has no such unit; values are shown as plain numbers",
                );
            }
        }
    }
    if let Some(decimals) = decimals {
        format.insert("decimalPlaces".into(), json!(decimals));
    }
    if format.is_empty() {
        None
    } else {
        Some(Value::Object(format))
    }
}

fn decimal_places(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|v| *v >= 0.0).map(|v| v as u64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// The `format` of a Grafana `fieldConfig.defaults` object.
pub(crate) fn defaults_format(
    defaults: &Value,
    losses: &mut Losses,
    location: &str,
) -> Option<Value> {
    format(
        defaults.get("unit").and_then(Value::as_str),
        defaults.get("decimals").or_else(|| defaults.get("decimal")),
        losses,
        location,
    )
}

/// Grafana reducer id → Perses calculation.
pub(crate) fn calculation_of(reducer: &str) -> Option<&'static str> {
    Some(match reducer {
        "lastNotNull" => "last-number",
        "last" => "last",
        "firstNotNull" => "first-number",
        "first" => "first",
        "mean" => "mean",
        "sum" => "sum",
        "min" => "min",
        "max" => "max",
        _ => return None,
    })
}

/// The calculation of `options.reduceOptions.calcs` (first entry); `last` when unset.
pub(crate) fn calculation(options: &Value, losses: &mut Losses, location: &str) -> &'static str {
    let reducer = options
        .pointer("/reduceOptions/calcs")
        .and_then(Value::as_array)
        .and_then(|calcs| calcs.first())
        .and_then(Value::as_str);
    match reducer {
        None => "last",
        Some(reducer) => calculation_of(reducer).unwrap_or_else(|| {
            losses.add(
                location,
                format!("calculation `{reducer}`"),
                "Perses has no such calculation; `last` is used",
            );
            "last"
        }),
    }
}

/// Perses thresholds for Grafana `thresholds` (`{mode, steps:[{color, value}]}`).
///
/// The base step (`value: null` or no value) becomes value 0, as Perses does for `null`.
pub(crate) fn thresholds(
    thresholds: Option<&Value>,
    losses: &mut Losses,
    location: &str,
) -> Option<Value> {
    let thresholds = thresholds?;
    let steps = thresholds.get("steps").and_then(Value::as_array)?;
    let mut out = Vec::new();
    for step in steps {
        let value = match step.get("value") {
            None | Some(Value::Null) => 0.0,
            Some(value) => match value.as_f64() {
                Some(number) => number,
                None => {
                    losses.add(
                        location,
                        format!("threshold step {value}"),
                        "the step value is not a number",
                    );
                    continue;
                }
            },
        };
        let mut entry = Map::new();
        if let Some(color) = step.get("color").and_then(Value::as_str) {
            match to_hex(color) {
                Some(hex) => {
                    entry.insert("color".into(), json!(hex));
                }
                None => losses.add(
                    location,
                    format!("threshold colour `{color}`"),
                    "not a fixed colour Perses can use; the default colour is shown",
                ),
            }
        }
        entry.insert("value".into(), number(value));
        out.push(Value::Object(entry));
    }
    if out.is_empty() {
        return None;
    }
    let mut result = Map::new();
    if thresholds.get("mode").and_then(Value::as_str) == Some("percentage") {
        result.insert("mode".into(), json!("percent"));
    }
    result.insert("steps".into(), Value::Array(out));
    Some(Value::Object(result))
}

/// A JSON number, integral when the value is.
pub(crate) fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// Perses value mappings (`[{kind: Value|Range|Regex|Misc, spec}]`) of Grafana `mappings`.
pub(crate) fn mappings(list: &Value, losses: &mut Losses, location: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for mapping in list.as_array().into_iter().flatten() {
        let options = mapping.get("options");
        match mapping.get("type").and_then(Value::as_str) {
            Some("value") => {
                for (value, result) in options.and_then(Value::as_object).into_iter().flatten() {
                    out.push(json!({"kind": "Value", "spec": {"value": value, "result": mapping_result(result, losses, location)}}));
                }
            }
            Some("range") => {
                let options = options.cloned().unwrap_or(Value::Null);
                let mut spec = Map::new();
                if let Some(from) = options.get("from").and_then(Value::as_f64) {
                    spec.insert("from".into(), number(from));
                }
                if let Some(to) = options.get("to").and_then(Value::as_f64) {
                    spec.insert("to".into(), number(to));
                }
                let result = options.get("result").cloned().unwrap_or(Value::Null);
                spec.insert("result".into(), mapping_result(&result, losses, location));
                out.push(json!({"kind": "Range", "spec": spec}));
            }
            Some("regex") => {
                let options = options.cloned().unwrap_or(Value::Null);
                let pattern = options.get("pattern").and_then(Value::as_str).unwrap_or("");
                let result = options.get("result").cloned().unwrap_or(Value::Null);
                out.push(json!({"kind": "Regex", "spec": {"pattern": pattern, "result": mapping_result(&result, losses, location)}}));
            }
            Some("special") => {
                let options = options.cloned().unwrap_or(Value::Null);
                let value = match options.get("match").and_then(Value::as_str) {
                    Some("nan") => "NaN",
                    Some("true") => "true",
                    Some("false") => "false",
                    Some("empty") => "empty",
                    Some("null+nan") => {
                        losses.add(
                            location,
                            "value mapping `null + NaN`",
                            "Perses matches one special value per mapping; only null is matched",
                        );
                        "null"
                    }
                    _ => "null",
                };
                let result = options.get("result").cloned().unwrap_or(Value::Null);
                out.push(json!({"kind": "Misc", "spec": {"value": value, "result": mapping_result(&result, losses, location)}}));
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

fn mapping_result(result: &Value, losses: &mut Losses, location: &str) -> Value {
    let mut out = Map::new();
    let text = match result.get("text") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    };
    out.insert("value".into(), json!(text));
    if let Some(color) = result.get("color").and_then(Value::as_str) {
        match to_hex(color) {
            Some(hex) => {
                out.insert("color".into(), json!(hex));
            }
            None => losses.add(
                location,
                format!("value mapping colour `{color}`"),
                "not a fixed colour Perses can use",
            ),
        }
    }
    Value::Object(out)
}
