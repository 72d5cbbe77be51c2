//! Envelope and metadata rules shared by every kind.

mod common;

use common::{assert_rejected, errors_for, insert, remove, set, valid_dashboard};
use pharos_model::{Kind, decode_resource};
use serde_json::json;

fn project(name: &str) -> serde_json::Value {
    json!({"kind": "Project", "metadata": {"name": name}, "spec": {}})
}

#[test]
fn body_must_be_an_object() {
    let errors = errors_for(Kind::Project, &json!([1, 2]));
    assert_eq!(
        errors.to_string(),
        "the request body must be a JSON object with kind, metadata and spec"
    );
}

#[test]
fn kind_is_required() {
    let body = remove(valid_dashboard(), "", "kind");
    assert_rejected(Kind::Dashboard, &body, "kind", "is required");
}

#[test]
fn kind_must_match_the_endpoint() {
    let errors = assert_rejected(
        Kind::Datasource,
        &valid_dashboard(),
        "kind",
        "kind Dashboard does not match this endpoint, which expects Datasource",
    );
    assert!(!errors.is_empty());
    let body = set(valid_dashboard(), "/kind", json!("Dashbord"));
    assert_rejected(Kind::Dashboard, &body, "kind", "unknown kind \"Dashbord\"");
}

#[test]
fn kind_is_matched_without_case_and_normalised() {
    let body = set(valid_dashboard(), "/kind", json!("dashBOARD"));
    let resource = decode_resource(Kind::Dashboard, &body).unwrap();
    assert_eq!(resource.to_value()["kind"], "Dashboard");
}

#[test]
fn metadata_name_is_required() {
    let body = remove(valid_dashboard(), "/metadata", "name");
    assert_rejected(Kind::Dashboard, &body, "metadata.name", "is required");
    let body = remove(valid_dashboard(), "", "metadata");
    assert_rejected(Kind::Dashboard, &body, "metadata", "is required");
}

#[test]
fn metadata_name_must_be_valid() {
    assert_rejected(
        Kind::Project,
        &project("f o o"),
        "metadata.name",
        "\"f o o\" is not a correct name. It should match the regexp: ^[a-zA-Z0-9_.-]+$",
    );
    assert_rejected(
        Kind::Project,
        &project(""),
        "metadata.name",
        "name cannot be empty",
    );
    assert_rejected(
        Kind::Project,
        &project(&"x".repeat(76)),
        "metadata.name",
        "cannot contain more than 75 characters",
    );
}

#[test]
fn metadata_project_must_be_valid_when_present() {
    let body = set(valid_dashboard(), "/metadata/project", json!("bad..name"));
    assert_rejected(
        Kind::Dashboard,
        &body,
        "metadata.project",
        "cannot contain \"..\"",
    );
    // Left out or empty: the server fills it from the URL.
    let body = remove(valid_dashboard(), "/metadata", "project");
    assert_eq!(
        decode_resource(Kind::Dashboard, &body)
            .unwrap()
            .metadata
            .project,
        None
    );
    let body = set(valid_dashboard(), "/metadata/project", json!(""));
    assert_eq!(
        decode_resource(Kind::Dashboard, &body)
            .unwrap()
            .metadata
            .project,
        None
    );
}

#[test]
fn global_kinds_cannot_have_a_project() {
    let body = insert(project("demo"), "/metadata", "project", json!("other"));
    assert_rejected(
        Kind::Project,
        &body,
        "metadata.project",
        "Project is a global resource and cannot belong to a project",
    );
}

#[test]
fn unknown_envelope_fields_are_rejected() {
    let body = insert(valid_dashboard(), "", "apiVersion", json!("v1"));
    assert_rejected(
        Kind::Dashboard,
        &body,
        "apiVersion",
        "unknown field \"apiVersion\" (allowed: kind, metadata, spec)",
    );
}

#[test]
fn unknown_metadata_fields_are_rejected() {
    let body = insert(valid_dashboard(), "/metadata", "labels", json!({"a": "b"}));
    assert_rejected(
        Kind::Dashboard,
        &body,
        "metadata.labels",
        "unknown field \"labels\" (allowed: name, project, createdAt, updatedAt, version, tags)",
    );
}

#[test]
fn too_many_tags_are_rejected() {
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let body = insert(project("demo"), "/metadata", "tags", json!(tags));
    assert_rejected(
        Kind::Project,
        &body,
        "metadata.tags",
        "cannot have more than 20 tags (got 21)",
    );
}

#[test]
fn each_tag_is_checked() {
    let long = "x".repeat(51);
    let body = insert(
        project("demo"),
        "/metadata",
        "tags",
        json!(["ok", "", long, " padded", 4]),
    );
    let errors = errors_for(Kind::Project, &body);
    assert_eq!(
        errors.at("metadata.tags[1]").map(|e| e.message.as_str()),
        Some("tag cannot be empty")
    );
    assert_eq!(
        errors.at("metadata.tags[2]").map(|e| e.message.as_str()),
        Some("tag cannot be longer than 50 characters")
    );
    assert!(
        errors
            .at("metadata.tags[3]")
            .is_some_and(|e| e.message.contains("whitespace"))
    );
    assert!(
        errors
            .at("metadata.tags[4]")
            .is_some_and(|e| e.message.contains("must be a string"))
    );
    assert!(errors.at("metadata.tags[0]").is_none());
}

#[test]
fn valid_tags_are_kept_and_serialised() {
    let body = insert(
        project("demo"),
        "/metadata",
        "tags",
        json!(["team-a", "prod"]),
    );
    let resource = decode_resource(Kind::Project, &body).unwrap();
    assert_eq!(resource.metadata.tags, ["team-a", "prod"]);
    assert_eq!(
        resource.to_value()["metadata"]["tags"],
        json!(["team-a", "prod"])
    );
}

#[test]
fn timestamps_and_version_are_typed() {
    let body = insert(
        project("demo"),
        "/metadata",
        "createdAt",
        json!("last week"),
    );
    let body = insert(body, "/metadata", "version", json!(-2));
    let errors = errors_for(Kind::Project, &body);
    assert!(
        errors
            .at("metadata.createdAt")
            .is_some_and(|e| e.message.contains("RFC 3339")),
        "{errors}"
    );
    assert!(errors.at("metadata.version").is_some(), "{errors}");
}

#[test]
fn spec_must_be_an_object() {
    let body = set(valid_dashboard(), "/spec", json!([]));
    assert_rejected(
        Kind::Dashboard,
        &body,
        "spec",
        "must be an object (got array)",
    );
}

#[test]
fn envelope_and_spec_problems_are_reported_together() {
    let body = set(valid_dashboard(), "/metadata/name", json!("a b"));
    let body = set(body, "/spec/duration", json!("x"));
    let errors = errors_for(Kind::Dashboard, &body);
    assert!(errors.at("metadata.name").is_some(), "{errors}");
    assert!(errors.at("spec.duration").is_some(), "{errors}");
}

#[test]
fn kinds_without_a_spec_validator_still_get_envelope_checks() {
    let role = json!({"kind": "Role", "metadata": {"name": "viewer", "project": "demo"}, "spec": {"permissions": []}});
    assert!(decode_resource(Kind::Role, &role).is_ok());
    let bad = set(role, "/metadata/name", json!("no/slash"));
    assert_rejected(Kind::Role, &bad, "metadata.name", "is not a correct name");
}
