//! Latency SLOs of services (issue 13): `GET /api/services`, `GET /api/services/owned`,
//! `GET|PUT /api/services/{id}`, `GET /api/services/{id}/latency`,
//! `GET|POST /api/services/{id}/alert-threshold` and `GET /api/services/rules` (the breach
//! alerts as a Prometheus rule file). The paths are seed 004's. Handlers are thin:
//! `pharos_slo::SloService` checks the caller ([`CallerViewer`]) and does the work.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use pharos_auth::rbac::{Action, Scope};
use pharos_slo::{DASHBOARD_NAME, EntryUpdate, LatencyRange, ServiceView, SloError, Viewer};
use serde::Deserialize;

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/services", get(list))
        .route("/api/services/owned", get(owned))
        .route("/api/services/rules", get(rules))
        .route("/api/services/{id}", get(one).put(update))
        .route("/api/services/{id}/latency", get(latency))
        .route(
            "/api/services/{id}/alert-threshold",
            get(threshold).post(set_threshold),
        )
}

impl From<SloError> for ApiError {
    fn from(error: SloError) -> Self {
        match error {
            SloError::NotFound(_) => Self::Missing(error.to_string()),
            SloError::Forbidden(message) => Self::Forbidden(message),
            SloError::ThresholdOutOfRange { .. } | SloError::Invalid(_) => {
                Self::BadRequest(error.to_string())
            }
            SloError::NoMetrics => Self::Unavailable(error.to_string()),
            SloError::Query { .. } => Self::Unavailable(error.to_string()),
            SloError::Store(store) => Self::from(store),
            SloError::Corrupt { .. } => Self::Internal(error.to_string()),
        }
    }
}

/// The caller as the SLO layer asks it: administrators hold every permission globally; a
/// project's readers and editors are those who may read and change its dashboards.
pub struct CallerViewer<'a>(pub &'a Caller);

impl Viewer for CallerViewer<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn groups(&self) -> &[String] {
        self.0.groups()
    }
    fn is_admin(&self) -> bool {
        self.0.allows(Action::All, None, Scope::All)
    }
    fn can_read_project(&self, project: &str) -> bool {
        self.0.allows(Action::Read, Some(project), Scope::Dashboard)
    }
    fn can_edit_project(&self, project: &str) -> bool {
        self.0
            .allows(Action::Update, Some(project), Scope::Dashboard)
    }
}

