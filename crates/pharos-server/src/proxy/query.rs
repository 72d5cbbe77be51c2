//! PromQL queries through a Prometheus datasource go through the query layer instead of being
//! streamed through: `/api/v1/query` and `/api/v1/query_range` (GET or form POST), once tenant
//! enforcement has rewritten them, are answered by the datasource's [`MetricsBackend`] behind
//! the shared result cache — the embedded store in process for the `local` datasource (no
//! loopback HTTP hop), a remote Prometheus over HTTP otherwise. Range queries get their step
//! planned and their range aligned; answers say where they came from in `X-Pharos-Cache`.

use std::sync::Arc;

use axum::{
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_query::{
    BackendError, Cached, InstantQuery, LocalBackend, MetricsBackend, PrometheusHttp, QueryAnswer,
    RangeQuery, Served, plan_range,
};
use serde_json::json;

use super::{forward::Outgoing, target::ProxyTarget};
use crate::{
    prom_api::{PromError, PromParams, now_ms, range_params},
    state::AppState,
};

/// The answer header saying where an answer came from: `miss`, `hit` or `stale`.
pub const CACHE_HEADER: &str = "x-pharos-cache";

/// What a request asks the query layer.
#[derive(Debug)]
pub(super) enum Question {
    Instant(InstantQuery),
    Range(RangeQuery),
}

/// The question `request` asks, when it is a PromQL query to a Prometheus datasource;
/// `Err` holds the Prometheus error answer for unusable parameters.
pub(super) fn question(
    target: &ProxyTarget,
    request: &Outgoing,
) -> Option<Result<Question, Response>> {
    let range = match request.sub_path.trim_end_matches('/') {
        "/api/v1/query" => false,
        "/api/v1/query_range" => true,
        _ => return None,
    };
    if target.plugin_kind != "PrometheusDatasource" {
        return None;
    }
    let is_form = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let mut pairs: Vec<(String, String)> = Vec::new();
    match request.method {
        Method::GET => {}
        Method::POST if is_form || request.body.is_empty() => {
            pairs.extend(url::form_urlencoded::parse(&request.body).into_owned());
        }
        // Anything else goes to the upstream as it is, which answers as it would.
        _ => return None,
    }
    let query_string = request.query.as_deref().unwrap_or_default();
    pairs.extend(url::form_urlencoded::parse(query_string.as_bytes()).into_owned());
    let params = PromParams::from_pairs(pairs);
    Some(parse(&params, range).map_err(IntoResponse::into_response))
}

fn parse(params: &PromParams, range: bool) -> Result<Question, PromError> {
    let query = params.required("query")?.to_owned();
    let timeout = params.duration("timeout")?;
    if range {
        let (start_ms, end_ms, step_ms) = range_params(params)?;
        return Ok(Question::Range(RangeQuery {
            query,
            start_ms,
            end_ms,
            step_ms,
            timeout,
        }));
    }
    Ok(Question::Instant(InstantQuery {
        query,
        time_ms: params.time_or("time", now_ms())?,
        timeout,
    }))
}

/// The backend of `target`: the embedded store when the datasource points at this server,
/// else its URL over HTTP with its headers and credentials.
fn backend_of(state: &AppState, target: &ProxyTarget) -> (Arc<dyn MetricsBackend>, String) {
    if let Some(metrics) = embedded_of(state, target) {
        return (Arc::new(LocalBackend::new(metrics)), "embedded".to_owned());
    }
    let (backend, identity) = remote_of(state, target);
    (Arc::new(backend), identity)
}

/// The embedded store, when `target` is this server's own `local` datasource.
pub(super) fn embedded_of(
    state: &AppState,
    target: &ProxyTarget,
) -> Option<Arc<pharos_query::LocalMetrics>> {
    let metrics = state.metrics.as_ref()?;
    state
        .identity
        .internal_header_for(target.http.url.as_str())
        .map(|_| Arc::clone(metrics))
}

/// `target` as a remote Prometheus API, and an identity for cache keys: two datasources with
/// the same URL but other credentials must not share answers.
pub(super) fn remote_of(state: &AppState, target: &ProxyTarget) -> (PrometheusHttp, String) {
    let mut headers: Vec<(String, String)> = target
        .http
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("authorization"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(authorization) = &target.authorization {
        headers.push(("authorization".to_owned(), authorization.clone()));
    }
    let identity = pharos_auth::opaque::digest(&format!(
        "{}\n{}",
        target.http.url,
        headers
            .iter()
            .map(|(n, v)| format!("{n}:{v}"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    let backend = PrometheusHttp::new(
        state.http_client.clone(),
        target.http.url.clone(),
        headers,
        state.settings.proxy.timeout,
        target.label.clone(),
    );
    (backend, identity)
}

/// Answers `question` through the query layer, as the Prometheus API would.
pub(super) async fn answer(
    state: &AppState,
    target: &ProxyTarget,
    question: Question,
    bypass_cache: bool,
) -> Response {
    match ask(state, target, question, bypass_cache).await {
        Ok(answer) => success(&answer),
        Err(error) => failure(target, &error),
    }
}

/// Asks the query layer: step planning, the cache (unless bypassed) and the series cap.
pub(super) async fn ask(
    state: &AppState,
    target: &ProxyTarget,
    question: Question,
    bypass_cache: bool,
) -> Result<QueryAnswer, BackendError> {
    let layer = &state.settings.query_layer;
    let (inner, source) = backend_of(state, target);
    let backend: Arc<dyn MetricsBackend> = if layer.cache && !bypass_cache {
        Arc::new(Cached::new(inner, Arc::clone(&state.query_cache), source))
    } else {
        inner
    };
    match question {
        Question::Instant(query) => backend.instant(&query).await,
        Question::Range(query) => {
            let (planned, info) = plan_range(&query, layer.max_points_per_series);
            let mut outcome = backend.range(&planned).await;
            if let (Ok(answer), Some(info)) = (&mut outcome, info) {
                answer.infos.push(info);
            }
            outcome.and_then(|answer| within_series_cap(answer, layer.max_series))
        }
    }
}

fn within_series_cap(answer: QueryAnswer, cap: usize) -> Result<QueryAnswer, BackendError> {
    let series = answer.series_count();
    if series <= cap {
        return Ok(answer);
    }
    metrics::counter!("pharos_refusals_total", "reason" => "query_too_many_series").increment(1);
    Err(BackendError::Refused {
        error_type: "execution".to_owned(),
        message: format!(
            "the query returned {series} series, more than a chart can show (query_layer.max_series: {cap}); aggregate it (for example sum by (namespace) (...)) or narrow its selector"
        ),
        status: 422,
    })
}

/// `miss`, `hit` or `stale`.
pub(crate) fn cache_word(served: Served) -> &'static str {
    match served {
        Served::Backend => "miss",
        Served::Cache => "hit",
        Served::Stale { .. } => "stale",
    }
}

fn success(answer: &QueryAnswer) -> Response {
    let cache = cache_word(answer.served);
    metrics::counter!("pharos_query_layer_answers_total", "cache" => cache).increment(1);
    let body = answer.envelope_bytes();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static(CACHE_HEADER),
                HeaderValue::from_static(cache),
            ),
        ],
        body,
    )
        .into_response()
}

fn failure(target: &ProxyTarget, error: &BackendError) -> Response {
    if error.is_outage() {
        let reason = match error {
            BackendError::Timeout(_) => "timeout",
            _ => "connect",
        };
        metrics::counter!("pharos_proxy_upstream_errors_total", "reason" => reason).increment(1);
    }
    let message = match error {
        BackendError::Refused { .. } => error.to_string(),
        _ => format!("{error}"),
    };
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = (
        status,
        axum::Json(json!({"status": "error", "errorType": error.error_type(), "error": message})),
    )
        .into_response();
    if let BackendError::Overloaded { retry_after, .. } = error
        && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    tracing::debug!(datasource = %target.label, %status, "query layer error: {message}");
    response
}
