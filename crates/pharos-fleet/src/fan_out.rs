//! The federated fan-out on [`FleetService`]: choose the clusters (by name, by labels, or every
//! one not `unreachable`), skip those that cannot answer, ask the others in parallel through
//! their [`crate::Connection`] each within its own timeout, and merge.
//!
//! The answer takes as long as the slowest cluster asked, capped by the longest timeout among
//! them — never the sum: every cluster runs in its own task and a late one is abandoned at its
//! timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use pharos_query::{BackendError, InstantQuery, MetricsBackend, RangeQuery};
use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::credentials::Connection;
use crate::error::FleetError;
use crate::federate::{
    CLUSTER_LABEL, ClusterOutcome, ClusterReport, Evaluation, FederatedAnswer, FederatedQuery,
    Targets, label_series,
};
use crate::model::{ClusterRecord, HealthState};
use crate::registry;
use crate::service::{Access, FleetAction, FleetService};

/// What one cluster task brings back.
enum Reply {
    Series {
        result_type: String,
        series: Vec<Value>,
        warnings: Vec<String>,
    },
    Labels(Vec<String>),
}

struct Planned {
    asked: Vec<(ClusterRecord, Duration)>,
    skipped: Vec<(String, String, bool)>,
}

fn human(timeout: Duration) -> String {
    let ms = timeout.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// What a cluster is asked.
#[derive(Clone)]
enum Ask {
    Query(String, Evaluation),
    /// `GET /api/v1/labels` (`label: None`) or `/api/v1/label/<label>/values`, with the
    /// client's `start`, `end` and `match[]`.
    List {
        label: Option<String>,
        params: Vec<(String, String)>,
    },
}

impl FleetService {
    /// Runs `query` on its clusters and merges the answers (read on the registry needed).
    pub async fn federated_query(
        &self,
        access: &dyn Access,
        query: &FederatedQuery,
    ) -> Result<FederatedAnswer, FleetError> {
        access
            .check(FleetAction::Read)
            .map_err(FleetError::Forbidden)?;
        let kind = match query.evaluation {
            Evaluation::Instant { .. } => "instant",
            Evaluation::Range { .. } => "range",
        };
        metrics::counter!("pharos_fleet_queries_total", "kind" => kind).increment(1);
        let plan = self
            .plan(&query.targets, query.needs_dcgm, query.timeout)
            .await?;
        let ask = Ask::Query(query.query.clone(), query.evaluation);
        Ok(self.fan_out(plan, ask).await)
    }

    /// The label names (`label: None`) or the values of `label` of the clusters of `targets`,
    /// merged; `params` (`start`, `end`, `match[]`) go to every cluster. Names include
    /// `cluster`; the values of `cluster` are the clusters that answered.
    pub async fn federated_labels(
        &self,
        access: &dyn Access,
        targets: &Targets,
        timeout: Option<Duration>,
        label: Option<&str>,
        params: &[(String, String)],
    ) -> Result<FederatedAnswer, FleetError> {
        access
            .check(FleetAction::Read)
            .map_err(FleetError::Forbidden)?;
        if let Some(label) = label {
            let fine = !label.is_empty()
                && label.len() <= 256
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !label.starts_with(|c: char| c.is_ascii_digit());
            if !fine {
                return Err(FleetError::Invalid(format!(
                    "\"{}\" is not a label name",
                    label.chars().take(80).collect::<String>()
                )));
            }
        }
        metrics::counter!("pharos_fleet_queries_total", "kind" => "labels").increment(1);
        let plan = self.plan(targets, false, timeout).await?;
        let params = params
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "start" | "end" | "match[]"))
            .cloned()
            .collect();
        let ask = Ask::List {
            label: label.map(str::to_owned),
            params,
        };
        Ok(self.fan_out(plan, ask).await)
    }

    async fn plan(
        &self,
        targets: &Targets,
        needs_dcgm: bool,
        client_timeout: Option<Duration>,
    ) -> Result<Planned, FleetError> {
        let records = registry::list(&self.inner.store).await?;
        let chosen: Vec<ClusterRecord> = match targets {
            Targets::Available => records,
            Targets::Named(names) => {
                let known: BTreeSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
                let unknown: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !known.contains(n))
                    .collect();
                if !unknown.is_empty() {
                    return Err(FleetError::Invalid(format!(
                        "unknown clusters: {}; list the registered ones with GET /api/v1/clusters",
                        unknown.join(", ")
                    )));
                }
                records
                    .into_iter()
                    .filter(|r| names.contains(&r.name))
                    .collect()
            }
            Targets::Selector(selector) => records
                .into_iter()
                .filter(|r| {
                    selector
                        .iter()
                        .all(|(k, v)| r.spec.labels.get(k).is_some_and(|have| have == v))
                })
                .collect(),
        };
        let by_name = matches!(targets, Targets::Named(_));
        let mut plan = Planned {
            asked: Vec::new(),
            skipped: Vec::new(),
        };
        for record in chosen {
            let status = self.status_of(&record.name);
            if !by_name && status.state == HealthState::Unreachable {
                let reason = format!("unreachable at its last check ({})", status.reason);
                plan.skipped.push((record.name, reason, false));
                continue;
            }
            let capabilities = &record.capabilities;
            if needs_dcgm && capabilities.discovered_at.is_some() && !capabilities.dcgm {
                plan.skipped
                    .push((record.name, "no DCGM exporter".to_owned(), true));
                continue;
            }
            let cap = self.inner.options.timing(record.spec.cluster_type).timeout;
            let timeout = client_timeout.map_or(cap, |t| t.min(cap));
            plan.asked.push((record, timeout));
        }
        Ok(plan)
    }

    #[tracing::instrument(
        name = "fleet fan-out",
        skip_all,
        fields(
            fleet.ask = match &ask { Ask::Query(..) => "query", Ask::List { .. } => "labels" },
            fleet.clusters = plan.asked.len(),
            fleet.skipped = plan.skipped.len(),
        )
    )]
    async fn fan_out(&self, plan: Planned, ask: Ask) -> FederatedAnswer {
        let mut answer = FederatedAnswer {
            result_type: match &ask {
                Ask::Query(_, Evaluation::Instant { .. }) => "vector".to_owned(),
                Ask::Query(_, Evaluation::Range { .. }) => "matrix".to_owned(),
                Ask::List { .. } => "labels".to_owned(),
            },
            result: Vec::new(),
            clusters: BTreeMap::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
        };
        for (name, reason, info) in plan.skipped {
            let line = format!("cluster {name}: skipped: {reason}");
            if info {
                answer.infos.push(line);
            } else {
                answer.warnings.push(line);
            }
            answer.clusters.insert(
                name,
                ClusterReport {
                    status: ClusterOutcome::Skipped,
                    latency_ms: 0,
                    error: Some(reason),
                },
            );
        }
        let mut tasks = JoinSet::new();
        let limit = self.inner.options.max_answer_bytes;
        for (record, timeout) in plan.asked {
            let service = self.clone();
            let ask = ask.clone();
            let name = record.name.clone();
            // A spawned task leaves the caller's span behind: each cluster gets its own child.
            let span = tracing::info_span!("fleet cluster", cluster = %name);
            let asked = async move {
                let started = Instant::now();
                // Credentials are read in the task too: one slow read delays no other cluster.
                let reply = match service.connection_of(&record).await {
                    Ok(connection) => {
                        let asked = ask_one(&connection, limit, &ask, timeout);
                        match tokio::time::timeout(timeout, asked).await {
                            Ok(reply) => reply,
                            Err(_) => Err(BackendError::Timeout(String::new())),
                        }
                    }
                    Err(e) => Err(BackendError::Unavailable(e.to_string())),
                };
                (name, timeout, started.elapsed(), reply)
            };
            tasks.spawn(asked.instrument(span));
        }
        let mut replies = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(reply) = joined {
                replies.push(reply);
            }
        }
        replies.sort_by(|a, b| a.0.cmp(&b.0));
        let mut labels = BTreeSet::new();
        let (listing, cluster_values) = match &ask {
            Ask::List { label: None, .. } => (true, false),
            Ask::List {
                label: Some(label), ..
            } => (true, label == CLUSTER_LABEL),
            Ask::Query(..) => (false, false),
        };
        let mut seen_type: Option<String> = None;
        for (name, timeout, elapsed, reply) in replies {
            let (status, error) = match reply {
                Ok(Reply::Series {
                    result_type,
                    series,
                    warnings,
                }) if seen_type.as_ref().is_none_or(|seen| *seen == result_type) => {
                    answer.result_type.clone_from(&result_type);
                    seen_type = Some(result_type);
                    answer.result.extend(series);
                    answer
                        .warnings
                        .extend(warnings.into_iter().map(|w| format!("cluster {name}: {w}")));
                    (ClusterOutcome::Ok, None)
                }
                Ok(Reply::Series { result_type, .. }) => (
                    ClusterOutcome::Error,
                    Some(format!(
                        "answered a {result_type} where the other clusters answered a {}",
                        answer.result_type
                    )),
                ),
                Ok(Reply::Labels(names)) => {
                    if cluster_values {
                        labels.insert(name.clone());
                    } else {
                        labels.extend(names);
                    }
                    (ClusterOutcome::Ok, None)
                }
                Err(BackendError::Timeout(_)) => (
                    ClusterOutcome::Timeout,
                    Some(format!("timeout after {}", human(timeout))),
                ),
                Err(e) => (ClusterOutcome::Error, Some(e.to_string())),
            };
            metrics::histogram!("pharos_fleet_query_cluster_seconds",
                "cluster" => name.clone(), "status" => status.as_str())
            .record(elapsed.as_secs_f64());
            if let Some(error) = &error {
                answer
                    .warnings
                    .push(format!("cluster {name}: {}: {error}", status.as_str()));
            }
            answer.clusters.insert(
                name,
                ClusterReport {
                    status,
                    latency_ms: millis(elapsed),
                    error,
                },
            );
        }
        if listing {
            if !labels.is_empty() && !cluster_values && matches!(ask, Ask::List { label: None, .. })
            {
                labels.insert(CLUSTER_LABEL.to_owned());
            }
            answer.result = labels.into_iter().map(Value::String).collect();
        }
        if answer.clusters.is_empty() {
            answer
                .warnings
                .push("no cluster matches: nothing was asked".to_owned());
        }
        answer
    }
}

