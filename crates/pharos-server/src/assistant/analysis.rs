//! Deterministic analysis over HTTP, no model involved: `POST /api/v1/analysis/anomaly` (a
//! query's series over a window → anomalies) and `POST /api/v1/analysis/rca` (the watch list's
//! anomalies and the fleet's alerts → ranked suspects with evidence, as JSON or a Markdown
//! report). Both read metrics through [`CallerMetrics`], so a user analyses exactly what they
//! may query. The background detector scans the watch list on the embedded store and
//! publishes `ANOMALY_DETECTED` on the fleet's event bus (topic `anomalies`).

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use pharos_analysis::{
    AlertInput, AnalysisError, DetectOptions, Detector, DetectorOptions, RcaOptions, detect_query,
    explain as root_causes,
};
use pharos_assistant::tools::ToolError;
use pharos_fleet::{AlertFilter, EventType, FleetEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::metrics::CallerMetrics;
use super::tools::time::window;
use crate::fleet::CallerAccess;
use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

/// `POST /api/v1/analysis/anomaly`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnomalyRequest {
    query: String,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
    #[serde(default)]
    step: Option<Value>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<String>>,
}

/// `POST /api/v1/analysis/rca`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RcaRequest {
    #[serde(default)]
    start: Option<Value>,
    #[serde(default)]
    end: Option<Value>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// A time or duration field as text (numbers are Unix seconds / seconds).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn bad(error: ToolError) -> ApiError {
    ApiError::BadRequest(match error {
        ToolError::InvalidArguments(message) => message,
        other => other.to_string(),
    })
}

fn from_analysis(error: AnalysisError) -> ApiError {
    let message = error.to_string();
    match error {
        AnalysisError::Backend { status: 403, .. } => ApiError::Forbidden(message),
        AnalysisError::Backend { status, .. } if !(400..500).contains(&status) => {
            ApiError::Unavailable(message)
        }
        _ => ApiError::BadRequest(message),
    }
}

/// Anomalies of one query over a window, as `caller` may read it.
pub(crate) async fn detect(state: &AppState, caller: &Caller, body: Value) -> ApiResult<Value> {
    let request: AnomalyRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not an anomaly request ({e}); send {{\"query\": \"<PromQL>\", \"start\": \"now-6h\", \
             \"end\"?: \"now\", \"step\"?: \"60s\", \"project\"?: \"...\"}}"
        ))
    })?;
    let now = pharos_query::now_ms();
    let w = window(
        text(request.start.as_ref()).as_deref(),
        text(request.end.as_ref()).as_deref(),
        text(request.step.as_ref()).as_deref().or(Some("60s")),
        6 * 3_600_000,
        now,
    )
    .map_err(bad)?;
    let backend = CallerMetrics::new(
        state.clone(),
        caller.clone(),
        request.project,
        request.clusters,
    );
    let report = detect_query(
        &backend,
        &request.query,
        w.start_ms,
        w.end_ms,
        Some(w.step_ms),
        &[],
        &DetectOptions::default(),
    )
    .await
    .map_err(from_analysis)?;
    serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The fleet's alerts as RCA reads them (none when the caller may not read the fleet).
fn alerts(state: &AppState, caller: &Caller) -> Vec<AlertInput> {
    let Ok(filter) = AlertFilter::from_pairs(std::iter::empty()) else {
        return Vec::new();
    };
    let Ok(listed) = state.fleet.alerts(&CallerAccess(caller), &filter) else {
        return Vec::new();
    };
    let time = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    listed["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|alert| {
            let mut labels: std::collections::BTreeMap<String, String> =
                serde_json::from_value(alert["labels"].clone()).ok()?;
            if let Some(cluster) = alert["cluster"].as_str() {
                labels
                    .entry("cluster".to_owned())
                    .or_insert_with(|| cluster.to_owned());
            }
            Some(AlertInput {
                labels,
                state: alert["state"].as_str().unwrap_or("firing").to_owned(),
                starts_at: time(&alert["starts_at"]).or_else(|| time(&alert["first_seen"]))?,
                ends_at: time(&alert["ends_at"]),
            })
        })
        .collect()
}

