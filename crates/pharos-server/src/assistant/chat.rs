//! Chat sessions: `POST|GET /api/v1/chat/sessions`, `GET|DELETE /api/v1/chat/sessions/{id}`,
//! `POST …/{id}/messages` (the turn's new messages at once) and `POST …/{id}/stream` (the same
//! turn as Server-Sent Events: `user_message`, `delta`, `tool_call`, `tool_result`, `message`,
//! `error`, `done`). A session belongs to its creator; anyone else gets 404. A turn runs to its
//! end even when the client goes away, so what was asked and answered is always stored.

use std::convert::Infallible;
use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use pharos_assistant::agent::{Agent, Limits, TurnEvent, TurnOutcome};
use pharos_assistant::budget::Budget;
use pharos_assistant::llm::{ChatMessage, Role};
use pharos_assistant::personas::{self, Persona};
use pharos_assistant::sessions::{
    MAX_QUESTION_CHARS, Session, SessionStore, StoredMessage, TurnError,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tracing::Instrument as _;

use super::llm::{NOT_CONFIGURED, model_for};
use super::personas::signed_in;
use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    identity::Caller,
    state::AppState,
};

fn sessions(state: &AppState) -> SessionStore {
    SessionStore::new(state.resources.store().clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSession {
    #[serde(default)]
    persona: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    content: String,
}

async fn persona(state: &AppState, id: &str) -> ApiResult<Persona> {
    let all = personas::list(state.resources.store()).await?;
    let names: Vec<String> = all.iter().map(|p| p.id.clone()).collect();
    all.into_iter().find(|p| p.id == id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "there is no persona \"{id}\"; the personas are: {}",
            names.join(", ")
        ))
    })
}

pub(super) async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    signed_in(&caller)?;
    let input: NewSession = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a new session ({e}); send {{\"persona\"?: \"default\", \"title\"?: \"...\"}}"
        ))
    })?;
    let persona = persona(&state, input.persona.as_deref().unwrap_or("default")).await?;
    let session = sessions(&state)
        .create(caller.name(), &persona.id, input.title.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

pub(super) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Response> {
    signed_in(&caller)?;
    let list = sessions(&state).list(caller.name()).await?;
    Ok(Json(json!({"sessions": list})).into_response())
}

pub(super) async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    signed_in(&caller)?;
    let store = sessions(&state);
    let session = store.get(caller.name(), &id).await?;
    let messages = store.messages(caller.name(), &id).await?;
    let mut body = serde_json::to_value(&session).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["messages"] = json!(messages);
    Ok(Json(body).into_response())
}

pub(super) async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    signed_in(&caller)?;
    sessions(&state).delete(caller.name(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Earlier messages sent with a new question: the last `limit`, starting at a question so
/// no tool result is left without the call it answers.
fn history(messages: &[StoredMessage], limit: usize) -> Vec<ChatMessage> {
    let start = messages.len().saturating_sub(limit);
    let tail = &messages[start..];
    let first_question = tail
        .iter()
        .position(|m| m.role == Role::User)
        .unwrap_or(tail.len());
    tail[first_question..]
        .iter()
        .map(StoredMessage::to_chat)
        .collect()
}

/// Everything a turn needs, checked before anything is stored.
struct Prepared {
    state: AppState,
    caller: Caller,
    session: Session,
    persona: Persona,
    question: String,
    history: Vec<ChatMessage>,
}

async fn prepare(state: &AppState, caller: &Caller, id: &str, body: Value) -> ApiResult<Prepared> {
    signed_in(caller)?;
    let question: Question = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a question ({e}); send {{\"content\": \"...\"}}"
        ))
    })?;
    let content = question.content.trim().to_owned();
    if content.is_empty() {
        return Err(ApiError::bad_request("content is empty: ask a question"));
    }
    if content.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::bad_request(format!(
            "the question is longer than {MAX_QUESTION_CHARS} characters: shorten it"
        )));
    }
    let store = sessions(state);
    let session = store.get(caller.name(), id).await?;
    let persona = persona(state, &session.persona).await?;
    let stored = store.messages(caller.name(), id).await?;
    Ok(Prepared {
        history: history(&stored, state.settings.assistant.history_messages),
        state: state.clone(),
        caller: caller.clone(),
        session,
        persona,
        question: content,
    })
}

