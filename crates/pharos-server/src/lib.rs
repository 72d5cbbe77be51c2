//! The HTTP server: Perses resource API, datasource proxy with tenant enforcement,
//! self-monitoring, OpenAPI and the embedded web UI. Handlers are thin; services do the work.

pub mod assistant;
pub mod config;
pub mod drain;
pub mod error;
mod extract;
mod fleet;
mod http_trace;
pub mod identity;
mod live;
pub mod logs;
mod openapi;
pub mod prom_api;
pub mod proxy;
pub mod resources;
pub mod serve;
pub mod services;
mod shares;
pub mod state;
mod system;
pub mod telemetry;
mod templates;
mod ui;
mod web_guards;
mod workloads;

use std::time::Duration;

use axum::{Json, Router, http::StatusCode, middleware, response::IntoResponse};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

pub use config::ServerSettings;
pub use extract::IfMatch;
pub use state::AppState;

/// The complete router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(resources::routes(&state))
        .merge(resources::portable_routes())
        .merge(proxy::routes())
        .merge(prom_api::routes())
        .merge(logs::routes())
        .merge(system::routes())
        .merge(identity::routes())
        .merge(identity::provider_routes())
        .merge(identity::audit_routes())
        .merge(identity::token_routes())
        .merge(identity::preference_routes())
        .merge(shares::routes())
        .merge(live::routes())
        .merge(templates::routes())
        .merge(workloads::routes())
        .merge(fleet::routes())
        .merge(services::routes())
        .merge(assistant::routes(&state))
        .merge(
            // Our document is generated as JSON from the router's kind table, so it is
            // handed over as-is rather than through utoipa's typed model.
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .external_url_unchecked("/api/docs/openapi.json", openapi::document()),
        )
        .fallback(ui::serve)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            identity::layer::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web_guards::web_guards,
        ))
        .layer(middleware::from_fn(telemetry::track_requests))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(http_trace::ServerSpan)
                .on_response(http_trace::RecordStatus::default()),
        )
        .layer(CatchPanicLayer::custom(|_| {
            error::ApiError::Internal("handler panicked".to_owned()).into_response()
        }))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"message": format!("no route for {}", uri.path())})),
    )
}

/// Drops share links, sessions and tokens that ended more than 30 days ago, and audit
/// entries past `security.audit_retention`.
async fn purge_identity_rows(state: &AppState) {
    let store = state.resources.store();
    let now = chrono::Utc::now();
    let ended = chrono::TimeDelta::from_std(shares::KEEP_ENDED_LINKS)
        .unwrap_or(chrono::TimeDelta::days(30));
    if let Err(e) = store.purge_credentials_before(now - ended).await {
        tracing::warn!(error = %e, "cannot purge ended credentials");
    }
    let retention = chrono::TimeDelta::from_std(state.settings.security.audit_retention)
        .unwrap_or(chrono::TimeDelta::days(90));
    if let Err(e) = store.purge_audit_before(now - retention).await {
        tracing::warn!(error = %e, "cannot purge old audit entries");
    }
}

/// Runs periodic housekeeping (expired ephemeral dashboards, old trash) until the process
/// ends. Failures are logged and retried at the next tick.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    let interval = state
        .settings
        .ephemeral_dashboard
        .cleanup_interval
        .max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            match state
                .resources
                .housekeeping(state.settings.trash.retention)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "housekeeping removed expired resources"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
            purge_identity_rows(&state).await;
        }
    })
}
