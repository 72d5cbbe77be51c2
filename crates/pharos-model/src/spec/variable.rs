//! Variables: the dashboard-local list (`spec.variables`) and the spec of the Variable
//! and GlobalVariable resources.

use std::collections::HashMap;

use serde_json::Value;

use crate::check::{Checker, Fields, Need, element};
use crate::spec::common::{check_datasource_selector, check_plugin, objects_in};
use crate::spec::plugins::VARIABLE_PLUGIN_KINDS;

const VARIABLE_KINDS: &[&str] = &["ListVariable", "TextVariable"];
const SORT_ORDERS: &[&str] = &[
    "none",
    "alphabetical-asc",
    "alphabetical-desc",
    "numerical-asc",
    "numerical-desc",
    "alphabetical-ci-asc",
    "alphabetical-ci-desc",
];
/// The pattern Perses requires of variable names (quoted in messages).
const VARIABLE_NAME_PATTERN: &str = r"^\w*?[^0-9]\w*$";

/// Whether `spec.name` must be given (dashboards) or comes from `metadata.name` (resources).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameSource {
    InSpec,
    FromMetadata,
}

/// Checks `spec.variables` of a dashboard, including name uniqueness.
pub(crate) fn check_dashboard_variables(checker: &mut Checker, dashboard: &Fields<'_>) {
    let mut first_use: HashMap<&str, String> = HashMap::new();
    for variable in objects_in(checker, dashboard, "variables", Need::Optional) {
        let Some(name) = check_variable(checker, &variable, NameSource::InSpec) else {
            continue;
        };
        let name_path = child_of_spec(&variable, "name");
        match first_use.get(name) {
            Some(first_path) => checker.report(
                name_path,
                format!("duplicate variable name {name:?} (already used at {first_path})"),
            ),
            None => {
                first_use.insert(name, name_path);
            }
        }
    }
}

/// Checks the spec of a Variable / GlobalVariable resource: `{kind, spec}`.
pub(crate) fn check_variable_resource_spec(checker: &mut Checker, spec: &Fields<'_>) {
    check_variable(checker, spec, NameSource::FromMetadata);
}

fn child_of_spec(variable: &Fields<'_>, key: &str) -> String {
    format!("{}.{key}", variable.path_of("spec"))
}

/// Checks one `{kind, spec}` variable and returns its name when one was given.
fn check_variable<'v>(
    checker: &mut Checker,
    variable: &Fields<'v>,
    name_source: NameSource,
) -> Option<&'v str> {
    let kind = variable.string(checker, "kind", Need::Required);
    if let Some(kind) = kind
        && !VARIABLE_KINDS.contains(&kind)
    {
        checker.report(
            variable.path_of("kind"),
            format!("unknown variable.kind {kind:?} (use ListVariable or TextVariable)"),
        );
    }
    let spec = variable.object(checker, "spec", Need::Required)?;
    let need_name = match name_source {
        NameSource::InSpec => Need::Required,
        NameSource::FromMetadata => Need::Optional,
    };
    let name = spec.string(checker, "name", need_name);
    if let Some(name) = name
        && let Err(message) = check_variable_name(name)
    {
        checker.report(spec.path_of("name"), message);
    }
    if let Some(display) = spec.object(checker, "display", Need::Optional) {
        display.string(checker, "name", Need::Optional);
        display.string(checker, "description", Need::Optional);
        display.boolean(checker, "hidden");
    }
    match kind {
        Some("ListVariable") => check_list_variable(checker, &spec),
        Some("TextVariable") => {
            spec.string(checker, "value", Need::Optional);
            spec.boolean(checker, "constant");
        }
        _ => {}
    }
    name
}

fn check_variable_name(name: &str) -> Result<(), String> {
    // Equivalent of the Go regexp `^\w*?[^0-9]\w*$` with ASCII `\w`: word characters plus
    // at most one other character, and not only digits.
    let non_word = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .count();
    let matches = match non_word {
        0 => name.chars().any(|c| !c.is_ascii_digit()),
        1 => true,
        _ => false,
    };
    if !matches {
        return Err(format!(
            "variable name {name:?} must match {VARIABLE_NAME_PATTERN} (letters, digits and _, not only digits)"
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "variable name {name:?} cannot start with \"__\" (reserved for built-in variables such as __interval)"
        ));
    }
    Ok(())
}

