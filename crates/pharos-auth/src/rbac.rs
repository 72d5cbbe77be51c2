//! The Perses RBAC model and its evaluation: permissions are `{actions, scopes}` pairs, granted
//! through project `Role`s bound by `RoleBinding`s, `GlobalRole`s bound by `GlobalRoleBinding`s,
//! and guest permissions every signed-in user has. Grants only add; there is no deny.
//!
//! A check asks "may this user do `action` on kind `scope` in `project`?". Global scopes (the
//! global kinds, users, and Pharos' own server-wide APIs) are answered by guest and global
//! permissions only, so no project role can reach them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a role or binding is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RbacError {
    /// A permission with no action.
    #[error("spec.permissions[{index}].actions must not be empty")]
    NoActions {
        /// Index of the permission.
        index: usize,
    },
    /// A permission with no scope.
    #[error("spec.permissions[{index}].scopes must not be empty")]
    NoScopes {
        /// Index of the permission.
        index: usize,
    },
    /// A project role naming a global scope.
    #[error(
        "spec.permissions[{index}].scopes: invalid scope \"{scope}\": a Role belongs to one project and cannot grant the global kind {scope}; use a GlobalRole"
    )]
    GlobalScopeInProjectRole {
        /// Index of the permission.
        index: usize,
        /// The scope.
        scope: Scope,
    },
    /// A binding without subjects.
    #[error("spec.subjects must name at least one user")]
    NoSubjects,
    /// A subject with an empty name.
    #[error("spec.subjects[{index}].name must not be empty")]
    EmptySubject {
        /// Index of the subject.
        index: usize,
    },
    /// An unknown action or scope name.
    #[error("{0}")]
    Unknown(String),
}

/// What a permission allows doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Get and list.
    Read,
    /// Create.
    Create,
    /// Replace.
    Update,
    /// Delete.
    Delete,
    /// Create and revoke share links (Pharos; Perses has no such action).
    Share,
    /// Every action.
    All,
}

impl Action {
    const NAMES: [(Self, &'static str); 6] = [
        (Self::Read, "read"),
        (Self::Create, "create"),
        (Self::Update, "update"),
        (Self::Delete, "delete"),
        (Self::Share, "share"),
        (Self::All, "*"),
    ];

    /// The wire name (`read`, ..., `*`).
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(action, _)| *action == self)
            .map_or("*", |(_, name)| name)
    }

    /// Parses a wire name, ignoring case as Perses does.
    pub fn parse(text: &str) -> Result<Self, RbacError> {
        Self::NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(action, _)| *action)
            .ok_or_else(|| {
                RbacError::Unknown(format!(
                    "unknown action \"{text}\"; use one of read, create, update, delete, share, *"
                ))
            })
    }

    /// Whether this action includes `wanted` (`*` includes every action).
    pub fn covers(self, wanted: Self) -> bool {
        self == Self::All || self == wanted
    }
}

/// The kind a permission applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Dashboards.
    Dashboard,
    /// Project datasources.
    Datasource,
    /// Ephemeral dashboards.
    EphemeralDashboard,
    /// Folders.
    Folder,
    /// Global datasources.
    GlobalDatasource,
    /// Global roles.
    GlobalRole,
    /// Global role bindings.
    GlobalRoleBinding,
    /// Global secrets.
    GlobalSecret,
    /// Global variables.
    GlobalVariable,
    /// The project itself.
    Project,
    /// Project roles.
    Role,
    /// Project role bindings.
    RoleBinding,
    /// Project secrets.
    Secret,
    /// Users.
    User,
    /// Project variables.
    Variable,
    /// Pharos: the server-wide Prometheus API and remote-write (`read` queries every series,
    /// `create` writes samples). Project users query through their project's proxy instead.
    Metrics,
    /// Pharos: the audit log.
    AuditLog,
    /// Pharos: dashboard templates saved in a project.
    Template,
    /// Pharos: dashboard templates for every project.
    GlobalTemplate,
    /// Pharos: the fleet's cluster registry (`/api/v1/clusters`, the fleet summary and its
    /// events); `read` also sees health and capabilities, never credentials.
    Cluster,
    /// Every kind.
    All,
}

