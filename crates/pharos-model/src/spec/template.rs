//! Template specs (a Pharos extension): a dashboard saved for reuse, in a project (`Template`)
//! or for everyone (`GlobalTemplate`). `{display?, category?, workloadKinds?, dashboard}` where
//! `dashboard` is a complete dashboard spec, checked exactly like a stored dashboard's.

use crate::check::{Checker, Fields, Need};
use crate::spec::common::check_display;
use crate::spec::dashboard::{DashboardFlavour, check_dashboard_spec};

/// The categories a template may be filed under (the system templates' ones, and `custom`).
pub const TEMPLATE_CATEGORIES: &[&str] = &[
    "model-serving",
    "llm-serving",
    "training",
    "notebook",
    "pipeline",
    "gpu",
    "custom",
];

pub(crate) fn check_template_spec(checker: &mut Checker, spec: &Fields<'_>) {
    check_display(checker, spec);
    spec.one_of(checker, "category", TEMPLATE_CATEGORIES, Need::Optional);
    if let Some(kinds) = spec.string_list(checker, "workloadKinds") {
        for (index, kind) in kinds.iter().enumerate() {
            if kind.is_empty() || kind.len() > 64 {
                checker.report(
                    format!("{}[{index}]", spec.path_of("workloadKinds")),
                    "must be a Kubernetes kind of 1 to 64 characters",
                );
            }
        }
    }
    if let Some(dashboard) = spec.object(checker, "dashboard", Need::Required) {
        check_dashboard_spec(checker, &dashboard, DashboardFlavour::Stored);
    }
}
