//! Federated PromQL: one question asked of many clusters at once.
//!
//! [`FederatedInput`] is the request as a client sends it (JSON, or the Prometheus form
//! parameters turned into the same fields); [`FederatedInput::validate`] turns it into a
//! [`FederatedQuery`] or an [`FleetError::Invalid`] naming the problem. The fan-out itself lives
//! on [`crate::FleetService`] (`federated_query`, `federated_labels`): every target cluster is
//! asked in parallel through its [`crate::Connection`], each within its own timeout, and
//! [`FederatedAnswer`] merges the series (each labelled `cluster="<name>"`) and says per
//! cluster whether it answered (`ok`), failed (`error`), ran out of time (`timeout`) or was not
//! asked (`skipped`, with the reason).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use promql_parser::parser::{Expr, value::ValueType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FleetError;

/// Most points per series a range query may ask for (Prometheus' own limit).
pub const MAX_POINTS: i64 = 11_000;

/// The label every federated series carries (set, or overwritten, with the cluster's name).
pub const CLUSTER_LABEL: &str = "cluster";

/// The body of `POST /api/v1/metrics/query[_range]` (or its form parameters).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedInput {
    /// PromQL.
    #[serde(default)]
    pub query: Option<String>,
    /// Instant queries: evaluation time (Unix seconds or RFC 3339); default now.
    #[serde(default)]
    pub time: Option<Value>,
    /// Range queries: first evaluation.
    #[serde(default)]
    pub start: Option<Value>,
    /// Range queries: last evaluation.
    #[serde(default)]
    pub end: Option<Value>,
    /// Range queries: resolution (seconds or a duration such as `30s`, `1m`).
    #[serde(default)]
    pub step: Option<Value>,
    /// Cluster names (a list, or one string separated by commas).
    #[serde(default)]
    pub clusters: Option<Value>,
    /// Clusters whose labels have all these values.
    #[serde(default)]
    pub cluster_selector: Option<BTreeMap<String, String>>,
    /// A per-cluster timeout shorter than the cluster type's health-check timeout.
    #[serde(default)]
    pub timeout: Option<Value>,
    /// Ask as a member of this project: its tenant restriction is applied to the query before
    /// the fan-out (the server checks the permission and rewrites the query; the fleet only
    /// carries the name).
    #[serde(default)]
    pub project: Option<String>,
}

/// When to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// `/api/v1/query` at this time (ms since the epoch).
    Instant {
        /// Evaluation time.
        time_ms: i64,
    },
    /// `/api/v1/query_range`.
    Range {
        /// First evaluation.
        start_ms: i64,
        /// Last evaluation at most.
        end_ms: i64,
        /// Resolution (> 0).
        step_ms: i64,
    },
}

/// Which clusters to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every registered cluster whose health is not `unreachable`.
    Available,
    /// These, by name (asked even when their last check said `unreachable`).
    Named(Vec<String>),
    /// Those whose labels match all these (`unreachable` ones are skipped).
    Selector(BTreeMap<String, String>),
}

/// A validated federated query.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedQuery {
    /// PromQL as sent (it parsed).
    pub query: String,
    /// Instant or range.
    pub evaluation: Evaluation,
    /// Which clusters.
    pub targets: Targets,
    /// The client's timeout (each cluster's own cap still applies).
    pub timeout: Option<Duration>,
    /// Every metric the query reads is a DCGM exporter metric: clusters without DCGM cannot
    /// answer it.
    pub needs_dcgm: bool,
}

/// How one cluster took part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterOutcome {
    /// Answered.
    Ok,
    /// Failed (unreachable, refused the query, or answered something that is not Prometheus').
    Error,
    /// No answer within its timeout.
    Timeout,
    /// Not asked (unreachable at its last check, or it cannot answer this query).
    Skipped,
}

impl ClusterOutcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Skipped => "skipped",
        }
    }
}

/// One cluster's entry in the `clusters` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReport {
    /// `ok`, `error`, `timeout` or `skipped`.
    pub status: ClusterOutcome,
    /// How long it took (0 when skipped).
    pub latency_ms: u64,
    /// What went wrong, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The merged answer of a federated query.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedAnswer {
    /// `vector` or `matrix` (for labels: the names, as `result`).
    pub result_type: String,
    /// Every cluster's series, each with its `cluster` label.
    pub result: Vec<Value>,
    /// Per cluster, by name.
    pub clusters: BTreeMap<String, ClusterReport>,
    /// Each failed or unreachable cluster ("cluster x: timeout after 5s") and the clusters' own
    /// warnings, prefixed with their name.
    pub warnings: Vec<String>,
    /// Clusters skipped because they cannot answer this query (e.g. no DCGM exporter).
    pub infos: Vec<String>,
}

