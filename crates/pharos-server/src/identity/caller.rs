//! The caller of one request: who it is and what it may do. Every service call that reads or
//! changes data takes a [`Caller`] and asks it before touching the store.

use std::sync::Arc;

use axum::{extract::FromRequestParts, http::request::Parts};
use pharos_auth::rbac::{Action, Grants, Scope};
use pharos_model::Kind;

use crate::error::ApiError;

/// Who is asking and what they may do.
#[derive(Debug, Clone)]
pub struct Caller {
    user: String,
    grants: Arc<Grants>,
    /// The session (`sid`) of a login, for logout.
    session: Option<String>,
    /// True for a signed-in user (false for the built-in system caller and for `auth: disabled`).
    signed_in: bool,
    /// An API token's limits (its projects and actions), narrowing its owner's grants.
    token: Option<Arc<TokenLimits>>,
    /// The groups the identity provider put the user in (Kubernetes TokenReview); used for
    /// ownership, not for grants.
    groups: Arc<[String]>,
}

/// What an API token may do at most: its owner's grants, within these projects (empty: all)
/// and actions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenLimits {
    /// Projects the token may act in; empty means every project the owner may.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Actions the token may take.
    pub actions: Vec<Action>,
}

impl Caller {
    /// A signed-in user with `grants`.
    pub fn user(user: impl Into<String>, grants: Arc<Grants>, session: Option<String>) -> Self {
        Self {
            user: user.into(),
            grants,
            session,
            signed_in: true,
            token: None,
            groups: Arc::from([]),
        }
    }

    /// The holder of an API token of `user`, limited to `limits`.
    pub fn api_token(user: impl Into<String>, grants: Arc<Grants>, limits: TokenLimits) -> Self {
        Self {
            user: user.into(),
            grants,
            session: None,
            signed_in: true,
            token: Some(Arc::new(limits)),
            groups: Arc::from([]),
        }
    }

    /// The same caller, member of `groups`.
    #[must_use]
    pub fn with_groups(mut self, groups: Vec<String>) -> Self {
        self.groups = Arc::from(groups);
        self
    }

    /// The groups the identity provider put the user in.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the caller came with an API token (which may not mint further tokens).
    pub fn is_api_token(&self) -> bool {
        self.token.is_some()
    }

    /// Pharos itself (start-up seeding, housekeeping): may do everything.
    pub fn system() -> Self {
        Self {
            user: "system".to_owned(),
            grants: Arc::new(Grants::everything()),
            session: None,
            signed_in: false,
            token: None,
            groups: Arc::from([]),
        }
    }

    /// Everyone, when authentication is disabled.
    pub fn anonymous_admin() -> Self {
        Self {
            user: "anonymous".to_owned(),
            grants: Arc::new(Grants::everything()),
            session: None,
            signed_in: false,
            token: None,
            groups: Arc::from([]),
        }
    }

    /// The user name (`system` / `anonymous` for the built-in callers).
    pub fn name(&self) -> &str {
        &self.user
    }

    /// Whether this is a signed-in user (whose own objects, e.g. a new project's owner
    /// binding, should carry the name).
    pub fn is_signed_in(&self) -> bool {
        self.signed_in
    }

    /// The login session, when the caller came with a session token.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The effective permissions.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Whether `action` on `scope` is allowed in `project`.
    pub fn allows(&self, action: Action, project: Option<&str>, scope: Scope) -> bool {
        match &self.token {
            Some(limits) => self
                .grants
                .restricted_to(&limits.projects, &limits.actions)
                .allows(action, project, scope),
            None => self.grants.allows(action, project, scope),
        }
    }

    /// Whether the caller may learn that `project` exists.
    pub fn can_see_project(&self, project: &str) -> bool {
        // Seeing is reading: a token must be allowed to read, in this project.
        let token_reaches = self.token.as_ref().is_none_or(|limits| {
            limits.actions.iter().any(|a| a.covers(Action::Read))
                && (limits.projects.is_empty() || limits.projects.iter().any(|p| p == project))
        });
        self.allows(Action::Read, Some(project), Scope::Project)
            || (token_reaches && self.grants.grants_in(project))
    }

    /// 403 naming the missing permission unless `action` on `scope` is allowed in `project`.
    pub fn require(
        &self,
        action: Action,
        project: Option<&str>,
        scope: Scope,
    ) -> Result<(), ApiError> {
        if self.allows(action, project, scope) {
            return Ok(());
        }
        let place = match project {
            Some(project) if !scope.is_global() => format!(" in project \"{project}\""),
            _ => String::new(),
        };
        Err(ApiError::Forbidden(format!(
            "user \"{}\" may not {action} {scope}{place}; ask an administrator for a role that grants it",
            self.user
        )))
    }
}

/// The RBAC scope of a resource kind (the kinds and the scopes share their names).
pub fn scope_of(kind: Kind) -> Scope {
    Scope::parse(kind.as_str()).unwrap_or(Scope::All)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The authentication layer puts a caller on every request that needs one; a route
        // without it is anonymous and has no caller to hand out.
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::Unauthorized(
                "log in first: this route needs a session or an API token".to_owned(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use pharos_auth::rbac::Permission;

    use super::*;

    #[test]
    fn every_kind_has_its_own_scope() {
        for kind in Kind::ALL {
            assert_eq!(scope_of(kind).as_str(), kind.as_str());
        }
    }

    #[test]
    fn refusals_name_the_permission_and_the_project() {
        let mut grants = Grants::default();
        grants.add_project("team-a", Permission::new([Action::Read], [Scope::All]));
        let caller = Caller::user("alice", Arc::new(grants), None);
        assert!(
            caller
                .require(Action::Read, Some("team-a"), Scope::Dashboard)
                .is_ok()
        );
        let refused = caller
            .require(Action::Update, Some("team-a"), Scope::Dashboard)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("\"alice\" may not update Dashboard in project \"team-a\""),
            "{refused}"
        );
        assert!(!caller.can_see_project("team-b"));
    }
}
