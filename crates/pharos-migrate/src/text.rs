//! String helpers: names, durations, Grafana template syntax in queries.

/// Built-in variables the Perses UI interpolates (dashboard-wide and Prometheus ones).
pub(crate) const PERSES_BUILTINS: &[&str] = &[
    "__interval",
    "__interval_ms",
    "__rate_interval",
    "__range",
    "__range_s",
    "__range_ms",
    "__from",
    "__to",
    "__dashboard",
    "__project",
];

/// Interpolation formats Perses understands in `${var:format}`.
const PERSES_FORMATS: &[&str] = &[
    "csv",
    "distributed",
    "doublequote",
    "glob",
    "json",
    "lucene",
    "percentencode",
    "pipe",
    "prometheus",
    "raw",
    "regex",
    "singlequote",
    "sqlstring",
    "text",
    "queryparam",
];

/// A query after replacing the Grafana-only syntax Perses cannot interpolate.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub(crate) text: String,
    /// What was replaced, e.g. "`[[job]]` → `${job}`".
    pub(crate) changes: Vec<String>,
    /// Grafana built-ins left as they were because Perses has no equivalent.
    pub(crate) unsupported: Vec<String>,
}

/// Rewrites `[[var]]` to `${var}` and Grafana's automatic interval variables to
/// `$__interval`; lists built-ins and formats Perses does not know.
pub(crate) fn rewrite_template(input: &str) -> Rewritten {
    let mut out = Rewritten::default();
    let mut text = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(position) = rest.find(['$', '[']) {
        let (before, at) = rest.split_at(position);
        text.push_str(before);
        if let Some(inner) = at.strip_prefix("[[") {
            if let Some(end) = inner.find("]]") {
                let reference = inner.get(..end).unwrap_or_default();
                if !reference.is_empty()
                    && reference
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.'))
                {
                    let replacement = format!("${{{reference}}}");
                    out.changes
                        .push(format!("`[[{reference}]]` → `{replacement}`"));
                    text.push_str(&replacement);
                    rest = inner.get(end + 2..).unwrap_or_default();
                    continue;
                }
            }
            text.push('[');
            rest = at.get(1..).unwrap_or_default();
            continue;
        }
        if !at.starts_with('$') {
            text.push_str(at.get(..1).unwrap_or_default());
            rest = at.get(1..).unwrap_or_default();
            continue;
        }
        // `$name`, `${name}` or `${name:format}`.
        let after = at.get(1..).unwrap_or_default();
        let (name, format, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    let inside = braced.get(..end).unwrap_or_default();
                    let (name, format) = match inside.split_once(':') {
                        Some((name, format)) => (name, Some(format)),
                        None => (inside, None),
                    };
                    (name, format, 1 + 1 + end + 1)
                }
                None => ("", None, 1),
            }
        } else {
            let len = after
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(after.len(), |(index, _)| index);
            (after.get(..len).unwrap_or_default(), None, 1 + len)
        };
        let original = at.get(..consumed).unwrap_or("$");
        if name.starts_with("__auto_interval_") || name == "__auto" {
            out.changes.push(format!("`{original}` → `$__interval`"));
            text.push_str("$__interval");
        } else {
            if name.starts_with("__") && !PERSES_BUILTINS.contains(&name) {
                out.unsupported.push(format!("${name}"));
            }
            if let Some(format) = format
                && !PERSES_FORMATS.contains(&format)
            {
                out.unsupported
                    .push(format!("format `:{format}` in `{original}`"));
            }
            text.push_str(original);
        }
        rest = at.get(consumed.max(1)..).unwrap_or_default();
    }
    text.push_str(rest);
    out.text = text;
    out
}