async fn ask_one(
    connection: &Connection,
    limit: usize,
    ask: &Ask,
    timeout: Duration,
) -> Result<Reply, BackendError> {
    // A cluster of the embedded store is asked in process, restricted to its series.
    let embedded = connection.embedded.as_ref();
    let answer = match ask {
        Ask::List { label, params } => {
            // The values of `cluster` are the clusters that answer: any cheap list will do.
            let label = label.as_deref().filter(|l| *l != CLUSTER_LABEL);
            if let Some(scope) = embedded {
                return scope.list(label, params).await.map(Reply::Labels);
            }
            let path = match label {
                Some(label) => format!("/api/v1/label/{label}/values"),
                None => "/api/v1/labels".to_owned(),
            };
            return list_of(connection, limit, &path, params)
                .await
                .map(Reply::Labels);
        }
        Ask::Query(query, Evaluation::Instant { time_ms }) => {
            let request = InstantQuery {
                query: query.clone(),
                time_ms: *time_ms,
                timeout: Some(timeout),
            };
            match embedded {
                Some(scope) => scope.instant(request).await?,
                None => {
                    connection
                        .prometheus_backend(timeout)
                        .instant(&request)
                        .await?
                }
            }
        }
        Ask::Query(
            query,
            Evaluation::Range {
                start_ms,
                end_ms,
                step_ms,
            },
        ) => {
            let request = RangeQuery {
                query: query.clone(),
                start_ms: *start_ms,
                end_ms: *end_ms,
                step_ms: *step_ms,
                timeout: Some(timeout),
            };
            match embedded {
                Some(scope) => scope.range(request).await?,
                None => {
                    connection
                        .prometheus_backend(timeout)
                        .range(&request)
                        .await?
                }
            }
        }
    };
    let name = connection.cluster.as_str();
    let (result_type, series) = label_series(answer.data.to_value(), name).ok_or_else(|| {
        BackendError::Unavailable("answered something that is not a vector or a matrix".to_owned())
    })?;
    Ok(Reply::Series {
        result_type,
        series,
        warnings: answer.warnings,
    })
}

