//! Server-level routes: `/api/config` (the structure the Perses UI reads), health and
//! readiness probes, `/metrics`, plugins, view tracking and online validation.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pharos_model::Kind;
use serde_json::{Value, json};

use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    state::AppState,
};

/// The system routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/config", get(config))
        .route("/api/v1/health", get(api_health))
        .route("/api/v1/plugins", get(plugins))
        .route("/api/v1/view", post(view))
        .route("/api/validate/{plural}", post(validate))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/live", get(live))
        .route("/metrics", get(metrics_text))
}

/// `security.authentication.providers` as Perses reports it (names and slugs only; never the
/// client secrets), plus whether the Kubernetes provider is on.
fn providers_brief(state: &AppState) -> Value {
    let mut providers =
        crate::identity::ExternalProviders::listed(&state.settings.security.providers);
    providers["enable_native"] = json!(state.identity.native_logins());
    providers["kubernetes"] = json!({ "enable": state.identity.kubernetes().is_some() });
    providers
}

/// The Perses config structure (with every intermediate object the UI dereferences) plus a
/// `pharos` section for our own settings.
async fn config(State(state): State<AppState>) -> Json<Value> {
    let s = &state.settings;
    let case_sensitive = json!({ "case_sensitive": s.database.case_sensitive });
    Json(json!({
        "api_prefix": "",
        "security": {
            "readonly": false,
            "enable_auth": state.identity.enabled(),
            "cookie": {
                "same_site": s.security.cookie.same_site.as_str().to_lowercase(),
                "secure": s.security.cookie.secure
            },
            "authentication": {
                "access_token_ttl": pharos_model::format_duration(s.security.access_token_ttl),
                "refresh_token_ttl": pharos_model::format_duration(s.security.refresh_token_ttl),
                "disable_sign_up": true,
                // percli offers --username/--password only when the native provider is on.
                "providers": providers_brief(&state)
            },
            "authorization": { "check_latest_update_interval": "30s", "guest_permissions": [] }
        },
        "database": { "sql": case_sensitive },
        "datasource": {
            "global": { "disable": false, "discovery": [] },
            "project": { "disable": false },
            "disable_local": false
        },
        "variable": {
            "global": { "disable": false },
            "project": { "disable": false },
            "disable_local": false
        },
        "ephemeral_dashboard": {
            "enable": s.ephemeral_dashboard.enable,
            "cleanup_interval": pharos_model::format_duration(s.ephemeral_dashboard.cleanup_interval)
        },
        "frontend": {
            "disable": false,
            "explorer": { "enable": true },
            "time_range": {
                "disable_custom": false,
                "options": ["5m", "15m", "30m", "1h", "6h", "12h", "24h", "7d"]
            },
            "important_dashboards": [],
            "information": ""
        },
        "plugin": { "enable_dev": false },
        "pharos": {
            "version": state.build.version,
            "store": state.resources.store().backend_name(),
            "tenancy": { "label": s.tenancy.label, "on_conflict": s.tenancy.on_conflict },
            "trash": { "retention": pharos_model::format_duration(s.trash.retention) },
            "api": { "max_body_bytes": s.api.max_body_bytes }
        }
    }))
}

/// Longest a probe waits for the database: probes must answer quickly even when the pool is
/// busy, and a database that slow is not healthy.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `SELECT 1` on the config database, bounded by [`PING_TIMEOUT`]. Probes do nothing else
/// that could wait: no query slot, no blocking-pool work.
async fn ping(state: &AppState) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, state.resources.store().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "the database did not answer within {}",
            pharos_model::format_duration(PING_TIMEOUT)
        )),
    }
}

/// Perses's health: 200, or 503 with the same body when the database does not answer.
async fn api_health(State(state): State<AppState>) -> Response {
    let database = ping(&state).await.is_ok();
    let body = json!({
        "buildTime": state.build.build_time,
        "version": state.build.version,
        "commit": state.build.commit,
        "database": database,
    });
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Overall health with per-component checks.
async fn health(State(state): State<AppState>) -> Response {
    let store = state.resources.store();
    let (status, db) = match ping(&state).await {
        Ok(()) => (
            StatusCode::OK,
            json!({"status": "up", "backend": store.backend_name()}),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "down", "backend": store.backend_name(), "error": e}),
        ),
    };
    let overall = if status == StatusCode::OK {
        "up"
    } else {
        "down"
    };
    (
        status,
        Json(
            json!({"status": overall, "version": state.build.version, "checks": {"database": db}}),
        ),
    )
        .into_response()
}

/// Readiness: the server can serve requests, i.e. the database answers.
async fn ready(State(state): State<AppState>) -> ApiResult<&'static str> {
    ping(&state)
        .await
        .map(|()| "ready")
        .map_err(|e| ApiError::Unavailable(format!("database not reachable: {e}")))
}

/// Liveness: the process answers.
async fn live() -> &'static str {
    "alive"
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let (hits, misses) = state.enforcer.cache_stats();
    metrics::counter!("pharos_proxy_rewrite_cache_hits_total").absolute(hits);
    metrics::counter!("pharos_proxy_rewrite_cache_misses_total").absolute(misses);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry.render(),
    )
        .into_response()
}

/// Plugins are compiled into the UI bundle (no module federation), so none are served.
async fn plugins() -> Json<Value> {
    Json(json!([]))
}

/// Perses's dashboard-view beacon: 200 for a known dashboard, 404 otherwise.
async fn view(
    State(state): State<AppState>,
    caller: crate::identity::Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request(format!("\"{name}\" is required (a string)")))
    };
    let (project, dashboard) = (field("project")?, field("dashboard")?);
    state
        .resources
        .get(&caller, Kind::Dashboard, Some(&project), &dashboard)
        .await?;
    metrics::counter!("pharos_dashboard_views_total").increment(1);
    if let Some(errors) = body.get("render_errors").and_then(Value::as_u64) {
        metrics::counter!("pharos_dashboard_render_errors_total").increment(errors);
    }
    Ok(StatusCode::OK)
}

/// `POST /api/validate/{plural}`: validates without storing (percli `--online`, UI import).
async fn validate(
    State(state): State<AppState>,
    Path(plural): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let kind = Kind::from_plural(&plural).ok_or_else(|| {
        ApiError::Missing(format!(
            "cannot validate \"{plural}\": use dashboards, datasources, globaldatasources, variables or globalvariables"
        ))
    })?;
    state.resources.validate(kind, body).await?;
    Ok(StatusCode::OK)
}