/// Grafana `legendFormat` → Perses `seriesNameFormat` (`{{ label }}` → `{{label}}`;
/// `__auto` and empty mean "no format").
pub(crate) fn series_name_format(legend: &str) -> Option<String> {
    if legend.is_empty() || legend == "__auto" {
        return None;
    }
    let mut out = String::with_capacity(legend.len());
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        let (before, at) = rest.split_at(start);
        out.push_str(before);
        let inner = at.get(2..).unwrap_or_default();
        match inner.find("}}") {
            Some(end) => {
                out.push_str("{{");
                out.push_str(inner.get(..end).unwrap_or_default().trim());
                out.push_str("}}");
                rest = inner.get(end + 2..).unwrap_or_default();
            }
            None => {
                out.push_str(at);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Whether `text` is a Perses duration (`1h30m`, `5m`, `0s`, `0`).
pub(crate) fn is_duration(text: &str) -> bool {
    if text == "0" {
        return true;
    }
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = text;
    let mut next = 0;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = rest.get(digits..).unwrap_or_default();
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            match rest.get(..1) {
                Some(unit) => unit,
                None => return false,
            }
        };
        let Some(index) = UNITS.iter().skip(next).position(|u| *u == unit) else {
            return false;
        };
        next += index + 1;
        rest = rest.get(unit.len()..).unwrap_or_default();
    }
    true
}

/// A Perses resource name (`^[a-zA-Z0-9_.-]+$`, ≤ 75, no `..`, no edge dot) made from `text`.
pub(crate) fn resource_name(text: &str, lowercase: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if lowercase { c.to_ascii_lowercase() } else { c };
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            if c == '.' && out.ends_with('.') {
                continue;
            }
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(75)
        .collect();
    trimmed.trim_end_matches('.').to_string()
}

/// The variable name a `$var` / `${var}` / `[[var]]` reference points at, if `text` is one.
pub(crate) fn variable_reference(text: &str) -> Option<&str> {
    let text = text.trim();
    let name = if let Some(inner) = text.strip_prefix("${") {
        let inner = inner.strip_suffix('}')?;
        inner.split(':').next().unwrap_or(inner)
    } else if let Some(inner) = text.strip_prefix("[[") {
        inner.strip_suffix("]]")?
    } else {
        text.strip_prefix('$')?
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// Splits `f(a, b(c, "d,e"), {x="1,2"})`'s argument list at top-level commas.
pub(crate) fn split_arguments(arguments: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in arguments.chars() {
        if let Some(open) = quote {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => {
                quote = Some(c);
                current.push(c);
            }
            '(' | '{' | '[' => {
                depth += 1;
                current.push(c);
            }
            ')' | '}' | ']' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => {
                parts.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    parts.push(current.trim().to_string());
    parts
}

/// `name(args)` → `args` when `text` is exactly one call of `name`.
pub(crate) fn call_arguments<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let rest = text.trim().strip_prefix(name)?.trim_start();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    // The closing parenthesis must match the opening one.
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_brackets_and_auto_interval() {
        let out = rewrite_template(
            "rate(x{job=\"[[job]]\"}[$__auto_interval_sampling]) + $__rate_interval",
        );
        assert_eq!(
            out.text,
            "rate(x{job=\"${job}\"}[$__interval]) + $__rate_interval"
        );
        assert_eq!(out.changes.len(), 2);
        assert!(out.unsupported.is_empty());
        let out = rewrite_template("x[$__range] $__name ${a:weird} ${b:regex} v[1]");
        assert_eq!(out.text, "x[$__range] $__name ${a:weird} ${b:regex} v[1]");
        assert_eq!(
            out.unsupported,
            vec![
                "$__name".to_string(),
                "format `:weird` in `${a:weird}`".to_string()
            ]
        );
    }

    #[test]
    fn durations() {
        for good in ["1h", "1h30m", "5m", "0s", "0", "100ms", "2w"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in ["", "1", "m", "1m1h", "1M", "$x", "1.5h"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(resource_name("Test Dashboard", true), "test-dashboard");
        assert_eq!(resource_name("a..b/c.", false), "a.b-c");
        assert_eq!(resource_name("???", true), "");
    }

    #[test]
    fn arguments() {
        assert_eq!(
            split_arguments(r#"up{a="1,2"}, job"#),
            vec![r#"up{a="1,2"}"#.to_string(), "job".to_string()]
        );
        assert_eq!(call_arguments("label_values(x)", "label_values"), Some("x"));
        assert_eq!(
            call_arguments("label_values(x) + (y)", "label_values"),
            None
        );
        assert_eq!(
            series_name_format("{{ a }}-{{b}}").as_deref(),
            Some("{{a}}-{{b}}")
        );
        assert_eq!(series_name_format("__auto"), None);
        assert_eq!(
            variable_reference("${DS_PROMETHEUS}"),
            Some("DS_PROMETHEUS")
        );
        assert_eq!(variable_reference("prometheus"), None);
    }
}
