//! Shared by the integration tests and the `fidelity` example.
#![allow(dead_code)]

pub mod fidelity;

use std::path::PathBuf;

use pharos_migrate::{MigrateRequest, Migration, migrate};
use serde_json::Value;

/// `/work/shared/reference/grafana`, reached from the crate directory.
pub const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/grafana"
);

pub fn reference(path: &str) -> PathBuf {
    PathBuf::from(REFERENCE).join(path)
}

pub fn read_json(path: &str) -> Value {
    let path = reference(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn convert(grafana: Value) -> Migration {
    migrate(&MigrateRequest {
        grafana_dashboard: grafana,
        ..MigrateRequest::default()
    })
    .unwrap_or_else(|e| panic!("migration failed: {e}"))
}

/// Asserts that Pharos' own validation accepts the converted dashboard.
pub fn assert_valid(dashboard: &Value, what: &str) {
    if let Err(errors) = pharos_model::decode_resource(pharos_model::Kind::Dashboard, dashboard) {
        panic!(
            "{what}: the converted dashboard does not pass validation:\n{}\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            serde_json::to_string_pretty(dashboard).unwrap_or_default()
        );
    }
}
