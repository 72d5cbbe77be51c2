//! The RBAC policy (every role and binding) loaded from the config store and cached until a
//! write of this process changes it, or for at most [`RELOAD_AFTER`] so that replicas pick up
//! each other's changes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use pharos_auth::rbac::{Grants, Permission, Policy, RoleBindingSpec, RoleSpec};
use pharos_model::Kind;
use pharos_store::{ListQuery, Store, StoredResource};

use crate::error::{ApiError, ApiResult};

/// How long a loaded policy is trusted when this process changed nothing.
pub const RELOAD_AFTER: Duration = Duration::from_secs(10);

struct Loaded {
    generation: u64,
    at: Instant,
    policy: Arc<Policy>,
    /// Each user's grants under this policy, computed once (every request needs them).
    grants: Mutex<HashMap<String, Arc<Grants>>>,
}

/// Users whose grants are kept per policy; past it the cache starts over.
const MAX_CACHED_USERS: usize = 10_000;

impl Loaded {
    fn grants_for(&self, user: &str) -> Arc<Grants> {
        let Ok(mut cached) = self.grants.lock() else {
            return Arc::new(self.policy.grants_for(user));
        };
        if let Some(grants) = cached.get(user) {
            return Arc::clone(grants);
        }
        if cached.len() >= MAX_CACHED_USERS {
            cached.clear();
        }
        let grants = Arc::new(self.policy.grants_for(user));
        cached.insert(user.to_owned(), Arc::clone(&grants));
        grants
    }
}

/// The cached policy.
#[derive(Default)]
pub struct PolicyCache {
    loaded: RwLock<Option<Loaded>>,
}

impl std::fmt::Debug for PolicyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyCache")
    }
}

impl PolicyCache {
    /// The grants of `user` under the current policy (`generation` is the resource service's
    /// write counter).
    pub async fn grants_for(
        &self,
        store: &Store,
        guest: &[Permission],
        generation: u64,
        user: &str,
    ) -> ApiResult<Arc<Grants>> {
        if let Ok(guard) = self.loaded.read()
            && let Some(loaded) = guard.as_ref()
            && loaded.generation == generation
            && loaded.at.elapsed() < RELOAD_AFTER
        {
            return Ok(loaded.grants_for(user));
        }
        let mut policy = load(store).await?;
        policy.guest = guest.to_vec();
        let loaded = Loaded {
            generation,
            at: Instant::now(),
            policy: Arc::new(policy),
            grants: Mutex::default(),
        };
        let grants = loaded.grants_for(user);
        if let Ok(mut guard) = self.loaded.write() {
            *guard = Some(loaded);
        }
        Ok(grants)
    }
}

async fn rows(store: &Store, kind: Kind) -> ApiResult<Vec<StoredResource>> {
    Ok(store
        .list(&ListQuery {
            kind: kind.as_str().to_owned(),
            project: None,
            name_prefix: None,
            include_spec: true,
        })
        .await?)
}

fn spec<T: serde::de::DeserializeOwned>(row: &StoredResource) -> Option<T> {
    // Specs were validated when written; one that no longer decodes grants nothing.
    serde_json::from_value(row.spec.clone()?).ok()
}

async fn load(store: &Store) -> ApiResult<Policy> {
    let mut policy = Policy::default();
    for row in rows(store, Kind::GlobalRole).await? {
        if let Some(role) = spec::<RoleSpec>(&row) {
            policy.global_roles.insert(row.key.name.clone(), role);
        }
    }
    for row in rows(store, Kind::GlobalRoleBinding).await? {
        if let Some(binding) = spec::<RoleBindingSpec>(&row) {
            policy.global_bindings.push(binding);
        }
    }
    for row in rows(store, Kind::Role).await? {
        if let (Some(project), Some(role)) = (row.key.project.clone(), spec::<RoleSpec>(&row)) {
            policy.roles.insert((project, row.key.name.clone()), role);
        }
    }
    for row in rows(store, Kind::RoleBinding).await? {
        if let (Some(project), Some(binding)) =
            (row.key.project.clone(), spec::<RoleBindingSpec>(&row))
        {
            policy.bindings.push((project, binding));
        }
    }
    Ok(policy)
}

/// Checks a role or binding document before it is stored: permissions that parse and fit the
/// kind, subjects that are named, and (for bindings) a role that exists.
pub async fn validate_rbac_spec(
    store: &Store,
    kind: Kind,
    project: Option<&str>,
    spec: &serde_json::Value,
) -> ApiResult<()> {
    let bad = |e: String| ApiError::bad_request(e);
    match kind {
        Kind::Role | Kind::GlobalRole => {
            let role: RoleSpec = serde_json::from_value(spec.clone())
                .map_err(|e| bad(format!("spec: expected {{\"permissions\": [{{\"actions\": [...], \"scopes\": [...]}}]}}: {e}")))?;
            pharos_auth::rbac::validate_permissions(&role.permissions, kind == Kind::GlobalRole)
                .map_err(|e| bad(e.to_string()))
        }
        Kind::RoleBinding | Kind::GlobalRoleBinding => {
            let binding: RoleBindingSpec = serde_json::from_value(spec.clone()).map_err(|e| {
                bad(format!(
                    "spec: expected {{\"role\": \"<name>\", \"subjects\": [{{\"kind\": \"User\", \"name\": \"<user>\"}}]}}: {e}"
                ))
            })?;
            binding.validate().map_err(|e| bad(e.to_string()))?;
            let role_kind = if kind == Kind::RoleBinding {
                Kind::Role
            } else {
                Kind::GlobalRole
            };
            let key = pharos_store::ResourceKey {
                kind: role_kind.as_str().to_owned(),
                project: project.map(str::to_owned),
                name: binding.role.clone(),
            };
            if store.get(&key).await?.is_none() {
                let place = project.map_or(String::new(), |p| format!(" in project \"{p}\""));
                return Err(bad(format!(
                    "spec.role: the {} \"{}\" does not exist{place}; create it first",
                    role_kind.as_str(),
                    binding.role
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