impl FederatedAnswer {
    /// Whether no asked cluster answered although at least one was asked.
    pub fn all_failed(&self) -> bool {
        none_answered(&self.clusters)
    }
}

/// Whether at least one cluster was asked (not skipped) and none answered.
pub(crate) fn none_answered(clusters: &BTreeMap<String, ClusterReport>) -> bool {
    let mut asked = clusters
        .values()
        .filter(|c| c.status != ClusterOutcome::Skipped)
        .peekable();
    asked.peek().is_some() && asked.all(|c| c.status != ClusterOutcome::Ok)
}

fn invalid(message: impl Into<String>) -> FleetError {
    FleetError::Invalid(message.into())
}

/// Parses a Prometheus time: Unix seconds (number or text, fractions allowed) or RFC 3339.
pub fn parse_time(field: &str, value: &Value) -> Result<i64, FleetError> {
    let bad = || {
        invalid(format!(
            "{field} {value} is not a time: send Unix seconds (1767225600 or 1767225600.5) or RFC 3339 (2026-01-01T00:00:00Z)"
        ))
    };
    let seconds = match value {
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(seconds) => seconds,
            Err(_) => {
                let at: DateTime<Utc> = text.trim().parse().map_err(|_| bad())?;
                return Ok(at.timestamp_millis());
            }
        },
        _ => return Err(bad()),
    };
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok((seconds * 1000.0).round() as i64)
}

/// Parses a duration: seconds (number or text) or Prometheus units (`500ms`, `30s`, `5m`, `1h`,
/// `1d`, `1w`).
pub fn parse_duration(field: &str, value: &Value) -> Result<i64, FleetError> {
    let bad = || {
        invalid(format!(
            "{field} {value} is not a duration: send seconds (15) or a duration such as 500ms, 30s, 5m, 1h"
        ))
    };
    let millis = match value {
        Value::Number(n) => n.as_f64().map(|s| s * 1000.0).ok_or_else(bad)?,
        Value::String(text) => {
            let text = text.trim();
            if let Ok(seconds) = text.parse::<f64>() {
                seconds * 1000.0
            } else {
                let split = text
                    .find(|c: char| !c.is_ascii_digit() && c != '.')
                    .ok_or_else(bad)?;
                let (number, unit) = text.split_at(split);
                let number: f64 = number.parse().map_err(|_| bad())?;
                let unit_ms = match unit {
                    "ms" => 1.0,
                    "s" => 1_000.0,
                    "m" => 60_000.0,
                    "h" => 3_600_000.0,
                    "d" => 86_400_000.0,
                    "w" => 604_800_000.0,
                    _ => return Err(bad()),
                };
                number * unit_ms
            }
        }
        _ => return Err(bad()),
    };
    if !millis.is_finite() || !(0.0..1e15).contains(&millis) {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(millis.round() as i64)
}

fn cluster_names(value: &Value) -> Result<Vec<String>, FleetError> {
    let bad = || {
        invalid(
            "clusters must be a list of cluster names, or one string of names separated by commas",
        )
    };
    let names: Vec<String> = match value {
        Value::String(text) => text
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        _ => return Err(bad()),
    };
    if names.is_empty() {
        return Err(invalid(
            "clusters is empty: name at least one cluster, or leave it out to ask every available cluster",
        ));
    }
    let mut seen = BTreeSet::new();
    Ok(names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect())
}

impl FederatedInput {
    /// The cluster set only (for label requests, which need no query).
    pub fn targets(&self) -> Result<Targets, FleetError> {
        match (&self.clusters, &self.cluster_selector) {
            (Some(_), Some(_)) => Err(invalid(
                "send either clusters (names) or cluster_selector (labels), not both",
            )),
            (Some(names), None) => Ok(Targets::Named(cluster_names(names)?)),
            (None, Some(selector)) if selector.is_empty() => Err(invalid(
                "cluster_selector is empty: give at least one label, e.g. {\"env\": \"prod\"}",
            )),
            (None, Some(selector)) => Ok(Targets::Selector(selector.clone())),
            (None, None) => Ok(Targets::Available),
        }
    }

    /// The client's timeout, if any.
    pub fn client_timeout(&self) -> Result<Option<Duration>, FleetError> {
        let Some(value) = &self.timeout else {
            return Ok(None);
        };
        let millis = parse_duration("timeout", value)?;
        if millis == 0 {
            return Err(invalid("timeout must be more than 0"));
        }
        Ok(Some(Duration::from_millis(millis.unsigned_abs())))
    }

    /// Validates an instant (`range == false`) or range query; `now_ms` is the default time.
    pub fn validate(&self, range: bool, now_ms: i64) -> Result<FederatedQuery, FleetError> {
        let query = self
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| invalid("query is required: send {\"query\": \"<PromQL>\", ...}"))?;
        let expr =
            pharos_promql_syntax::parse(query, &pharos_promql_syntax::SyntaxLimits::default())
                .map_err(|e| invalid(format!("query is not valid PromQL: {e}")))?;
        if matches!(expr.value_type(), ValueType::Scalar | ValueType::String) {
            return Err(invalid(format!(
                "{} results cannot be federated (one per cluster, without labels to tell them apart); \
                 wrap the query in vector(), e.g. vector({query})",
                expr.value_type()
            )));
        }
        let evaluation = if range {
            if self.time.is_some() {
                return Err(invalid("a range query takes start, end and step, not time"));
            }
            fn field<'v>(name: &str, value: Option<&'v Value>) -> Result<&'v Value, FleetError> {
                value.ok_or_else(|| invalid(format!("{name} is required for a range query")))
            }
            let start_ms = parse_time("start", field("start", self.start.as_ref())?)?;
            let end_ms = parse_time("end", field("end", self.end.as_ref())?)?;
            let step_ms = parse_duration("step", field("step", self.step.as_ref())?)?;
            if end_ms < start_ms {
                return Err(invalid("end is before start"));
            }
            if step_ms <= 0 {
                return Err(invalid("step must be more than 0"));
            }
            let points = (end_ms - start_ms) / step_ms + 1;
            if points > MAX_POINTS {
                return Err(invalid(format!(
                    "{points} points per series exceed the limit of {MAX_POINTS}: use a larger step or a shorter range"
                )));
            }
            Evaluation::Range {
                start_ms,
                end_ms,
                step_ms,
            }
        } else {
            if self.start.is_some() || self.end.is_some() || self.step.is_some() {
                return Err(invalid(
                    "an instant query takes time, not start/end/step: use /api/v1/metrics/query_range",
                ));
            }
            let time_ms = match &self.time {
                Some(time) => parse_time("time", time)?,
                None => now_ms,
            };
            Evaluation::Instant { time_ms }
        };
        let needs_dcgm = metric_names(&expr).is_some_and(|names| {
            !names.is_empty() && names.iter().all(|n| n.starts_with("DCGM_FI_"))
        });
        Ok(FederatedQuery {
            query: query.to_owned(),
            evaluation,
            targets: self.targets()?,
            timeout: self.client_timeout()?,
            needs_dcgm,
        })
    }
}

