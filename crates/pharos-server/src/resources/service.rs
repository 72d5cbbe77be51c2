//! The resource service: the Perses CRUD rules (names, projects, server-managed metadata,
//! validation) plus our optimistic concurrency, on top of the store. Transport-agnostic:
//! handlers translate HTTP to these calls and nothing else.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use pharos_model::{DashboardSize, Kind, Resource};
use pharos_store::{
    ListQuery, NewResource, Precondition, ResourceKey, Store, StoreError, StoredResource,
};
use serde_json::Value;

use pharos_auth::rbac::Action;

use super::document::{keep_masked_secrets, lowercase_names, metadata_extra, to_document};
use crate::{
    config::ServerSettings,
    error::{ApiError, ApiResult},
    extract::IfMatch,
    identity::{
        Caller, IdentityService, prepare_user_spec, present_user, scope_of, validate_rbac_spec,
    },
};

/// List filters of the Perses list endpoints.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ListParams {
    /// Name prefix.
    pub name: Option<String>,
    /// Project, for the flat routes.
    pub project: Option<String>,
    /// Return only metadata (`spec: {}`).
    pub metadata_only: bool,
    /// Datasources only: the plugin kind.
    pub kind: Option<String>,
    /// Datasources only: the `default` flag.
    pub default: Option<bool>,
}

/// A document and its version (for the `ETag`).
#[derive(Debug)]
pub struct Versioned {
    /// The Perses document.
    pub document: Value,
    /// Its version.
    pub version: u64,
}

/// CRUD over every Perses kind.
#[derive(Clone)]
pub struct ResourceService {
    store: Store,
    settings: Arc<ServerSettings>,
    identity: IdentityService,
    /// Bumped after every successful write, so caches of derived data (the proxy's resolved
    /// targets) know when to reload.
    generation: Arc<AtomicU64>,
}

