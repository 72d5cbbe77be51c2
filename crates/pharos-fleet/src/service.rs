//! [`FleetService`]: the registry operations behind the HTTP API, transport-agnostic. Every
//! operation asks the caller's [`Access`] first, then works on the store, the in-memory health
//! state and the event bus.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pharos_store::Store;
use serde::Serialize;
use serde_json::{Value, json};

use crate::credentials::{Connection, Credentials};
use crate::error::FleetError;
use crate::events::{EventBus, EventType, FleetEvent, Subscription, Topic};
use crate::health::{Runtime, StatusReport};
use crate::model::{
    ClusterInput, ClusterRecord, ClusterStatus, ClusterType, ClusterView, CredentialsSummary,
    HealthState, validate_name,
};
use crate::options::{FleetOptions, ListFilter};
use crate::registry;

/// What a caller wants to do with the registry (the server maps it to its RBAC scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetAction {
    /// List, get, status, summary, events.
    Read,
    /// Register.
    Create,
    /// Change fields, set credentials, refresh.
    Update,
    /// Remove.
    Delete,
}

/// The caller's permissions on the registry.
pub trait Access: Send + Sync {
    /// `Ok` when allowed; otherwise the refusal to show (naming the missing permission).
    fn check(&self, action: FleetAction) -> Result<(), String>;
}

/// One page of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterPage {
    /// The clusters of this page, by name.
    pub items: Vec<ClusterView>,
    /// How many clusters match the filters (on all pages).
    pub total: usize,
    /// The page size used.
    pub limit: usize,
    /// The offset used.
    pub offset: usize,
}

/// The registry service. Cheap to clone.
#[derive(Clone)]
pub struct FleetService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) options: FleetOptions,
    pub(crate) bus: EventBus,
    pub(crate) client: reqwest::Client,
    pub(crate) runtime: Mutex<HashMap<String, Runtime>>,
    /// Clients with a cluster's mTLS identity, dropped when its credentials change.
    pub(crate) tls_clients: Mutex<HashMap<String, reqwest::Client>>,
    /// Alerts from Alertmanager webhooks and polls.
    pub(crate) alerts: crate::alerts::AlertBook,
    /// Per cluster, the alerts its Alertmanager's last answered poll listed (by fingerprint).
    pub(crate) polled: Mutex<HashMap<String, BTreeMap<String, Value>>>,
    /// This Pharos' embedded store, for clusters registered as `embedded:<label>=<value>`.
    pub(crate) embedded: std::sync::OnceLock<crate::embedded::EmbeddedStore>,
}

impl std::fmt::Debug for FleetService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetService")
            .field("bus", &self.inner.bus)
            .finish_non_exhaustive()
    }
}

fn allowed(access: &dyn Access, action: FleetAction) -> Result<(), FleetError> {
    access.check(action).map_err(FleetError::Forbidden)
}

impl FleetService {
    /// A service over `store` that reaches clusters with `client` (mTLS clusters get their own).
    pub fn new(store: Store, options: FleetOptions, client: reqwest::Client) -> Self {
        let bus = EventBus::new(options.event_capacity);
        Self::with_bus(store, options, client, bus)
    }