fn check_list_variable(checker: &mut Checker, spec: &Fields<'_>) {
    let allow_all = spec.boolean(checker, "allowAllValue").unwrap_or(false);
    let allow_multiple = spec.boolean(checker, "allowMultiple").unwrap_or(false);
    check_default_value(checker, spec, allow_multiple);
    if let Some(custom_all) = spec.string(checker, "customAllValue", Need::Optional)
        && !custom_all.is_empty()
        && !allow_all
    {
        checker.report(
            spec.path_of("customAllValue"),
            "customAllValue can only be set when allowAllValue is true",
        );
    }
    spec.string(checker, "capturingRegexp", Need::Optional);
    spec.one_of(checker, "sort", SORT_ORDERS, Need::Optional);
    if let Some(plugin) = check_plugin(
        checker,
        spec,
        "plugin",
        "variable plugin",
        VARIABLE_PLUGIN_KINDS,
    ) {
        check_variable_plugin(checker, plugin.kind, &plugin.spec);
    }
}

fn check_default_value(checker: &mut Checker, spec: &Fields<'_>, allow_multiple: bool) {
    let path = spec.path_of("defaultValue");
    match spec.get("defaultValue") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(values)) => {
            for (index, value) in values.iter().enumerate() {
                checker.string(&element(&path, index), value);
            }
            if values.len() > 1 && !allow_multiple {
                checker.report(
                    path,
                    "a list of default values needs allowMultiple: true (or give a single value)",
                );
            }
        }
        Some(other) => checker.wrong_type(&path, "a string or an array of strings", other),
    }
}

fn check_variable_plugin(checker: &mut Checker, kind: &str, spec: &Fields<'_>) {
    match kind {
        "StaticListVariable" => {
            let Some(values) = spec.array(checker, "values", Need::Required) else {
                return;
            };
            let path = spec.path_of("values");
            for (index, value) in values.iter().enumerate() {
                let value_path = element(&path, index);
                match value {
                    Value::String(_) => {}
                    Value::Object(_) => {
                        if let Some(entry) = checker.object(&value_path, value) {
                            entry.string(checker, "value", Need::Required);
                            entry.string(checker, "label", Need::Optional);
                        }
                    }
                    other => checker.wrong_type(
                        &value_path,
                        "a string or a {value, label} object",
                        other,
                    ),
                }
            }
        }
        "DatasourceVariable" => {
            spec.non_empty_string(checker, "datasourcePluginKind", Need::Required);
        }
        "PrometheusLabelValuesVariable" => {
            check_datasource_selector(checker, spec);
            spec.non_empty_string(checker, "labelName", Need::Required);
            spec.string_list(checker, "matchers");
        }
        "PrometheusLabelNamesVariable" => {
            check_datasource_selector(checker, spec);
            spec.string_list(checker, "matchers");
        }
        "PrometheusPromQLVariable" => {
            check_datasource_selector(checker, spec);
            spec.non_empty_string(checker, "expr", Need::Required);
            spec.string(checker, "labelName", Need::Optional);
        }
        _ => check_datasource_selector(checker, spec),
    }
}

#[cfg(test)]
mod tests {
    use super::check_variable_name;

    #[test]
    fn variable_names_follow_the_perses_pattern() {
        for good in ["job", "Job_2", "_x", "a-b", "2x"] {
            assert_eq!(check_variable_name(good), Ok(()), "{good}");
        }
        for bad in ["", "123", "a-b-c", "a b c"] {
            assert!(check_variable_name(bad).is_err(), "{bad:?}");
        }
        let message = check_variable_name("__interval").unwrap_err();
        assert!(message.contains("cannot start with \"__\""), "{message}");
    }
}
