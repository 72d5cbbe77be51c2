//! One turn of a conversation: the question goes to the model with the persona's prompt and
//! tools; every tool call the model makes is run through the registry (parallel calls at
//! once) and its budgeted result handed back; this repeats until the model answers in words,
//! or a bound is hit — tool rounds, calls per round, wall-clock time — and then the turn ends
//! with a clear error in the chat instead of a loop. Events stream out as they happen.

use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::llm::{ChatMessage, ChatModel, ChatRequest, LlmError, StreamEvent, ToolCall, Usage};
use crate::personas::Persona;
use crate::sessions::TurnError;
use crate::tools::{ToolRegistry, ToolResult};

/// The bounds of one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Model calls that may ask for tools before the model must answer.
    pub max_tool_rounds: usize,
    /// Tool calls run per round; more are refused with a message.
    pub max_calls_per_round: usize,
    /// The whole turn.
    pub max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tool_rounds: 6,
            max_calls_per_round: 8,
            max_duration: Duration::from_secs(180),
        }
    }
}

/// What happens during a turn, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TurnEvent {
    /// A piece of the answer.
    Delta {
        /// The text.
        content: String,
    },
    /// A tool starts.
    ToolCall {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Its arguments (parsed when they are JSON, else the text as sent).
        arguments: Value,
    },
    /// A tool finished.
    ToolResult {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// What it returned.
        #[serde(flatten)]
        result: ToolResult,
    },
}

/// A turn's outcome: the messages to store (assistant and tool messages, in order), the
/// tokens used and how the turn ended.
#[derive(Debug, Clone, Default)]
pub struct TurnOutcome {
    /// New messages after the question.
    pub messages: Vec<ChatMessage>,
    /// Tokens per model call: (index into `messages`, usage).
    pub usage: Vec<(usize, Usage)>,
    /// All tokens of the turn.
    pub total_usage: Usage,
    /// Model calls made.
    pub rounds: usize,
    /// Set when the turn ended early.
    pub error: Option<TurnError>,
}

fn turn_error(code: &str, message: impl Into<String>) -> TurnError {
    TurnError {
        code: code.to_owned(),
        message: message.into(),
    }
}

fn add(total: &mut Usage, more: &Usage) {
    total.prompt_tokens += more.prompt_tokens;
    total.completion_tokens += more.completion_tokens;
    total.total_tokens += more.total_tokens;
}

/// A conversation's fixed parts.
#[derive(Debug, Clone, Copy)]
pub struct Agent<'a> {
    /// The model.
    pub model: &'a dyn ChatModel,
    /// The user's tools.
    pub tools: &'a ToolRegistry,
    /// Who the assistant is.
    pub persona: &'a Persona,
    /// Bounds.
    pub limits: Limits,
}

