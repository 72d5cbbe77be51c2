//! Live dashboards: `GET /api/v1/projects/{p}/dashboards/{d}/stream` keeps a Server-Sent
//! Events connection open and pushes every panel query's latest window at each refresh tick.
//!
//! Ticks are aligned to the wall clock (multiples of the refresh interval), so every viewer of a
//! dashboard asks the query layer the same question at the same moment: the result cache
//! coalesces them, and N viewers cost the backend one query per panel query and interval
//! (shared polling). Queries go through the same datasource resolution, tenant enforcement,
//! step planning and stale fallback as the proxy. Streams per user and per client address are
//! bounded (429 beyond).

mod alerts;
mod breaches;
mod queries;
mod render;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Extension, Router,
    extract::{Path, RawQuery, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use pharos_query::now_ms;
use queries::{LiveQuery, Prepared};
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    identity::{Caller, layer::ClientAddress},
    proxy,
    state::AppState,
};

/// The live routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/projects/{project}/dashboards/{dashboard}/stream",
            get(stream),
        )
        .route("/api/v1/dashboards/{dashboard}/stream", get(stream_by_name))
        .route(
            "/api/v1/projects/{project}/dashboards/{dashboard}/alerts",
            get(alerts::overlays),
        )
}

/// The longest live window.
const MAX_RANGE_MS: i64 = 30 * 86_400_000;
/// The longest refresh interval.
const MAX_REFRESH_MS: i64 = 3_600_000;

/// Open streams per user and per client address.
#[derive(Debug, Default)]
pub struct LiveStreams {
    open: Mutex<HashMap<String, usize>>,
}

/// Holds a stream's places in [`LiveStreams`] until the connection ends.
struct StreamGuard {
    streams: Arc<LiveStreams>,
    keys: Vec<String>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.open.lock() {
            for key in &self.keys {
                if let Some(count) = open.get_mut(key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        open.remove(key);
                    }
                }
            }
        }
    }
}

impl LiveStreams {
    /// Takes a place for `user` and `address`, or says which limit is reached.
    fn open(self: &Arc<Self>, limits: &[(String, usize, &'static str)]) -> ApiResult<StreamGuard> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| ApiError::Internal("live stream counter poisoned".to_owned()))?;
        for (key, limit, setting) in limits {
            if open.get(key).copied().unwrap_or(0) >= *limit {
                metrics::counter!("pharos_refusals_total", "reason" => "live_streams").increment(1);
                return Err(ApiError::TooManyRequests {
                    message: format!(
                        "{limit} live streams are already open ({setting}); close a dashboard tab or use its refresh interval instead"
                    ),
                    retry_after: 15,
                });
            }
        }
        for (key, _, _) in limits {
            *open.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(StreamGuard {
            streams: Arc::clone(self),
            keys: limits.iter().map(|(k, _, _)| k.clone()).collect(),
        })
    }
}

/// The stream's parameters.
#[derive(Debug)]
pub(super) struct StreamParams {
    pub(super) range_ms: Option<i64>,
    pub(super) refresh_ms: i64,
    pub(super) values: render::Values,
}

pub(super) fn parse_params(raw: Option<&str>, min_refresh_ms: i64) -> ApiResult<StreamParams> {
    let mut params = StreamParams {
        range_ms: None,
        refresh_ms: 15_000,
        values: BTreeMap::new(),
    };
    let duration = |key: &str, text: &str| {
        pharos_model::parse_duration(text)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{key}={text:?} is not a duration like 15s, 5m or 1h"
                ))
            })
    };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "range" => {
                let ms = duration("range", &value)?;
                if ms > MAX_RANGE_MS {
                    return Err(ApiError::bad_request(format!(
                        "range={value} is longer than a live window may be (30d); open the dashboard without live mode"
                    )));
                }
                params.range_ms = Some(ms);
            }
            "refresh" => {
                let ms = duration("refresh", &value)?;
                if !(min_refresh_ms..=MAX_REFRESH_MS).contains(&ms) {
                    return Err(ApiError::bad_request(format!(
                        "refresh={value} must be between {}s (query_layer.stream_min_refresh) and 1h",
                        min_refresh_ms / 1000
                    )));
                }
                params.refresh_ms = ms;
            }
            name if name.starts_with("var-") && name.len() > 4 => {
                params
                    .values
                    .entry(name[4..].to_owned())
                    .or_default()
                    .push(value.into_owned());
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown stream parameter {other:?}; use range, refresh and var-<name>"
                )));
            }
        }
    }
    Ok(params)
}

