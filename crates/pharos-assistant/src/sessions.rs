//! Chat sessions in the config store (SQLite or PostgreSQL, no migration): a session is a
//! global resource of kind [`SESSION_KIND`] named by its id, each message one of kind
//! [`MESSAGE_KIND`] named `<session>.<sequence>` so a prefix listing reads a conversation in
//! order. Messages are written once and never updated, so no version history accrues. A
//! session belongs to the user who created it; anybody else is told it does not exist.

use chrono::{DateTime, Utc};
use pharos_store::{ListQuery, NewResource, Precondition, ResourceKey, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::llm::{ChatMessage, Role, ToolCall, Usage};

/// The store kind of a session.
pub const SESSION_KIND: &str = "ChatSession";
/// The store kind of a message.
pub const MESSAGE_KIND: &str = "ChatMessage";
/// The most messages one session keeps; a full session must be continued in a new one.
pub const MAX_MESSAGES: u32 = 2_000;
/// The longest question a user may ask, in characters.
pub const MAX_QUESTION_CHARS: usize = 16_000;

/// A session as the API answers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// Its id (a UUID).
    pub id: String,
    /// Its title (the first question, shortened, unless given).
    pub title: String,
    /// The persona it talks as.
    pub persona: String,
    /// The user who owns it.
    pub owner: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last message.
    pub updated_at: DateTime<Utc>,
    /// How many messages it holds.
    pub message_count: u32,
}

/// A failure as the API reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TurnError {
    /// `llm_not_configured`, `llm_failed`, `tool_rounds_exceeded`, `timeout`, `cancelled`.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// A stored message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredMessage {
    /// `<session>.<sequence>`.
    pub id: String,
    /// user, assistant or tool.
    pub role: Role,
    /// The text (for tool messages the budgeted result JSON).
    pub content: Option<String>,
    /// Tools the assistant called in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool's name, on tool messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Tokens the model used for this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why the turn ended early, on the last assistant message of a failed turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TurnError>,
}

