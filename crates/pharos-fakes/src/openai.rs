//! A scripted OpenAI-compatible chat-completions server (what OpenAI and vLLM serve), on 127.0.0.1:
//!
//! - `POST /v1/chat/completions`: answers with the next [`Turn`] of the script — a `reply` turn
//!   whose text the last user message contains goes first — streamed as OpenAI streams
//!   (`data: {chat.completion.chunk}` events: the role first, content or tool-call fragments, a
//!   chunk with `finish_reason`, the usage chunk with empty `choices` when
//!   `stream_options.include_usage` is set, then `data: [DONE]`), or as one `chat.completion`
//!   object when `stream` is false or absent. Parallel tool calls get ids `call_<n>` and their
//!   argument fragments interleaved by `index`. Errors use OpenAI's body
//!   `{"error":{"message","type","param","code"}}`; with no turn left the answer is a 500;
//! - `GET /v1/models`: the one model, [`MODEL`] (chunks echo the model a request names);
//! - both check `Authorization: Bearer <key>` when started with a key (401 as OpenAI).
//!
//! Every request body is recorded, in order, for tests to assert on.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The model the fake lists and names when a request names none.
pub const MODEL: &str = "scripted-model";
/// Content characters per streamed delta unless a turn says otherwise.
const DEFAULT_CHUNK: usize = 4;
/// Argument characters per tool-call fragment unless a turn says otherwise.
const DEFAULT_FRAGMENT: usize = 8;

/// One scripted answer; `{"kind": "text", …}` in a JSON script.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Turn {
    /// A text answer, streamed `chunk` characters (default 4) per delta.
    Text {
        /// The answer.
        text: String,
        /// Characters per delta.
        #[serde(default)]
        chunk: Option<usize>,
    },
    /// Tool calls (finish reason `tool_calls`), arguments streamed `fragment` characters (default
    /// 8) at a time, the calls' fragments interleaved.
    ToolCalls {
        /// The calls, in index order.
        calls: Vec<ScriptedCall>,
        /// Argument characters per fragment.
        #[serde(default)]
        fragment: Option<usize>,
    },
    /// An error answer in OpenAI's shape, with `Retry-After: <seconds>` when set.
    Error {
        /// The HTTP status.
        status: u16,
        /// `error.message`.
        message: String,
        /// `Retry-After` in seconds.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Sends the headers of a 200 and then nothing, until the client gives up.
    Hang,
    /// Streams `text` and closes the stream without a finish reason or `[DONE]`.
    CutOff {
        /// What is streamed before the cut.
        text: String,
    },
    /// A 200 whose body is an HTML page, as a misrouted proxy answers.
    Garbage,
    /// Answers with `then` when the last user message contains `when_last_user_contains`, out
    /// of order; other requests skip it.
    Reply {
        /// The text the last user message must contain.
        when_last_user_contains: String,
        /// The answer.
        then: Box<Turn>,
    },
}

/// A scripted tool call.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ScriptedCall {
    /// The function name.
    pub name: String,
    /// The arguments' JSON text, sent as is (malformed on purpose if a test wants).
    pub arguments: String,
}

impl Turn {
    /// A text answer with the default chunking.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            chunk: None,
        }
    }

    /// Tool calls `(name, arguments)` with the default fragmenting.
    pub fn tool_calls<'a>(calls: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::ToolCalls {
            calls: calls
                .into_iter()
                .map(|(name, arguments)| ScriptedCall {
                    name: name.to_owned(),
                    arguments: arguments.to_owned(),
                })
                .collect(),
            fragment: None,
        }
    }

    /// An error answer without `Retry-After`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self::Error {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[derive(Debug)]
struct Inner {
    turns: VecDeque<Turn>,
    requests: Vec<Value>,
    authorizations: Vec<Option<String>>,
    api_key: Option<String>,
    /// The last number used in a `chatcmpl-` or `call_` id.
    ids: u64,
}

/// A running scripted OpenAI-compatible server.
#[derive(Clone, Debug)]
pub struct ScriptedLlm {
    inner: Arc<Mutex<Inner>>,
    base_url: String,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ScriptedLlm {
    /// Starts a server answering with `script`, without an API key, on an ephemeral port.
    pub async fn start(script: Vec<Turn>) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), script, None).await
    }

    /// Starts a server that answers 401 unless the request carries `Bearer <api_key>`.
    pub async fn start_with_key(script: Vec<Turn>, api_key: &str) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), script, Some(api_key)).await
    }

    /// Starts a server on `listen` (port 0: an ephemeral one).
    pub async fn start_on(
        listen: SocketAddr,
        script: Vec<Turn>,
        api_key: Option<&str>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let inner = Arc::new(Mutex::new(Inner {
            turns: script.into(),
            requests: Vec::new(),
            authorizations: Vec::new(),
            api_key: api_key.map(str::to_owned),
            ids: 0,
        }));
        let router = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/models", get(models))
            .with_state(Arc::clone(&inner));
        crate::spawn(listener, router);
        Ok(Self { inner, base_url })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every chat-completions request body received, in order (a body that is not JSON as a
    /// JSON string).
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.inner).requests.clone()
    }

    /// The `Authorization` header of every chat-completions request, in order.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        lock(&self.inner).authorizations.clone()
    }

    /// Appends `turn` to the script.
    pub fn push(&self, turn: Turn) {
        lock(&self.inner).turns.push_back(turn);
    }

    /// The turns not answered yet.
    pub fn remaining(&self) -> usize {
        lock(&self.inner).turns.len()
    }
}

