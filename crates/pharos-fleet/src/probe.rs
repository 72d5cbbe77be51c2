//! Talking to one cluster: the health check (`/-/ready` and `vector(1)`) and capability
//! discovery (build info, DCGM, kube-state-metrics, Alertmanager). Every request runs under
//! the check's timeout and reads at most a bounded number of bytes, so a cluster that never
//! answers, drips, or sends 10 MB of HTML costs a bounded time and memory.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use crate::credentials::Connection;
use crate::model::{Capabilities, HealthState, PrometheusCapability};

/// Most bytes read from `/-/ready` (Prometheus answers a short sentence).
const MAX_READY_BYTES: usize = 64 * 1024;

/// What one health check found.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthResult {
    /// The state.
    pub state: HealthState,
    /// Why.
    pub reason: String,
    /// How long the check took.
    pub latency: Duration,
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// Connection refused, reset, DNS, TLS...
    Transport(String),
    /// No complete answer in time.
    Timeout,
    /// The answer was larger than allowed.
    TooLarge(usize),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(why) => f.write_str(why),
            Self::Timeout => f.write_str("no complete answer in time"),
            Self::TooLarge(limit) => write!(f, "the answer is larger than {limit} bytes"),
        }
    }
}

pub(crate) fn endpoint(base: &url::Url, path: &str, query: &[(&str, &str)]) -> url::Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// GET `url` with the cluster's credentials; the status and at most `max_bytes` of body.
pub(crate) async fn fetch(
    conn: &Connection,
    url: url::Url,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(u16, Vec<u8>), Failure> {
    let mut request = conn
        .client
        .get(url)
        .timeout(timeout)
        .header(reqwest::header::ACCEPT, "application/json");
    for (name, value) in &conn.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            Failure::Timeout
        } else {
            Failure::Transport(root_cause(&e))
        }
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(Failure::TooLarge(max_bytes));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(Failure::TooLarge(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A Prometheus API answer, read strictly.
#[derive(Debug)]
enum ApiAnswer {
    /// `{"status": "success", "data": ...}` with a 2xx status.
    Data(Value),
    /// A Prometheus error envelope (the API is there but the call failed).
    Error(String),
    /// Not a Prometheus answer at all (HTML, other JSON...).
    Foreign(String),
}

fn read_api(status: u16, body: &[u8]) -> ApiAnswer {
    let Ok(Value::Object(envelope)) = serde_json::from_slice::<Value>(body) else {
        let text: String = String::from_utf8_lossy(body).chars().take(120).collect();
        return ApiAnswer::Foreign(format!(
            "HTTP {status} without a Prometheus JSON body: {}",
            text.trim()
        ));
    };
    match envelope.get("status").and_then(Value::as_str) {
        Some("success") if (200..300).contains(&status) => {
            ApiAnswer::Data(envelope.get("data").cloned().unwrap_or(Value::Null))
        }
        Some("error") => ApiAnswer::Error(format!(
            "HTTP {status}, {}: {}",
            envelope
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("error"),
            envelope
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no message")
        )),
        _ => ApiAnswer::Foreign(format!(
            "HTTP {status} with JSON that is not a Prometheus answer"
        )),
    }
}

async fn api_get(
    conn: &Connection,
    path: &str,
    query: &[(&str, &str)],
    timeout: Duration,
    max_bytes: usize,
) -> Result<ApiAnswer, Failure> {
    let (status, body) = fetch(
        conn,
        endpoint(&conn.prometheus, path, query),
        timeout,
        max_bytes,
    )
    .await?;
    Ok(read_api(status, &body))
}

/// Checks one cluster: `/-/ready` and `vector(1)` in parallel, both within `timeout`.
///
/// * `healthy`: ready answers 2xx and the query succeeds within half the timeout;
/// * `degraded`: both answer but slowly (over half the timeout), or one of them fails while
///   the other works (not ready, or a Prometheus error for the query);
/// * `unreachable`: no connection, no answer in time, or an answer that is not Prometheus'
///   (HTML, foreign JSON, more than `max_bytes`).
pub async fn check_health(conn: &Connection, timeout: Duration, max_bytes: usize) -> HealthResult {
    if let Some(scope) = &conn.embedded {
        return scope.check_health(timeout).await;
    }
    let started = Instant::now();
    let ready_url = endpoint(&conn.prometheus, "/-/ready", &[]);
    let checks = async {
        tokio::join!(
            fetch(conn, ready_url, timeout, MAX_READY_BYTES),
            api_get(
                conn,
                "/api/v1/query",
                &[("query", "vector(1)")],
                timeout,
                max_bytes
            ),
        )
    };
    let Ok((ready, query)) = tokio::time::timeout(timeout, checks).await else {
        return HealthResult {
            state: HealthState::Unreachable,
            reason: format!(
                "no complete answer within the {} s timeout",
                timeout.as_secs_f64()
            ),
            latency: started.elapsed(),
        };
    };
    let latency = started.elapsed();
    let (state, reason) = classify(&ready, &query, latency, timeout);
    HealthResult {
        state,
        reason,
        latency,
    }
}

fn classify(
    ready: &Result<(u16, Vec<u8>), Failure>,
    query: &Result<ApiAnswer, Failure>,
    latency: Duration,
    timeout: Duration,
) -> (HealthState, String) {
    use HealthState::{Degraded, Healthy, Unreachable};
    let ready_ok = matches!(ready, Ok((status, _)) if (200..300).contains(status));
    let ready_problem = match ready {
        Ok((status, _)) if (200..300).contains(status) => String::new(),
        Ok((status, _)) => format!("/-/ready answered HTTP {status}"),
        Err(failure) => format!("/-/ready: {failure}"),
    };
    match query {
        Err(Failure::TooLarge(_)) | Ok(ApiAnswer::Foreign(_)) => {
            let what = match query {
                Ok(ApiAnswer::Foreign(why)) => why.clone(),
                Err(failure) => failure.to_string(),
                Ok(_) => String::new(),
            };
            (
                Unreachable,
                format!("not a Prometheus API: the query answered {what}"),
            )
        }
        Err(failure) if !ready_ok => (
            Unreachable,
            format!("cannot reach the Prometheus API: query: {failure}; {ready_problem}"),
        ),
        Err(failure) => (Degraded, format!("ready, but the query failed: {failure}")),
        Ok(ApiAnswer::Error(why)) => (Degraded, format!("the query failed: {why}")),
        Ok(ApiAnswer::Data(_)) if !ready_ok => {
            (Degraded, format!("queries work but {ready_problem}"))
        }
        Ok(ApiAnswer::Data(_)) if latency > timeout / 2 => (
            Degraded,
            format!(
                "slow: answered in {} ms, more than half the {} ms timeout",
                latency.as_millis(),
                timeout.as_millis()
            ),
        ),
        Ok(ApiAnswer::Data(_)) => (Healthy, "ready and answering queries".to_owned()),
    }
}

/// The value of a one-sample instant vector (`count(...)`); `None` for an empty result.
fn scalar_of(data: &Value) -> Option<f64> {
    data.get("result")?
        .as_array()?
        .first()?
        .get("value")?
        .get(1)?
        .as_str()?
        .parse()
        .ok()
}

async fn count_of(
    conn: &Connection,
    query: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Option<f64> {
    match api_get(
        conn,
        "/api/v1/query",
        &[("query", query)],
        timeout,
        max_bytes,
    )
    .await
    {
        Ok(ApiAnswer::Data(data)) => scalar_of(&data),
        _ => None,
    }
}

async fn alertmanager_answers(conn: &Connection, timeout: Duration) -> bool {
    let Some(base) = &conn.alertmanager else {
        return false;
    };
    match fetch(
        conn,
        endpoint(base, "/api/v2/status", &[]),
        timeout,
        MAX_READY_BYTES,
    )
    .await
    {
        Ok((status, body)) => {
            (200..300).contains(&status)
                && matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_)))
        }
        Err(_) => false,
    }
}

/// Finds what a cluster can answer, all within `timeout`. Whatever did not answer in time
/// counts as absent.
pub async fn discover(conn: &Connection, timeout: Duration, max_bytes: usize) -> Capabilities {
    if let Some(scope) = &conn.embedded {
        let mut found = scope.discover(timeout).await;
        found.alertmanager = alertmanager_answers(conn, timeout).await;
        return found;
    }
    let work = async {
        tokio::join!(
            api_get(conn, "/api/v1/status/buildinfo", &[], timeout, max_bytes),
            api_get(
                conn,
                "/api/v1/query",
                &[("query", "vector(1)")],
                timeout,
                max_bytes
            ),
            count_of(conn, "count(DCGM_FI_DEV_GPU_UTIL)", timeout, max_bytes),
            count_of(conn, "count(kube_pod_info)", timeout, max_bytes),
            alertmanager_answers(conn, timeout),
        )
    };
    let mut found = Capabilities {
        discovered_at: Some(Utc::now()),
        ..Capabilities::default()
    };
    let Ok((build, query, gpus, pods, alertmanager)) = tokio::time::timeout(timeout, work).await
    else {
        return found;
    };
    let version = match &build {
        Ok(ApiAnswer::Data(data)) => data
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    found.prometheus = PrometheusCapability {
        reachable: matches!(build, Ok(ApiAnswer::Data(_)))
            || matches!(query, Ok(ApiAnswer::Data(_))),
        version,
    };
    let gpus = gpus.filter(|n| *n > 0.0);
    found.dcgm = gpus.is_some();
    // A count of series is a small whole number; anything else is not a GPU count.
    found.gpu_count = gpus.map(|n| n.round().clamp(0.0, 1e9) as u64);
    found.kube_state_metrics = pods.is_some_and(|n| n > 0.0);
    found.alertmanager = alertmanager;
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: Duration = Duration::from_secs(4);

    fn ok_ready() -> Result<(u16, Vec<u8>), Failure> {
        Ok((200, b"Prometheus Server is Ready.".to_vec()))
    }

    #[test]
    fn classification_follows_the_documented_rules() {
        let data = || Ok(ApiAnswer::Data(json!({})));
        let fast = Duration::from_millis(10);
        assert_eq!(
            classify(&ok_ready(), &data(), fast, T).0,
            HealthState::Healthy
        );
        assert_eq!(
            classify(&ok_ready(), &data(), Duration::from_secs(3), T).0,
            HealthState::Degraded
        );
        assert_eq!(
            classify(&Ok((503, vec![])), &data(), fast, T).0,
            HealthState::Degraded
        );
        assert_eq!(
            classify(&ok_ready(), &Ok(ApiAnswer::Error("bad".into())), fast, T).0,
            HealthState::Degraded
        );
        let html = Ok(ApiAnswer::Foreign("HTTP 200 <html>".into()));
        assert_eq!(
            classify(&ok_ready(), &html, fast, T).0,
            HealthState::Unreachable
        );
        let (state, reason) = classify(
            &Err(Failure::Transport("connection refused".into())),
            &Err(Failure::Transport("connection refused".into())),
            fast,
            T,
        );
        assert_eq!(state, HealthState::Unreachable);
        assert!(reason.contains("connection refused"), "{reason}");
        assert_eq!(
            classify(&ok_ready(), &Err(Failure::TooLarge(10)), fast, T).0,
            HealthState::Unreachable
        );
    }

    #[test]
    fn foreign_bodies_are_not_prometheus() {
        assert!(matches!(
            read_api(200, b"<html>hi</html>"),
            ApiAnswer::Foreign(_)
        ));
        assert!(matches!(
            read_api(200, br#"{"hello": 1}"#),
            ApiAnswer::Foreign(_)
        ));
        assert!(matches!(
            read_api(
                400,
                br#"{"status":"error","errorType":"bad_data","error":"x"}"#
            ),
            ApiAnswer::Error(_)
        ));
        assert!(matches!(
            read_api(
                200,
                br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
            ),
            ApiAnswer::Data(_)
        ));
    }

    #[test]
    fn counts_come_from_the_first_sample() {
        let data = json!({"resultType": "vector", "result": [{"metric": {}, "value": [1, "8"]}]});
        assert_eq!(scalar_of(&data), Some(8.0));
        assert_eq!(
            scalar_of(&json!({"resultType": "vector", "result": []})),
            None
        );
    }

    #[test]
    fn endpoints_keep_the_base_path() {
        let base = url::Url::parse("http://thanos/prometheus/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            endpoint(&base, "/api/v1/query", &[("query", "vector(1)")]).as_str(),
            "http://thanos/prometheus/api/v1/query?query=vector%281%29"
        );
    }
}