impl StoredMessage {
    /// The message as the model reads it again in the next turn.
    pub fn to_chat(&self) -> ChatMessage {
        ChatMessage {
            role: self.role.clone(),
            content: self.content.clone(),
            tool_calls: self.tool_calls.clone(),
            tool_call_id: self.tool_call_id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session, or somebody else's.
    #[error("there is no chat session \"{0}\"")]
    NotFound(String),
    /// The input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The session is full.
    #[error("this session holds {MAX_MESSAGES} messages, the most one keeps: start a new one")]
    Full,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record cannot be read.
    #[error("chat record {0} is unreadable: {1}")]
    Corrupt(String, String),
}

fn session_key(id: &str) -> ResourceKey {
    ResourceKey::global(SESSION_KIND, id)
}

fn message_name(session: &str, sequence: u32) -> String {
    format!("{session}.{sequence:06}")
}

/// A title from the first question: its first line, at most 80 characters.
pub fn title_from(question: &str) -> String {
    let line = question
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    if line.chars().count() > 80 {
        line.chars().take(79).collect::<String>() + "…"
    } else {
        line.to_owned()
    }
}

/// The sessions and messages of the config store.
#[derive(Debug, Clone)]
pub struct SessionStore {
    store: Store,
}

impl SessionStore {
    /// Over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// A new, empty session of `owner`.
    pub async fn create(
        &self,
        owner: &str,
        persona: &str,
        title: Option<&str>,
    ) -> Result<Session, SessionError> {
        let title = title.map(str::trim).unwrap_or_default();
        if title.chars().count() > 200 {
            return Err(SessionError::Invalid(
                "title must be at most 200 characters".to_owned(),
            ));
        }
        let now = Utc::now();
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            title: title.to_owned(),
            persona: persona.to_owned(),
            owner: owner.to_owned(),
            created_at: now,
            updated_at: now,
            message_count: 0,
        };
        self.write(&session, None).await?;
        Ok(session)
    }

    async fn write(&self, session: &Session, version: Option<u64>) -> Result<(), SessionError> {
        let new = NewResource {
            key: session_key(&session.id),
            metadata_extra: json!({}),
            spec: serde_json::to_value(session)
                .map_err(|e| SessionError::Invalid(e.to_string()))?,
        };
        match version {
            None => self.store.create(new).await.map(|_| ()),
            Some(v) => self
                .store
                .update(new, Precondition::IfVersion(v))
                .await
                .map(|_| ()),
        }?;
        Ok(())
    }

    async fn read(&self, id: &str) -> Result<Option<(Session, u64)>, SessionError> {
        let Some(resource) = self.store.get(&session_key(id)).await? else {
            return Ok(None);
        };
        let spec = resource.spec.unwrap_or_default();
        let session: Session = serde_json::from_value(spec)
            .map_err(|e| SessionError::Corrupt(id.to_owned(), e.to_string()))?;
        Ok(Some((session, resource.version)))
    }

    /// The session `id` if `owner` owns it.
    pub async fn get(&self, owner: &str, id: &str) -> Result<Session, SessionError> {
        match self.read(id).await? {
            Some((session, _)) if session.owner == owner => Ok(session),
            _ => Err(SessionError::NotFound(id.to_owned())),
        }
    }

    /// `owner`'s sessions, most recently used first.
    pub async fn list(&self, owner: &str) -> Result<Vec<Session>, SessionError> {
        let resources = self
            .store
            .list(&ListQuery {
                kind: SESSION_KIND.to_owned(),
                project: None,
                name_prefix: None,
                include_spec: true,
            })
            .await?;
        let mut sessions: Vec<Session> = resources
            .into_iter()
            .filter_map(|r| serde_json::from_value::<Session>(r.spec?).ok())
            .filter(|s| s.owner == owner)
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.updated_at));
        Ok(sessions)
    }

    /// The messages of `owner`'s session `id`, in order.
    pub async fn messages(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Vec<StoredMessage>, SessionError> {
        self.get(owner, id).await?;
        let resources = self
            .store
            .list(&ListQuery {
                kind: MESSAGE_KIND.to_owned(),
                project: None,
                name_prefix: Some(format!("{id}.")),
                include_spec: true,
            })
            .await?;
        resources
            .into_iter()
            .map(|r| {
                let name = r.key.name.clone();
                serde_json::from_value::<StoredMessage>(r.spec.unwrap_or_default())
                    .map_err(|e| SessionError::Corrupt(name, e.to_string()))
            })
            .collect()
    }

    /// Appends `messages` to `owner`'s session `id` (their ids and times are set here), sets
    /// the title from the first user message when it has none, and returns them as stored.
    pub async fn append(
        &self,
        owner: &str,
        id: &str,
        messages: Vec<ChatMessage>,
        usage: &[(usize, Usage)],
        error: Option<TurnError>,
    ) -> Result<Vec<StoredMessage>, SessionError> {
        // Appends of one session are serialised by the version check on the session record:
        // a concurrent turn that lost re-reads and takes the next sequence numbers.
        for _ in 0..5 {
            let Some((mut session, version)) = self.read(id).await? else {
                return Err(SessionError::NotFound(id.to_owned()));
            };
            if session.owner != owner {
                return Err(SessionError::NotFound(id.to_owned()));
            }
            let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
            if session.message_count.saturating_add(count) > MAX_MESSAGES {
                return Err(SessionError::Full);
            }
            let first = session.message_count;
            session.message_count += count;
            session.updated_at = Utc::now();
            if session.title.is_empty()
                && let Some(question) = messages.iter().find(|m| m.role == Role::User)
            {
                session.title = title_from(question.content.as_deref().unwrap_or_default());
            }
            match self.write(&session, Some(version)).await {
                Err(SessionError::Store(StoreError::PreconditionFailed { .. })) => continue,
                other => other?,
            }
            let last = messages.len().saturating_sub(1);
            let mut stored = Vec::with_capacity(messages.len());
            for (offset, message) in messages.into_iter().enumerate() {
                let sequence = first + u32::try_from(offset).unwrap_or(0);
                let record = StoredMessage {
                    id: message_name(id, sequence),
                    role: message.role,
                    content: message.content,
                    tool_calls: message.tool_calls,
                    tool_call_id: message.tool_call_id,
                    name: message.name,
                    created_at: Utc::now(),
                    usage: usage.iter().find(|(i, _)| *i == offset).map(|(_, u)| *u),
                    error: if offset == last { error.clone() } else { None },
                };
                self.store
                    .create(NewResource {
                        key: ResourceKey::global(MESSAGE_KIND, &record.id),
                        metadata_extra: json!({}),
                        spec: serde_json::to_value(&record)
                            .map_err(|e| SessionError::Invalid(e.to_string()))?,
                    })
                    .await?;
                stored.push(record);
            }
            return Ok(stored);
        }
        Err(SessionError::Invalid(
            "this session is being written by several requests at once: try again".to_owned(),
        ))
    }

    /// Deletes `owner`'s session `id` and its messages.
    pub async fn delete(&self, owner: &str, id: &str) -> Result<(), SessionError> {
        self.get(owner, id).await?;
        let messages = self
            .store
            .list(&ListQuery {
                kind: MESSAGE_KIND.to_owned(),
                project: None,
                name_prefix: Some(format!("{id}.")),
                include_spec: false,
            })
            .await?;
        for message in messages {
            match self.store.delete(&message.key, Precondition::None).await {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
        match self
            .store
            .delete(&session_key(id), Precondition::None)
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}
