//! Rules for the variables of a dashboard (`spec.variables`), one test each.

mod common;

use common::{assert_rejected, insert, set, valid_dashboard};
use pharos_model::Kind;
use serde_json::json;

fn rejected(body: &serde_json::Value, path: &str, message: &str) {
    assert_rejected(Kind::Dashboard, body, path, message);
}

#[test]
fn variable_names_must_match_the_perses_pattern() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/spec/name",
        json!("123"),
    );
    rejected(
        &body,
        "spec.variables[0].spec.name",
        "must match ^\\w*?[^0-9]\\w*$",
    );
}

#[test]
fn variable_names_cannot_start_with_double_underscore() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/spec/name",
        json!("__interval"),
    );
    rejected(
        &body,
        "spec.variables[0].spec.name",
        "cannot start with \"__\"",
    );
}

#[test]
fn variable_names_are_unique() {
    let mut body = valid_dashboard();
    let copy = body["spec"]["variables"][0].clone();
    body["spec"]["variables"].as_array_mut().unwrap().push(copy);
    rejected(
        &body,
        "spec.variables[1].spec.name",
        "duplicate variable name \"job\" (already used at spec.variables[0].spec.name)",
    );
}

#[test]
fn variable_sort_is_an_enum() {
    let body = insert(
        valid_dashboard(),
        "/spec/variables/0/spec",
        "sort",
        json!("random"),
    );
    rejected(
        &body,
        "spec.variables[0].spec.sort",
        "must be one of none, alphabetical-asc",
    );
}

#[test]
fn custom_all_value_needs_allow_all_value() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/spec/allowAllValue",
        json!(false),
    );
    let body = insert(
        body,
        "/spec/variables/0/spec",
        "customAllValue",
        json!(".*"),
    );
    rejected(
        &body,
        "spec.variables[0].spec.customAllValue",
        "customAllValue can only be set when allowAllValue is true",
    );
}

#[test]
fn list_variable_plugin_kind_must_be_known() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/spec/plugin/kind",
        json!("MagicVariable"),
    );
    rejected(
        &body,
        "spec.variables[0].spec.plugin.kind",
        "unknown variable plugin kind \"MagicVariable\" (known: StaticListVariable",
    );
}

#[test]
fn variable_kind_must_be_list_or_text() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/kind",
        json!("ComboVariable"),
    );
    rejected(
        &body,
        "spec.variables[0].kind",
        "unknown variable.kind \"ComboVariable\"",
    );
}

#[test]
fn default_value_list_needs_allow_multiple() {
    let body = set(
        valid_dashboard(),
        "/spec/variables/0/spec/allowMultiple",
        json!(false),
    );
    let body = insert(
        body,
        "/spec/variables/0/spec",
        "defaultValue",
        json!(["a", "b"]),
    );
    rejected(
        &body,
        "spec.variables[0].spec.defaultValue",
        "needs allowMultiple: true",
    );
}
