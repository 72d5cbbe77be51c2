//! Dashboard layouts (`spec.layouts`): grids of panel references.

use crate::check::{Checker, Fields, Need, Object};
use crate::spec::common::objects_in;

const PANEL_REF_PREFIX: &str = "#/spec/panels/";

/// Checks `spec.layouts`; `panels` (when `spec.panels` is an object) resolves `$ref`s.
pub(crate) fn check_layouts(checker: &mut Checker, spec: &Fields<'_>, panels: Option<&Object>) {
    for layout in objects_in(checker, spec, "layouts", Need::Required) {
        // Perses only renders grids; Tabs come from the newest spec and are accepted too.
        let kind = layout.one_of(checker, "kind", &["Grid", "Tabs"], Need::Required);
        let Some(layout_spec) = layout.object(checker, "spec", Need::Required) else {
            continue;
        };
        if let Some(display) = layout_spec.object(checker, "display", Need::Optional) {
            display.string(checker, "title", Need::Optional);
            if let Some(collapse) = display.object(checker, "collapse", Need::Optional) {
                collapse.boolean(checker, "open");
            }
        }
        match kind {
            Some("Grid") => check_grid(checker, &layout_spec, panels),
            Some("Tabs") => check_tabs(checker, &layout_spec, panels),
            _ => {}
        }
    }
}

fn check_grid(checker: &mut Checker, grid: &Fields<'_>, panels: Option<&Object>) {
    grid.string(checker, "repeatVariable", Need::Optional);
    check_items(checker, grid, panels);
}

fn check_tabs(checker: &mut Checker, tabs_spec: &Fields<'_>, panels: Option<&Object>) {
    tabs_spec.non_negative_integer(checker, "defaultTab", Need::Optional);
    for tab in objects_in(checker, tabs_spec, "tabs", Need::Required) {
        tab.string(checker, "name", Need::Required);
        check_items(checker, &tab, panels);
    }
}

fn check_items(checker: &mut Checker, parent: &Fields<'_>, panels: Option<&Object>) {
    for item in objects_in(checker, parent, "items", Need::Optional) {
        for coordinate in ["x", "y", "width", "height"] {
            item.non_negative_integer(checker, coordinate, Need::Required);
        }
        if let Some(content) = item.object(checker, "content", Need::Required)
            && let Some(reference) = content.string(checker, "$ref", Need::Required)
        {
            check_panel_ref(checker, &content.path_of("$ref"), reference, panels);
        }
        if let Some(repeat) = item.object(checker, "repeatVariable", Need::Optional) {
            repeat.non_empty_string(checker, "value", Need::Required);
            repeat.non_negative_integer(checker, "maxPer", Need::Optional);
            repeat.one_of(
                checker,
                "alignment",
                &["horizontal", "vertical"],
                Need::Optional,
            );
        }
    }
}

fn check_panel_ref(checker: &mut Checker, path: &str, reference: &str, panels: Option<&Object>) {
    let key = reference
        .strip_prefix(PANEL_REF_PREFIX)
        .filter(|key| !key.is_empty() && !key.contains('/'));
    let Some(key) = key else {
        checker.report(
            path,
            format!("reference {reference:?} must have the form \"{PANEL_REF_PREFIX}<panel key>\""),
        );
        return;
    };
    if panels.is_some_and(|panels| !panels.contains_key(key)) {
        checker.report(path, format!("no panel found for ref {reference:?}"));
    }
}