/// Root causes over a window, as `caller` may read it.
pub(crate) async fn explain_window(
    state: &AppState,
    caller: &Caller,
    body: Value,
) -> ApiResult<(Value, String)> {
    let request: RcaRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not an RCA request ({e}); send {{\"start\"?: \"now-1h\", \"end\"?: \"now\", \
             \"project\"?: \"...\", \"format\"?: \"json\"|\"markdown\"}}"
        ))
    })?;
    if let Some(format) = &request.format
        && format != "json"
        && format != "markdown"
    {
        return Err(ApiError::bad_request(format!(
            "format \"{format}\" is not json or markdown"
        )));
    }
    let now = pharos_query::now_ms();
    let w = window(
        text(request.start.as_ref()).as_deref(),
        text(request.end.as_ref()).as_deref(),
        Some("60s"),
        3_600_000,
        now,
    )
    .map_err(bad)?;
    if w.end_ms - w.start_ms > 7 * 86_400_000 {
        return Err(ApiError::bad_request(
            "root-cause analysis looks at most 7 days at once: narrow start/end",
        ));
    }
    let backend = CallerMetrics::new(state.clone(), caller.clone(), request.project, None);
    let report = root_causes(
        &backend,
        &state.settings.assistant.detector.watch_list(),
        &alerts(state, caller),
        w.start_ms,
        w.end_ms,
        &RcaOptions::default(),
    )
    .await
    .map_err(from_analysis)?;
    let markdown = report.markdown();
    let mut json = serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
    json["report_markdown"] = json!(markdown);
    Ok((json, markdown))
}

/// Root causes over a window as JSON (for the `explain_incident` tool).
pub(crate) async fn explain(state: &AppState, caller: &Caller, body: Value) -> ApiResult<Value> {
    Ok(explain_window(state, caller, body).await?.0)
}

pub(super) async fn anomaly(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    Ok(Json(detect(&state, &caller, body).await?).into_response())
}

pub(super) async fn rca(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let markdown = body["format"] == "markdown";
    let (json, report) = explain_window(&state, &caller, body).await?;
    if markdown {
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            report,
        )
            .into_response());
    }
    Ok(Json(json).into_response())
}

/// Starts the background detector over the embedded store, when enabled: every
/// `assistant.detector.interval` it scans the watch list and publishes each new anomaly as
/// `ANOMALY_DETECTED` to this replica's subscribers (each replica scans its own data, so the
/// event is not relayed to the others).
/// It starts once `ready` is true (after the demo's history and the Loki backfills, whose
/// writes would otherwise look like level shifts).
pub fn spawn_detector(
    state: AppState,
    mut ready: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let settings = state.settings.assistant.detector.clone();
    let metrics = state.metrics.clone()?;
    if !settings.enabled {
        return None;
    }
    Some(tokio::spawn(async move {
        if ready.wait_for(|open| *open).await.is_err() {
            return;
        }
        let backend = pharos_query::LocalBackend::new(metrics);
        let mut detector = Detector::new(settings.watch_list(), DetectorOptions::default());
        let mut ticker = tokio::time::interval(settings.interval.max(Duration::from_secs(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let found = match detector.scan(&backend, pharos_query::now_ms()).await {
                Ok(found) => found,
                Err(error) => {
                    tracing::warn!(%error, "anomaly detector scan failed");
                    continue;
                }
            };
            ::metrics::counter!("pharos_anomalies_detected_total").increment(found.len() as u64);
            for anomaly in found {
                let cluster = anomaly
                    .labels
                    .get("cluster")
                    .cloned()
                    .unwrap_or_else(|| "local".to_owned());
                let data = serde_json::to_value(&anomaly).unwrap_or(Value::Null);
                state.fleet.bus().publish_local(FleetEvent::now(
                    EventType::AnomalyDetected,
                    cluster,
                    data,
                ));
            }
        }
    }))
}