    /// The same with a given bus (e.g. one with a relay to other replicas).
    pub fn with_bus(
        store: Store,
        options: FleetOptions,
        client: reqwest::Client,
        bus: EventBus,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                bus,
                client,
                runtime: Mutex::default(),
                tls_clients: Mutex::default(),
                polled: Mutex::default(),
                embedded: std::sync::OnceLock::new(),
                alerts: crate::alerts::AlertBook::new(
                    options.max_alerts,
                    options.max_alerts_per_webhook,
                ),
                options,
            }),
        }
    }

    /// Lets clusters registered as `embedded:<label>=<value>` be answered from `store` (once;
    /// later calls are ignored).
    pub fn attach_embedded(&self, store: crate::embedded::EmbeddedStore) {
        let _ = self.inner.embedded.set(store);
    }

    /// The event bus (for publishers of other areas and for subscribers).
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// The options.
    pub fn options(&self) -> &FleetOptions {
        &self.inner.options
    }

    pub(crate) fn publish(&self, event_type: EventType, cluster: &str, data: Value) {
        self.inner
            .bus
            .publish(FleetEvent::now(event_type, cluster, data));
    }

    fn view(&self, record: ClusterRecord, credentials: Option<&String>) -> ClusterView {
        ClusterView {
            status: self.status_of(&record.name),
            credentials: CredentialsSummary {
                kind: credentials.cloned(),
                configured: credentials.is_some(),
            },
            name: record.name,
            spec: record.spec,
            capabilities: record.capabilities,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }

    async fn view_of(&self, record: ClusterRecord) -> Result<ClusterView, FleetError> {
        let kinds = registry::credential_kinds(&self.inner.store).await?;
        let kind = kinds.get(&record.name);
        Ok(self.view(record, kind))
    }

    /// Registers a cluster (`POST /api/v1/clusters`). Discovery and the first health check run
    /// in the background right after; the answer shows state `unknown` until they end.
    pub async fn register(
        &self,
        access: &dyn Access,
        input: ClusterInput,
    ) -> Result<ClusterView, FleetError> {
        allowed(access, FleetAction::Create)?;
        let (name, spec) = input.into_spec(None)?;
        let record = registry::create(&self.inner.store, &name, &spec).await?;
        self.track(&name);
        self.publish(
            EventType::ClusterRegistered,
            &name,
            json!({"type": spec.cluster_type, "prometheus_url": spec.prometheus_url,
                "region": spec.region, "labels": spec.labels}),
        );
        // The answer says how the cluster stands at registration (unknown until its first
        // check); taken before the check starts, which may otherwise win the race.
        let view = self.view_of(record).await?;
        self.refresh_in_background(&name);
        Ok(view)
    }

    /// Lists clusters with filters and pagination (by name).
    pub async fn list(
        &self,
        access: &dyn Access,
        filter: &ListFilter,
    ) -> Result<ClusterPage, FleetError> {
        allowed(access, FleetAction::Read)?;
        let records = registry::list(&self.inner.store).await?;
        let kinds = registry::credential_kinds(&self.inner.store).await?;
        let matching: Vec<ClusterView> = records
            .into_iter()
            .map(|record| {
                let kind = kinds.get(&record.name);
                self.view(record, kind)
            })
            .filter(|view| filter.matches(view))
            .collect();
        let total = matching.len();
        let items = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        Ok(ClusterPage {
            items,
            total,
            limit: filter.limit,
            offset: filter.offset,
        })
    }

    /// One cluster.
    pub async fn get(&self, access: &dyn Access, name: &str) -> Result<ClusterView, FleetError> {
        allowed(access, FleetAction::Read)?;
        let record = registry::get(&self.inner.store, name).await?;
        self.view_of(record).await
    }

    /// Replaces the editable fields (`PUT`); a changed URL runs discovery again.
    pub async fn update(
        &self,
        access: &dyn Access,
        name: &str,
        input: ClusterInput,
    ) -> Result<ClusterView, FleetError> {
        allowed(access, FleetAction::Update)?;
        let (_, spec) = input.into_spec(Some(name))?;
        let before = registry::get(&self.inner.store, name).await?;
        let record = registry::update(&self.inner.store, name, &spec, &before.capabilities).await?;
        self.publish(
            EventType::ClusterUpdated,
            name,
            json!({"type": spec.cluster_type, "prometheus_url": spec.prometheus_url,
                "region": spec.region, "labels": spec.labels}),
        );
        // As for a registration: the answer is taken before a new check can race it.
        let view = self.view_of(record).await?;
        if before.spec.prometheus_url != spec.prometheus_url
            || before.spec.alertmanager_url != spec.alertmanager_url
        {
            self.refresh_in_background(name);
        }
        Ok(view)
    }

    /// Removes a cluster, its credentials and its health state.
    pub async fn delete(&self, access: &dyn Access, name: &str) -> Result<(), FleetError> {
        allowed(access, FleetAction::Delete)?;
        validate_name(name).map_err(|_| FleetError::NotFound(name.to_owned()))?;
        let record = registry::get(&self.inner.store, name).await?;
        registry::delete(&self.inner.store, name).await?;
        self.forget(name, record.spec.cluster_type);
        self.forget_polled(name);
        self.publish(EventType::ClusterDeleted, name, json!({}));
        Ok(())
    }

    /// The current status and the last transitions, newest first.
    pub async fn status(
        &self,
        access: &dyn Access,
        name: &str,
    ) -> Result<StatusReport, FleetError> {
        allowed(access, FleetAction::Read)?;
        registry::get(&self.inner.store, name).await?;
        Ok(self.report_of(name))
    }

    /// Sets or replaces a cluster's credentials (the body as sent by the client).
    pub async fn set_credentials(
        &self,
        access: &dyn Access,
        name: &str,
        body: &Value,
    ) -> Result<(), FleetError> {
        allowed(access, FleetAction::Update)?;
        registry::get(&self.inner.store, name).await?;
        let credentials = Credentials::parse(body)?;
        registry::put_credentials(&self.inner.store, name, &credentials).await?;
        if let Ok(mut clients) = self.inner.tls_clients.lock() {
            clients.remove(name);
        }
        self.publish(
            EventType::ClusterCredentialsUpdated,
            name,
            json!({"type": credentials.kind()}),
        );
        self.refresh_in_background(name);
        Ok(())
    }

    /// Runs discovery and a health check now and answers the cluster as they left it.
    pub async fn refresh(
        &self,
        access: &dyn Access,
        name: &str,
    ) -> Result<ClusterView, FleetError> {
        allowed(access, FleetAction::Update)?;
        let record = registry::get(&self.inner.store, name).await?;
        self.track(name);
        let record = self.refresh_record(record).await?;
        self.view_of(record).await
    }

    /// How many clusters are registered (no permission needed: it says nothing about them).
    pub async fn cluster_count(&self) -> Result<usize, FleetError> {
        Ok(registry::list(&self.inner.store).await?.len())
    }

    /// Counts by status and type, GPUs from DCGM discovery, alerts firing now (from webhooks).
    pub async fn summary(&self, access: &dyn Access) -> Result<Value, FleetError> {
        allowed(access, FleetAction::Read)?;
        let records = registry::list(&self.inner.store).await?;
        let mut by_status: BTreeMap<&str, usize> =
            HealthState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut by_type: BTreeMap<&str, usize> =
            ClusterType::ALL.iter().map(|t| (t.as_str(), 0)).collect();
        let mut gpus: Option<u64> = None;
        for record in &records {
            *by_status
                .entry(self.status_of(&record.name).state.as_str())
                .or_default() += 1;
            *by_type
                .entry(record.spec.cluster_type.as_str())
                .or_default() += 1;
            if let Some(count) = record.capabilities.gpu_count {
                gpus = Some(gpus.unwrap_or(0).saturating_add(count));
            }
        }
        Ok(json!({
            "clusters": {"total": records.len(), "by_status": by_status, "by_type": by_type},
            "gpus": gpus,
            "firing_alerts": self.firing_alerts(),
        }))
    }

    /// Subscribes to events of `topics` (needs read on the registry).
    pub fn subscribe(
        &self,
        access: &dyn Access,
        topics: Vec<Topic>,
    ) -> Result<Subscription, FleetError> {
        allowed(access, FleetAction::Read)?;
        Ok(self.inner.bus.subscribe(topics))
    }

    /// How to reach cluster `name` with its credentials. No permission check: for server
    /// parts (the health checker, the federated fan-out) that have checked access already.
    pub async fn connection(&self, name: &str) -> Result<Connection, FleetError> {
        let record = registry::get(&self.inner.store, name).await?;
        self.connection_of(&record).await
    }

    pub(crate) async fn connection_of(
        &self,
        record: &ClusterRecord,
    ) -> Result<Connection, FleetError> {
        let credentials = registry::credentials(&self.inner.store, &record.name).await?;
        let invalid = |field: &str, e: FleetError| FleetError::Corrupt {
            name: record.name.clone(),
            why: format!("{field}: {e}"),
        };
        let (prometheus, embedded) =
            match crate::embedded::parse_location(&record.spec.prometheus_url) {
                Some(location) => {
                    let (label, value) = location.map_err(|e| invalid("prometheus_url", e))?;
                    let store =
                        self.inner
                            .embedded
                            .get()
                            .cloned()
                            .ok_or_else(|| FleetError::Corrupt {
                                name: record.name.clone(),
                                why:
                                    "it lives in the embedded store, which this Pharos runs without"
                                        .to_owned(),
                            })?;
                    let scope = crate::embedded::EmbeddedScope::new(store, &label, &value)
                        .map_err(|why| invalid("prometheus_url", FleetError::Invalid(why)))?;
                    let url = url::Url::parse(&record.spec.prometheus_url).map_err(|e| {
                        invalid("prometheus_url", FleetError::Invalid(e.to_string()))
                    })?;
                    (url, Some(scope))
                }
                None => (
                    crate::model::validate_url("prometheus_url", &record.spec.prometheus_url)
                        .map_err(|e| invalid("prometheus_url", e))?,
                    None,
                ),
            };
        let alertmanager = match &record.spec.alertmanager_url {
            Some(url) => Some(
                crate::model::validate_url("alertmanager_url", url)
                    .map_err(|e| invalid("alertmanager_url", e))?,
            ),
            None => None,
        };
        let client = match &credentials {
            Some(credentials @ Credentials::Mtls { .. }) => {
                self.tls_client(&record.name, credentials)?
            }
            _ => self.inner.client.clone(),
        };
        Ok(Connection {
            cluster: record.name.clone(),
            prometheus,
            embedded,
            alertmanager,
            client,
            headers: credentials.map(|c| c.headers()).unwrap_or_default(),
        })
    }

    fn tls_client(
        &self,
        name: &str,
        credentials: &Credentials,
    ) -> Result<reqwest::Client, FleetError> {
        if let Some(client) = self
            .inner
            .tls_clients
            .lock()
            .ok()
            .and_then(|clients| clients.get(name).cloned())
        {
            return Ok(client);
        }
        let client = credentials
            .tls_client(Duration::from_secs(5))
            .map_err(|why| FleetError::Corrupt {
                name: name.to_owned(),
                why: format!("mTLS credentials: {why}"),
            })?
            .unwrap_or_else(|| self.inner.client.clone());
        if let Ok(mut clients) = self.inner.tls_clients.lock() {
            clients.insert(name.to_owned(), client.clone());
        }
        Ok(client)
    }

    pub(crate) fn status_of(&self, name: &str) -> ClusterStatus {
        self.inner
            .runtime
            .lock()
            .ok()
            .and_then(|runtime| runtime.get(name).map(|r| r.status.clone()))
            .unwrap_or_else(ClusterStatus::unknown)
    }
}