impl Agent<'_> {
    /// Runs one turn: `history` (earlier messages, without the system prompt) and the new
    /// `question`. Events go to `events` as they happen (a closed receiver is ignored).
    pub async fn turn(
        &self,
        history: Vec<ChatMessage>,
        question: &str,
        context: Option<&str>,
        events: &UnboundedSender<TurnEvent>,
    ) -> TurnOutcome {
        let mut outcome = TurnOutcome::default();
        let work = self.rounds(history, question, context, events, &mut outcome);
        if tokio::time::timeout(self.limits.max_duration, work)
            .await
            .is_err()
        {
            outcome.error = Some(turn_error(
                "timeout",
                format!(
                    "the answer took longer than {} s and was stopped; ask a narrower question",
                    self.limits.max_duration.as_secs()
                ),
            ));
        }
        outcome
    }

    async fn rounds(
        &self,
        history: Vec<ChatMessage>,
        question: &str,
        context: Option<&str>,
        events: &UnboundedSender<TurnEvent>,
        outcome: &mut TurnOutcome,
    ) {
        let mut prompt = self.persona.system_prompt.clone();
        if let Some(context) = context {
            prompt.push_str("\n\n");
            prompt.push_str(context);
        }
        let mut messages = vec![ChatMessage::system(prompt)];
        messages.extend(history);
        messages.push(ChatMessage::user(question));
        let allowed = self.persona.allowed_tools();
        let tools = self.tools.specs(allowed);
        for round in 0..=self.limits.max_tool_rounds {
            // The last round offers no tools: the model must answer with what it has.
            let last = round == self.limits.max_tool_rounds;
            let request = ChatRequest {
                model: self.persona.model.clone(),
                messages: messages.clone(),
                tools: if last { Vec::new() } else { tools.clone() },
                temperature: self.persona.temperature,
                max_tokens: None,
            };
            outcome.rounds += 1;
            let completion = match self.complete(&request, events).await {
                Ok(completion) => completion,
                Err(error) => {
                    outcome.error = Some(turn_error(
                        "llm_failed",
                        format!("the language model failed: {error}"),
                    ));
                    return;
                }
            };
            if let Some(usage) = &completion.usage {
                outcome.usage.push((outcome.messages.len(), *usage));
                add(&mut outcome.total_usage, usage);
            }
            let calls = completion.tool_calls.clone();
            let reply = ChatMessage {
                tool_calls: calls.clone(),
                ..ChatMessage::assistant(completion.content.clone())
            };
            messages.push(reply.clone());
            outcome.messages.push(reply);
            if calls.is_empty() {
                return;
            }
            if last {
                outcome.error = Some(turn_error(
                    "tool_rounds_exceeded",
                    format!(
                        "the model still wanted tools after {} rounds; the turn was stopped. Ask a narrower question",
                        self.limits.max_tool_rounds
                    ),
                ));
                return;
            }
            for result in self.run_calls(&calls, allowed, events).await {
                messages.push(result.clone());
                outcome.messages.push(result);
            }
        }
    }

    /// One model call, its stream forwarded as deltas.
    async fn complete(
        &self,
        request: &ChatRequest,
        events: &UnboundedSender<TurnEvent>,
    ) -> Result<crate::llm::Completion, LlmError> {
        let (sender, mut receiver) = unbounded_channel::<StreamEvent>();
        let call = async move {
            let result = self.model.complete(request, Some(&sender)).await;
            drop(sender);
            result
        };
        let forward = async {
            while let Some(event) = receiver.recv().await {
                if let StreamEvent::Delta(content) = event {
                    let _ = events.send(TurnEvent::Delta { content });
                }
            }
        };
        let (result, ()) = futures::join!(call, forward);
        result
    }

    /// Runs a round's calls at once; calls over the per-round bound are answered with a refusal.
    async fn run_calls(
        &self,
        calls: &[ToolCall],
        allowed: Option<&[String]>,
        events: &UnboundedSender<TurnEvent>,
    ) -> Vec<ChatMessage> {
        for call in calls {
            let arguments = serde_json::from_str::<Value>(&call.arguments)
                .unwrap_or_else(|_| Value::String(call.arguments.clone()));
            let _ = events.send(TurnEvent::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                arguments,
            });
        }
        let max = self.limits.max_calls_per_round;
        let results = join_all(calls.iter().enumerate().map(|(i, call)| async move {
            if i >= max {
                let refusal = format!(
                    "not run: at most {max} tool calls per round; call fewer tools at once"
                );
                return ToolResult {
                    ok: false,
                    summary: refusal.clone(),
                    content: serde_json::json!({"error": refusal, "code": "too_many_calls"}),
                    truncated: false,
                    error: Some(refusal),
                };
            }
            self.tools
                .call_text(&call.name, &call.arguments, allowed)
                .await
        }))
        .await;
        calls
            .iter()
            .zip(results)
            .map(|(call, result)| {
                let text = result.to_model_text();
                let _ = events.send(TurnEvent::ToolResult {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    result,
                });
                ChatMessage::tool_result(&call.id, &call.name, text)
            })
            .collect()
    }
}
