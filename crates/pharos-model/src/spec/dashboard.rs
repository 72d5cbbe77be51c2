//! Dashboard and EphemeralDashboard specs (top level; panels, layouts, variables and
//! datasources have their own modules).

use crate::check::{Checker, Fields, Need};
use crate::spec::common::{check_display, check_links, check_plugin, objects_in};
use crate::spec::datasource::check_dashboard_datasources;
use crate::spec::layout::check_layouts;
use crate::spec::panel::check_panels;
use crate::spec::variable::check_dashboard_variables;

/// Annotation plugin kinds known to ship with Perses.
const ANNOTATION_PLUGIN_KINDS: &[&str] = &["PrometheusPromQLAnnotation"];

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
