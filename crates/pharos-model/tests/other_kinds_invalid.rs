//! Variable, Secret, Project and Folder rules, one test each.

mod common;

use common::{assert_rejected, errors_for};
use pharos_model::{Kind, SecretSpec, decode_resource, mask_secret_spec, project_namespaces};
use serde_json::{Value, json};

fn variable(spec: Value) -> Value {
    json!({"kind": "Variable", "metadata": {"name": "job", "project": "demo"}, "spec": spec})
}

fn secret(spec: Value) -> Value {
    json!({"kind": "Secret", "metadata": {"name": "prom-auth", "project": "demo"}, "spec": spec})
}

fn project(spec: Value) -> Value {
    json!({"kind": "Project", "metadata": {"name": "demo"}, "spec": spec})
}

fn folder(items: Value) -> Value {
    json!({"kind": "Folder", "metadata": {"name": "f", "project": "demo"}, "spec": {"items": items}})
}

// ---- Variable / GlobalVariable ----

#[test]
fn variable_resources_take_their_name_from_metadata() {
    let body = variable(json!({"kind": "TextVariable", "spec": {"value": "x"}}));
    assert!(decode_resource(Kind::Variable, &body).is_ok());
}

#[test]
fn unknown_variable_kind_is_rejected() {
    let body = variable(json!({"kind": "SliderVariable", "spec": {}}));
    assert_rejected(
        Kind::Variable,
        &body,
        "spec.kind",
        "unknown variable.kind \"SliderVariable\" (use ListVariable or TextVariable)",
    );
}

#[test]
fn global_variable_list_plugins_are_checked() {
    let body = json!({"kind": "GlobalVariable", "metadata": {"name": "job"}, "spec": {
        "kind": "ListVariable",
        "spec": {"plugin": {"kind": "PrometheusLabelValuesVariable", "spec": {"matchers": []}}}
    }});
    assert_rejected(
        Kind::GlobalVariable,
        &body,
        "spec.spec.plugin.spec.labelName",
        "is required",
    );
}

// ---- Secret / GlobalSecret ----

#[test]
fn secret_auth_modes_are_mutually_exclusive() {
    let body = secret(json!({
        "basicAuth": {"username": "u", "password": "p"},
        "authorization": {"credentials": "t"}
    }));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec",
        "basicAuth, authorization and oauth are mutually exclusive: keep only one (found basicAuth, authorization)",
    );
}

#[test]
fn secret_fields_are_closed() {
    let body = secret(json!({"basicAuth": {"username": "u", "pasword": "p"}}));
    let errors = errors_for(Kind::Secret, &body);
    assert!(
        errors
            .at("spec.basicAuth.pasword")
            .is_some_and(|e| e.message.starts_with("unknown field \"pasword\"")),
        "{errors}"
    );
    let body = secret(json!({"sigv5": {}}));
    assert_rejected(Kind::Secret, &body, "spec.sigv5", "unknown field \"sigv5\"");
}

#[test]
fn basic_auth_needs_username_and_one_password_source() {
    let body = secret(json!({"basicAuth": {"password": "p"}}));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec.basicAuth.username",
        "is required",
    );
    let body = secret(json!({"basicAuth": {"username": "u"}}));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec.basicAuth",
        "password or passwordFile is required",
    );
    let body =
        secret(json!({"basicAuth": {"username": "u", "password": "p", "passwordFile": "/f"}}));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec.basicAuth",
        "set only one of password and passwordFile",
    );
}

#[test]
fn authorization_type_cannot_be_basic() {
    let body = secret(json!({"authorization": {"type": "basic", "credentials": "x"}}));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec.authorization.type",
        "use basicAuth instead",
    );
}

#[test]
fn oauth_needs_client_id_secret_and_token_url() {
    let body = secret(json!({"oauth": {"clientID": "id"}}));
    let errors = errors_for(Kind::Secret, &body);
    assert!(errors.at("spec.oauth.tokenURL").is_some(), "{errors}");
    assert!(
        errors
            .at("spec.oauth")
            .is_some_and(|e| e.message == "clientSecret or clientSecretFile is required"),
        "{errors}"
    );
}

