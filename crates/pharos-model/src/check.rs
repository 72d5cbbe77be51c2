//! Small toolkit for walking untrusted JSON while collecting every problem with its path.
//!
//! Validators never stop at the first problem: each helper records what is wrong and
//! returns `None`, so the caller simply skips checks that depend on the bad value.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::duration::parse_duration;
use crate::errors::{ValidationError, ValidationErrors};

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// Whether a field must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Required,
    Optional,
}

/// `path.key`, or `key` at the root.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[index]`.
pub(crate) fn element(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// Human name of a JSON value's type, for "must be a string (got number)".
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Collects problems.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    errors: Vec<ValidationError>,
}

impl Checker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn report(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ValidationError::new(path, message));
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(crate) fn into_errors(self) -> ValidationErrors {
        ValidationErrors(self.errors)
    }

    /// `value` as an object, or a "must be an object" problem.
    pub(crate) fn object<'v>(&mut self, path: &str, value: &'v Value) -> Option<Fields<'v>> {
        match value {
            Value::Object(map) => Some(Fields {
                map,
                path: path.to_string(),
            }),
            other => {
                self.wrong_type(path, "an object", other);
                None
            }
        }
    }

    /// `value` as a string, or a "must be a string" problem.
    pub(crate) fn string<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    /// `value` as an array, or a "must be an array" problem.
    pub(crate) fn array<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v [Value]> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.wrong_type(path, "an array", other);
                None
            }
        }
    }

    /// `value` as a string taken from `allowed`, or a problem listing the choices.
    pub(crate) fn one_of<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        allowed: &[&str],
    ) -> Option<&'v str> {
        let text = self.string(path, value)?;
        if allowed.contains(&text) {
            Some(text)
        } else {
            self.report(
                path,
                format!("must be one of {} (got {text:?})", allowed.join(", ")),
            );
            None
        }
    }

    pub(crate) fn wrong_type(&mut self, path: &str, expected: &str, got: &Value) {
        self.report(path, format!("must be {expected} (got {})", type_name(got)));
    }
}

/// An object being checked, with its path.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'v> {
    pub(crate) map: &'v Object,
    pub(crate) path: String,
}

impl<'v> Fields<'v> {
    /// Path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// The field's value; JSON `null` counts as absent, as in Go's decoder.
    pub(crate) fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// The field's value, reporting it as missing when required and absent.
    pub(crate) fn field(&self, checker: &mut Checker, key: &str, need: Need) -> Option<&'v Value> {
        let value = self.get(key);
        if value.is_none() && need == Need::Required {
            checker.report(self.path_of(key), "is required");
        }
        value
    }

    pub(crate) fn string(&self, checker: &mut Checker, key: &str, need: Need) -> Option<&'v str> {
        let value = self.field(checker, key, need)?;
        checker.string(&self.path_of(key), value)
    }

    /// A string that must also be non-empty when present.
    pub(crate) fn non_empty_string(
        &self,
        checker: &mut Checker,
        key: &str,
        need: Need,
    ) -> Option<&'v str> {
        let text = self.string(checker, key, need)?;
        if text.is_empty() {
            checker.report(self.path_of(key), "cannot be empty");
            return None;
        }
        Some(text)
    }

    pub(crate) fn boolean(&self, checker: &mut Checker, key: &str) -> Option<bool> {
        match self.field(checker, key, Need::Optional)? {
            Value::Bool(flag) => Some(*flag),
            other => {
                checker.wrong_type(&self.path_of(key), "a boolean", other);
                None
            }
        }
    }

    pub(crate) fn number(&self, checker: &mut Checker, key: &str, need: Need) -> Option<f64> {
        match self.field(checker, key, need)? {
            Value::Number(number) => number.as_f64(),
            other => {
                checker.wrong_type(&self.path_of(key), "a number", other);
                None
            }
        }
    }

    /// A number within `min..=max`.
    pub(crate) fn number_in(
        &self,
        checker: &mut Checker,
        key: &str,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        let number = self.number(checker, key, Need::Optional)?;
        if number < min || number > max {
            checker.report(
                self.path_of(key),
                format!("must be between {min} and {max} (got {number})"),
            );
            return None;
        }
        Some(number)
    }

    /// A whole number that is zero or more.
    pub(crate) fn non_negative_integer(
        &self,
        checker: &mut Checker,
        key: &str,
        need: Need,
    ) -> Option<u64> {
        let value = self.field(checker, key, need)?;
        match value {
            Value::Number(number) => {
                if let Some(whole) = number.as_u64() {
                    Some(whole)
                } else {
                    let message = if number.as_i64().is_some() {
                        format!("must be 0 or more (got {number})")
                    } else {
                        format!("must be a whole number (got {number})")
                    };
                    checker.report(self.path_of(key), message);
                    None
                }
            }
            other => {
                checker.wrong_type(&self.path_of(key), "an integer", other);
                None
            }
        }
    }

    pub(crate) fn object(
        &self,
        checker: &mut Checker,
        key: &str,
        need: Need,
    ) -> Option<Fields<'v>> {
        let value = self.field(checker, key, need)?;
        checker.object(&self.path_of(key), value)
    }

    pub(crate) fn array(
        &self,
        checker: &mut Checker,
        key: &str,
        need: Need,
    ) -> Option<&'v [Value]> {
        let value = self.field(checker, key, need)?;
        checker.array(&self.path_of(key), value)
    }

    pub(crate) fn one_of(
        &self,
        checker: &mut Checker,
        key: &str,
        allowed: &[&str],
        need: Need,
    ) -> Option<&'v str> {
        let value = self.field(checker, key, need)?;
        checker.one_of(&self.path_of(key), value, allowed)
    }

    /// An array whose every element is a string.
    pub(crate) fn string_list(&self, checker: &mut Checker, key: &str) -> Option<Vec<&'v str>> {
        let items = self.array(checker, key, Need::Optional)?;
        let path = self.path_of(key);
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if let Some(text) = checker.string(&element(&path, index), item) {
                strings.push(text);
            }
        }
        Some(strings)
    }

    /// An object whose every value is a string (`headers`, `queryParams`).
    pub(crate) fn string_map(
        &self,
        checker: &mut Checker,
        key: &str,
    ) -> Option<Vec<(&'v str, &'v str)>> {
        let fields = self.object(checker, key, Need::Optional)?;
        let mut pairs = Vec::with_capacity(fields.map.len());
        for (name, value) in fields.map {
            if let Some(text) = checker.string(&fields.path_of(name), value) {
                pairs.push((name.as_str(), text));
            }
        }
        Some(pairs)
    }

    /// A Prometheus-style duration string.
    pub(crate) fn duration(
        &self,
        checker: &mut Checker,
        key: &str,
        need: Need,
    ) -> Option<Duration> {
        let text = self.string(checker, key, need)?;
        match parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(message) => {
                checker.report(self.path_of(key), message);
                None
            }
        }
    }

    /// Reports every field not in `allowed` (closed schemas reject unknown fields).
    pub(crate) fn reject_unknown(&self, checker: &mut Checker, allowed: &[&str]) {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                checker.report(
                    self.path_of(key),
                    format!("unknown field {key:?} (allowed: {})", allowed.join(", ")),
                );
            }
        }
    }
}

