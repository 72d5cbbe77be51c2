//! Every Perses example resource in `shared/reference/perses/` (arrays split into single
//! resources) is accepted through the API and read back equal, apart from server-set metadata.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::Value;

/// Kinds this API serves; GlobalRole/GlobalRoleBinding fixtures belong to the auth work.
const SERVED: [&str; 10] = [
    "Project",
    "Dashboard",
    "EphemeralDashboard",
    "Datasource",
    "GlobalDatasource",
    "Variable",
    "GlobalVariable",
    "Secret",
    "GlobalSecret",
    "Folder",
];

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/perses");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("reference dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            if item
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| SERVED.contains(&k))
            {
                out.push((name.clone(), item));
            }
        }
    }
    out
}

/// Where fixtures with `"project": ""` go.
const FALLBACK_PROJECT: &str = "fixtures";

fn project_of(doc: &Value) -> String {
    doc["metadata"]["project"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

fn plural(kind: &str) -> String {
    format!("{}s", kind.to_lowercase())
}

both_backends!(
    every_reference_resource_round_trips,
    |app: common::TestApp| async move {
        let mut all = fixtures();
        assert!(
            all.len() >= 30,
            "expected the reference fixtures, found {}",
            all.len()
        );
        // Projects first, then anything that needs them.
        all.sort_by_key(|(_, doc)| doc["kind"] != "Project");
        let mut projects_needed: Vec<String> = all
            .iter()
            .map(|(_, doc)| project_of(doc))
            .filter(|p| !p.is_empty())
            .collect();
        projects_needed.sort();
        projects_needed.dedup();
        let mut checked = 0;
        projects_needed.push(FALLBACK_PROJECT.to_owned());
        for project in &projects_needed {
            let exists = all.iter().any(|(_, d)| {
                d["kind"] == "Project"
                    && d["metadata"]["name"]
                        .as_str()
                        .map(str::to_lowercase)
                        .as_deref()
                        == Some(project)
            });
            if !exists {
                app.project(project, &[]).await;
            }
        }
        for (file, doc) in all {
            let kind = doc["kind"].as_str().unwrap().to_owned();
            let project = project_of(&doc);
            let collection = if doc["metadata"].get("project").is_some() {
                // An empty project is filled in from the path, as Perses does.
                let project = if project.is_empty() {
                    FALLBACK_PROJECT.to_owned()
                } else {
                    project
                };
                format!("/api/v1/projects/{project}/{}", plural(&kind))
            } else {
                format!("/api/v1/{}", plural(&kind))
            };
            let created = app.post(&collection, doc.clone()).await;
            assert_eq!(
                created.status,
                StatusCode::OK,
                "{file} {kind}: {}",
                created.text
            );
            let name = created.body["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_owned();
            let read = app.get(&format!("{collection}/{name}")).await;
            assert_eq!(read.status, StatusCode::OK, "{file}");

            let mut expected = common::without_server_metadata(doc.clone());
            // Names are stored lower-cased (Perses's case-insensitive default).
            for field in ["name", "project"] {
                if let Some(Value::String(s)) = expected["metadata"].get_mut(field) {
                    *s = s.to_lowercase();
                    if s.is_empty() {
                        *s = FALLBACK_PROJECT.to_owned();
                    }
                }
            }
            assert_eq!(
                common::without_server_metadata(read.body.clone()),
                expected,
                "{file} {kind} {name} read back"
            );
            checked += 1;
        }
        assert!(checked >= 30, "{checked}");
    }
);
