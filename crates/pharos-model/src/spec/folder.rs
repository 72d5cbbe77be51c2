//! Folder specs: a tree of sub-folders and dashboard names.

use std::collections::HashMap;

use crate::check::{Checker, Fields, Need};
use crate::spec::common::{check_display, objects_in};

/// Checks `{display?, items: [{kind: Folder|Dashboard, name, items?}]}`.
pub(crate) fn check_folder_spec(checker: &mut Checker, spec: &Fields<'_>) {
    check_display(checker, spec);
    let mut dashboards_seen = HashMap::new();
    check_items(checker, spec, Need::Required, &mut dashboards_seen);
}

/// Walks one level of items; `dashboards_seen` maps a dashboard name to its first path,
/// because a dashboard may appear only once in the whole tree.
fn check_items<'v>(
    checker: &mut Checker,
    parent: &Fields<'v>,
    need: Need,
    dashboards_seen: &mut HashMap<&'v str, String>,
) {
    for item in objects_in(checker, parent, "items", need) {
        let kind = item.one_of(checker, "kind", &["Folder", "Dashboard"], Need::Required);
        let name = item.non_empty_string(checker, "name", Need::Required);
        match kind {
            Some("Dashboard") => {
                if item.get("items").is_some() {
                    checker.report(
                        item.path_of("items"),
                        "a Dashboard item cannot have children; use a Folder item instead",
                    );
                }
                if let Some(name) = name {
                    let name_path = item.path_of("name");
                    match dashboards_seen.get(name) {
                        Some(first) => checker.report(
                            name_path,
                            format!("dashboard {name:?} appears more than once in this folder tree (first at {first})"),
                        ),
                        None => {
                            dashboards_seen.insert(name, name_path);
                        }
                    }
                }
            }
            Some("Folder") => check_items(checker, &item, Need::Optional, dashboards_seen),
            _ => {}
        }
    }
}
