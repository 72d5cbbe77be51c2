//! The OpenAI chat-completions wire shapes: the streamed request body written from our types, the
//! `chat.completion.chunk` (and non-streamed `chat.completion`) read back, and error bodies.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ChatMessage, ChatRequest, Role, ToolCall, Usage};

/// Characters of a non-JSON error body kept in an error message.
const SUMMARY_CHARS: usize = 200;

/// The request body: always streamed with usage, tools only when there are some.
pub(crate) fn request_body(request: &ChatRequest, model: &str) -> Value {
    let mut body = json!({
        "model": model,
        "messages": request.messages.iter().map(message).collect::<Vec<_>>(),
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = json!("auto");
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    body
}

/// One message in the request shape.
fn message(m: &ChatMessage) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    // An assistant turn that only calls tools has `content: null`; every other message a string.
    let content = match &m.content {
        Some(text) => json!(text),
        None if !m.tool_calls.is_empty() => Value::Null,
        None => json!(""),
    };
    let mut out = json!({ "role": role, "content": content });
    if !m.tool_calls.is_empty() {
        out["tool_calls"] = m
            .tool_calls
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": "function",
                    "function": { "name": c.name, "arguments": c.arguments },
                })
            })
            .collect();
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    if let Some(name) = &m.name {
        out["name"] = json!(name);
    }
    out
}

/// A `chat.completion.chunk`, or an error reported mid-stream.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub model: Option<String>,
    /// Empty (or `null`, or absent on some servers) in the final usage chunk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub index: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCallFragment>,
}

/// A piece of a streamed tool call: `id` and `function.name` usually once, `arguments` in parts.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct ToolCallFragment {
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub function: FunctionFragment,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct FunctionFragment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// A non-streamed `chat.completion`, for servers that ignore `"stream": true`.
#[derive(Deserialize, Debug)]
pub(crate) struct Whole {
    #[serde(default)]
    pub model: Option<String>,
    pub choices: Vec<WholeChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WholeChoice {
    pub message: WholeMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WholeMessage {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<WholeToolCall>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WholeToolCall {
    #[serde(default)]
    pub id: Option<String>,
    pub function: WholeFunction,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WholeFunction {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

impl WholeToolCall {
    pub(crate) fn into_call(self, index: usize) -> ToolCall {
        ToolCall {
            id: self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: self.function.name,
            arguments: self.function.arguments,
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The explanation in an error body: OpenAI's `{"error":{"message"}}`, older vLLM's top-level
/// `message`, FastAPI's `detail`, or else the body's first characters.
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = error_value_message(&value)
    {
        return message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(no explanation in the answer)".to_owned();
    }
    summary(text)
}

/// The message of a JSON error value (`{"error": …}` or the error object itself).
pub(crate) fn error_value_message(value: &Value) -> Option<String> {
    let error = value.get("error").unwrap_or(value);
    match error {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => ["message", "detail"]
            .iter()
            .find_map(|k| o.get(*k))
            .map(|m| match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        _ => None,
    }
}

/// The first [`SUMMARY_CHARS`] characters of `text`, marked when cut.
pub(crate) fn summary(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SUMMARY_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_known_shapes_and_summaries_of_others() {
        let openai = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert_eq!(error_message(openai), "Rate limit reached");
        let vllm = br#"{"object":"error","message":"This model's maximum context length is 8192 tokens.","type":"BadRequestError","param":null,"code":400}"#;
        assert!(error_message(vllm).starts_with("This model's maximum context length"));
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#), "Not Found");
        let page = format!("<html>{}</html>", "x".repeat(500));
        let summary = error_message(page.as_bytes());
        assert_eq!(summary.chars().count(), 201);
        assert!(summary.starts_with("<html>xx") && summary.ends_with('…'));
        assert_eq!(error_message(b"  "), "(no explanation in the answer)");
    }
}