impl Scope {
    const NAMES: [(Self, &'static str); 21] = [
        (Self::Dashboard, "Dashboard"),
        (Self::Datasource, "Datasource"),
        (Self::EphemeralDashboard, "EphemeralDashboard"),
        (Self::Folder, "Folder"),
        (Self::GlobalDatasource, "GlobalDatasource"),
        (Self::GlobalRole, "GlobalRole"),
        (Self::GlobalRoleBinding, "GlobalRoleBinding"),
        (Self::GlobalSecret, "GlobalSecret"),
        (Self::GlobalVariable, "GlobalVariable"),
        (Self::Project, "Project"),
        (Self::Role, "Role"),
        (Self::RoleBinding, "RoleBinding"),
        (Self::Secret, "Secret"),
        (Self::User, "User"),
        (Self::Variable, "Variable"),
        (Self::Metrics, "Metrics"),
        (Self::AuditLog, "AuditLog"),
        (Self::Template, "Template"),
        (Self::GlobalTemplate, "GlobalTemplate"),
        (Self::Cluster, "Cluster"),
        (Self::All, "*"),
    ];

    /// The wire name (`Dashboard`, ..., `*`).
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(scope, _)| *scope == self)
            .map_or("*", |(_, name)| name)
    }

    /// Parses a wire name, ignoring case as Perses does.
    pub fn parse(text: &str) -> Result<Self, RbacError> {
        Self::NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(scope, _)| *scope)
            .ok_or_else(|| RbacError::Unknown(format!("unknown scope \"{text}\"")))
    }

    /// Whether the scope exists outside projects; only global and guest permissions grant it.
    /// `Project` is not global, so a project role can grant update or delete on its project.
    pub fn is_global(self) -> bool {
        matches!(
            self,
            Self::GlobalDatasource
                | Self::GlobalRole
                | Self::GlobalRoleBinding
                | Self::GlobalSecret
                | Self::GlobalVariable
                | Self::User
                | Self::Metrics
                | Self::AuditLog
                | Self::GlobalTemplate
                | Self::Cluster
        )
    }

    fn covers(self, wanted: Self) -> bool {
        self == Self::All || self == wanted
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! wire_name_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
wire_name_serde!(Action);
wire_name_serde!(Scope);

/// Some actions on some kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// Allowed actions.
    pub actions: Vec<Action>,
    /// Kinds they apply to.
    pub scopes: Vec<Scope>,
}

impl Permission {
    /// A permission from actions and scopes.
    pub fn new(
        actions: impl IntoIterator<Item = Action>,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Self {
        Self {
            actions: actions.into_iter().collect(),
            scopes: scopes.into_iter().collect(),
        }
    }

    /// Whether this permission allows `action` on `scope`.
    pub fn allows(&self, action: Action, scope: Scope) -> bool {
        self.actions.iter().any(|a| a.covers(action)) && self.scopes.iter().any(|s| s.covers(scope))
    }
}

/// Checks the permissions of a role; `global` is true for a `GlobalRole`.
pub fn validate_permissions(permissions: &[Permission], global: bool) -> Result<(), RbacError> {
    for (index, permission) in permissions.iter().enumerate() {
        if permission.actions.is_empty() {
            return Err(RbacError::NoActions { index });
        }
        if permission.scopes.is_empty() {
            return Err(RbacError::NoScopes { index });
        }
        if !global && let Some(scope) = permission.scopes.iter().find(|s| s.is_global()) {
            return Err(RbacError::GlobalScopeInProjectRole {
                index,
                scope: *scope,
            });
        }
    }
    Ok(())
}

/// The spec of a `Role` or `GlobalRole`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpec {
    /// What the role grants.
    pub permissions: Vec<Permission>,
}

/// Who a binding applies to (Perses supports users only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Always `User`.
    pub kind: SubjectKind,
    /// The user name.
    pub name: String,
}

/// Subject kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectKind {
    /// A user.
    User,
}

/// The spec of a `RoleBinding` or `GlobalRoleBinding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleBindingSpec {
    /// The bound role's name (a `Role` of the same project, or a `GlobalRole`).
    pub role: String,
    /// The users it is bound to.
    pub subjects: Vec<Subject>,
}

impl RoleBindingSpec {
    /// Checks the subjects (the server checks separately that the role exists).
    pub fn validate(&self) -> Result<(), RbacError> {
        if self.subjects.is_empty() {
            return Err(RbacError::NoSubjects);
        }
        if let Some(index) = self.subjects.iter().position(|s| s.name.trim().is_empty()) {
            return Err(RbacError::EmptySubject { index });
        }
        Ok(())
    }

    fn binds(&self, user: &str) -> bool {
        self.subjects.iter().any(|s| s.name == user)
    }
}

/// Every role and binding of a deployment, plus the guest permissions from the config: what
/// a user's [`Grants`] are computed from.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Granted to every signed-in user.
    pub guest: Vec<Permission>,
    /// Global roles by name.
    pub global_roles: BTreeMap<String, RoleSpec>,
    /// Global role bindings.
    pub global_bindings: Vec<RoleBindingSpec>,
    /// Project roles by (project, name).
    pub roles: BTreeMap<(String, String), RoleSpec>,
    /// Project role bindings with their project.
    pub bindings: Vec<(String, RoleBindingSpec)>,
}

impl Policy {
    /// What `user` may do. A binding naming a role that does not exist grants nothing.
    pub fn grants_for(&self, user: &str) -> Grants {
        let mut grants = Grants {
            guest: self.guest.clone(),
            ..Grants::default()
        };
        for binding in self.global_bindings.iter().filter(|b| b.binds(user)) {
            if let Some(role) = self.global_roles.get(&binding.role) {
                grants.global.extend(role.permissions.iter().cloned());
            }
        }
        for (project, binding) in self.bindings.iter().filter(|(_, b)| b.binds(user)) {
            if let Some(role) = self.roles.get(&(project.clone(), binding.role.clone())) {
                for permission in &role.permissions {
                    grants.add_project(project, permission.clone());
                }
            }
        }
        grants
    }
}

