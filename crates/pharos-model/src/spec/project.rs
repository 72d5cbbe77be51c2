//! Project specs, including our `namespaces` extension for tenant enforcement.

use std::collections::HashMap;

use serde_json::Value;

use crate::check::{Checker, Fields, Need, element};
use crate::spec::common::check_display;

/// Checks `{display?: {name?, description?}, namespaces?: [string]}`.
///
/// `namespaces` lists the label values this project owns; each must be non-empty and
/// appear once, since two entries for one value would hide a configuration mistake.
pub(crate) fn check_project_spec(checker: &mut Checker, spec: &Fields<'_>) {
    check_display(checker, spec);
    let Some(namespaces) = spec.array(checker, "namespaces", Need::Optional) else {
        return;
    };
    let path = spec.path_of("namespaces");
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (index, value) in namespaces.iter().enumerate() {
        let item_path = element(&path, index);
        let Some(namespace) = checker.string(&item_path, value) else {
            continue;
        };
        if namespace.is_empty() {
            checker.report(item_path, "namespace cannot be empty");
        } else if let Some(first) = first_index.get(namespace) {
            checker.report(
                item_path,
                format!("duplicate namespace {namespace:?} (already listed at {path}[{first}])"),
            );
        } else {
            first_index.insert(namespace, index);
        }
    }
}

/// The namespaces a project spec owns (non-empty strings, first occurrence only).
pub fn project_namespaces(spec: &Value) -> Vec<String> {
    let mut namespaces: Vec<String> = Vec::new();
    let listed = spec.get("namespaces").and_then(Value::as_array);
    for namespace in listed.into_iter().flatten().filter_map(Value::as_str) {
        if !namespace.is_empty() && !namespaces.iter().any(|known| known == namespace) {
            namespaces.push(namespace.to_string());
        }
    }
    namespaces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_namespaces_in_order_without_duplicates_or_junk() {
        let spec = json!({"namespaces": ["team-a", "", 3, "team-b", "team-a"]});
        assert_eq!(project_namespaces(&spec), vec!["team-a", "team-b"]);
        assert!(project_namespaces(&json!({"display": {"name": "x"}})).is_empty());
    }
}