/// `GET <path>` of one cluster for a list of names (its `data` is a list, which the query
/// backend, made for `{resultType, result}` objects, does not read), with at most `limit` bytes
/// read.
async fn list_of(
    connection: &Connection,
    limit: usize,
    path: &str,
    params: &[(String, String)],
) -> Result<Vec<String>, BackendError> {
    let mut url = connection.prometheus.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{path}"));
    let mut request = connection
        .client
        .get(url)
        .query(params)
        .header(reqwest::header::ACCEPT, "application/json");
    for (name, value) in &connection.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    // The cluster's Prometheus joins this trace (empty when tracing is off).
    for (name, value) in pharos_query::trace_context::outgoing_headers() {
        request = request.header(name, value);
    }
    let cluster = &connection.cluster;
    let unavailable = |why: String| BackendError::Unavailable(format!("cluster {cluster}: {why}"));
    let mut response = request
        .send()
        .await
        .map_err(|e| unavailable(format!("cannot reach {}: {e}", connection.prometheus)))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(format!("broke off its answer: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(unavailable(format!(
                "answered more than {limit} bytes for {path}"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let envelope: Value = serde_json::from_slice(&body).map_err(|_| {
        unavailable(format!(
            "answered HTTP {status} without a Prometheus JSON body"
        ))
    })?;
    if envelope["status"] != "success" {
        let error = envelope["error"].as_str().unwrap_or("unknown error");
        return Err(unavailable(format!("failed (HTTP {status}): {error}")));
    }
    envelope["data"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| unavailable(format!("answered {path} with data that is not a list")))
}