/// The effective permissions of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    guest: Vec<Permission>,
    global: Vec<Permission>,
    projects: BTreeMap<String, Vec<Permission>>,
}

impl Grants {
    /// Everything, everywhere (the `disabled` auth mode and the bootstrap admin's role).
    pub fn everything() -> Self {
        Self {
            global: vec![Permission::new([Action::All], [Scope::All])],
            ..Self::default()
        }
    }

    /// Adds a permission that holds in every project and on global kinds.
    pub fn add_global(&mut self, permission: Permission) {
        self.global.push(permission);
    }

    /// Adds a permission that holds in `project` only.
    pub fn add_project(&mut self, project: &str, permission: Permission) {
        self.projects
            .entry(project.to_owned())
            .or_default()
            .push(permission);
    }

    /// Whether `action` on `scope` is allowed in `project` (`None` for global kinds and
    /// server-wide APIs).
    pub fn allows(&self, action: Action, project: Option<&str>, scope: Scope) -> bool {
        let any = |permissions: &[Permission]| permissions.iter().any(|p| p.allows(action, scope));
        if any(&self.guest) || any(&self.global) {
            return true;
        }
        if scope.is_global() {
            return false;
        }
        project
            .and_then(|project| self.projects.get(project))
            .is_some_and(|permissions| any(permissions))
    }

    /// Whether the user may know `project` exists: read on the project itself, or any
    /// permission granted in it (a role that only grants reading dashboards still shows its
    /// project). Everyone else gets the same answer as for a project that does not exist.
    pub fn can_see_project(&self, project: &str) -> bool {
        self.allows(Action::Read, Some(project), Scope::Project) || self.grants_in(project)
    }

    /// Whether a role bound in `project` grants anything there.
    pub fn grants_in(&self, project: &str) -> bool {
        self.projects
            .get(project)
            .is_some_and(|permissions| !permissions.is_empty())
    }

    /// The map `GET /api/v1/users/{name}/permissions` returns: `"*"` holds guest and global
    /// permissions, each project its own.
    pub fn permission_map(&self) -> BTreeMap<String, Vec<Permission>> {
        let mut map = BTreeMap::new();
        let everywhere: Vec<Permission> = self.guest.iter().chain(&self.global).cloned().collect();
        if !everywhere.is_empty() {
            map.insert("*".to_owned(), everywhere);
        }
        for (project, permissions) in &self.projects {
            map.insert(project.clone(), permissions.clone());
        }
        map
    }

    /// Narrows these grants to what an API token was issued for: the intersection, so a token
    /// never does more than its owner could. `projects` empty means every project.
    pub fn restricted_to<'a>(
        &'a self,
        projects: &'a [String],
        actions: &'a [Action],
    ) -> ScopedGrants<'a> {
        ScopedGrants {
            grants: self,
            projects,
            actions,
        }
    }
}

/// [`Grants`] narrowed to an API token's projects and actions.
#[derive(Debug, Clone, Copy)]
pub struct ScopedGrants<'a> {
    grants: &'a Grants,
    projects: &'a [String],
    actions: &'a [Action],
}

impl ScopedGrants<'_> {
    /// As [`Grants::allows`], within the token's scope. A token limited to projects cannot act
    /// on global kinds at all.
    pub fn allows(&self, action: Action, project: Option<&str>, scope: Scope) -> bool {
        let action_ok = self.actions.iter().any(|a| a.covers(action));
        let project_ok = self.projects.is_empty()
            || project.is_some_and(|p| self.projects.iter().any(|allowed| allowed == p));
        action_ok && project_ok && self.grants.allows(action, project, scope)
    }
}

/// The roles Perses creates with every project: `owner` (everything), `editor` (content plus
/// reading the project's roles; `*` includes Pharos' `share`), `viewer` (read everything).
pub fn default_project_roles() -> Vec<(&'static str, RoleSpec)> {
    use Action::{All, Read};
    vec![
        (
            "owner",
            RoleSpec {
                permissions: vec![Permission::new([All], [Scope::All])],
            },
        ),
        (
            "editor",
            RoleSpec {
                permissions: vec![
                    Permission::new(
                        [All],
                        [
                            Scope::Dashboard,
                            Scope::Datasource,
                            Scope::Folder,
                            Scope::Secret,
                            Scope::Variable,
                            Scope::EphemeralDashboard,
                            Scope::Template,
                        ],
                    ),
                    Permission::new([Read], [Scope::Project, Scope::Role, Scope::RoleBinding]),
                ],
            },
        ),
        (
            "viewer",
            RoleSpec {
                permissions: vec![Permission::new([Read], [Scope::All])],
            },
        ),
    ]
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
