//! The dashboard's panel queries as a live consumer runs them: Prometheus queries only, their
//! variables filled in, their datasource resolved (and checked against the caller), with the
//! window and step of the request.

use pharos_model::Kind;
use pharos_query::STEP_LADDER_MS;
use serde_json::Value;

use super::{MAX_RANGE_MS, StreamParams, render};
use crate::{error::ApiResult, identity::Caller, proxy::DatasourceRef, state::AppState};

/// Points a live window aims at (the step is the ladder step that gives at most this many).
const TARGET_POINTS: i64 = 720;

/// One panel query of the dashboard, ready to run.
pub(super) struct LiveQuery {
    pub panel: String,
    pub index: usize,
    /// The query with variables filled in, or why it cannot run.
    pub query: Result<String, String>,
    pub datasource: Option<DatasourceRef>,
}

impl LiveQuery {
    /// Runs the query over the `range_ms` ending at `end_ms` through its datasource (the
    /// proxy's resolution, tenant enforcement and query layer); on failure the Prometheus
    /// `errorType` and the message.
    pub(super) async fn run(
        &self,
        state: &AppState,
        end_ms: i64,
        range_ms: i64,
        step_ms: i64,
    ) -> Result<pharos_query::QueryAnswer, (String, String)> {
        match (&self.query, &self.datasource) {
            (Err(why), _) => Err(("bad_data".to_owned(), why.clone())),
            (_, None) => Err((
                "forbidden".to_owned(),
                "the query's datasource does not exist or may not be used".to_owned(),
            )),
            (Ok(query), Some(reference)) => crate::proxy::range_through(
                state,
                reference.clone(),
                pharos_query::RangeQuery {
                    query: query.clone(),
                    start_ms: end_ms - range_ms,
                    end_ms,
                    step_ms,
                    timeout: None,
                },
            )
            .await
            .map_err(|f| (f.error_type, f.message)),
        }
    }
}

/// The Prometheus queries of the dashboard's panels, in panel order.
fn panel_queries(dashboard: &Value) -> Vec<(String, usize, String, Option<String>)> {
    let Some(panels) = dashboard.pointer("/spec/panels").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, panel) in panels {
        let queries = panel.pointer("/spec/queries").and_then(Value::as_array);
        for (index, query) in queries.into_iter().flatten().enumerate() {
            let plugin = query.pointer("/spec/plugin");
            if plugin.and_then(|p| p["kind"].as_str()) != Some("PrometheusTimeSeriesQuery") {
                continue;
            }
            let Some(text) = plugin
                .and_then(|p| p.pointer("/spec/query"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let datasource = plugin
                .and_then(|p| p.pointer("/spec/datasource/name"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.push((key.clone(), index, text.to_owned(), datasource));
        }
    }
    out
}

/// Points a live window may grow to so that its newest point is the tick itself.
const MAX_FRESH_POINTS: i64 = 2_000;

/// The step of a live window: the ladder step that gives at most [`TARGET_POINTS`] points over
/// `range_ms`, as long as every tick (a multiple of `refresh_ms`) is on its grid. A step that
/// does not divide the refresh interval would hold a new sample back until the next grid point
/// (a 15 s step under a 5 s refresh shows it up to 15 s late), so then the refresh interval
/// itself is the step, unless that gives more than [`MAX_FRESH_POINTS`] points.
pub(super) fn live_step(range_ms: i64, refresh_ms: i64) -> i64 {
    let needed = (range_ms + TARGET_POINTS - 1) / TARGET_POINTS;
    let planned = STEP_LADDER_MS
        .iter()
        .copied()
        .find(|s| *s >= needed)
        .unwrap_or(86_400_000);
    let on_grid = refresh_ms > 0 && refresh_ms % planned == 0;
    if !on_grid && refresh_ms > 0 && range_ms / refresh_ms < MAX_FRESH_POINTS {
        return refresh_ms.min(planned);
    }
    planned
}

/// A dashboard's queries, ready for one window.
pub(super) struct Prepared {
    pub queries: Vec<LiveQuery>,
    pub range_ms: i64,
    pub step_ms: i64,
}

/// Reads the dashboard (as `caller`: one they may not read answers as a missing one) and
/// prepares its queries for `params`.
pub(super) async fn prepare(
    state: &AppState,
    caller: &Caller,
    project: &str,
    dashboard: &str,
    params: &StreamParams,
) -> ApiResult<Prepared> {
    let document = state
        .resources
        .get(caller, Kind::Dashboard, Some(project), dashboard)
        .await?
        .document;
    let range_ms = params
        .range_ms
        .or_else(|| {
            document
                .pointer("/spec/duration")
                .and_then(Value::as_str)
                .and_then(|d| pharos_model::parse_duration(d).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok())
        })
        .unwrap_or(3_600_000)
        .min(MAX_RANGE_MS);
    let step_ms = live_step(range_ms, params.refresh_ms);
    let builtins = render::Builtins {
        project: project.to_owned(),
        dashboard: dashboard.to_owned(),
        range_ms,
        step_ms,
    };
    let mut queries = Vec::new();
    let mut resolved: std::collections::HashMap<Option<String>, Option<DatasourceRef>> =
        std::collections::HashMap::new();
    for (panel, index, template, datasource_name) in panel_queries(&document) {
        let query = render::render(&template, &params.values, &builtins).map_err(|missing| {
            format!("the variable ${missing} has no value: pass var-{missing}=...")
        });
        // Panels mostly share a few datasources: each is resolved (store reads) once.
        let datasource = match resolved.get(&datasource_name) {
            Some(known) => known.clone(),
            None => {
                let reference = match crate::shares::datasource_for(
                    state,
                    project,
                    &document,
                    datasource_name.clone(),
                )
                .await
                {
                    Ok(reference) if reference.authorize(caller).is_ok() => Some(reference),
                    _ => None,
                };
                resolved.insert(datasource_name, reference.clone());
                reference
            }
        };
        queries.push(LiveQuery {
            panel,
            index,
            query,
            datasource,
        });
    }
    Ok(Prepared {
        queries,
        range_ms,
        step_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_steps_come_from_the_ladder_with_every_tick_on_the_grid() {
        // 15 s refresh: the ladder step divides it (or is a multiple of 15 s that it cannot
        // divide, and then the refresh interval is the step while the points stay in budget).
        assert_eq!(live_step(3_600_000, 15_000), 15_000);
        assert_eq!(live_step(6 * 3_600_000, 30_000), 30_000);
        assert_eq!(live_step(6 * 3_600_000, 15_000), 15_000);
        assert_eq!(live_step(7 * 86_400_000, 15_000), 900_000);
        // A 5 s refresh over 5 minutes: 5 s steps, so a new sample is on the next tick.
        assert_eq!(live_step(300_000, 5_000), 5_000);
        assert_eq!(live_step(3_600_000, 5_000), 5_000);
        // A refresh slower than the ladder step that is a multiple of it keeps the ladder step.
        assert_eq!(live_step(3_600_000, 60_000), 15_000);
        // Too many points at the refresh interval: the ladder step, freshness bound by it.
        assert_eq!(live_step(24 * 3_600_000, 5_000), 120_000);
    }
}