/// Writes every service's threshold at `now_ms` into the embedded store as
/// `pharos_service_latency_threshold_ms{service}`, and the burn rates of services with an
/// objective as `pharos_service_slo_burn_rate{service, window}` (the binary does every 15 s):
/// what the built-in rules compare. Returns how many samples were written.
pub async fn publish_slo_gauges(state: &AppState, now_ms: i64) -> Result<usize, String> {
    let Some(metrics) = state.metrics.clone() else {
        return Ok(0);
    };
    let thresholds = state
        .slo
        .threshold_samples(now_ms)
        .await
        .map_err(|e| e.to_string())?;
    let burn_rates = state
        .slo
        .burn_rate_samples(now_ms)
        .await
        .map_err(|e| e.to_string())?;
    let mut samples: Vec<(Vec<(&'static str, String)>, f64)> = thresholds
        .into_iter()
        .map(|(service, value)| {
            let labels = vec![
                ("__name__", pharos_slo::THRESHOLD_METRIC.to_owned()),
                ("service", service),
            ];
            (labels, value)
        })
        .collect();
    samples.extend(burn_rates.into_iter().map(|(service, window, rate)| {
        let labels = vec![
            ("__name__", pharos_slo::BURN_RATE_METRIC.to_owned()),
            ("service", service),
            ("window", window.to_owned()),
        ];
        (labels, rate)
    }));
    metrics
        .append(move |db| {
            let mut appender = db.appender();
            let mut written = 0;
            for (pairs, value) in &samples {
                let labels = pharos_tsdb::Labels::new(pairs.iter().map(|(k, v)| (*k, v.as_str())));
                // A refusal (the clock went back) only skips this tick's sample.
                if let Ok(labels) = labels
                    && appender.append(&labels, now_ms, *value).is_ok()
                {
                    written += 1;
                }
            }
            appender.commit().map(|_| written)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The log intake the binary attached (for the services' rejected lines), if any.
type Intake = Option<Extension<Arc<pharos_logs::LogIntake>>>;

/// Fills in where the service's dashboard is (the UI's route) and the lines of it the intake
/// rejected.
fn completed(mut view: ServiceView, intake: &Intake) -> ServiceView {
    if let Some(Extension(intake)) = intake {
        view.quality.rejected_lines = intake.rejected_lines(&view.id);
    }
    view.dashboard = view.project.as_ref().map(|project| {
        format!(
            "/projects/{project}/dashboards/{DASHBOARD_NAME}?var-service={}",
            view.id
        )
    });
    view
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    intake: Intake,
) -> ApiResult<Json<Vec<ServiceView>>> {
    listed(&state, &caller, &intake, false).await
}

async fn owned(
    State(state): State<AppState>,
    caller: Caller,
    intake: Intake,
) -> ApiResult<Json<Vec<ServiceView>>> {
    listed(&state, &caller, &intake, true).await
}

async fn listed(
    state: &AppState,
    caller: &Caller,
    intake: &Intake,
    owned_only: bool,
) -> ApiResult<Json<Vec<ServiceView>>> {
    let views = state
        .slo
        .list(&CallerViewer(caller), owned_only, now_ms())
        .await?;
    Ok(Json(
        views.into_iter().map(|v| completed(v, intake)).collect(),
    ))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    intake: Intake,
    Path(id): Path<String>,
) -> ApiResult<Json<ServiceView>> {
    let view = state.slo.get(&CallerViewer(&caller), &id, now_ms()).await?;
    Ok(Json(completed(view, &intake)))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    intake: Intake,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ServiceView>> {
    let update: EntryUpdate = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a service update ({e}); send {{\"project\"?: \"...\", \"owners\"?: [\"alice\", \"group:team\"], \"objective\"?: {{\"target\": 0.99, \"threshold_ms\": 300, \"window_days\": 30}}, \"clear_objective\"?: true}}"
        ))
    })?;
    let view = state
        .slo
        .update(&CallerViewer(&caller), &id, update, now_ms())
        .await?;
    Ok(Json(completed(view, &intake)))
}

/// `?from=&to=&step=`.
#[derive(Deserialize)]
struct Window {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
}

async fn latency(
    State(state): State<AppState>,
    caller: Caller,
    intake: Intake,
    Path(id): Path<String>,
    Query(window): Query<Window>,
) -> ApiResult<Json<pharos_slo::Latency>> {
    let range = LatencyRange::parse(
        window.from.as_deref(),
        window.to.as_deref(),
        window.step.as_deref(),
        now_ms(),
    )?;
    let mut latency = state
        .slo
        .latency(&CallerViewer(&caller), &id, range)
        .await?;
    if let Some(Extension(intake)) = &intake {
        latency.quality.rejected_lines = intake.rejected_lines(&id);
    }
    Ok(Json(latency))
}

async fn threshold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<pharos_slo::ThresholdView>> {
    Ok(Json(
        state.slo.threshold(&CallerViewer(&caller), &id).await?,
    ))
}

async fn set_threshold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<pharos_slo::ThresholdView>> {
    let view = state
        .slo
        .set_threshold(
            &CallerViewer(&caller),
            &id,
            &body["threshold_ms"],
            chrono::Utc::now(),
        )
        .await?;
    tracing::info!(service = %id, threshold_ms = view.threshold_ms, user = caller.name(), "latency threshold changed");
    Ok(Json(view))
}

async fn rules(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let text = state.slo.export_rules(&CallerViewer(&caller)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    )
        .into_response())
}
