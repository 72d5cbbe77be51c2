//! Resolving a proxy route to its upstream: the datasource spec (global, project,
//! dashboard-local or unsaved), its HTTP proxy config, the secret to inject and the
//! tenant policy of the project the request goes through.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use pharos_enforce::{ConflictMode, TenantPolicy};
use pharos_model::{HttpProxySpec, Kind, SecretSpec};
use serde_json::Value;

use crate::{
    config::ConflictPolicy,
    error::{ApiError, ApiResult},
    state::AppState,
};

impl DatasourceRef {
    /// Whether `caller` may use this datasource. A project the caller may not see answers as
    /// a missing one (404); a datasource in a visible project without the permission is 403.
    /// Project routes need read on the datasource's kind in the project (the project's tenant
    /// enforcement still applies); `unsaved` routes try out a spec, so they need create; the
    /// plain global route reads every tenant's data unrestricted, so it needs the global
    /// `Metrics` permission, like the root Prometheus API (reading a global datasource's
    /// definition is not enough).
    pub fn authorize(&self, caller: &crate::identity::Caller) -> ApiResult<()> {
        use pharos_auth::rbac::{Action, Scope};
        let (action, project, scope) = match self {
            Self::Global { .. } => (Action::Read, None, Scope::Metrics),
            Self::GlobalInProject { project, .. } | Self::Project { project, .. } => {
                (Action::Read, Some(project.as_str()), Scope::Datasource)
            }
            Self::Dashboard { project, .. } => {
                (Action::Read, Some(project.as_str()), Scope::Dashboard)
            }
            Self::Unsaved {
                project: Some(project),
                ..
            } => (Action::Create, Some(project.as_str()), Scope::Datasource),
            Self::Unsaved { project: None, .. } => (Action::Create, None, Scope::GlobalDatasource),
        };
        if let Some(project) = project
            && !caller.can_see_project(project)
        {
            return Err(ApiError::Missing(format!(
                "project \"{project}\" not found"
            )));
        }
        caller.require(action, project, scope)
    }
}

/// Which datasource a proxy route names.
#[derive(Debug, Clone)]
pub enum DatasourceRef {
    /// `/proxy/globaldatasources/{name}`.
    Global { name: String },
    /// `/proxy/projects/{project}/globaldatasources/{name}`: a global datasource used from a
    /// project, so the project's tenant policy applies (our extension).
    GlobalInProject { project: String, name: String },
    /// `/proxy/projects/{project}/datasources/{name}`.
    Project { project: String, name: String },
    /// `/proxy/projects/{project}/dashboards/{dashboard}/datasources/{name}`.
    Dashboard {
        project: String,
        dashboard: String,
        name: String,
    },
    /// `/proxy/unsaved/...`: the spec comes with the request.
    Unsaved {
        project: Option<String>,
        spec: Value,
    },
}

impl DatasourceRef {
    fn project(&self) -> Option<&str> {
        match self {
            Self::Global { .. } | Self::Unsaved { project: None, .. } => None,
            Self::GlobalInProject { project, .. }
            | Self::Project { project, .. }
            | Self::Dashboard { project, .. }
            | Self::Unsaved {
                project: Some(project),
                ..
            } => Some(project),
        }
    }

    /// Identity of a stored reference for the target cache; `None` for unsaved specs.
    fn cache_key(&self, normalize: impl Fn(&str) -> String) -> Option<String> {
        let key = match self {
            Self::Global { name } => format!("g/{}", normalize(name)),
            Self::GlobalInProject { project, name } => {
                format!("gp/{}/{}", normalize(project), normalize(name))
            }
            Self::Project { project, name } => {
                format!("p/{}/{}", normalize(project), normalize(name))
            }
            Self::Dashboard {
                project,
                dashboard,
                name,
            } => {
                format!("d/{}/{}/{name}", normalize(project), normalize(dashboard))
            }
            Self::Unsaved { .. } => return None,
        };
        Some(key)
    }

    fn label(&self) -> String {
        match self {
            Self::Global { name } | Self::GlobalInProject { name, .. } => {
                format!("global datasource \"{name}\"")
            }
            Self::Project { project, name } => {
                format!("datasource \"{name}\" of project \"{project}\"")
            }
            Self::Dashboard {
                project,
                dashboard,
                name,
            } => {
                format!(
                    "datasource \"{name}\" of dashboard \"{dashboard}\" in project \"{project}\""
                )
            }
            Self::Unsaved { .. } => "unsaved datasource".to_owned(),
        }
    }
}

/// Everything the forwarder needs.
#[derive(Debug)]
pub struct ProxyTarget {
    /// Human description for error messages.
    pub label: String,
    /// Datasource plugin kind (`PrometheusDatasource`, ...).
    pub plugin_kind: String,
    /// The HTTP proxy configuration.
    pub http: HttpProxySpec,
    /// `Authorization` value built from the referenced secret.
    pub authorization: Option<String>,
    /// Tenant policy when the project restricts namespaces.
    pub policy: Option<TenantPolicy>,
}

/// Resolved targets, so a busy dashboard does not cost several store lookups per panel
/// query. An entry is valid while no write happened in this process (the resource service's
/// generation) and for at most a few seconds (writes by other replicas).
pub struct TargetCache {
    entries: Cache<String, (u64, Arc<ProxyTarget>)>,
}

