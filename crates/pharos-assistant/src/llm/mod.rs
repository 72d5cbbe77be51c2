//! The OpenAI-compatible chat-completions client: our own message, tool and completion types, the
//! [`ChatModel`] trait the conversation loop is written against, and [`LlmClient`], which speaks
//! `POST {base_url}/chat/completions` with `"stream": true` to OpenAI, vLLM and anything else that
//! follows the same wire format (streamed deltas, tool calls assembled from fragments, retries
//! before the first streamed event, per-phase timeouts, bounded answers).
//!
//! The wire shapes live in `wire` (the request body and the chunks), the event-stream reading and
//! assembling in `stream`, the HTTP side with retries and timeouts in `client`.

mod client;
mod error;
mod stream;
mod wire;

use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

pub use client::LlmClient;
pub use error::LlmError;

/// Where the model is served and how patiently it is asked.
#[derive(Clone)]
pub struct LlmEndpoint {
    /// The API root, e.g. `http://vllm:8000/v1`; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model asked when a request names none.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// How long each phase of a request may take.
    pub timeouts: LlmTimeouts,
    /// Retries after a 429, 500, 502, 503, 504 or a failed connection, only before anything was
    /// streamed.
    pub max_retries: u32,
}

impl LlmEndpoint {
    /// An endpoint with the default timeouts, two retries and no API key.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeouts: LlmTimeouts::default(),
            max_retries: 2,
        }
    }
}

impl std::fmt::Debug for LlmEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmEndpoint")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeouts", &self.timeouts)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// The time limits of one completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlmTimeouts {
    /// Establishing the connection. Enforced by the HTTP client when it was built with this
    /// connect timeout ([`LlmTimeouts::http_client`]); otherwise it counts towards `first_byte`.
    pub connect: Duration,
    /// From the request to the first byte of the answer (a model's prefill can be slow).
    pub first_byte: Duration,
    /// Between two chunks of the streamed answer.
    pub idle: Duration,
    /// The whole completion, retries and their waits included.
    pub total: Duration,
}

impl Default for LlmTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(60),
            idle: Duration::from_secs(30),
            total: Duration::from_secs(180),
        }
    }
}

impl LlmTimeouts {
    /// An HTTP client that gives up connecting after [`LlmTimeouts::connect`], for
    /// [`LlmClient::new`].
    pub fn http_client(&self) -> Result<reqwest::Client, LlmError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect)
            .build()
            .map_err(|e| LlmError::Transport(format!("cannot build the HTTP client: {e}")))
    }
}

/// Who wrote a message; lowercase on the wire.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// One message of a conversation, as we keep it (the OpenAI wire shape is written by the client).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text; `None` for an assistant message that only calls tools.
    pub content: Option<String>,
    /// The tools an assistant message calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the call it answers.
    pub tool_call_id: Option<String>,
    /// For a tool result: the tool's name.
    pub name: Option<String>,
}

impl ChatMessage {
    fn new(role: Role, content: Option<String>) -> Self {
        Self {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }

    /// A system prompt.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, Some(content.into()))
    }

    /// A user's message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, Some(content.into()))
    }

    /// An assistant's text answer.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, Some(content.into()))
    }

    /// An assistant's turn that calls tools, with the text it said before (if any).
    pub fn assistant_tool_calls(content: Option<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls,
            ..Self::new(Role::Assistant, content.filter(|c| !c.is_empty()))
        }
    }

    /// The result of the tool call `id` of tool `name`.
    pub fn tool_result(
        id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            tool_call_id: Some(id.into()),
            name: Some(name.into()),
            ..Self::new(Role::Tool, Some(content.into()))
        }
    }
}

/// One tool call of the model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The model's id of the call; tool results refer to it.
    pub id: String,
    /// The tool called.
    pub name: String,
    /// The raw JSON text the model sent; may be malformed — parsing is the caller's job.
    pub arguments: String,
}

/// A tool offered to the model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ToolSpec {
    /// The function name the model calls.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its arguments as a JSON Schema object.
    pub parameters: serde_json::Value,
}

/// One completion request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatRequest {
    /// The model; `None` asks the endpoint's.
    pub model: Option<String>,
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
    /// The tools offered; none sends no `tools` at all.
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature; `None` leaves the server's default.
    pub temperature: Option<f32>,
    /// The most tokens to generate; `None` leaves the server's default.
    pub max_tokens: Option<u32>,
}

/// What a streamed completion reports while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The next piece of the answer's text.
    Delta(String),
    /// The model started a tool call (once per call, when its name is known).
    ToolCallStarted {
        /// The call's position in the answer.
        index: usize,
        /// The call's id.
        id: String,
        /// The tool called.
        name: String,
    },
}

/// A finished completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The answer's text (empty when the model only called tools).
    pub content: String,
    /// The tool calls, in index order.
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `tool_calls`, `length`, … as the server said.
    pub finish_reason: Option<String>,
    /// The token counts, when the server sent them.
    pub usage: Option<Usage>,
    /// The model that answered, as the server named it.
    pub model: String,
}

impl Completion {
    /// The assistant message to append to the conversation.
    pub fn to_message(&self) -> ChatMessage {
        ChatMessage::assistant_tool_calls(Some(self.content.clone()), self.tool_calls.clone())
    }
}

/// Token counts of one completion.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the prompt.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Both.
    #[serde(default)]
    pub total_tokens: u64,
}

/// A chat model: [`LlmClient`] in production, scripted doubles in tests.
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// Completes `request`, sending [`StreamEvent`]s to `events` as the answer streams in (a
    /// closed receiver is not an error).
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: Option<&'a UnboundedSender<StreamEvent>>,
    ) -> BoxFuture<'a, Result<Completion, LlmError>>;
}