/// OpenAI's error answer.
fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let (kind, code) = match status {
        401 => ("invalid_request_error", json!("invalid_api_key")),
        429 => ("requests", json!("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", Value::Null),
        _ => ("server_error", Value::Null),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body =
        json!({ "error": { "message": message, "type": kind, "param": null, "code": code } });
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The 401 for a missing or wrong key, if a key is expected.
fn unauthorized(expected: Option<&str>, authorization: Option<&str>) -> Option<Response> {
    let expected = expected?;
    let message = match authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        Some(key) if key == expected => return None,
        Some(key) => format!(
            "Incorrect API key provided: {}. You can find your API key in your account settings.",
            key.chars().take(6).collect::<String>() + "****"
        ),
        None => "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            .to_owned(),
    };
    Some(error(401, &message, None))
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn models(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let expected = lock(&inner).api_key.clone();
    if let Some(denied) = unauthorized(expected.as_deref(), authorization(&headers).as_deref()) {
        return denied;
    }
    Json(json!({
        "object": "list",
        "data": [{ "id": MODEL, "object": "model", "created": 0, "owned_by": "pharos-fakes" }],
    }))
    .into_response()
}

/// The text of the last user message (parts of a multi-part content joined).
fn last_user_text(body: &Value) -> String {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let Some(message) = messages.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    }
}

/// Takes the turn answering `last_user`: a matching `reply` first, else the first other one.
fn take_turn(turns: &mut VecDeque<Turn>, last_user: &str) -> Option<Turn> {
    let matching = turns.iter().position(|t| {
        matches!(t, Turn::Reply { when_last_user_contains: w, .. } if last_user.contains(w.as_str()))
    });
    let at = matching.or_else(|| turns.iter().position(|t| !matches!(t, Turn::Reply { .. })))?;
    turns.remove(at)
}

async fn chat_completions(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    let mut state = lock(&inner);
    state.requests.push(match &parsed {
        Ok(value) => value.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    });
    state.authorizations.push(authorization(&headers));
    let expected = state.api_key.clone();
    if let Some(denied) = unauthorized(expected.as_deref(), authorization(&headers).as_deref()) {
        return denied;
    }
    let Ok(request) = parsed else {
        return error(
            400,
            "We could not parse the JSON body of your request.",
            None,
        );
    };
    if !request["messages"].is_array() {
        return error(400, "Missing required parameter: 'messages'.", None);
    }
    let Some(turn) = take_turn(&mut state.turns, &last_user_text(&request)) else {
        return error(500, "the scripted server has no turn left", None);
    };
    state.ids += 1;
    let mut answer = Answer {
        id: format!("chatcmpl-{}", state.ids),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: request["model"].as_str().unwrap_or(MODEL).to_owned(),
        stream: request["stream"] == true,
        include_usage: request["stream_options"]["include_usage"] == true,
        prompt_tokens: tokens(&request["messages"].to_string()),
        ids: state.ids,
        events: Vec::new(),
    };
    let response = answer.render(turn);
    state.ids = answer.ids;
    response
}

/// A rough token count: one per four characters.
fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// `text` in pieces of `size` characters.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// One answer being written.
struct Answer {
    id: String,
    created: u64,
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: u64,
    /// The id counter, for tool-call ids.
    ids: u64,
    /// The stream's events so far.
    events: Vec<String>,
}

impl Answer {
    fn render(&mut self, turn: Turn) -> Response {
        match turn {
            Turn::Reply { then, .. } => self.render(*then),
            Turn::Error {
                status,
                message,
                retry_after,
            } => error(status, &message, retry_after),
            Turn::Hang => stream_response(
                "text/event-stream; charset=utf-8",
                Body::from_stream(futures::stream::pending::<Result<Bytes, Infallible>>()),
            ),
            Turn::Garbage => stream_response(
                "text/html; charset=utf-8",
                Body::from(
                    "<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n",
                ),
            ),
            Turn::Text { text, chunk } => {
                let usage = self.usage(tokens(&text));
                if !self.stream {
                    return self.whole(json!(text), None, "stop", usage);
                }
                self.role(json!(""));
                for piece in pieces(&text, chunk.unwrap_or(DEFAULT_CHUNK)) {
                    self.chunk(json!({ "content": piece }), None);
                }
                self.end("stop", usage)
            }
            Turn::CutOff { text } => {
                if !self.stream {
                    let whole = self.whole(json!(text), None, "stop", Value::Null);
                    return cut(whole);
                }
                self.role(json!(""));
                for piece in pieces(&text, DEFAULT_CHUNK) {
                    self.chunk(json!({ "content": piece }), None);
                }
                let events = std::mem::take(&mut self.events).concat();
                stream_response("text/event-stream; charset=utf-8", Body::from(events))
            }
            Turn::ToolCalls { calls, fragment } => self.tool_calls(&calls, fragment),
        }
    }

    fn tool_calls(&mut self, calls: &[ScriptedCall], fragment: Option<usize>) -> Response {
        let ids: Vec<String> = calls
            .iter()
            .map(|_| {
                self.ids += 1;
                format!("call_{}", self.ids)
            })
            .collect();
        let out_tokens = calls.iter().map(|c| tokens(&c.arguments) + 1).sum();
        let usage = self.usage(out_tokens);
        if !self.stream {
            let whole: Vec<Value> = calls
                .iter()
                .zip(&ids)
                .map(|(c, id)| {
                    json!({ "id": id, "type": "function",
                            "function": { "name": c.name, "arguments": c.arguments } })
                })
                .collect();
            return self.whole(Value::Null, Some(whole), "tool_calls", usage);
        }
        for (index, (call, id)) in calls.iter().zip(&ids).enumerate() {
            let head = json!([{ "index": index, "id": id, "type": "function",
                                "function": { "name": call.name, "arguments": "" } }]);
            if index == 0 {
                self.chunk(
                    json!({ "role": "assistant", "content": null, "tool_calls": head, "refusal": null }),
                    None,
                );
            } else {
                self.chunk(json!({ "tool_calls": head }), None);
            }
        }
        let size = fragment.unwrap_or(DEFAULT_FRAGMENT);
        let fragments: Vec<Vec<String>> =
            calls.iter().map(|c| pieces(&c.arguments, size)).collect();
        let rounds = fragments.iter().map(Vec::len).max().unwrap_or(0);
        for round in 0..rounds {
            for (index, parts) in fragments.iter().enumerate() {
                if let Some(part) = parts.get(round) {
                    let call = json!([{ "index": index, "function": { "arguments": part } }]);
                    self.chunk(json!({ "tool_calls": call }), None);
                }
            }
        }
        self.end("tool_calls", usage)
    }

    fn usage(&self, completion_tokens: u64) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
        })
    }

    fn envelope(&self, object: &str, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_pharos_fake",
            "choices": choices,
        })
    }

    /// A `chat.completion.chunk` of choice 0.
    fn chunk(&mut self, delta: Value, finish_reason: Option<&str>) {
        let choices = json!([{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }]);
        let mut chunk = self.envelope("chat.completion.chunk", choices);
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        self.events.push(format!("data: {chunk}\n\n"));
    }

    /// The first chunk: the role, with OpenAI's empty content.
    fn role(&mut self, content: Value) {
        let delta = json!({ "role": "assistant", "content": content, "refusal": null });
        self.chunk(delta, None);
    }

    /// The finish chunk, the usage chunk if asked for, `[DONE]`: the whole stream.
    fn end(&mut self, finish_reason: &str, usage: Value) -> Response {
        self.chunk(json!({}), Some(finish_reason));
        if self.include_usage {
            let mut chunk = self.envelope("chat.completion.chunk", json!([]));
            chunk["usage"] = usage;
            self.events.push(format!("data: {chunk}\n\n"));
        }
        self.events.push("data: [DONE]\n\n".to_owned());
        let events = std::mem::take(&mut self.events);
        let stream = futures::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
        stream_response(
            "text/event-stream; charset=utf-8",
            Body::from_stream(stream),
        )
    }

    /// A non-streamed `chat.completion`.
    fn whole(
        &self,
        content: Value,
        tool_calls: Option<Vec<Value>>,
        finish_reason: &str,
        usage: Value,
    ) -> Response {
        let mut message = json!({ "role": "assistant", "content": content, "refusal": null });
        if let Some(calls) = tool_calls {
            message["tool_calls"] = Value::Array(calls);
        }
        let choices = json!([{ "index": 0, "message": message, "logprobs": null,
                               "finish_reason": finish_reason }]);
        let mut body = self.envelope("chat.completion", choices);
        body["usage"] = usage;
        Json(body).into_response()
    }
}

/// A 200 with `content_type` and `body`.
fn stream_response(content_type: &'static str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `response` with only the first half of its body.
fn cut(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let stream = futures::stream::once(async move {
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        Ok::<_, Infallible>(bytes.slice(..bytes.len() / 2))
    });
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(stream))
}
