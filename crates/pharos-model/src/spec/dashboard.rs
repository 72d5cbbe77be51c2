//! Dashboard and EphemeralDashboard specs (top level; panels, layouts, variables and
//! datasources have their own modules).

use serde_json::Value;

use crate::check::{Checker, Fields, Need};
use crate::spec::common::{check_display, check_links, check_plugin, objects_in};
use crate::spec::datasource::check_dashboard_datasources;
use crate::spec::layout::check_layouts;
use crate::spec::panel::check_panels;
use crate::spec::variable::check_dashboard_variables;

/// Annotation plugin kinds known to ship with Perses.
const ANNOTATION_PLUGIN_KINDS: &[&str] = &["PrometheusPromQLAnnotation"];

/// How big a dashboard spec is, in the units its limits are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DashboardSize {
    /// Entries of `spec.panels`.
    pub panels: usize,
    /// Entries of every `spec.panels.*.spec.queries`, summed.
    pub queries: usize,
    /// Entries of `spec.variables`.
    pub variables: usize,
}

impl DashboardSize {
    /// Counts without validating: cheap enough to run before the full validation, so an
    /// oversized document is refused before it costs memory. Parts with the wrong JSON type
    /// count as empty (validation reports them).
    pub fn measure(spec: &Value) -> Self {
        let panels = spec.get("panels").and_then(Value::as_object);
        let queries = panels
            .into_iter()
            .flat_map(|panels| panels.values())
            .filter_map(|panel| panel.pointer("/spec/queries")?.as_array())
            .map(Vec::len)
            .sum();
        Self {
            panels: panels.map_or(0, serde_json::Map::len),
            queries,
            variables: spec
                .get("variables")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
        }
    }
}

/// Whether the spec belongs to an EphemeralDashboard, which also needs a `ttl`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum DashboardFlavour {
    Stored,
    Ephemeral,
}

/// Checks a dashboard spec and collects every problem.
pub(crate) fn check_dashboard_spec(
    checker: &mut Checker,
    spec: &Fields<'_>,
    flavour: DashboardFlavour,
) {
    if spec.map.is_empty() {
        checker.report(&spec.path, "spec cannot be empty");
        return;
    }
    check_display(checker, spec);
    let panels = spec.object(checker, "panels", Need::Required);
    if let Some(panels) = &panels {
        check_panels(checker, panels);
    }
    check_layouts(checker, spec, panels.as_ref().map(|panels| panels.map));
    check_dashboard_variables(checker, spec);
    check_dashboard_datasources(checker, spec);
    spec.duration(checker, "duration", Need::Optional);
    spec.duration(checker, "refreshInterval", Need::Optional);
    spec.string(checker, "timezone", Need::Optional);
    check_links(checker, spec);
    for annotation in objects_in(checker, spec, "annotations", Need::Optional) {
        if let Some(display) = annotation.object(checker, "display", Need::Required) {
            display.string(checker, "name", Need::Required);
            display.string(checker, "description", Need::Optional);
            display.boolean(checker, "hidden");
            display.string(checker, "color", Need::Optional);
        }
        check_plugin(
            checker,
            &annotation,
            "plugin",
            "annotation plugin",
            ANNOTATION_PLUGIN_KINDS,
        );
    }
    if let Some(batching) = spec.object(checker, "queryBatching", Need::Optional) {
        batching.one_of(
            checker,
            "mode",
            &["off", "panel", "viewport", "dashboard"],
            Need::Optional,
        );
        batching.non_negative_integer(checker, "maxPerRequest", Need::Optional);
    }
    if flavour == DashboardFlavour::Ephemeral {
        spec.duration(checker, "ttl", Need::Required);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn measures_panels_queries_and_variables() {
        let spec = json!({
            "panels": {
                "a": {"kind": "Panel", "spec": {"queries": [{}, {}]}},
                "b": {"kind": "Panel", "spec": {"queries": "not an array"}},
                "c": {"kind": "Panel", "spec": {}},
            },
            "variables": [{}, {}, {}],
        });
        assert_eq!(
            DashboardSize::measure(&spec),
            DashboardSize {
                panels: 3,
                queries: 2,
                variables: 3
            }
        );
        assert_eq!(
            DashboardSize::measure(&json!("x")),
            DashboardSize::default()
        );
    }
}