async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Extension(ClientAddress(client)): Extension<ClientAddress>,
    Path((project, dashboard)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    open_stream(state, caller, client, project, dashboard, raw).await
}

/// The seed's project-less form, `/api/v1/dashboards/{id}/stream`: the dashboard of that name
/// in the one project the caller can read that has it. A name found in several projects is
/// ambiguous (409, naming them); none is 404, as for a dashboard the caller may not read.
async fn stream_by_name(
    State(state): State<AppState>,
    caller: Caller,
    Extension(ClientAddress(client)): Extension<ClientAddress>,
    Path(dashboard): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = crate::resources::ListParams {
        name: Some(dashboard.clone()),
        metadata_only: true,
        ..Default::default()
    };
    let listed = state
        .resources
        .list(&caller, pharos_model::Kind::Dashboard, None, &params)
        .await?;
    let mut projects: Vec<String> = listed
        .iter()
        .filter(|d| d.pointer("/metadata/name").and_then(Value::as_str) == Some(dashboard.as_str()))
        .filter_map(|d| d.pointer("/metadata/project").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    projects.sort();
    projects.dedup();
    match projects.as_slice() {
        [] => Err(ApiError::NotFound),
        [project] => {
            let project = project.clone();
            open_stream(state, caller, client, project, dashboard, raw).await
        }
        several => Err(ApiError::Conflict(format!(
            "dashboard {dashboard:?} exists in projects {}; use /api/v1/projects/{{project}}/dashboards/{dashboard}/stream",
            several.join(", ")
        ))),
    }
}

async fn open_stream(
    state: AppState,
    caller: Caller,
    client: String,
    project: String,
    dashboard: String,
    raw: Option<String>,
) -> ApiResult<Response> {
    let layer = &state.settings.query_layer;
    let min_refresh_ms = i64::try_from(layer.stream_min_refresh.as_millis()).unwrap_or(5_000);
    let params = parse_params(raw.as_deref(), min_refresh_ms)?;
    let Prepared {
        queries,
        range_ms,
        step_ms,
    } = queries::prepare(&state, &caller, &project, &dashboard, &params).await?;
    let mut limits = vec![(
        format!("address\u{0}{client}"),
        layer.max_streams_per_address,
        "query_layer.max_streams_per_address",
    )];
    if caller.is_signed_in() {
        limits.push((
            format!("user\u{0}{}", caller.name()),
            layer.max_streams_per_user,
            "query_layer.max_streams_per_user",
        ));
    }
    let guard = state.live.open(&limits)?;
    metrics::gauge!("pharos_live_streams").increment(1.0);
    let hello = json!({
        "project": project,
        "dashboard": dashboard,
        "range_ms": range_ms,
        "step_ms": step_ms,
        "refresh_ms": params.refresh_ms,
        "queries": queries.iter().map(|q| json!({
            "panel": q.panel,
            "index": q.index,
            "query": q.query.as_ref().ok(),
            "error": q.query.as_ref().err(),
        })).collect::<Vec<_>>(),
    });
    let session = Session {
        state: state.clone(),
        queries: Arc::new(queries),
        range_ms,
        step_ms,
        refresh_ms: params.refresh_ms,
        next_tick: None,
        pending: VecDeque::from([Event::default().event("hello").data(hello.to_string())]),
        _guard: guard,
    };
    let events = futures::stream::unfold(session, |mut session| async move {
        loop {
            if let Some(event) = session.pending.pop_front() {
                return Some((Ok::<_, Infallible>(event), session));
            }
            session.tick().await;
        }
    });
    Ok(Sse::new(state.drain.event_stream(events))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// One open stream.
struct Session {
    state: AppState,
    queries: Arc<Vec<LiveQuery>>,
    range_ms: i64,
    step_ms: i64,
    refresh_ms: i64,
    /// The next tick; `None` before the first (which runs at once).
    next_tick: Option<i64>,
    pending: VecDeque<Event>,
    _guard: StreamGuard,
}

impl Drop for Session {
    fn drop(&mut self) {
        metrics::gauge!("pharos_live_streams").decrement(1.0);
    }
}

impl Session {
    /// Waits for the next tick and queues one event per query.
    async fn tick(&mut self) {
        let now = now_ms();
        let at = match self.next_tick {
            None => now,
            Some(tick) => {
                if tick > now {
                    let wait = u64::try_from(tick - now).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                tick
            }
        };
        self.next_tick = Some((at.div_euclid(self.refresh_ms) + 1) * self.refresh_ms);
        // The window ends at the tick boundary, so every viewer asks the same question.
        let end = at.div_euclid(self.refresh_ms) * self.refresh_ms;
        let asks = self.queries.iter().map(|live| {
            let state = self.state.clone();
            let (range_ms, step_ms) = (self.range_ms, self.step_ms);
            async move {
                let outcome = live.run(&state, end, range_ms, step_ms).await;
                let mut event = json!({"panel": live.panel, "index": live.index, "at": end});
                match outcome {
                    Ok(answer) => {
                        event["status"] = json!("success");
                        event["cache"] = json!(proxy::cache_word(answer.served));
                        event["data"] = answer.data.to_value();
                        event["warnings"] = json!(answer.warnings);
                        event["infos"] = json!(answer.infos);
                    }
                    Err((error_type, error)) => {
                        event["status"] = json!("error");
                        event["errorType"] = json!(error_type);
                        event["error"] = json!(error);
                    }
                }
                event
            }
        });
        for event in futures::future::join_all(asks).await {
            self.pending.push_back(
                Event::default()
                    .event("data")
                    .id(end.to_string())
                    .data(event.to_string()),
            );
        }
        if self.queries.is_empty() {
            self.pending.push_back(
                Event::default()
                    .event("tick")
                    .id(end.to_string())
                    .data("{}"),
            );
        }
    }
}

/// One answer of a dashboard's panel query for [`panel_answers`].
pub(crate) struct PanelAnswer {
    /// The panel's key.
    pub(crate) panel: String,
    /// The query's index in the panel.
    pub(crate) index: usize,
    /// The query as run (variables filled in), or why it could not be.
    pub(crate) query: Result<String, String>,
    /// Its answer, or why there is none.
    pub(crate) answer: Result<pharos_query::QueryAnswer, String>,
}

/// The Prometheus queries of `dashboard`'s panels (only `panel` when given) over the last
/// `range_ms`, run as a live viewer's are — the caller's read on the dashboard and its
/// datasources checked, variables from `values` (or the dashboard's defaults), tenant
/// enforcement in the proxy — for the assistant's `get_panel_data`.
pub(crate) async fn panel_answers(
    state: &AppState,
    caller: &Caller,
    project: &str,
    dashboard: &str,
    panel: Option<&str>,
    range_ms: i64,
    values: render::Values,
) -> ApiResult<Vec<PanelAnswer>> {
    let params = StreamParams {
        range_ms: Some(range_ms.min(MAX_RANGE_MS)),
        refresh_ms: 15_000,
        values,
    };
    let prepared = queries::prepare(state, caller, project, dashboard, &params).await?;
    let end = now_ms();
    let wanted = prepared
        .queries
        .into_iter()
        .filter(|q| panel.is_none_or(|p| p == q.panel));
    let asks = wanted.map(|live| {
        let state = state.clone();
        let (range_ms, step_ms) = (prepared.range_ms, prepared.step_ms);
        async move {
            let answer = live
                .run(&state, end, range_ms, step_ms)
                .await
                .map_err(|(_, message)| message);
            PanelAnswer {
                panel: live.panel,
                index: live.index,
                query: live.query,
                answer,
            }
        }
    });
    Ok(futures::future::join_all(asks).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_with_messages() {
        let ok = parse_params(Some("range=6h&refresh=30s&var-ns=a&var-ns=b"), 5_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.range_ms, Some(21_600_000));
        assert_eq!(ok.refresh_ms, 30_000);
        assert_eq!(ok.values["ns"], ["a", "b"]);
        for (bad, says) in [
            ("refresh=1s", "between 5s"),
            ("range=banana", "not a duration"),
            ("range=90d", "longer than a live window"),
            ("limit=3", "unknown stream parameter"),
        ] {
            let error = parse_params(Some(bad), 5_000)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
