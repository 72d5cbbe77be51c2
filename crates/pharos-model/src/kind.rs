//! Resource kinds, their canonical spellings, URL plurals and scope.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every resource kind the Perses API knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A project: the unit of tenancy that scopes most other kinds.
    Project,
    /// A stored dashboard.
    Dashboard,
    /// A dashboard with a time to live (used for previews).
    EphemeralDashboard,
    /// A datasource visible inside one project.
    Datasource,
    /// A datasource visible in every project.
    GlobalDatasource,
    /// A variable shared by the dashboards of one project.
    Variable,
    /// A variable shared by every dashboard.
    GlobalVariable,
    /// Credentials used by the datasource proxy, scoped to a project.
    Secret,
    /// Credentials used by the datasource proxy, shared by every project.
    GlobalSecret,
    /// A tree that groups the dashboards of one project.
    Folder,
    /// An RBAC role inside a project (not validated yet).
    Role,
    /// An RBAC role binding inside a project (not validated yet).
    RoleBinding,
    /// A global RBAC role (not validated yet).
    GlobalRole,
    /// A global RBAC role binding (not validated yet).
    GlobalRoleBinding,
    /// A user account (not validated yet).
    User,
    /// A dashboard saved for reuse inside one project (a Pharos extension).
    Template,
    /// A dashboard saved for reuse by every project (a Pharos extension).
    GlobalTemplate,
}

impl Kind {
    /// All kinds, in the order of the Perses documentation (then Pharos' own).
    pub const ALL: [Kind; 17] = [
        Kind::Dashboard,
        Kind::Datasource,
        Kind::EphemeralDashboard,
        Kind::Folder,
        Kind::GlobalDatasource,
        Kind::GlobalRole,
        Kind::GlobalRoleBinding,
        Kind::GlobalSecret,
        Kind::GlobalVariable,
        Kind::Project,
        Kind::Role,
        Kind::RoleBinding,
        Kind::Secret,
        Kind::User,
        Kind::Variable,
        Kind::Template,
        Kind::GlobalTemplate,
    ];

    /// The canonical spelling used in the `kind` field, e.g. `"Dashboard"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Project => "Project",
            Kind::Dashboard => "Dashboard",
            Kind::EphemeralDashboard => "EphemeralDashboard",
            Kind::Datasource => "Datasource",
            Kind::GlobalDatasource => "GlobalDatasource",
            Kind::Variable => "Variable",
            Kind::GlobalVariable => "GlobalVariable",
            Kind::Secret => "Secret",
            Kind::GlobalSecret => "GlobalSecret",
            Kind::Folder => "Folder",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::GlobalRole => "GlobalRole",
            Kind::GlobalRoleBinding => "GlobalRoleBinding",
            Kind::User => "User",
            Kind::Template => "Template",
            Kind::GlobalTemplate => "GlobalTemplate",
        }
    }

    /// The path segment of the kind's collection, e.g. `"globaldatasources"`.
    pub fn plural(&self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::Dashboard => "dashboards",
            Kind::EphemeralDashboard => "ephemeraldashboards",
            Kind::Datasource => "datasources",
            Kind::GlobalDatasource => "globaldatasources",
            Kind::Variable => "variables",
            Kind::GlobalVariable => "globalvariables",
            Kind::Secret => "secrets",
            Kind::GlobalSecret => "globalsecrets",
            Kind::Folder => "folders",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::GlobalRole => "globalroles",
            Kind::GlobalRoleBinding => "globalrolebindings",
            Kind::User => "users",
            Kind::Template => "templates",
            Kind::GlobalTemplate => "globaltemplates",
        }
    }

    /// The kind whose collection path segment is `plural` (exact, lowercase match).
    pub fn from_plural(plural: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.plural() == plural)
    }

    /// Parses a `kind` value without regard to case (Perses accepts `"dashboard"`).
    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(value))
    }

    /// True when resources of this kind live inside a project (`metadata.project`).
    pub fn is_project_scoped(&self) -> bool {
        matches!(
            self,
            Kind::Dashboard
                | Kind::EphemeralDashboard
                | Kind::Datasource
                | Kind::Folder
                | Kind::Role
                | Kind::RoleBinding
                | Kind::Secret
                | Kind::Variable
                | Kind::Template
        )
    }

    /// True when list endpoints honour `metadata_only=true` (all but datasources).
    pub fn supports_metadata_only(&self) -> bool {
        !matches!(self, Kind::Datasource | Kind::GlobalDatasource)
    }

    /// True for the kinds whose spec holds credentials that must be masked on read.
    pub fn is_secret(&self) -> bool {
        matches!(self, Kind::Secret | Kind::GlobalSecret)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Kind::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown resource kind \"{raw}\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ignores_case_and_returns_canonical_spelling() {
        assert_eq!(Kind::parse("dashboard"), Some(Kind::Dashboard));
        assert_eq!(
            Kind::parse("GLOBALDATASOURCE"),
            Some(Kind::GlobalDatasource)
        );
        assert_eq!(Kind::parse("Dashboards"), None);
        assert_eq!(
            Kind::parse("dashboard").map(|k| k.to_string()),
            Some("Dashboard".into())
        );
    }

    #[test]
    fn plural_round_trips_for_every_kind() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_plural(kind.plural()), Some(kind));
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::from_plural("dashboard"), None);
    }

    #[test]
    fn scope_and_capabilities_follow_perses() {
        assert!(Kind::Dashboard.is_project_scoped());
        assert!(Kind::Secret.is_project_scoped());
        assert!(!Kind::Project.is_project_scoped());
        assert!(!Kind::GlobalDatasource.is_project_scoped());
        assert!(!Kind::Datasource.supports_metadata_only());
        assert!(!Kind::GlobalDatasource.supports_metadata_only());
        assert!(Kind::Dashboard.supports_metadata_only());
        assert!(Kind::GlobalSecret.is_secret());
        assert!(!Kind::Datasource.is_secret());
    }

    #[test]
    fn serializes_as_canonical_string() {
        let json = serde_json::to_string(&Kind::EphemeralDashboard).unwrap();
        assert_eq!(json, "\"EphemeralDashboard\"");
        let back: Kind = serde_json::from_str("\"ephemeraldashboard\"").unwrap();
        assert_eq!(back, Kind::EphemeralDashboard);
    }
}
