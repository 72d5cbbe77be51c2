//! A dashboard query with its variables filled in, as the Perses UI fills them: a single value
//! as it is, several as `(a|b)` (Perses' `prometheus` format) unless the reference names a
//! format (`${var:csv}`, `${var:regex}`, `${var:pipe}`, ...), "all" as `.*`, and the built-in
//! variables (`$__range`, `$__interval`, `$__rate_interval`, `$__dashboard`, `$__project`, ...)
//! from the stream's range and step.

use std::collections::BTreeMap;

use crate::shares::template::references;

/// The values of a stream's variables.
pub type Values = BTreeMap<String, Vec<String>>;

/// What the built-in variables stand for in one stream.
#[derive(Debug, Clone)]
pub struct Builtins {
    /// Project name.
    pub project: String,
    /// Dashboard name.
    pub dashboard: String,
    /// The range, milliseconds.
    pub range_ms: i64,
    /// The step, milliseconds.
    pub step_ms: i64,
}

/// The scrape interval Perses assumes for `$__rate_interval` when the datasource names none
/// (the Prometheus plugin's default, `1m`), so the stream fills it in as the browser does.
const SCRAPE_INTERVAL_MS: i64 = 60_000;

/// Perses' "all values" marker.
const ALL_VALUES: &str = "$__all";

fn duration(ms: i64) -> String {
    match ms {
        m if m > 0 && m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m > 0 && m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m > 0 && m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

impl Builtins {
    fn value(&self, name: &str) -> Option<String> {
        let rate_interval = (self.step_ms + SCRAPE_INTERVAL_MS).max(4 * SCRAPE_INTERVAL_MS);
        Some(match name {
            "__project" => self.project.clone(),
            "__dashboard" => self.dashboard.clone(),
            "__range" => duration(self.range_ms),
            "__range_s" => (self.range_ms / 1000).to_string(),
            "__range_ms" => self.range_ms.to_string(),
            "__interval" => duration(self.step_ms),
            "__interval_ms" => self.step_ms.to_string(),
            "__rate_interval" => duration(rate_interval),
            _ => return None,
        })
    }
}

fn escape_regex(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "-/\\^$*+?.()|[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn format_values(values: &[String], format: Option<&str>) -> String {
    if values.iter().any(|v| v == ALL_VALUES) {
        return ".*".to_owned();
    }
    match (format, values) {
        (None, [single]) => single.clone(),
        (None | Some("prometheus"), _) => format!("({})", values.join("|")),
        (Some("regex"), _) => format!(
            "({})",
            values
                .iter()
                .map(|v| escape_regex(v))
                .collect::<Vec<_>>()
                .join("|")
        ),
        (Some("pipe"), _) => values.join("|"),
        (Some("glob"), _) => format!("{{{}}}", values.join(",")),
        (Some("doublequote"), _) => values
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(","),
        (Some("singlequote"), _) => values
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(","),
        (Some("text"), _) => values.join(" + "),
        // csv, raw and the rest.
        _ => values.join(","),
    }
}

/// `template` with its variables filled in; `Err` names a variable that has no value.
pub fn render(template: &str, values: &Values, builtins: &Builtins) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for reference in references(template) {
        let text = &template[reference.start..reference.end];
        let format = text
            .strip_prefix("${")
            .and_then(|inner| inner.strip_suffix('}'))
            .and_then(|inner| inner.split_once(':'))
            .map(|(_, format)| format.to_ascii_lowercase());
        let replacement = match (values.get(&reference.name), builtins.value(&reference.name)) {
            (Some(given), _) if !given.is_empty() => format_values(given, format.as_deref()),
            (_, Some(builtin)) => builtin,
            _ => return Err(reference.name),
        };
        out.push_str(&template[last..reference.start]);
        out.push_str(&replacement);
        last = reference.end;
    }
    out.push_str(&template[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtins() -> Builtins {
        Builtins {
            project: "ml".to_owned(),
            dashboard: "gpus".to_owned(),
            range_ms: 3_600_000,
            step_ms: 15_000,
        }
    }

    fn values(pairs: &[(&str, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn variables_are_filled_as_the_perses_ui_fills_them() {
        let given = values(&[
            ("ns", &["team-a"]),
            ("gpu", &["0", "1"]),
            ("pod", &["a.b", "c"]),
        ]);
        let rendered = render(
            r#"sum by (gpu) (rate(dcgm_x{namespace="$ns", gpu=~"$gpu", pod=~"${pod:regex}"}[$__rate_interval]))"#,
            &given,
            &builtins(),
        );
        assert_eq!(
            rendered.as_deref(),
            Ok(
                r#"sum by (gpu) (rate(dcgm_x{namespace="team-a", gpu=~"(0|1)", pod=~"(a\.b|c)"}[4m]))"#
            )
        );
        assert_eq!(
            render("increase(x[$__range]) / $__range_s", &given, &builtins()).as_deref(),
            Ok("increase(x[1h]) / 3600")
        );
        assert_eq!(
            render(
                r#"up{namespace=~"$ns"}"#,
                &values(&[("ns", &["$__all"])]),
                &builtins()
            )
            .as_deref(),
            Ok(r#"up{namespace=~".*"}"#)
        );
        assert_eq!(
            render("up{job=\"$job\"}", &given, &builtins()),
            Err("job".to_owned())
        );
        assert_eq!(
            render("${gpu:csv}", &given, &builtins()).as_deref(),
            Ok("0,1")
        );
    }
}