/// The metric names `expr` reads; `None` when a selector has no exact name (`{job="x"}`,
/// `{__name__=~"..."}`), so nothing can be concluded from names.
pub fn metric_names(expr: &Expr) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    collect_names(expr, &mut names).then_some(names)
}

fn selector_name(selector: &promql_parser::parser::VectorSelector) -> Option<String> {
    selector.name.clone().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, promql_parser::label::MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

/// Depth is bounded by the syntax limits the query was parsed with.
fn collect_names(expr: &Expr, names: &mut BTreeSet<String>) -> bool {
    match expr {
        Expr::Aggregate(aggregate) => {
            collect_names(&aggregate.expr, names)
                && aggregate
                    .param
                    .as_ref()
                    .is_none_or(|param| collect_names(param, names))
        }
        Expr::Unary(unary) => collect_names(&unary.expr, names),
        Expr::Binary(binary) => {
            collect_names(&binary.lhs, names) && collect_names(&binary.rhs, names)
        }
        Expr::Paren(paren) => collect_names(&paren.expr, names),
        Expr::Subquery(subquery) => collect_names(&subquery.expr, names),
        Expr::VectorSelector(selector) => insert_name(selector_name(selector), names),
        Expr::MatrixSelector(matrix) => insert_name(selector_name(&matrix.vs), names),
        Expr::Call(call) => call.args.args.iter().all(|arg| collect_names(arg, names)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::Extension(_) => false,
    }
}

fn insert_name(name: Option<String>, names: &mut BTreeSet<String>) -> bool {
    match name {
        Some(name) => {
            names.insert(name);
            true
        }
        None => false,
    }
}

/// Sets `cluster` on every series of a `vector` or `matrix` `result`; `None` when `data` is
/// not one of those.
pub fn label_series(data: Value, cluster: &str) -> Option<(String, Vec<Value>)> {
    let Value::Object(mut data) = data else {
        return None;
    };
    let result_type = data.get("resultType")?.as_str()?.to_owned();
    if !matches!(result_type.as_str(), "vector" | "matrix") {
        return None;
    }
    let Some(Value::Array(mut series)) = data.remove("result") else {
        return None;
    };
    for one in &mut series {
        let Value::Object(one) = one else {
            return None;
        };
        let metric = one
            .entry("metric")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        let Value::Object(metric) = metric else {
            return None;
        };
        metric.insert(CLUSTER_LABEL.to_owned(), Value::String(cluster.to_owned()));
    }
    Some((result_type, series))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn input(value: Value) -> FederatedInput {
        serde_json::from_value(value).unwrap()
    }

    fn error(value: Value, range: bool) -> String {
        input(value).validate(range, 0).unwrap_err().to_string()
    }

    #[test]
    fn times_and_durations_read_as_prometheus_reads_them() {
        assert_eq!(parse_time("t", &json!(1.5)).unwrap(), 1500);
        assert_eq!(
            parse_time("t", &json!("1767225600")).unwrap(),
            1_767_225_600_000
        );
        assert_eq!(
            parse_time("t", &json!("2026-01-01T00:00:00Z")).unwrap(),
            1_767_225_600_000
        );
        assert!(parse_time("t", &json!("yesterday")).is_err());
        assert_eq!(parse_duration("d", &json!("500ms")).unwrap(), 500);
        assert_eq!(parse_duration("d", &json!("1m")).unwrap(), 60_000);
        assert_eq!(parse_duration("d", &json!(15)).unwrap(), 15_000);
        assert!(parse_duration("d", &json!("5 parsecs")).is_err());
        assert!(parse_duration("d", &json!(-1)).is_err());
    }

    #[test]
    fn bad_requests_name_the_problem() {
        assert!(error(json!({}), false).contains("query is required"));
        assert!(error(json!({"query": "sum(("}), false).contains("not valid PromQL"));
        assert!(error(json!({"query": "1 + 1"}), false).contains("wrap the query in vector()"));
        let range = json!({"query": "up", "start": 10, "end": 5, "step": 1});
        assert!(error(range, true).contains("end is before start"));
        let zero = json!({"query": "up", "start": 0, "end": 5, "step": 0});
        assert!(error(zero, true).contains("step must be more than 0"));
        let many = json!({"query": "up", "start": 0, "end": 100_000, "step": 1});
        assert!(error(many, true).contains("exceed the limit of 11000"));
        let both = json!({"query": "up", "clusters": ["a"], "cluster_selector": {"env": "x"}});
        assert!(error(both, false).contains("not both"));
        assert!(error(json!({"query": "up", "clusters": []}), false).contains("clusters is empty"));
        assert!(
            serde_json::from_value::<FederatedInput>(json!({"query": "up", "cluster": "a"}))
                .is_err()
        );
    }

    #[test]
    fn dcgm_routing_needs_every_metric_to_be_dcgm() {
        let needs = |q: &str| {
            input(json!({"query": q}))
                .validate(false, 0)
                .unwrap()
                .needs_dcgm
        };
        assert!(needs("DCGM_FI_DEV_GPU_UTIL"));
        assert!(needs(
            "avg by (gpu) (rate(DCGM_FI_PROF_X[5m])) > on() group_left DCGM_FI_DEV_GPU_TEMP"
        ));
        assert!(needs("{__name__=\"DCGM_FI_DEV_GPU_UTIL\"}"));
        assert!(!needs("DCGM_FI_DEV_GPU_UTIL / on() group_left up"));
        assert!(!needs("{__name__=~\"DCGM_.*\"}"));
        assert!(!needs("vector(1)"));
    }

    #[test]
    fn every_series_gets_its_cluster() {
        let data = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "cluster": "inner"}, "value": [1, "1"]},
            {"value": [1, "2"]}]});
        let (kind, series) = label_series(data, "east").unwrap();
        assert_eq!(kind, "vector");
        assert_eq!(
            series[0]["metric"],
            json!({"__name__": "up", "cluster": "east"})
        );
        assert_eq!(series[1]["metric"], json!({"cluster": "east"}));
        assert!(label_series(json!({"resultType": "scalar", "result": [1, "1"]}), "x").is_none());
    }
}