/// True for `#rgb` / `#rrggbb` colours (the pattern the Perses schemas use).
pub(crate) fn is_hex_color(text: &str) -> bool {
    text.strip_prefix('#').is_some_and(|digits| {
        matches!(digits.len(), 3 | 6) && digits.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// True for `$var` / `${var}` references (the shared `#variableSyntaxRegex`).
pub(crate) fn is_variable_reference(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else {
        return false;
    };
    let name = rest
        .strip_prefix('{')
        .and_then(|inner| inner.strip_suffix('}'))
        .unwrap_or(rest);
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_fields_count_as_absent_but_required_ones_are_reported() {
        let value = json!({"a": null, "b": 1});
        let mut checker = Checker::new();
        let fields = checker.object("spec", &value).unwrap();
        assert!(fields.field(&mut checker, "a", Need::Optional).is_none());
        assert!(!checker.has_errors());
        assert!(fields.string(&mut checker, "a", Need::Required).is_none());
        let errors = checker.into_errors();
        assert_eq!(errors.to_string(), "spec.a: is required");
    }

    #[test]
    fn wrong_types_name_the_expected_and_actual_type() {
        let value = json!({"s": 3, "n": "x", "b": "true", "i": -1, "f": 1.5});
        let mut checker = Checker::new();
        let fields = checker.object("", &value).unwrap();
        fields.string(&mut checker, "s", Need::Required);
        fields.number(&mut checker, "n", Need::Required);
        fields.boolean(&mut checker, "b");
        fields.non_negative_integer(&mut checker, "i", Need::Required);
        fields.non_negative_integer(&mut checker, "f", Need::Required);
        let text = checker.into_errors().to_string();
        assert_eq!(
            text,
            "s: must be a string (got number)\nn: must be a number (got string)\n\
             b: must be a boolean (got string)\ni: must be 0 or more (got -1)\n\
             f: must be a whole number (got 1.5)"
        );
    }

    #[test]
    fn reject_unknown_names_the_field() {
        let value = json!({"ok": 1, "typo": 2});
        let mut checker = Checker::new();
        let fields = checker.object("spec", &value).unwrap();
        fields.reject_unknown(&mut checker, &["ok"]);
        assert_eq!(
            checker.into_errors().to_string(),
            "spec.typo: unknown field \"typo\" (allowed: ok)"
        );
    }

    #[test]
    fn recognises_hex_colors_and_variable_references() {
        assert!(is_hex_color("#0be300"));
        assert!(is_hex_color("#FFF"));
        assert!(!is_hex_color("green"));
        assert!(!is_hex_color("#12345"));
        assert!(is_variable_reference("$datasource"));
        assert!(is_variable_reference("${ds_1}"));
        assert!(!is_variable_reference("$"));
        assert!(!is_variable_reference("$a-b"));
        assert!(!is_variable_reference("ds"));
    }
}
