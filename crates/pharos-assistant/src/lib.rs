//! The AI assistant, below HTTP: the OpenAI-compatible chat-completions client ([`llm`]), the
//! typed tool registry that chat and MCP share, with output budgeting, the personas, the
//! tool-calling conversation loop, chat sessions in the config store, and the offline
//! evaluation suite. Tools that read Pharos' data are implemented by the server over its service
//! layer, bound to the asking user, so every call is checked against that user's permissions.

pub mod agent;
pub mod budget;
pub mod eval;
pub mod llm;
pub mod personas;
pub mod sessions;
pub mod tools;
