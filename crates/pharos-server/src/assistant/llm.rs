//! The model a persona talks to: the configured OpenAI-compatible endpoint (or the persona's
//! own), its API key read from an encrypted `GlobalSecret` or an environment variable at the
//! moment of use, so a rotated key takes effect without a restart.

use std::sync::Arc;

use pharos_assistant::llm::{ChatModel, LlmClient, LlmEndpoint, LlmTimeouts};
use pharos_assistant::personas::Persona;
use pharos_model::Kind;
use serde_json::Value;

use crate::{config::LlmSettings, error::ApiError, state::AppState};

/// Why there is no model to talk to.
pub(crate) const NOT_CONFIGURED: &str = "No language model is configured: set assistant.llm in the configuration \
    (docs/user/assistant.md). Anomaly detection and root-cause analysis still work.";

async fn api_key(state: &AppState, settings: &LlmSettings) -> Result<Option<String>, ApiError> {
    if let Some(variable) = &settings.api_key_env {
        return std::env::var(variable).map(Some).map_err(|_| {
            ApiError::Unavailable(format!(
                "assistant.llm.api_key_env names {variable}, which is not set in Pharos' environment"
            ))
        });
    }
    let Some(secret) = &settings.api_key_secret else {
        return Ok(None);
    };
    let spec = state
        .resources
        .load_raw(Kind::GlobalSecret, None, secret)
        .await?
        .and_then(|row| row.spec)
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "assistant.llm.api_key_secret names the GlobalSecret \"{secret}\", which does not exist"
            ))
        })?;
    spec.pointer("/authorization/credentials")
        .and_then(Value::as_str)
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "the GlobalSecret \"{secret}\" has no authorization.credentials to use as the API key"
            ))
        })
}

/// The model for `persona`, or `None` when no model is configured.
pub(crate) async fn model_for(
    state: &AppState,
    persona: &Persona,
) -> Result<Option<Arc<dyn ChatModel>>, ApiError> {
    let Some(settings) = &state.settings.assistant.llm else {
        return Ok(None);
    };
    let endpoint = LlmEndpoint {
        base_url: persona
            .endpoint
            .clone()
            .unwrap_or_else(|| settings.url.clone()),
        model: persona
            .model
            .clone()
            .unwrap_or_else(|| settings.model.clone()),
        api_key: api_key(state, settings).await?,
        timeouts: LlmTimeouts {
            first_byte: settings.first_byte_timeout,
            idle: settings.idle_timeout,
            total: settings.request_timeout,
            ..LlmTimeouts::default()
        },
        max_retries: settings.max_retries,
    };
    Ok(Some(Arc::new(LlmClient::new(
        endpoint,
        state.http_client.clone(),
    ))))
}
