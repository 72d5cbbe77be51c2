//! The rule manager: evaluates every group on its interval against the embedded store,
//! appends recording results and the `ALERTS`/`ALERTS_FOR_STATE` series, keeps each rule's
//! health for the API and hands alerts due for sending to the notifier.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pharos_promql::{QueryResult, QueryValue};
use pharos_query::LocalMetrics;

use crate::alert::{AlertSet, AlertState, LabelMap, Step, millis};
use crate::file::{Rule, RuleGroup, RuleKind};
use crate::notifier::{Notifier, PostableAlert};

/// What the manager needs besides the rules (the `rules:` settings).
#[derive(Debug, Clone)]
pub struct RulesConfig {
    /// Interval of groups without their own.
    pub evaluation_interval: Duration,
    /// This server's URL as people reach it, for alerts' `generatorURL`.
    pub external_url: String,
    /// Added to alerts sent to Alertmanager (where the alert has no such label) and offered
    /// to templates as `$externalLabels`.
    pub external_labels: LabelMap,
    /// Base URLs of the Alertmanagers.
    pub alertmanagers: Vec<url::Url>,
    /// A firing alert is re-sent at most this often.
    pub resend_delay: Duration,
    /// Alerts waiting for Alertmanager before the oldest are dropped.
    pub queue_capacity: usize,
    /// Longest one request to an Alertmanager may take.
    pub timeout: Duration,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            evaluation_interval: Duration::from_secs(15),
            external_url: "http://localhost:8080".to_owned(),
            external_labels: LabelMap::new(),
            alertmanagers: Vec::new(),
            resend_delay: Duration::from_secs(60),
            queue_capacity: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Health of a rule's last evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// Evaluated without error.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl Health {
    /// The Prometheus word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ok => "ok",
            Self::Err => "err",
        }
    }
}

/// Live state of one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleState {
    /// Health of the last evaluation.
    pub health: Health,
    /// Error of the last evaluation.
    pub last_error: Option<String>,
    /// When it was last evaluated (ms).
    pub last_evaluation_ms: Option<i64>,
    /// How long that took, in seconds.
    pub evaluation_time_s: f64,
    /// The alerts (alerting rules).
    pub alerts: AlertSet,
    /// Series written at the last evaluation, to end them with a stale marker.
    written: BTreeSet<LabelMap>,
}

/// Live state of one group.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    /// One entry per rule, in file order.
    pub rules: Vec<RuleState>,
    /// When the group was last evaluated (ms).
    pub last_evaluation_ms: Option<i64>,
    /// How long that took, in seconds.
    pub evaluation_time_s: f64,
}

pub(crate) struct Group {
    pub(crate) spec: RuleGroup,
    pub(crate) interval: Duration,
    pub(crate) state: Mutex<GroupState>,
}

/// Evaluates rule groups and sends their alerts. Share it behind an `Arc`.
pub struct RuleManager {
    pub(crate) config: RulesConfig,
    metrics: Arc<LocalMetrics>,
    pub(crate) groups: Vec<Group>,
    notifier: Notifier,
    sinks: Vec<Arc<dyn AlertSink>>,
}

/// An in-process receiver of the alerts sent to Alertmanager (the fleet's alert book): it gets
/// the same batches — firing alerts at the resend cadence, resolved ones once — and must not
/// block (it runs on the evaluation task).
pub trait AlertSink: Send + Sync {
    /// Takes one evaluation's alerts.
    fn deliver(&self, alerts: &[PostableAlert]);
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager")
            .field("groups", &self.groups.len())
            .field("config", &self.config)
            .finish()
    }
}

impl RuleManager {
    /// A manager for `groups` over `metrics`.
    pub fn new(groups: Vec<RuleGroup>, config: RulesConfig, metrics: Arc<LocalMetrics>) -> Self {
        let notifier = Notifier::new(
            config.alertmanagers.clone(),
            config.queue_capacity,
            config.timeout,
        );
        let groups = groups
            .into_iter()
            .map(|spec| Group {
                interval: spec.interval.unwrap_or(config.evaluation_interval),
                state: Mutex::new(GroupState {
                    rules: vec![RuleState::default(); spec.rules.len()],
                    ..GroupState::default()
                }),
                spec,
            })
            .collect();
        Self {
            config,
            metrics,
            groups,
            notifier,
            sinks: Vec::new(),
        }
    }

