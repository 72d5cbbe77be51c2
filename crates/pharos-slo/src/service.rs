//! The operations the API offers, each checking the [`Viewer`] first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pharos_query::MetricsBackend;
use pharos_store::Store;
use serde_json::Value;

use crate::access::{self, Viewer};
use crate::baseline::{self, BASELINE_DESCRIPTION, WEEK_MS};
use crate::buckets::{bucket_of, fold_steps, ms_to_time, p95_history, parse_threshold};
use crate::catalog;
use crate::error::SloError;
use crate::latency::{self, LatencyRange, RawBucket};
use crate::model::{
    EntryUpdate, Latency, MAX_THRESHOLD_HISTORY, ServiceEntry, ServiceView, ThresholdChange,
    ThresholdView, check_id, check_owner,
};
use crate::quality;
use crate::settings::SloSettings;

/// How often a write that lost a race is retried.
const WRITE_ATTEMPTS: usize = 5;
const DAY_MS: i64 = 86_400_000;

/// The SLO layer: the catalog in the config store, the buckets in the embedded store.
#[derive(Clone)]
pub struct SloService {
    store: Store,
    metrics: Option<Arc<dyn MetricsBackend>>,
    settings: Arc<SloSettings>,
}

impl std::fmt::Debug for SloService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SloService")
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl SloService {
    /// Over `store`; without `metrics` every latency read answers [`SloError::NoMetrics`].
    pub fn new(
        store: Store,
        metrics: Option<Arc<dyn MetricsBackend>>,
        settings: SloSettings,
    ) -> Self {
        Self {
            store,
            metrics,
            settings: Arc::new(settings),
        }
    }

    /// The same catalog, reading latency from `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<dyn MetricsBackend>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &SloSettings {
        &self.settings
    }

    fn metrics(&self) -> Result<&dyn MetricsBackend, SloError> {
        self.metrics.as_deref().ok_or(SloError::NoMetrics)
    }

    /// Creates the services of `slo.services` that are missing and sets the project and owners
    /// of those that exist (the configuration wins for what it names; thresholds changed through
    /// the API are kept).
    pub async fn apply_config(&self) -> Result<(), SloError> {
        for configured in &self.settings.services {
            self.upsert(&configured.id, |entry, created| {
                entry.project.clone_from(&configured.project);
                entry.owners.clone_from(&configured.owners);
                if configured.objective.is_some() {
                    entry.objective.clone_from(&configured.objective);
                }
                if created && let Some(threshold) = configured.threshold_ms {
                    entry.threshold_ms = threshold;
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Registers `id` in `project` with `owners` and `objective` unless it is in the catalog
    /// already (the demo's services).
    pub async fn register_if_missing(
        &self,
        id: &str,
        project: Option<&str>,
        owners: &[String],
        objective: Option<crate::Objective>,
    ) -> Result<(), SloError> {
        check_id(id).map_err(SloError::Invalid)?;
        if catalog::get(&self.store, id).await?.is_some() {
            return Ok(());
        }
        let entry = ServiceEntry {
            id: id.to_owned(),
            project: project.map(str::to_owned),
            owners: owners.to_vec(),
            threshold_ms: self.settings.default_threshold_ms,
            objective,
            threshold_history: Vec::new(),
        };
        // Lost a race with another replica: it registered the service, which is what we wanted.
        catalog::put(&self.store, &entry, None).await.map(|_| ())
    }

    /// Reads `id`'s entry, lets `change` edit it (`true`: it was just created with the
    /// defaults), writes it back; retried when another writer came first.
    async fn upsert(
        &self,
        id: &str,
        mut change: impl FnMut(&mut ServiceEntry, bool),
    ) -> Result<ServiceEntry, SloError> {
        check_id(id).map_err(SloError::Invalid)?;
        for _ in 0..WRITE_ATTEMPTS {
            let current = catalog::get(&self.store, id).await?;
            let created = current.is_none();
            let (mut entry, version) = match current {
                Some(versioned) => (versioned.entry, Some(versioned.version)),
                None => (self.default_entry(id), None),
            };
            change(&mut entry, created);
            if catalog::put(&self.store, &entry, version).await? {
                return Ok(entry);
            }
        }
        Err(SloError::Invalid(format!(
            "service {id:?} is being changed by someone else right now; try again"
        )))
    }

    fn default_entry(&self, id: &str) -> ServiceEntry {
        ServiceEntry {
            id: id.to_owned(),
            project: None,
            owners: Vec::new(),
            threshold_ms: self.settings.default_threshold_ms,
            objective: None,
            threshold_history: Vec::new(),
        }
    }

    /// The entry of `id` if `viewer` may read it (`None` inside: seen in logs, no entry).
    async fn readable(
        &self,
        viewer: &dyn Viewer,
        id: &str,
    ) -> Result<Option<ServiceEntry>, SloError> {
        let entry = catalog::get(&self.store, id).await?.map(|v| v.entry);
        if access::can_read(viewer, entry.as_ref()) {
            Ok(entry)
        } else {
            Err(SloError::NotFound(id.to_owned()))
        }
    }

    /// The services `viewer` may read (`owned_only`: those they own; administrators: all),
    /// owned ones first, then by id.
    pub async fn list(
        &self,
        viewer: &dyn Viewer,
        owned_only: bool,
        now_ms: i64,
    ) -> Result<Vec<ServiceView>, SloError> {
        let entries: BTreeMap<String, ServiceEntry> = catalog::list(&self.store)
            .await?
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
        let week = LatencyRange::last_week(now_ms);
        let mut buckets = match &self.metrics {
            Some(metrics) => {
                latency::read_buckets(metrics.as_ref(), None, week.from_ms - WEEK_MS, week.to_ms)
                    .await?
            }
            None => BTreeMap::new(),
        };
        let mut sources = self.sources(None, now_ms).await?;
        let ids: BTreeSet<String> = entries.keys().chain(buckets.keys()).cloned().collect();
        let mut views = Vec::new();
        for id in ids {
            let entry = entries.get(&id);
            if !access::can_read(viewer, entry) {
                continue;
            }
            let owned = viewer.is_admin() || entry.is_some_and(|e| access::owns(viewer, e));
            if owned_only && !owned {
                continue;
            }
            let raw = buckets.remove(&id).unwrap_or_default();
            let found = sources.remove(&id).unwrap_or_default();
            let view = self.view(viewer, &id, entry, &raw, found, now_ms);
            views.push(self.with_burn_rates(view, now_ms).await);
        }
        views.sort_by(|a, b| b.owned.cmp(&a.owned).then_with(|| a.id.cmp(&b.id)));
        Ok(views)
    }

    /// One service.
    pub async fn get(
        &self,
        viewer: &dyn Viewer,
        id: &str,
        now_ms: i64,
    ) -> Result<ServiceView, SloError> {
        let entry = self.readable(viewer, id).await?;
        let week = LatencyRange::last_week(now_ms);
        // Without an embedded store a service still has its catalog entry.
        let raw = match &self.metrics {
            Some(metrics) => latency::read_buckets(
                metrics.as_ref(),
                Some(id),
                week.from_ms - WEEK_MS,
                week.to_ms,
            )
            .await?
            .remove(id)
            .unwrap_or_default(),
            None => Vec::new(),
        };
        if entry.is_none() && raw.is_empty() {
            return Err(SloError::NotFound(id.to_owned()));
        }
        let found = self
            .sources(Some(id), now_ms)
            .await?
            .remove(id)
            .unwrap_or_default();
        let view = self.view(viewer, id, entry.as_ref(), &raw, found, now_ms);
        Ok(self.with_burn_rates(view, now_ms).await)
    }

    /// `raw` spans the two weeks before `now_ms` (the second for the baselines).
    fn view(
        &self,
        viewer: &dyn Viewer,
        id: &str,
        entry: Option<&ServiceEntry>,
        raw: &[RawBucket],
        sources: Vec<String>,
        now_ms: i64,
    ) -> ServiceView {
        let threshold_ms = entry.map_or(self.settings.default_threshold_ms, |e| e.threshold_ms);
        let week_start = now_ms - WEEK_MS;
        let last_week: Vec<RawBucket> = raw
            .iter()
            .filter(|b| b.start_ms >= latency::align_down(week_start))
            .copied()
            .collect();
        let history = p95_history(raw);
        let day: Vec<RawBucket> = last_week
            .iter()
            .filter(|b| b.start_ms >= now_ms - DAY_MS)
            .copied()
            .collect();
        let last_bucket = day.last().map(|b| bucket_of(b, &history, threshold_ms));
        let current = latency::align_down(now_ms);
        let baseline_p95_ms = baseline::rolling_medians(&history, &[current])
            .pop()
            .flatten();
        ServiceView {
            id: id.to_owned(),
            project: entry.and_then(|e| e.project.clone()),
            owners: entry.map(|e| e.owners.clone()).unwrap_or_default(),
            owned: entry.is_some_and(|e| access::owns(viewer, e)),
            can_edit: access::can_set_threshold(viewer, entry),
            threshold_ms,
            objective: entry.and_then(|e| e.objective.clone()),
            sources,
            last_bucket,
            baseline_p95_ms,
            breaches_24h: day
                .iter()
                .filter(|b| b.p95.is_some_and(|p| p > f64::from(threshold_ms)))
                .count(),
            quality: quality::report(&last_week),
            registered: entry.is_some(),
            burn_rates: BTreeMap::new(),
            dashboard: None,
        }
    }

    /// Fills in the burn rates of `view`'s objective.
    async fn with_burn_rates(&self, mut view: ServiceView, now_ms: i64) -> ServiceView {
        if let (Some(objective), Some(metrics)) = (&view.objective, &self.metrics) {
            match crate::burn::burn_rates(metrics.as_ref(), &view.id, objective, now_ms).await {
                Ok(rates) => view.burn_rates = rates,
                Err(error) => tracing::warn!(%error, "cannot compute burn rates"),
            }
        }
        view
    }

    /// `(service, window, burn rate)` of every catalog service with an objective: what the
    /// binary writes as [`crate::BURN_RATE_METRIC`] for the burn-rate alerts.
    pub async fn burn_rate_samples(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(String, &'static str, f64)>, SloError> {
        let Some(metrics) = &self.metrics else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in catalog::list(&self.store).await? {
            let Some(objective) = &entry.objective else {
                continue;
            };
            let rates =
                crate::burn::burn_rates(metrics.as_ref(), &entry.id, objective, now_ms).await?;
            out.extend(
                rates
                    .into_iter()
                    .map(|(window, rate)| (entry.id.clone(), window, rate)),
            );
        }
        Ok(out)
    }

    /// The log sources each service's buckets of the last week came from.
    async fn sources(
        &self,
        service: Option<&str>,
        now_ms: i64,
    ) -> Result<BTreeMap<String, Vec<String>>, SloError> {
        match &self.metrics {
            Some(metrics) => latency::sources_seen(metrics.as_ref(), service, "7d", now_ms).await,
            None => Ok(BTreeMap::new()),
        }
    }

    /// The buckets of `id` in `range`, with baselines and breaches.
    pub async fn latency(
        &self,
        viewer: &dyn Viewer,
        id: &str,
        range: LatencyRange,
    ) -> Result<Latency, SloError> {
        let entry = self.readable(viewer, id).await?;
        let threshold_ms = entry
            .as_ref()
            .map_or(self.settings.default_threshold_ms, |e| e.threshold_ms);
        let raw = latency::read_buckets(
            self.metrics()?,
            Some(id),
            range.from_ms - WEEK_MS,
            range.to_ms,
        )
        .await?
        .remove(id)
        .unwrap_or_default();
        if entry.is_none() && raw.is_empty() {
            return Err(SloError::NotFound(id.to_owned()));
        }
        let history = p95_history(&raw);
        let shown: Vec<RawBucket> = raw
            .iter()
            .filter(|b| b.start_ms >= range.from_ms)
            .copied()
            .collect();
        let buckets = fold_steps(&shown, &history, threshold_ms, range.step_ms);
        Ok(Latency {
            service: id.to_owned(),
            threshold_ms,
            from: ms_to_time(range.from_ms),
            to: ms_to_time(range.to_ms),
            step_seconds: range.step_ms / 1000,
            baseline: BASELINE_DESCRIPTION,
            buckets,
            quality: quality::report(&shown),
        })
    }

    /// The threshold of `id` and its history.
    pub async fn threshold(
        &self,
        viewer: &dyn Viewer,
        id: &str,
    ) -> Result<ThresholdView, SloError> {
        let entry = self.readable(viewer, id).await?;
        Ok(ThresholdView::of(
            &entry.unwrap_or_else(|| self.default_entry(id)),
        ))
    }

    /// Sets the threshold of `id` from the request's `threshold_ms` (an integer of
    /// milliseconds within the bounds), recording who and when.
    pub async fn set_threshold(
        &self,
        viewer: &dyn Viewer,
        id: &str,
        threshold_ms: &Value,
        now: DateTime<Utc>,
    ) -> Result<ThresholdView, SloError> {
        let entry = self.readable(viewer, id).await?;
        let value = parse_threshold(threshold_ms)?;
        if !access::can_set_threshold(viewer, entry.as_ref()) {
            return Err(SloError::Forbidden(format!(
                "only the owners of {id:?}, the editors of its project and administrators may change its threshold"
            )));
        }
        let by = viewer.name().to_owned();
        let entry = self
            .upsert(id, |entry, _| {
                entry.threshold_ms = value;
                entry.threshold_history.insert(
                    0,
                    ThresholdChange {
                        threshold_ms: value,
                        changed_by: by.clone(),
                        changed_at: now,
                    },
                );
                entry.threshold_history.truncate(MAX_THRESHOLD_HISTORY);
            })
            .await?;
        Ok(ThresholdView::of(&entry))
    }

    /// Changes the project, owners or objective of `id` (registering it if it was only seen in
    /// logs).
    pub async fn update(
        &self,
        viewer: &dyn Viewer,
        id: &str,
        update: EntryUpdate,
        now_ms: i64,
    ) -> Result<ServiceView, SloError> {
        let entry = self.readable(viewer, id).await?;
        if !access::can_manage(viewer, entry.as_ref()) {
            return Err(SloError::Forbidden(format!(
                "only administrators and the editors of its project may change who owns {id:?}"
            )));
        }
        if let Some(project) = &update.project
            && !viewer.is_admin()
            && !viewer.can_edit_project(project)
        {
            return Err(SloError::Forbidden(format!(
                "you may only move {id:?} into a project you edit; {project:?} is not one"
            )));
        }
        for owner in update.owners.iter().flatten() {
            check_owner(owner).map_err(|e| SloError::Invalid(format!("owners: {e}")))?;
        }
        if let Some(objective) = &update.objective {
            objective
                .validate()
                .map_err(|e| SloError::Invalid(format!("objective: {e}")))?;
        }
        self.upsert(id, |entry, _| {
            if let Some(project) = &update.project {
                entry.project = (!project.is_empty()).then(|| project.clone());
            }
            if let Some(owners) = &update.owners {
                entry.owners.clone_from(owners);
            }
            if update.clear_objective {
                entry.objective = None;
            } else if update.objective.is_some() {
                entry.objective.clone_from(&update.objective);
            }
        })
        .await?;
        self.get(viewer, id, now_ms).await
    }

    /// A Prometheus rule file with the breach alert of every service `viewer` may read.
    pub async fn export_rules(&self, viewer: &dyn Viewer) -> Result<String, SloError> {
        let entries: Vec<ServiceEntry> = catalog::list(&self.store)
            .await?
            .into_iter()
            .filter(|e| access::can_read(viewer, Some(e)))
            .collect();
        Ok(crate::rules::export_rule_file(&entries))
    }

    /// `(service, threshold)` for every catalog entry and every service with requests in the
    /// last hour (those at the default threshold): what the binary writes as
    /// [`crate::THRESHOLD_METRIC`].
    pub async fn threshold_samples(&self, now_ms: i64) -> Result<Vec<(String, f64)>, SloError> {
        let mut thresholds: BTreeMap<String, u32> = catalog::list(&self.store)
            .await?
            .into_iter()
            .map(|e| (e.id, e.threshold_ms))
            .collect();
        // Services logging without a catalog entry are alerted on at the default threshold.
        if let Some(metrics) = &self.metrics
            && let Ok(seen) = latency::sources_seen(metrics.as_ref(), None, "1h", now_ms).await
        {
            for service in seen.into_keys() {
                thresholds
                    .entry(service)
                    .or_insert(self.settings.default_threshold_ms);
            }
        }
        Ok(thresholds
            .into_iter()
            .map(|(id, ms)| (id, f64::from(ms)))
            .collect())
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