impl TargetCache {
    /// A cache of at most `capacity` targets, each kept at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }
}

impl Default for TargetCache {
    fn default() -> Self {
        Self::new(10_000, Duration::from_secs(5))
    }
}

/// Resolves `reference`, from the cache when the configuration has not changed since.
pub async fn resolve_cached(
    state: &AppState,
    reference: DatasourceRef,
) -> ApiResult<Arc<ProxyTarget>> {
    let Some(key) = reference.cache_key(|s| state.resources.normalize(s)) else {
        return resolve(state, reference).await.map(Arc::new);
    };
    let generation = state.resources.generation();
    if let Some((cached_generation, target)) = state.proxy_targets.entries.get(&key)
        && cached_generation == generation
    {
        return Ok(target);
    }
    let target = Arc::new(resolve(state, reference).await?);
    state
        .proxy_targets
        .entries
        .insert(key, (generation, Arc::clone(&target)));
    Ok(target)
}

/// Resolves `reference` into a [`ProxyTarget`].
pub async fn resolve(state: &AppState, reference: DatasourceRef) -> ApiResult<ProxyTarget> {
    let resources = &state.resources;
    let label = reference.label();
    let project = reference.project().map(|p| resources.normalize(p));
    let policy = match &project {
        Some(project) => project_policy(state, project).await?,
        None => None,
    };
    let spec = match &reference {
        DatasourceRef::Global { name } | DatasourceRef::GlobalInProject { name, .. } => {
            stored_spec(state, Kind::GlobalDatasource, None, name, &label).await?
        }
        DatasourceRef::Project { name, .. } => {
            stored_spec(state, Kind::Datasource, project.as_deref(), name, &label).await?
        }
        DatasourceRef::Dashboard {
            dashboard, name, ..
        } => {
            let dashboard_spec = stored_spec(
                state,
                Kind::Dashboard,
                project.as_deref(),
                dashboard,
                &label,
            )
            .await?;
            dashboard_spec
                .get("datasources")
                .and_then(|d| {
                    d.get(name.as_str())
                        .or_else(|| d.get(resources.normalize(name).as_str()))
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::Missing(format!(
                        "{label} not found: the dashboard has no such local datasource"
                    ))
                })?
        }
        DatasourceRef::Unsaved { spec, .. } => spec.clone(),
    };
    let plugin_kind = pharos_model::datasource_plugin_kind(&spec)
        .unwrap_or_default()
        .to_owned();
    let http = match pharos_model::find_http_proxy(&spec) {
        Some(Ok(http)) => http,
        Some(Err(errors)) => {
            return Err(ApiError::BadGateway(format!(
                "{label} has an invalid proxy configuration: {errors}"
            )));
        }
        None => {
            return Err(ApiError::BadGateway(format!(
                "unable to build or find the config: {label} has no HTTPProxy (it may use directUrl, which the \
                 browser calls itself)"
            )));
        }
    };
    let secret_kind = match &reference {
        DatasourceRef::Global { .. }
        | DatasourceRef::GlobalInProject { .. }
        | DatasourceRef::Unsaved { project: None, .. } => Kind::GlobalSecret,
        _ => Kind::Secret,
    };
    let authorization = match &http.secret {
        Some(secret) => {
            let secret_spec = stored_spec(state, secret_kind, project.as_deref(), secret, &label)
                .await
                .map_err(|_| {
                    ApiError::BadGateway(format!(
                        "{label} refers to {} \"{secret}\", which does not exist",
                        secret_kind.as_str()
                    ))
                })?;
            let secret: SecretSpec = serde_json::from_value(secret_spec)
                .map_err(|e| ApiError::Internal(format!("stored secret does not decode: {e}")))?;
            secret.authorization_header()
        }
        None => None,
    };
    Ok(ProxyTarget {
        label,
        plugin_kind,
        http,
        authorization,
        policy,
    })
}

async fn stored_spec(
    state: &AppState,
    kind: Kind,
    project: Option<&str>,
    name: &str,
    label: &str,
) -> ApiResult<Value> {
    state
        .resources
        .load_raw(kind, project, name)
        .await?
        .and_then(|row| row.spec)
        .ok_or_else(|| ApiError::Missing(format!("{label} not found")))
}

/// The tenant policy of a project, from `spec.namespaces`; `None` when unrestricted.
pub(crate) async fn project_policy(
    state: &AppState,
    project: &str,
) -> ApiResult<Option<TenantPolicy>> {
    let row = state
        .resources
        .load_raw(Kind::Project, None, project)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(format!("metadata.project \"{project}\" doesn't exist"))
        })?;
    let namespaces = row
        .spec
        .as_ref()
        .map(pharos_model::project_namespaces)
        .unwrap_or_default();
    if namespaces.is_empty() {
        return Ok(None);
    }
    let tenancy = &state.settings.tenancy;
    let mode = match tenancy.on_conflict {
        ConflictPolicy::Replace => ConflictMode::Replace,
        ConflictPolicy::Error => ConflictMode::Error,
    };
    TenantPolicy::new(&tenancy.label, namespaces, mode)
        .map(Some)
        .map_err(|e| {
            ApiError::Internal(format!(
                "project \"{project}\" has an unusable tenant policy: {e}"
            ))
        })
}