#[test]
fn tls_versions_are_an_enum() {
    let body = secret(json!({"tlsConfig": {"minVersion": "SSL3"}}));
    assert_rejected(
        Kind::Secret,
        &body,
        "spec.tlsConfig.minVersion",
        "must be one of TLS10, TLS11, TLS12, TLS13",
    );
}

#[test]
fn valid_secret_masks_and_builds_a_header() {
    let body = secret(
        json!({"basicAuth": {"username": "u", "password": "p"}, "tlsConfig": {"ca": "PEM", "insecureSkipVerify": false}}),
    );
    let resource = decode_resource(Kind::Secret, &body).unwrap();
    let masked = mask_secret_spec(&resource.spec);
    assert_eq!(
        masked["basicAuth"],
        json!({"username": "u", "password": "<secret>"})
    );
    assert_eq!(masked["tlsConfig"]["ca"], "<secret>");
    let typed: SecretSpec = serde_json::from_value(resource.spec).unwrap();
    assert_eq!(typed.authorization_header().as_deref(), Some("Basic dTpw"));
}

// ---- Project ----

#[test]
fn project_namespaces_must_be_non_empty_strings() {
    let body = project(json!({"namespaces": ["team-a", "", 7]}));
    let errors = errors_for(Kind::Project, &body);
    assert_eq!(
        errors.at("spec.namespaces[1]").map(|e| e.message.as_str()),
        Some("namespace cannot be empty")
    );
    assert!(
        errors
            .at("spec.namespaces[2]")
            .is_some_and(|e| e.message.contains("must be a string"))
    );
}

#[test]
fn project_namespaces_must_be_unique() {
    let body = project(json!({"namespaces": ["team-a", "team-b", "team-a"]}));
    assert_rejected(
        Kind::Project,
        &body,
        "spec.namespaces[2]",
        "duplicate namespace \"team-a\" (already listed at spec.namespaces[0])",
    );
}

#[test]
fn project_namespaces_are_readable_from_a_valid_spec() {
    let body = project(json!({"display": {"name": "Demo"}, "namespaces": ["team-a", "team-b"]}));
    let resource = decode_resource(Kind::Project, &body).unwrap();
    assert_eq!(project_namespaces(&resource.spec), ["team-a", "team-b"]);
}

#[test]
fn project_display_fields_are_strings() {
    let body = project(json!({"display": {"name": 1}}));
    assert_rejected(
        Kind::Project,
        &body,
        "spec.display.name",
        "must be a string",
    );
}

// ---- Folder ----

#[test]
fn folder_item_names_cannot_be_empty() {
    let body = folder(json!([{"kind": "Dashboard", "name": ""}]));
    assert_rejected(Kind::Folder, &body, "spec.items[0].name", "cannot be empty");
}

#[test]
fn folder_item_kind_is_folder_or_dashboard() {
    let body = folder(json!([{"kind": "Panel", "name": "x"}]));
    assert_rejected(
        Kind::Folder,
        &body,
        "spec.items[0].kind",
        "must be one of Folder, Dashboard",
    );
}

#[test]
fn dashboard_items_have_no_children() {
    let body = folder(json!([{"kind": "Dashboard", "name": "d", "items": []}]));
    assert_rejected(
        Kind::Folder,
        &body,
        "spec.items[0].items",
        "a Dashboard item cannot have children",
    );
}

#[test]
fn a_dashboard_appears_once_per_folder_tree() {
    let body = folder(json!([
        {"kind": "Dashboard", "name": "node"},
        {"kind": "Folder", "name": "infra", "items": [{"kind": "Dashboard", "name": "node"}]}
    ]));
    assert_rejected(
        Kind::Folder,
        &body,
        "spec.items[1].items[0].name",
        "dashboard \"node\" appears more than once in this folder tree (first at spec.items[0].name)",
    );
}

#[test]
fn folder_items_are_required() {
    let body = json!({"kind": "Folder", "metadata": {"name": "f", "project": "demo"}, "spec": {"display": {"name": "F"}}});
    assert_rejected(Kind::Folder, &body, "spec.items", "is required");
}