impl ResourceService {
    /// A service over `store`.
    pub fn new(store: Store, settings: Arc<ServerSettings>, identity: IdentityService) -> Self {
        Self {
            store,
            settings,
            identity,
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Changes whenever this process wrote to the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The underlying store (for health checks and housekeeping).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Normalises a name from a path or a query parameter.
    pub fn normalize(&self, name: &str) -> String {
        if self.settings.database.case_sensitive {
            name.to_owned()
        } else {
            name.to_lowercase()
        }
    }

    /// Validates a document as `create` would, without storing it.
    pub async fn validate(&self, kind: Kind, mut body: Value) -> ApiResult<()> {
        // Online validation (`percli lint --online`) stores nothing and reveals nothing, so
        // any signed-in caller may use it, as in Perses.
        self.check_dashboard_size(kind, &body)?;
        self.prepare_body(&mut body);
        let resource = pharos_model::decode_resource(kind, &body)?;
        self.check_defaults(kind, &resource, None).await
    }

    /// Creates a resource (`POST`). `path_project` is the project of a project route.
    pub async fn create(
        &self,
        caller: &Caller,
        kind: Kind,
        path_project: Option<&str>,
        mut body: Value,
    ) -> ApiResult<Value> {
        self.check_dashboard_size(kind, &body)?;
        self.prepare_body(&mut body);
        let project = self.reconcile_project(kind, path_project, &mut body)?;
        let mut resource = pharos_model::decode_resource(kind, &body)?;
        self.authorize(
            caller,
            Action::Create,
            kind,
            project.as_deref(),
            &resource.metadata.name,
        )?;
        if let Some(project) = &project {
            self.ensure_project_exists(project).await?;
        }
        self.check_defaults(kind, &resource, None).await?;
        self.check_identity_spec(kind, project.as_deref(), &mut resource.spec, None)
            .await?;
        let stored = self
            .store
            .create(NewResource {
                key: key_of(kind, project, resource.metadata.name.clone()),
                metadata_extra: authored(metadata_extra(&resource.metadata), caller),
                spec: resource.spec,
            })
            .await?;
        if kind == Kind::Project && caller.is_signed_in() {
            self.create_project_roles(&stored.key.name, caller.name())
                .await?;
        }
        self.changed();
        Ok(present(kind, to_document(kind, &stored)))
    }

    /// The roles Perses gives every new project (`owner`, `editor`, `viewer`) and the owner
    /// binding for its creator, so whoever creates a project can use it.
    async fn create_project_roles(&self, project: &str, creator: &str) -> ApiResult<()> {
        let mut documents: Vec<(Kind, String, Value)> = pharos_auth::rbac::default_project_roles()
            .into_iter()
            .map(|(name, role)| {
                (
                    Kind::Role,
                    name.to_owned(),
                    serde_json::to_value(role).unwrap_or_default(),
                )
            })
            .collect();
        documents.push((
            Kind::RoleBinding,
            "owner".to_owned(),
            serde_json::json!({"role": "owner", "subjects": [{"kind": "User", "name": creator}]}),
        ));
        for (kind, name, spec) in documents {
            let created = self
                .store
                .create(NewResource {
                    key: key_of(kind, Some(project.to_owned()), name),
                    metadata_extra: serde_json::json!({}),
                    spec,
                })
                .await;
            match created {
                Ok(_) | Err(StoreError::AlreadyExists) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// 404 (as for a missing one) when the caller may not see the project; 403 naming the
    /// permission when it may see it but not do `action` on `kind` there.
    pub fn authorize(
        &self,
        caller: &Caller,
        action: Action,
        kind: Kind,
        project: Option<&str>,
        name: &str,
    ) -> ApiResult<()> {
        let scope = scope_of(kind);
        if kind == Kind::Project {
            let name = self.normalize(name);
            if action != Action::Create && !caller.can_see_project(&name) {
                return Err(ApiError::NotFound);
            }
            return caller.require(action, Some(&name), scope);
        }
        if let Some(project) = project {
            let project = self.normalize(project);
            if !caller.can_see_project(&project) {
                return Err(ApiError::bad_request(format!(
                    "metadata.project \"{project}\" doesn't exist"
                )));
            }
            return caller.require(action, Some(&project), scope);
        }
        caller.require(action, None, scope)
    }

    /// Users get their password hashed (or kept); roles and bindings are checked against the
    /// RBAC rules and existing roles.
    async fn check_identity_spec(
        &self,
        kind: Kind,
        project: Option<&str>,
        spec: &mut Value,
        stored: Option<&Value>,
    ) -> ApiResult<()> {
        match kind {
            Kind::User => prepare_user_spec(spec, stored, self.identity.password_cost()).await,
            Kind::Role | Kind::RoleBinding | Kind::GlobalRole | Kind::GlobalRoleBinding => {
                validate_rbac_spec(&self.store, kind, project, spec).await
            }
            _ => Ok(()),
        }
    }

    /// Replaces a resource (`PUT`). 404 when it does not exist (no upsert, as Perses).
    pub async fn update(
        &self,
        caller: &Caller,
        kind: Kind,
        path_project: Option<&str>,
        path_name: &str,
        mut body: Value,
        if_match: IfMatch,
    ) -> ApiResult<Versioned> {
        self.check_dashboard_size(kind, &body)?;
        self.prepare_body(&mut body);
        let project = self.reconcile_project(kind, path_project, &mut body)?;
        let name = self.normalize(path_name);
        self.authorize(caller, Action::Update, kind, project.as_deref(), &name)?;
        let mut resource = pharos_model::decode_resource(kind, &body)?;
        if resource.metadata.name != name {
            return Err(ApiError::bad_request(
                "metadata.name and the name in the http path request don't match",
            ));
        }
        let key = key_of(kind, project, name);
        if kind.is_secret()
            && let Some(current) = self.store.get(&key).await?
            && let Some(stored_spec) = &current.spec
        {
            keep_masked_secrets(&mut resource.spec, stored_spec);
        }
        self.check_defaults(kind, &resource, Some(&key.name))
            .await?;
        if kind == Kind::User {
            let stored = self.store.get(&key).await?.and_then(|row| row.spec);
            self.check_identity_spec(kind, None, &mut resource.spec, stored.as_ref())
                .await?;
        } else {
            self.check_identity_spec(kind, key.project.as_deref(), &mut resource.spec, None)
                .await?;
        }
        let precondition = match (if_match, resource.metadata.version) {
            (IfMatch::Version(v), _) => Precondition::IfVersion(v),
            (IfMatch::Any, Some(v)) => Precondition::NotOlderThan(v),
            (IfMatch::Any, None) => Precondition::None,
        };
        let stored = self
            .store
            .update(
                NewResource {
                    key: key.clone(),
                    metadata_extra: authored(metadata_extra(&resource.metadata), caller),
                    spec: resource.spec,
                },
                precondition,
            )
            .await
            .map_err(|e| describe(e, &key))?;
        self.changed();
        Ok(versioned(kind, &stored))
    }

    /// Reads one resource.
    pub async fn get(
        &self,
        caller: &Caller,
        kind: Kind,
        project: Option<&str>,
        name: &str,
    ) -> ApiResult<Versioned> {
        self.authorize(caller, Action::Read, kind, project, name)?;
        let key = self.key(kind, project, name);
        if let Some(project) = &key.project {
            self.ensure_project_exists(project).await?;
        }
        let stored = self.store.get(&key).await?.ok_or(ApiError::NotFound)?;
        if is_expired(kind, &stored, Utc::now()) {
            return Err(ApiError::NotFound);
        }
        Ok(versioned(kind, &stored))
    }

    /// Lists resources of a kind; `path_project` is set on project routes.
    pub async fn list(
        &self,
        caller: &Caller,
        kind: Kind,
        path_project: Option<&str>,
        params: &ListParams,
    ) -> ApiResult<Vec<Value>> {
        let project = match (path_project, params.project.as_deref()) {
            (Some(p), Some(q)) if self.normalize(p) != self.normalize(q) => {
                return Err(ApiError::bad_request(format!(
                    "project parameter value '{q}' does not match the project in the path '{p}'"
                )));
            }
            (Some(p), _) | (None, Some(p)) => Some(self.normalize(p)),
            (None, None) => None,
        };
        if let Some(project) = &project {
            pharos_model::validate_name(project).map_err(ApiError::BadRequest)?;
            if kind.is_project_scoped() {
                self.authorize(caller, Action::Read, kind, Some(project), "")?;
                self.ensure_project_exists(project).await?;
            }
        }
        let scope = scope_of(kind);
        if !kind.is_project_scoped() && kind != Kind::Project {
            caller.require(Action::Read, None, scope)?;
        }
        let metadata_only = params.metadata_only && kind.supports_metadata_only();
        let needs_spec = !metadata_only || kind == Kind::EphemeralDashboard;
        let rows = self
            .store
            .list(&ListQuery {
                kind: kind.as_str().to_owned(),
                project: if kind.is_project_scoped() {
                    project
                } else {
                    None
                },
                name_prefix: params.name.as_deref().map(|n| self.normalize(n)),
                include_spec: needs_spec,
            })
            .await?;
        let now = Utc::now();
        Ok(rows
            .into_iter()
            .filter(|row| !is_expired(kind, row, now))
            .filter(|row| datasource_filter(kind, row, params))
            // Only what the caller may read; projects it may not see are left out silently.
            .filter(|row| match kind {
                Kind::Project => caller.can_see_project(&row.key.name),
                _ if kind.is_project_scoped() => {
                    caller.allows(Action::Read, row.key.project.as_deref(), scope)
                }
                _ => true,
            })
            .map(|mut row| {
                if metadata_only {
                    row.spec = None;
                }
                present(kind, to_document(kind, &row))
            })
            .collect())
    }

    /// Deletes a resource (dashboards go to the trash; projects cascade).
    pub async fn delete(
        &self,
        caller: &Caller,
        kind: Kind,
        project: Option<&str>,
        name: &str,
        if_match: IfMatch,
    ) -> ApiResult<()> {
        self.authorize(caller, Action::Delete, kind, project, name)?;
        let key = self.key(kind, project, name);
        if kind == Kind::Project {
            if self.store.get(&key).await?.is_none() {
                return Err(ApiError::NotFound);
            }
            self.store.delete_project(&key.name).await?;
            self.changed();
            return Ok(());
        }
        let precondition = match if_match {
            IfMatch::Version(v) => Precondition::IfVersion(v),
            IfMatch::Any => Precondition::None,
        };
        self.store
            .delete(&key, precondition)
            .await
            .map_err(|e| describe(e, &key))?;
        self.changed();
        Ok(())
    }

    /// Fails with Perses's 400 when a project does not exist.
    pub async fn ensure_project_exists(&self, project: &str) -> ApiResult<()> {
        let key = ResourceKey {
            kind: Kind::Project.as_str().to_owned(),
            project: None,
            name: project.to_owned(),
        };
        match self.store.get(&key).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::bad_request(format!(
                "metadata.project \"{project}\" doesn't exist"
            ))),
        }
    }

    /// Reads the raw stored row (unmasked), for the proxy's datasource and secret lookups.
    pub async fn load_raw(
        &self,
        kind: Kind,
        project: Option<&str>,
        name: &str,
    ) -> ApiResult<Option<StoredResource>> {
        let key = self.key(kind, project, name);
        Ok(self.store.get(&key).await?)
    }

    /// Removes expired ephemeral dashboards and trash older than the retention; returns
    /// how many rows went.
    pub async fn housekeeping(&self, trash_retention: Duration) -> ApiResult<u64> {
        let now = Utc::now();
        let rows = self
            .store
            .list(&ListQuery {
                kind: Kind::EphemeralDashboard.as_str().to_owned(),
                project: None,
                name_prefix: None,
                include_spec: true,
            })
            .await?;
        let mut removed = 0;
        for row in rows
            .iter()
            .filter(|row| is_expired(Kind::EphemeralDashboard, row, now))
        {
            match self
                .store
                .delete(&row.key, Precondition::IfVersion(row.version))
                .await
            {
                Ok(_) => {
                    removed += 1;
                    self.changed();
                }
                Err(StoreError::NotFound | StoreError::PreconditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let cutoff =
            now - chrono::Duration::from_std(trash_retention).unwrap_or(chrono::Duration::MAX);
        removed += self.store.purge_expired_trash(cutoff).await?;
        Ok(removed)
    }

    pub(crate) fn key(&self, kind: Kind, project: Option<&str>, name: &str) -> ResourceKey {
        key_of(
            kind,
            project.map(|p| self.normalize(p)),
            self.normalize(name),
        )
    }

    /// Refuses a dashboard over the `api.max_*_per_dashboard` limits before the full
    /// validation, whose memory grows with every panel.
    fn check_dashboard_size(&self, kind: Kind, body: &Value) -> ApiResult<()> {
        let spec = match kind {
            Kind::Dashboard | Kind::EphemeralDashboard => body.get("spec"),
            // A template holds a whole dashboard.
            Kind::Template | Kind::GlobalTemplate => body.pointer("/spec/dashboard"),
            _ => return Ok(()),
        };
        let Some(spec) = spec else {
            return Ok(());
        };
        let size = DashboardSize::measure(spec);
        let api = &self.settings.api;
        let checks = [
            (
                size.panels,
                api.max_panels_per_dashboard,
                "panels",
                "max_panels_per_dashboard",
                "dashboard_panels",
            ),
            (
                size.queries,
                api.max_queries_per_dashboard,
                "queries",
                "max_queries_per_dashboard",
                "dashboard_queries",
            ),
            (
                size.variables,
                api.max_variables_per_dashboard,
                "variables",
                "max_variables_per_dashboard",
                "dashboard_variables",
            ),
        ];
        for (count, limit, what, setting, reason) in checks {
            if count > limit {
                metrics::counter!("pharos_refusals_total", "reason" => reason).increment(1);
                return Err(ApiError::bad_request(format!(
                    "the dashboard has {count} {what}, more than the limit of {limit} \
                     (api.{setting}); split it into several dashboards"
                )));
            }
        }
        Ok(())
    }

    fn prepare_body(&self, body: &mut Value) {
        if !self.settings.database.case_sensitive {
            lowercase_names(body);
        }
    }

    /// Applies Perses's project rules: the path project fills a missing `metadata.project`,
    /// a different one is refused, and project-scoped kinds must name a project.
    fn reconcile_project(
        &self,
        kind: Kind,
        path_project: Option<&str>,
        body: &mut Value,
    ) -> ApiResult<Option<String>> {
        if !kind.is_project_scoped() {
            return Ok(None);
        }
        let path_project = path_project.map(|p| self.normalize(p));
        let body_project = body
            .pointer("/metadata/project")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty()) // Perses treats an empty project as absent
            .map(str::to_owned);
        match (path_project, body_project) {
            (Some(path), Some(body)) if path != body => Err(ApiError::bad_request(format!(
                "project parameter value '{path}' does not match provided metadata value '{body}'"
            ))),
            (Some(path), _) => {
                if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("project".to_owned(), Value::String(path.clone()));
                }
                Ok(Some(path))
            }
            (None, Some(body)) => Ok(Some(body)),
            (None, None) => Err(ApiError::bad_request("metadata.project cannot be empty")),
        }
    }

    /// Perses allows one default datasource per plugin kind in a scope.
    async fn check_defaults(
        &self,
        kind: Kind,
        resource: &Resource,
        replacing: Option<&str>,
    ) -> ApiResult<()> {
        if !matches!(kind, Kind::Datasource | Kind::GlobalDatasource)
            || !pharos_model::datasource_is_default(&resource.spec)
        {
            return Ok(());
        }
        let Some(plugin_kind) = pharos_model::datasource_plugin_kind(&resource.spec) else {
            return Ok(());
        };
        let others = self
            .store
            .list(&ListQuery {
                kind: kind.as_str().to_owned(),
                project: resource.metadata.project.clone(),
                name_prefix: None,
                include_spec: true,
            })
            .await?;
        let clash = others.iter().find(|row| {
            row.key.name != resource.metadata.name
                && Some(row.key.name.as_str()) != replacing
                && row.spec.as_ref().is_some_and(|spec| {
                    pharos_model::datasource_is_default(spec)
                        && pharos_model::datasource_plugin_kind(spec) == Some(plugin_kind)
                })
        });
        match clash {
            Some(row) => Err(ApiError::bad_request(format!(
                "datasource \"{}\" can not be defined as default datasource: there is already a default \
                 defined for kind \"{plugin_kind}\" (\"{}\"); set \"default\": false on one of them",
                resource.metadata.name, row.key.name
            ))),
            None => Ok(()),
        }
    }
}

fn key_of(kind: Kind, project: Option<String>, name: String) -> ResourceKey {
    ResourceKey {
        kind: kind.as_str().to_owned(),
        project: if kind.is_project_scoped() {
            project
        } else {
            None
        },
        name,
    }
}

fn versioned(kind: Kind, stored: &StoredResource) -> Versioned {
    Versioned {
        document: present(kind, to_document(kind, stored)),
        version: stored.version,
    }
}

/// Records who wrote this version (`updatedBy`, shown by the version history; not part of the
/// Perses document).
fn authored(mut extra: Value, caller: &Caller) -> Value {
    if let Some(fields) = extra.as_object_mut() {
        fields.insert(
            "updatedBy".to_owned(),
            Value::String(caller.name().to_owned()),
        );
    }
    extra
}

/// A document as it leaves the server (users without their password hash).
fn present(kind: Kind, mut document: Value) -> Value {
    if kind == Kind::User {
        present_user(&mut document);
    }
    document
}

/// Names the resource in concurrency errors so the client knows what changed.
pub(crate) fn describe(err: StoreError, key: &ResourceKey) -> ApiError {
    let what = match &key.project {
        Some(project) => format!("{} \"{}\" in project \"{project}\"", key.kind, key.name),
        None => format!("{} \"{}\"", key.kind, key.name),
    };
    match err {
        StoreError::PreconditionFailed { current } => {
            ApiError::PreconditionFailed { what, current }
        }
        StoreError::StaleVersion { sent, current } => ApiError::StaleVersion {
            what,
            sent,
            current,
        },
        other => other.into(),
    }
}

/// Ephemeral dashboards expire `spec.ttl` after their last update.
fn is_expired(kind: Kind, row: &StoredResource, now: DateTime<Utc>) -> bool {
    if kind != Kind::EphemeralDashboard {
        return false;
    }
    let Some(ttl) = row
        .spec
        .as_ref()
        .and_then(|spec| spec.get("ttl"))
        .and_then(Value::as_str)
        .and_then(|ttl| pharos_model::parse_duration(ttl).ok())
    else {
        return false;
    };
    chrono::Duration::from_std(ttl).is_ok_and(|ttl| row.updated_at + ttl <= now)
}

fn datasource_filter(kind: Kind, row: &StoredResource, params: &ListParams) -> bool {
    if !matches!(kind, Kind::Datasource | Kind::GlobalDatasource) {
        return true;
    }
    let Some(spec) = &row.spec else { return true };
    let kind_ok = params
        .kind
        .as_deref()
        .is_none_or(|k| pharos_model::datasource_plugin_kind(spec) == Some(k));
    let default_ok = params
        .default
        .is_none_or(|d| pharos_model::datasource_is_default(spec) == d);
    kind_ok && default_ok
}
