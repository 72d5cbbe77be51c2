//! [`LlmClient`]: one streamed `POST {base_url}/chat/completions` per completion, with retries
//! (exponential backoff, `Retry-After` honoured) on 429, 500, 502, 503, 504 and failed
//! connections — only while nothing has been streamed — the timeouts of [`LlmTimeouts`] and a
//! bound on the answer's size.
//!
//! [`LlmTimeouts`]: super::LlmTimeouts

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, timeout, timeout_at};

use super::stream::{Assembler, SseDecoder};
use super::wire::{self, Whole};
use super::{ChatModel, ChatRequest, Completion, LlmEndpoint, LlmError, StreamEvent};

/// The most bytes one answer may stream.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// The most bytes of an error answer read.
const MAX_ERROR_BYTES: usize = 64 * 1024;
/// The first wait between attempts; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between attempts, a server's `Retry-After` included.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// An OpenAI-compatible chat-completions client.
#[derive(Clone, Debug)]
pub struct LlmClient {
    endpoint: LlmEndpoint,
    http: reqwest::Client,
    url: String,
}

/// Why an attempt failed, and whether another may follow.
struct Failure {
    error: LlmError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

impl LlmClient {
    /// A client of `endpoint` over `http` (build it with [`super::LlmTimeouts::http_client`] to
    /// have the connect timeout enforced on its own).
    pub fn new(endpoint: LlmEndpoint, http: reqwest::Client) -> Self {
        let url = format!(
            "{}/chat/completions",
            endpoint.base_url.trim().trim_end_matches('/')
        );
        Self {
            endpoint,
            http,
            url,
        }
    }

    /// The endpoint asked.
    pub fn endpoint(&self) -> &LlmEndpoint {
        &self.endpoint
    }

