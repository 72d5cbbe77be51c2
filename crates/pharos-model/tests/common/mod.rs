//! Helpers shared by the integration tests: valid sample resources and assertions.
#![allow(dead_code)] // each test binary uses a different subset

use pharos_model::{Kind, ValidationErrors, decode_resource};
use serde_json::{Value, json};

/// A small dashboard that passes validation; tests break one thing at a time.
pub fn valid_dashboard() -> Value {
    json!({
        "kind": "Dashboard",
        "metadata": {"name": "node", "project": "demo"},
        "spec": {
            "display": {"name": "Node"},
            "duration": "1h",
            "refreshInterval": "30s",
            "panels": {
                "cpu": {
                    "kind": "Panel",
                    "spec": {
                        "display": {"name": "CPU"},
                        "plugin": {"kind": "TimeSeriesChart", "spec": {"legend": {"position": "bottom"}}},
                        "queries": [{
                            "kind": "TimeSeriesQuery",
                            "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
                                                "spec": {"query": "rate(node_cpu_seconds_total[5m])",
                                                         "datasource": {"kind": "PrometheusDatasource", "name": "prom"}}}}
                        }]
                    }
                },
                "notes": {
                    "kind": "Panel",
                    "spec": {"display": {"name": "Notes"}, "plugin": {"kind": "Markdown", "spec": {"text": "hi"}}}
                }
            },
            "layouts": [{
                "kind": "Grid",
                "spec": {
                    "display": {"title": "Main", "collapse": {"open": true}},
                    "items": [
                        {"x": 0, "y": 0, "width": 12, "height": 6, "content": {"$ref": "#/spec/panels/cpu"}},
                        {"x": 12, "y": 0, "width": 12, "height": 6, "content": {"$ref": "#/spec/panels/notes"}}
                    ]
                }
            }],
            "variables": [{
                "kind": "ListVariable",
                "spec": {"name": "job", "allowAllValue": true, "allowMultiple": true,
                         "plugin": {"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": "job"}}}
            }]
        }
    })
}

/// A project datasource in proxy mode that passes validation.
pub fn valid_datasource() -> Value {
    json!({
        "kind": "Datasource",
        "metadata": {"name": "prom", "project": "demo"},
        "spec": {
            "default": true,
            "plugin": {"kind": "PrometheusDatasource", "spec": {
                "proxy": {"kind": "HTTPProxy", "spec": {
                    "url": "http://prometheus:9090",
                    "allowedEndpoints": [{"endpointPattern": "/api/v1/query_range", "method": "POST"}],
                    "headers": {"X-Scope-OrgID": "t1"},
                    "secret": "prom-auth"
                }},
                "scrapeInterval": "15s",
                "queryParams": {"dedup": "false"}
            }}
        }
    })
}

/// Replaces the value at JSON pointer `pointer` (which must exist).
pub fn set(mut value: Value, pointer: &str, new: Value) -> Value {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no value at {pointer}")) = new;
    value
}

/// Inserts or replaces `key` in the object at `pointer`.
pub fn insert(mut value: Value, pointer: &str, key: &str, new: Value) -> Value {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer}"))
        .insert(key.to_string(), new);
    value
}

/// Removes `key` from the object at `pointer`.
pub fn remove(mut value: Value, pointer: &str, key: &str) -> Value {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer}"))
        .remove(key)
        .unwrap_or_else(|| panic!("no {key} in {pointer}"));
    value
}

/// Decodes `body` and returns the errors, failing the test if it was accepted.
pub fn errors_for(kind: Kind, body: &Value) -> ValidationErrors {
    match decode_resource(kind, body) {
        Ok(resource) => panic!("expected validation errors, but {kind} was accepted: {resource:?}"),
        Err(errors) => errors,
    }
}

/// Asserts that `body` is rejected with a problem at exactly `path` whose message contains
/// `message`. Returns all errors for further checks.
pub fn assert_rejected(kind: Kind, body: &Value, path: &str, message: &str) -> ValidationErrors {
    let errors = errors_for(kind, body);
    let found = errors
        .iter()
        .any(|error| error.path == path && error.message.contains(message));
    assert!(
        found,
        "expected a problem at {path:?} containing {message:?}; got:\n{errors}"
    );
    errors
}
