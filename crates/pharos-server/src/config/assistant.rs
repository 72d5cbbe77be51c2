//! `assistant:`: the OpenAI-compatible endpoint the chat talks to, the bounds of a turn and
//! the background anomaly detector. Without `assistant.llm` the chat says no model is
//! configured, and anomaly detection and root-cause analysis keep working. See
//! docs/user/assistant.md.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `assistant`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantSettings {
    /// The language model; none: chat is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSettings>,
    /// Model calls that may ask for tools before the model must answer.
    pub max_tool_rounds: usize,
    /// Tool calls run per round.
    pub max_calls_per_round: usize,
    /// Longest one turn (question to answer) may take.
    #[serde(with = "duration_text")]
    pub max_turn_duration: Duration,
    /// Tokens one tool result may take in the model's context (≈ 4 characters each).
    pub tool_result_tokens: usize,
    /// Earlier messages of a session sent with a new question.
    pub history_messages: usize,
    /// The background anomaly detector over the watch list.
    pub detector: DetectorSettings,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        Self {
            llm: None,
            max_tool_rounds: 6,
            max_calls_per_round: 8,
            max_turn_duration: Duration::from_secs(180),
            tool_result_tokens: 2_000,
            history_messages: 40,
            detector: DetectorSettings::default(),
        }
    }
}

/// `assistant.llm`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// Base URL of the OpenAI-compatible API, ending in `/v1` (`http://vllm:8000/v1`).
    pub url: String,
    /// The model to ask (vLLM's `--served-model-name`).
    pub model: String,
    /// The name of a `GlobalSecret` whose `spec.authorization.credentials` is the API key
    /// (stored encrypted like every secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
    /// Or: an environment variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Retries on 429 and 5xx answers (before anything was streamed).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Longest wait for the first byte of an answer.
    #[serde(default = "default_first_byte", with = "duration_text")]
    pub first_byte_timeout: Duration,
    /// Longest silence inside a streamed answer.
    #[serde(default = "default_idle", with = "duration_text")]
    pub idle_timeout: Duration,
    /// Longest one model call may take.
    #[serde(default = "default_total", with = "duration_text")]
    pub request_timeout: Duration,
}

fn default_retries() -> u32 {
    2
}
fn default_first_byte() -> Duration {
    Duration::from_secs(60)
}
fn default_idle() -> Duration {
    Duration::from_secs(30)
}
fn default_total() -> Duration {
    Duration::from_secs(120)
}

/// `assistant.detector`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorSettings {
    /// Whether it runs (over the embedded store).
    pub enabled: bool,
    /// How often it scans.
    #[serde(with = "duration_text")]
    pub interval: Duration,
    /// The signals it watches (and root-cause analysis scans), with their entities and the
    /// topology queries; default: the exporters of AI platforms (docs/user/anomaly-detection.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<pharos_analysis::WatchList>,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(300),
            watch: None,
        }
    }
}

impl DetectorSettings {
    /// The configured watch list, or the default one.
    pub fn watch_list(&self) -> pharos_analysis::WatchList {
        self.watch.clone().unwrap_or_default()
    }
}

impl AssistantSettings {
    /// URL absolute, bounds positive.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(llm) = &self.llm {
            let url = url::Url::parse(&llm.url)
                .map_err(|e| format!("assistant.llm.url: {e} (expected http://vllm:8000/v1)"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "assistant.llm.url must be http(s), got {}",
                    url.scheme()
                ));
            }
            if llm.model.trim().is_empty() {
                return Err("assistant.llm.model must name the model to ask".to_owned());
            }
            if llm.api_key_secret.is_some() && llm.api_key_env.is_some() {
                return Err("assistant.llm: set api_key_secret or api_key_env, not both".to_owned());
            }
            if llm.first_byte_timeout.is_zero()
                || llm.idle_timeout.is_zero()
                || llm.request_timeout.is_zero()
            {
                return Err("assistant.llm timeouts must be positive".to_owned());
            }
        }
        if self.max_tool_rounds == 0 || self.max_tool_rounds > 50 {
            return Err("assistant.max_tool_rounds must be between 1 and 50".to_owned());
        }
        if self.max_calls_per_round == 0 || self.max_calls_per_round > 64 {
            return Err("assistant.max_calls_per_round must be between 1 and 64".to_owned());
        }
        if self.max_turn_duration.is_zero() {
            return Err("assistant.max_turn_duration must be positive".to_owned());
        }
        if !(100..=100_000).contains(&self.tool_result_tokens) {
            return Err("assistant.tool_result_tokens must be between 100 and 100000".to_owned());
        }
        if self.detector.interval < Duration::from_secs(10) {
            return Err("assistant.detector.interval must be at least 10s".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_is_valid_and_bad_values_name_the_field() {
        assert_eq!(AssistantSettings::default().validate(), Ok(()));
        let settings: AssistantSettings =
            serde_saphyr::from_str("llm:\n  url: ftp://x/v1\n  model: m\n").unwrap_or_default();
        assert!(settings.validate().unwrap_err().contains("http(s)"));
        let settings = AssistantSettings {
            max_tool_rounds: 0,
            ..AssistantSettings::default()
        };
        assert!(settings.validate().unwrap_err().contains("max_tool_rounds"));
    }
}
