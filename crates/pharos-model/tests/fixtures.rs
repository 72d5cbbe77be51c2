//! Every Perses reference resource must validate and survive a decode/serialise round trip.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pharos_model::{Kind, decode_resource};
use serde_json::Value;

/// Kinds this crate does not validate yet.
const SKIPPED_KINDS: [&str; 2] = ["GlobalRole", "GlobalRoleBinding"];
/// Not a Perses resource (Grafana input for the migration endpoint).
const SKIPPED_FILES: [&str; 1] = ["empty_grafana_dashboard.json"];
/// Fields the server owns and rewrites on every write.
const SERVER_MANAGED: [&str; 3] = ["createdAt", "updatedAt", "version"];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/perses")
}

/// (label, kind, resource) for every resource in every fixture file; arrays are split.
fn fixture_resources() -> Vec<(String, Kind, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("fixture directory is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut resources = Vec::new();
    for path in paths {
        let file = path
            .file_name()
            .expect("fixture path has a file name")
            .to_string_lossy()
            .to_string();
        if SKIPPED_FILES.contains(&file.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("fixture is readable");
        let parsed: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
        let items = match parsed {
            Value::Array(items) => items,
            single => vec![single],
        };
        for (index, item) in items.into_iter().enumerate() {
            let kind_text = item["kind"].as_str().unwrap_or_default().to_string();
            if SKIPPED_KINDS.contains(&kind_text.as_str()) {
                continue;
            }
            let kind = Kind::parse(&kind_text)
                .unwrap_or_else(|| panic!("{file}[{index}] has unknown kind {kind_text:?}"));
            resources.push((format!("{file}[{index}]"), kind, item));
        }
    }
    resources
}

#[test]
fn every_reference_resource_validates() {
    let resources = fixture_resources();
    let kinds: BTreeSet<&str> = resources.iter().map(|(_, kind, _)| kind.as_str()).collect();
    // Guard against passing vacuously if the fixtures were not found or were emptied.
    assert!(
        resources.len() >= 30,
        "only {} fixtures found",
        resources.len()
    );
    for expected in [
        "Dashboard",
        "EphemeralDashboard",
        "Datasource",
        "GlobalDatasource",
        "Variable",
        "GlobalVariable",
        "Project",
        "Folder",
    ] {
        assert!(
            kinds.contains(expected),
            "no {expected} fixture in {kinds:?}"
        );
    }
    let failures: Vec<String> = resources
        .iter()
        .filter_map(|(label, kind, body)| {
            decode_resource(*kind, body)
                .err()
                .map(|errors| format!("{label}:\n{errors}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "rejected fixtures:\n{}",
        failures.join("\n\n")
    );
}

/// Metadata without server-managed fields. An empty `project` means "take it from the URL"
/// and is decoded as absent, so it is dropped here too.
fn client_metadata(metadata: &Value) -> Value {
    let mut metadata = metadata.clone();
    if let Some(map) = metadata.as_object_mut() {
        for field in SERVER_MANAGED {
            map.remove(field);
        }
        if map.get("project").and_then(Value::as_str) == Some("") {
            map.remove("project");
        }
    }
    metadata
}

#[test]
fn reserialising_returns_the_input_unchanged() {
    for (label, kind, body) in fixture_resources() {
        let resource = decode_resource(kind, &body).unwrap_or_else(|e| panic!("{label}: {e}"));
        let output = resource.to_value();
        assert_eq!(output["kind"], body["kind"], "{label}: kind");
        assert_eq!(
            client_metadata(&output["metadata"]),
            client_metadata(&body["metadata"]),
            "{label}: metadata"
        );
        // Compare text, not values: serde_json's map equality ignores key order.
        assert_eq!(
            serde_json::to_string(&output["spec"]).unwrap(),
            serde_json::to_string(&body["spec"]).unwrap(),
            "{label}: spec changed (dropped or reordered fields)"
        );
        let object = output.as_object().unwrap();
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["kind", "metadata", "spec"],
            "{label}: envelope fields"
        );
    }
}

#[test]
fn server_managed_metadata_survives_when_present() {
    let file = fixture_dir().join("dashboard.json");
    let body: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let resource = decode_resource(Kind::Dashboard, &body).unwrap();
    assert_eq!(resource.metadata.version, Some(3));
    let output = resource.to_value();
    for field in SERVER_MANAGED {
        assert_eq!(
            output["metadata"][field], body["metadata"][field],
            "{field}"
        );
    }
}

#[test]
fn decoding_output_again_is_stable() {
    for (label, kind, body) in fixture_resources() {
        let first = decode_resource(kind, &body).unwrap();
        let second = decode_resource(kind, &first.to_value())
            .unwrap_or_else(|e| panic!("{label}: re-decoding failed: {e}"));
        assert_eq!(first, second, "{label}");
    }
}