impl Prepared {
    /// Stores the question, runs the turn (events to `events`), stores the answer; returns
    /// every stored message of the turn and its outcome.
    async fn run(
        self,
        events: &UnboundedSender<Event>,
    ) -> ApiResult<(Vec<StoredMessage>, TurnOutcome)> {
        let store = sessions(&self.state);
        let owner = self.caller.name().to_owned();
        let mut stored = store
            .append(
                &owner,
                &self.session.id,
                vec![ChatMessage::user(self.question.clone())],
                &[],
                None,
            )
            .await?;
        if let Some(question) = stored.first() {
            send(events, "user_message", &json!(question));
        }
        let outcome = match model_for(&self.state, &self.persona).await {
            Ok(Some(model)) => {
                let settings = &self.state.settings.assistant;
                let tools = super::tools::registry(
                    &self.state,
                    &self.caller,
                    Budget::tokens(settings.tool_result_tokens),
                );
                let agent = Agent {
                    model: model.as_ref(),
                    tools: &tools,
                    persona: &self.persona,
                    limits: Limits {
                        max_tool_rounds: settings.max_tool_rounds,
                        max_calls_per_round: settings.max_calls_per_round,
                        max_duration: settings.max_turn_duration,
                    },
                };
                let (sender, mut receiver) = unbounded_channel::<TurnEvent>();
                let context = format!(
                    "The user is {}. Now is {}.",
                    self.caller.name(),
                    chrono::Utc::now().to_rfc3339()
                );
                let turn = async {
                    let outcome = agent
                        .turn(self.history, &self.question, Some(&context), &sender)
                        .await;
                    drop(sender);
                    outcome
                };
                let forward = async {
                    while let Some(event) = receiver.recv().await {
                        forward(events, event);
                    }
                };
                let (outcome, ()) = futures::join!(turn, forward);
                outcome
            }
            Ok(None) => unconfigured(NOT_CONFIGURED.to_owned()),
            Err(error) => unconfigured(error.to_string()),
        };
        let mut outcome = outcome;
        // A turn that failed before the model wrote anything still leaves an answer in the
        // session, so the failure is there after a reload.
        if outcome.messages.is_empty()
            && let Some(error) = &outcome.error
        {
            outcome
                .messages
                .push(ChatMessage::assistant(error.message.clone()));
        }
        let answer = store
            .append(
                &owner,
                &self.session.id,
                outcome.messages.clone(),
                &outcome.usage,
                outcome.error.clone(),
            )
            .await?;
        stored.extend(answer);
        Ok((stored, outcome))
    }
}

/// A turn that could not reach a model: one assistant message saying why.
fn unconfigured(message: String) -> TurnOutcome {
    TurnOutcome {
        messages: vec![ChatMessage::assistant(message.clone())],
        error: Some(TurnError {
            code: "llm_not_configured".to_owned(),
            message,
        }),
        ..TurnOutcome::default()
    }
}

fn send(events: &UnboundedSender<Event>, name: &str, data: &Value) {
    let _ = events.send(Event::default().event(name).data(data.to_string()));
}

fn forward(events: &UnboundedSender<Event>, event: TurnEvent) {
    let name = match &event {
        TurnEvent::Delta { .. } => "delta",
        TurnEvent::ToolCall { .. } => "tool_call",
        TurnEvent::ToolResult { .. } => "tool_result",
    };
    let mut data = serde_json::to_value(&event).unwrap_or(Value::Null);
    if let Some(map) = data.as_object_mut() {
        map.remove("event");
    }
    send(events, name, &data);
}

fn done_body(outcome: &TurnOutcome) -> Value {
    json!({"usage": outcome.total_usage, "rounds": outcome.rounds})
}

pub(super) async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let prepared = prepare(&state, &caller, &id, body).await?;
    let (events, _ignored) = unbounded_channel();
    let (stored, outcome) = prepared.run(&events).await?;
    let mut body =
        json!({"messages": stored, "usage": outcome.total_usage, "rounds": outcome.rounds});
    if let Some(error) = &outcome.error {
        body["error"] = json!(error);
    }
    Ok(Json(body).into_response())
}

pub(super) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    // Refusals (bad body, missing session) are plain 4xx answers before the stream opens.
    let prepared = prepare(&state, &caller, &id, body).await?;
    let (events, receiver) = unbounded_channel::<Event>();
    let events = Arc::new(events);
    // The turn runs in its own task, still under the request's span (its model calls and
    // tool queries belong to this request's trace).
    let turn = async move {
        match prepared.run(&events).await {
            Ok((stored, outcome)) => {
                for message in stored.iter().filter(|m| m.role != Role::User) {
                    send(&events, "message", &json!(message));
                }
                if let Some(error) = &outcome.error {
                    send(&events, "error", &json!(error));
                }
                send(&events, "done", &done_body(&outcome));
            }
            Err(error) => {
                send(
                    &events,
                    "error",
                    &json!({"code": "failed", "message": error.to_string()}),
                );
            }
        }
    };
    tokio::spawn(turn.in_current_span());
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().text("heartbeat"))
        .into_response())
}
