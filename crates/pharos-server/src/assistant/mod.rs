//! The assistant over HTTP: personas (`/api/v1/personas`), chat sessions
//! (`/api/v1/chat/sessions…`, streamed over SSE), deterministic analysis
//! (`/api/v1/analysis/anomaly`, `/api/v1/analysis/rca`) and the MCP server (`/mcp`). Handlers
//! are thin: `pharos_assistant` runs the conversation and stores it, `pharos_analysis` finds
//! anomalies and root causes, and the tools (built per user in [`tools`]) call the service
//! layer with the asking user's permissions.

mod analysis;
mod chat;
mod llm;
mod mcp;
pub(crate) mod metrics;
mod personas;
pub(crate) mod tools;

use axum::{
    Router,
    routing::{get, post},
};
use pharos_assistant::sessions::SessionError;

use crate::{error::ApiError, state::AppState};

pub use analysis::spawn_detector;
pub use tools::specs as tool_specs;

/// The routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(mcp::routes(state))
        .route("/api/v1/personas", get(personas::list).post(personas::save))
        .route(
            "/api/v1/personas/{id}",
            get(personas::one)
                .put(personas::replace)
                .delete(personas::remove),
        )
        .route(
            "/api/v1/chat/sessions",
            get(chat::list_sessions).post(chat::create_session),
        )
        .route(
            "/api/v1/chat/sessions/{id}",
            get(chat::get_session).delete(chat::delete_session),
        )
        .route(
            "/api/v1/chat/sessions/{id}/messages",
            post(chat::send_message),
        )
        .route("/api/v1/chat/sessions/{id}/stream", post(chat::stream))
        .route("/api/v1/analysis/anomaly", post(analysis::anomaly))
        .route("/api/v1/analysis/rca", post(analysis::rca))
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotFound(_) => Self::Missing(error.to_string()),
            SessionError::Invalid(message) => Self::BadRequest(message),
            SessionError::Full => Self::Conflict(error.to_string()),
            SessionError::Store(store) => Self::from(store),
            SessionError::Corrupt(..) => Self::Internal(error.to_string()),
        }
    }
}
