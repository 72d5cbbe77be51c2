//! Dashboard templates and imports: the system templates for AI workloads (`pharos-templates`),
//! `POST …/dashboards/from-template`, and Perses' `POST /api/migrate` for Grafana dashboards
//! (`pharos-migrate`).

mod migrate;
mod system;

use axum::{
    Router,
    routing::{get, post},
};

use crate::state::AppState;

/// The template and migration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/templates", get(system::list))
        .route("/api/v1/templates/{id}", get(system::get_one))
        .route(
            "/api/v1/projects/{project}/dashboards/from-template",
            post(system::from_template),
        )
        .route("/api/migrate", post(migrate::migrate))
}