    /// One completion with its retries, as one span: the model, the server and the token
    /// counts — never the prompt, the answer or the API key.
    #[tracing::instrument(
        name = "llm chat completion",
        skip_all,
        fields(
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            gen_ai.operation.name = "chat",
            gen_ai.request.model = tracing::field::Empty,
            server.address = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
        )
    )]
    async fn run(
        &self,
        request: &ChatRequest,
        events: Option<&UnboundedSender<StreamEvent>>,
    ) -> Result<Completion, LlmError> {
        let model = request
            .model
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&self.endpoint.model);
        let span = tracing::Span::current();
        span.record("gen_ai.request.model", model);
        if let Some(host) = reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
        {
            span.record("server.address", host.as_str());
        }
        if self.endpoint.base_url.trim().is_empty() || model.trim().is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let body = serde_json::to_vec(&wire::request_body(request, model))
            .map(Bytes::from)
            .map_err(|e| LlmError::Protocol(format!("cannot write the request: {e}")))?;
        let total = self.endpoint.timeouts.total;
        let outcome = timeout(total, self.with_retries(body, model, events))
            .await
            .unwrap_or(Err(LlmError::Timeout {
                phase: "total",
                after: total,
            }));
        match &outcome {
            Ok(completion) => {
                if let Some(usage) = completion.usage {
                    span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                    span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
                }
                if let Some(reason) = &completion.finish_reason {
                    span.record("gen_ai.response.finish_reasons", reason.as_str());
                }
            }
            Err(_) => {
                span.record("otel.status_code", "ERROR");
            }
        }
        outcome
    }

    async fn with_retries(
        &self,
        body: Bytes,
        model: &str,
        events: Option<&UnboundedSender<StreamEvent>>,
    ) -> Result<Completion, LlmError> {
        let mut attempt = 0;
        loop {
            let mut assembler = Assembler::new(events);
            let failure = match self.attempt(body.clone(), &mut assembler).await {
                Ok(()) => return assembler.finish(model),
                Err(failure) => failure,
            };
            // Once something was streamed a retry would repeat it: the caller gets the error.
            if !failure.retryable || assembler.emitted || attempt >= self.endpoint.max_retries {
                return Err(failure.error);
            }
            let wait = failure
                .retry_after
                .unwrap_or_else(|| FIRST_BACKOFF.saturating_mul(1 << attempt.min(5)))
                .min(MAX_BACKOFF);
            tracing::warn!(
                url = %self.url,
                attempt = attempt + 1,
                wait_ms = wait.as_millis() as u64,
                error = %failure.error,
                "the model server failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request: `Ok` once the answer was read to its end into `assembler`.
    async fn attempt(&self, body: Bytes, assembler: &mut Assembler<'_>) -> Result<(), Failure> {
        let timeouts = self.endpoint.timeouts;
        let first_byte = Instant::now() + timeouts.connect + timeouts.first_byte;
        let mut request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .body(body);
        if let Some(key) = &self.endpoint.api_key {
            request = request.bearer_auth(key);
        }
        let first_byte_timeout = LlmError::Timeout {
            phase: "first byte",
            after: timeouts.first_byte,
        };
        let response = match timeout_at(first_byte, request.send()).await {
            Err(_) => return Err(first_byte_timeout.into()),
            Ok(Err(e)) => return Err(self.send_failure(&e)),
            Ok(Ok(response)) => response,
        };
        // Headers in: the connection stands, the first byte of the body gets `first_byte` at most.
        let first_byte = first_byte.min(Instant::now() + timeouts.first_byte);
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(MAX_BACKOFF.as_secs_f64())));
            let mut stream = response.bytes_stream();
            let mut bytes = Vec::new();
            // The explanation is best effort: a body that stalls or breaks leaves it short.
            while bytes.len() < MAX_ERROR_BYTES {
                match timeout(timeouts.idle, stream.next()).await {
                    Ok(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            return Err(Failure {
                error: LlmError::Status {
                    status: status.as_u16(),
                    message: wire::error_message(&bytes),
                },
                retryable: matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504),
                retry_after,
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut stream = response.bytes_stream();
        let mut decoder = SseDecoder::default();
        let mut whole = Vec::new();
        let mut received = 0;
        let json = content_type.starts_with("application/json");
        loop {
            let next = if received == 0 {
                timeout_at(first_byte, stream.next())
                    .await
                    .map_err(|_| first_byte_timeout.clone())?
            } else {
                timeout(timeouts.idle, stream.next())
                    .await
                    .map_err(|_| LlmError::Timeout {
                        phase: "idle",
                        after: timeouts.idle,
                    })?
            };
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    return Err(LlmError::Protocol(format!(
                        "the model's stream stopped mid-answer (the connection broke: {})",
                        chain(&e)
                    ))
                    .into());
                }
            };
            received += chunk.len();
            if received > MAX_ANSWER_BYTES {
                return Err(LlmError::Protocol(format!(
                    "the model's answer is longer than {} MiB; it was cut off",
                    MAX_ANSWER_BYTES / (1024 * 1024)
                ))
                .into());
            }
            if json || (!assembler.seen_data && whole.len() < MAX_ERROR_BYTES) {
                whole.extend_from_slice(&chunk);
            }
            if json {
                continue;
            }
            for data in decoder.feed(&chunk) {
                assembler.data(&data)?;
                if assembler.done {
                    return Ok(());
                }
            }
        }
        if json {
            let answer: Whole = serde_json::from_slice(&whole).map_err(|e| {
                LlmError::Protocol(format!(
                    "the model server's JSON answer is not a chat completion ({e}): {}",
                    wire::summary(&String::from_utf8_lossy(&whole))
                ))
            })?;
            return Ok(assembler.whole(answer)?);
        }
        if let Some(data) = decoder.finish() {
            assembler.data(&data)?;
        }
        if !assembler.seen_data {
            return Err(LlmError::Protocol(format!(
                "the model server did not answer with an event stream (content type {:?}): {}",
                content_type,
                wire::summary(&String::from_utf8_lossy(&whole))
            ))
            .into());
        }
        Ok(())
    }

    /// A request that got no answer: connection failures may be retried.
    fn send_failure(&self, e: &reqwest::Error) -> Failure {
        let timeouts = self.endpoint.timeouts;
        if e.is_connect() {
            let error = if e.is_timeout() {
                LlmError::Timeout {
                    phase: "connect",
                    after: timeouts.connect,
                }
            } else {
                LlmError::Transport(format!("cannot connect to {}: {}", self.url, chain(e)))
            };
            return Failure {
                error,
                retryable: true,
                retry_after: None,
            };
        }
        if e.is_timeout() {
            return LlmError::Timeout {
                phase: "total",
                after: timeouts.total,
            }
            .into();
        }
        LlmError::Transport(format!("request to {} failed: {}", self.url, chain(e))).into()
    }
}

/// An error with its causes, `outer: inner: root`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl ChatModel for LlmClient {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: Option<&'a UnboundedSender<StreamEvent>>,
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        Box::pin(self.run(request, events))
    }
}
