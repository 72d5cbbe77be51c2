//! Spec validators, one module per resource kind or part of a dashboard.

pub(crate) mod common;
mod dashboard;
mod datasource;
mod folder;
mod js_regex;
mod layout;
mod panel;
mod panel_plugins;
pub mod plugins;
mod project;
mod secret;
mod template;
mod variable;

use serde_json::Value;

use crate::check::{Checker, Fields};
use crate::errors::ValidationErrors;
use crate::kind::Kind;
use dashboard::DashboardFlavour;

pub use dashboard::DashboardSize;
pub use project::project_namespaces;
pub use secret::{SECRET_PLACEHOLDER, mask_secret_spec};
pub use template::TEMPLATE_CATEGORIES;

/// Runs the validator of `kind` on `spec`. Kinds without a validator (roles, users)
/// accept any object.
pub(crate) fn validate_spec(checker: &mut Checker, kind: Kind, spec: &Fields<'_>) {
    match kind {
        Kind::Dashboard => dashboard::check_dashboard_spec(checker, spec, DashboardFlavour::Stored),
        Kind::EphemeralDashboard => {
            dashboard::check_dashboard_spec(checker, spec, DashboardFlavour::Ephemeral)
        }
        Kind::Datasource | Kind::GlobalDatasource => {
            datasource::check_datasource_spec(checker, spec)
        }
        Kind::Variable | Kind::GlobalVariable => {
            variable::check_variable_resource_spec(checker, spec)
        }
        Kind::Secret | Kind::GlobalSecret => secret::check_secret_spec(checker, spec),
        Kind::Project => project::check_project_spec(checker, spec),
        Kind::Folder => folder::check_folder_spec(checker, spec),
        Kind::Template | Kind::GlobalTemplate => template::check_template_spec(checker, spec),
        Kind::Role
        | Kind::RoleBinding
        | Kind::GlobalRole
        | Kind::GlobalRoleBinding
        | Kind::User => {}
    }
}

/// Validates a bare spec of `kind` (e.g. a dashboard-local datasource taken from a stored
/// dashboard). Error paths start at `spec`.
pub fn validate_spec_value(kind: Kind, spec: &Value) -> Result<(), ValidationErrors> {
    let mut checker = Checker::new();
    if let Some(fields) = checker.object("spec", spec) {
        validate_spec(&mut checker, kind, &fields);
    }
    if checker.has_errors() {
        Err(checker.into_errors())
    } else {
        Ok(())
    }
}