    /// Also hands every batch of alerts to `sink`.
    #[must_use]
    pub fn with_sink(mut self, sink: Arc<dyn AlertSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// The groups as loaded.
    pub fn groups(&self) -> impl Iterator<Item = &RuleGroup> {
        self.groups.iter().map(|g| &g.spec)
    }

    /// A copy of group `index`'s live state.
    pub fn group_state(&self, index: usize) -> Option<GroupState> {
        self.groups.get(index).map(|g| lock(&g.state).clone())
    }

    /// The notifier (queue length, draining in tests).
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Evaluates every rule of group `index` at `now_ms` (callers align it to the interval).
    #[tracing::instrument(
        name = "rule group evaluation",
        skip_all,
        fields(rule_group = tracing::field::Empty, rules = tracing::field::Empty)
    )]
    pub async fn evaluate_group(&self, index: usize, now_ms: i64) {
        let Some(group) = self.groups.get(index) else {
            return;
        };
        // Recorded here: the group is only known once looked up.
        let span = tracing::Span::current();
        span.record("rule_group", group.spec.name.as_str());
        span.record("rules", group.spec.rules.len());
        let started = Instant::now();
        let mut to_send = Vec::new();
        for (position, rule) in group.spec.rules.iter().enumerate() {
            let rule_started = Instant::now();
            let result = self
                .metrics
                .instant(&rule.expr, now_ms, None)
                .await
                .map_err(|e| e.to_string())
                .and_then(samples);
            let (series, error) = {
                let mut state = lock(&group.state);
                let Some(rule_state) = state.rules.get_mut(position) else {
                    continue;
                };
                // Query errors leave the alerts and the written series as they were; a
                // rule-level error (duplicates, limit) clears them, so their series end.
                match (rule.kind, result) {
                    (_, Err(error)) => (Vec::new(), Some(error)),
                    (RuleKind::Recording, Ok(result)) => {
                        match recorded(rule, result, group.spec.limit) {
                            Ok(series) => (with_stale_markers(rule_state, series), None),
                            Err(error) => (with_stale_markers(rule_state, Vec::new()), Some(error)),
                        }
                    }
                    (RuleKind::Alerting, Ok(result)) => {
                        let (series, error) =
                            self.alert_step(rule, rule_state, result, group, now_ms, &mut to_send);
                        (with_stale_markers(rule_state, series), error)
                    }
                }
            };
            let append_error = self.append(series, now_ms).await.err();
            let mut state = lock(&group.state);
            if let Some(rule_state) = state.rules.get_mut(position) {
                let error = error.or(append_error);
                rule_state.health = if error.is_some() {
                    Health::Err
                } else {
                    Health::Ok
                };
                if let Some(error) = &error {
                    metrics::counter!("pharos_rules_evaluation_failures_total", "group" => group.spec.name.clone())
                        .increment(1);
                    tracing::debug!(group = %group.spec.name, rule = %rule.name, %error, "rule evaluation failed");
                }
                rule_state.last_error = error;
                rule_state.last_evaluation_ms = Some(now_ms);
                rule_state.evaluation_time_s = rule_started.elapsed().as_secs_f64();
            }
            metrics::counter!("pharos_rules_evaluations_total", "group" => group.spec.name.clone())
                .increment(1);
        }
        {
            let mut state = lock(&group.state);
            state.last_evaluation_ms = Some(now_ms);
            state.evaluation_time_s = started.elapsed().as_secs_f64();
        }
        metrics::histogram!("pharos_rules_group_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        if !to_send.is_empty() {
            for sink in &self.sinks {
                sink.deliver(&to_send);
            }
        }
        self.notifier.enqueue(to_send);
    }

    /// Runs the alerting state machine and returns the `ALERTS` series to write.
    fn alert_step(
        &self,
        rule: &Rule,
        state: &mut RuleState,
        result: Vec<(LabelMap, f64)>,
        group: &Group,
        now_ms: i64,
        to_send: &mut Vec<PostableAlert>,
    ) -> (Vec<(LabelMap, f64)>, Option<String>) {
        let step = Step {
            now_ms,
            external_labels: &self.config.external_labels,
            limit: group.spec.limit,
            validity: 4 * self.config.resend_delay.max(group.interval),
        };
        let updated = state.alerts.update(rule, result, &step);
        let mut series = Vec::new();
        for alert in state.alerts.alerts_mut() {
            if alert.state != AlertState::Inactive {
                let mut labels = alert.labels.clone();
                labels.insert("__name__".to_owned(), "ALERTS_FOR_STATE".to_owned());
                series.push((labels.clone(), alert.active_at_ms as f64 / 1000.0));
                labels.insert("__name__".to_owned(), "ALERTS".to_owned());
                labels.insert("alertstate".to_owned(), alert.state.as_str().to_owned());
                series.push((labels, 1.0));
            }
            if alert.needs_sending(now_ms, self.config.resend_delay) {
                alert.last_sent_ms = Some(now_ms);
                to_send.push(self.postable(rule, alert));
            }
        }
        (series, updated.err())
    }

    fn postable(&self, rule: &Rule, alert: &crate::alert::Alert) -> PostableAlert {
        let mut labels = alert.labels.clone();
        for (name, value) in &self.config.external_labels {
            labels.entry(name.clone()).or_insert_with(|| value.clone());
        }
        let expr: String = url::form_urlencoded::byte_serialize(rule.expr.as_bytes()).collect();
        PostableAlert {
            labels,
            annotations: alert.annotations.clone(),
            starts_at: rfc3339(alert.fired_at_ms.unwrap_or(alert.active_at_ms)),
            ends_at: rfc3339(alert.resolved_at_ms.unwrap_or(alert.valid_until_ms)),
            generator_url: format!(
                "{}/graph?g0.expr={expr}&g0.tab=1",
                self.config.external_url.trim_end_matches('/')
            ),
        }
    }

    async fn append(&self, series: Vec<(LabelMap, f64)>, now_ms: i64) -> Result<(), String> {
        if series.is_empty() {
            return Ok(());
        }
        self.metrics
            .append(move |db| {
                let mut appender = db.appender();
                let mut first_error = None;
                for (labels, value) in &series {
                    let stored = pharos_tsdb::Labels::new(
                        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    )
                    .map_err(|e| e.to_string())
                    .and_then(|l| {
                        appender
                            .append(&l, now_ms, *value)
                            .map_err(|e| e.to_string())
                    });
                    if let Err(error) = stored {
                        first_error.get_or_insert(format!("cannot store the result: {error}"));
                    }
                }
                appender.commit().map_err(|e| e.to_string())?;
                first_error.map_or(Ok(()), Err)
            })
            .await
            .map_err(|e| e.to_string())?
    }

    /// Evaluates every group on its interval (at clock-aligned times) and sends alerts,
    /// until `stop` turns true.
    pub fn spawn(
        self: &Arc<Self>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..self.groups.len() {
            let (manager, stop) = (Arc::clone(self), stop.clone());
            tasks.spawn(async move { manager.run_group(index, stop).await });
        }
        let (manager, notifier_stop) = (Arc::clone(self), stop);
        tasks.spawn(async move { manager.notifier.run(notifier_stop).await });
        tokio::spawn(async move { while tasks.join_next().await.is_some() {} })
    }

    async fn run_group(&self, index: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(group) = self.groups.get(index) else {
            return;
        };
        let interval = millis(group.interval).max(1);
        let mut next = now_ms() / interval * interval;
        loop {
            let wait = Duration::from_millis(u64::try_from(next - now_ms()).unwrap_or(0));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            self.evaluate_group(index, next).await;
            let after = now_ms() / interval * interval + interval;
            if after > next + interval {
                metrics::counter!("pharos_rules_iterations_missed_total", "group" => group.spec.name.clone())
                    .increment(u64::try_from((after - next) / interval - 1).unwrap_or(0));
            }
            next = after;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Milliseconds since 1970 now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 with milliseconds, UTC.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A query result as `(labels, value)` pairs; a scalar counts as one series without labels.
fn samples(result: QueryResult) -> Result<Vec<(LabelMap, f64)>, String> {
    match result.value {
        QueryValue::Vector(vector) => Ok(vector
            .into_iter()
            .map(|sample| {
                let labels = sample
                    .metric
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                (labels, sample.value)
            })
            .collect()),
        QueryValue::Scalar { value, .. } => Ok(vec![(LabelMap::new(), value)]),
        other => Err(format!(
            "the expression gives a {}, a rule needs an instant vector or a scalar",
            other.result_type()
        )),
    }
}

/// A recording rule's output series.
fn recorded(
    rule: &Rule,
    result: Vec<(LabelMap, f64)>,
    limit: usize,
) -> Result<Vec<(LabelMap, f64)>, String> {
    if limit > 0 && result.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            result.len()
        ));
    }
    let mut seen = BTreeSet::new();
    let mut series = Vec::with_capacity(result.len());
    for (mut labels, value) in result {
        labels.insert("__name__".to_owned(), rule.name.clone());
        for (name, value) in &rule.labels {
            labels.insert(name.clone(), value.clone());
        }
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels"
                    .to_owned(),
            );
        }
        series.push((labels, value));
    }
    Ok(series)
}

/// `series` plus a stale marker for each series written last time and not now, so queries
/// stop seeing a cleared alert or a vanished recording at once instead of after the lookback.
fn with_stale_markers(
    state: &mut RuleState,
    mut series: Vec<(LabelMap, f64)>,
) -> Vec<(LabelMap, f64)> {
    let now: BTreeSet<LabelMap> = series.iter().map(|(l, _)| l.clone()).collect();
    for gone in state.written.difference(&now) {
        series.push((gone.clone(), pharos_tsdb::STALE_NAN));
    }
    state.written = now;
    series
}
