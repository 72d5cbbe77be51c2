//! PromQL as one user may ask it, behind the query layer's [`MetricsBackend`] trait so the
//! assistant's tools and the analysis (anomalies, root causes) read exactly what the user
//! could read by hand — no more. With registered clusters the question goes through the
//! fleet's fan-out as the fleet API asks it (a fleet operator unrestricted; a project member
//! with the project's namespaces written into the query by the tenant enforcer); without any,
//! through the embedded store, which needs read on `Metrics` or, for a project member, the
//! same enforcement.

use std::fmt;

use pharos_auth::rbac::{Action, Scope};
use pharos_fleet::{ClusterOutcome, Evaluation, FederatedInput, FederatedQuery, Targets};
use pharos_query::{
    BackendError, BackendFuture, InstantQuery, MetricsBackend, QueryAnswer, RangeQuery, ResultData,
    Served,
};
use serde_json::json;

use crate::fleet::Asker;
use crate::{identity::Caller, state::AppState};

/// One user's view of the metrics.
#[derive(Clone)]
pub(crate) struct CallerMetrics {
    state: AppState,
    caller: Caller,
    /// Ask as a member of this project.
    project: Option<String>,
    /// Only these clusters (all that can answer when `None`).
    clusters: Option<Vec<String>>,
}

impl fmt::Debug for CallerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerMetrics")
            .field("caller", &self.caller.name())
            .field("project", &self.project)
            .field("clusters", &self.clusters)
            .finish()
    }
}

fn refused(message: impl Into<String>, status: u16) -> BackendError {
    BackendError::Refused {
        error_type: if status == 403 {
            "forbidden"
        } else {
            "bad_data"
        }
        .to_owned(),
        message: message.into(),
        status,
    }
}

impl CallerMetrics {
    pub(crate) fn new(
        state: AppState,
        caller: Caller,
        project: Option<String>,
        clusters: Option<Vec<String>>,
    ) -> Self {
        Self {
            state,
            caller,
            project,
            clusters,
        }
    }

    /// Whether any cluster is registered (then questions go to the fleet).
    async fn fleet_has_clusters(&self) -> bool {
        self.state.fleet.cluster_count().await.unwrap_or(0) > 0
    }

    async fn ask(&self, query: &str, evaluation: Evaluation) -> Result<QueryAnswer, BackendError> {
        let asker = Asker::of(&self.state, &self.caller, self.project.as_deref())
            .await
            .map_err(|e| refused(e.to_string(), 403));
        if self.fleet_has_clusters().await {
            let asker = asker?;
            let enforced = asker
                .query(&self.state, query)
                .map_err(|e| refused(e.to_string(), 400))?;
            let federated = federated_query(enforced, evaluation, self.clusters.as_deref())?;
            let answer = self
                .state
                .fleet
                .federated_query(&asker, &federated)
                .await
                .map_err(|e| refused(e.to_string(), 400))?;
            if answer.all_failed() {
                return Err(BackendError::Unavailable(format!(
                    "no cluster answered: {}",
                    answer.warnings.join("; ")
                )));
            }
            let mut warnings = answer.warnings.clone();
            for (name, report) in &answer.clusters {
                if report.status != ClusterOutcome::Ok && report.status != ClusterOutcome::Skipped {
                    let why = report.error.clone().unwrap_or_default();
                    let line = format!("cluster {name}: {} {why}", report.status.as_str());
                    if !warnings.iter().any(|w| w.contains(name.as_str())) {
                        warnings.push(line.trim_end().to_owned());
                    }
                }
            }
            return Ok(QueryAnswer {
                data: ResultData::from_serialize(
                    &json!({"resultType": answer.result_type, "result": answer.result}),
                ),
                warnings,
                infos: answer.infos,
                served: Served::Backend,
            });
        }
        // No fleet: the embedded store.
        let Some(metrics) = self.state.metrics.clone() else {
            return Err(BackendError::Unavailable(
                "there is no cluster registered and no embedded metrics store".to_owned(),
            ));
        };
        let query = match &self.project {
            Some(project) => {
                asker?;
                match crate::proxy::target::project_policy(&self.state, project)
                    .await
                    .map_err(|e| refused(e.to_string(), 403))?
                {
                    Some(policy) => self
                        .state
                        .enforcer
                        .enforce_query(&policy, query)
                        .map_err(|e| {
                            refused(format!("query refused by tenant enforcement: {e}"), 400)
                        })?
                        .to_string(),
                    None => query.to_owned(),
                }
            }
            None => {
                if !self.caller.allows(Action::Read, None, Scope::Metrics) {
                    return Err(refused(
                        "you may not read every series of the metrics store: name a project you are a member of",
                        403,
                    ));
                }
                query.to_owned()
            }
        };
        let backend = pharos_query::LocalBackend::new(metrics);
        match evaluation {
            Evaluation::Instant { time_ms } => {
                backend
                    .instant(&InstantQuery {
                        query,
                        time_ms,
                        timeout: None,
                    })
                    .await
            }
            Evaluation::Range {
                start_ms,
                end_ms,
                step_ms,
            } => {
                backend
                    .range(&RangeQuery {
                        query,
                        start_ms,
                        end_ms,
                        step_ms,
                        timeout: None,
                    })
                    .await
            }
        }
    }
}

/// The fleet's form of a question (validated as the federation API validates it).
fn federated_query(
    query: String,
    evaluation: Evaluation,
    clusters: Option<&[String]>,
) -> Result<FederatedQuery, BackendError> {
    let seconds = |ms: i64| json!(ms as f64 / 1000.0);
    let mut input = FederatedInput {
        query: Some(query),
        ..FederatedInput::default()
    };
    let range = match evaluation {
        Evaluation::Instant { time_ms } => {
            input.time = Some(seconds(time_ms));
            false
        }
        Evaluation::Range {
            start_ms,
            end_ms,
            step_ms,
        } => {
            input.start = Some(seconds(start_ms));
            input.end = Some(seconds(end_ms));
            input.step = Some(seconds(step_ms));
            true
        }
    };
    let mut federated = input
        .validate(range, pharos_query::now_ms())
        .map_err(|e| refused(e.to_string(), 400))?;
    if let Some(names) = clusters.filter(|n| !n.is_empty()) {
        federated.targets = Targets::Named(names.to_vec());
    }
    Ok(federated)
}

impl MetricsBackend for CallerMetrics {
    fn instant<'a>(
        &'a self,
        query: &'a InstantQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(self.ask(
            &query.query,
            Evaluation::Instant {
                time_ms: query.time_ms,
            },
        ))
    }

    fn range<'a>(
        &'a self,
        query: &'a RangeQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(self.ask(
            &query.query,
            Evaluation::Range {
                start_ms: query.start_ms,
                end_ms: query.end_ms,
                step_ms: query.step_ms,
            },
        ))
    }
}
