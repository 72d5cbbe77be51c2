//! What can go wrong asking the model, worded so that whoever reads it knows what to check.

use std::time::Duration;

/// A failed completion.
#[derive(thiserror::Error, Clone, Debug, PartialEq, Eq)]
pub enum LlmError {
    /// No endpoint or model is configured.
    #[error(
        "no language model is configured: set the assistant's LLM endpoint (base URL and model)"
    )]
    NotConfigured,
    /// The server answered with an error status; `message` is its `error.message`.
    #[error("{}", describe_status(*.status, .message))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's own explanation.
        message: String,
    },
    /// A phase of the request took longer than its limit.
    #[error("{}", describe_timeout(.phase, *.after))]
    Timeout {
        /// `connect`, `first byte`, `idle` or `total`.
        phase: &'static str,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// The answer was not what an OpenAI-compatible server sends, or stopped half-way.
    #[error("{0}")]
    Protocol(String),
    /// The server could not be reached.
    #[error("could not reach the model server: {0}")]
    Transport(String),
}

fn describe_status(status: u16, message: &str) -> String {
    let hint = match status {
        401 | 403 => "check the assistant's API key",
        404 => "check the base URL (it usually ends in /v1) and the model name",
        400 | 413 | 422 => "the request was rejected; a shorter conversation may help",
        429 => "the model server is rate limiting; try again in a moment",
        500..=599 => "the model server failed; try again, or check its logs",
        _ => "check the model server",
    };
    format!("the model server answered {status}: {message} ({hint})")
}

fn describe_timeout(phase: &str, after: Duration) -> String {
    let what = match phase {
        "connect" => "could not connect to the model server",
        "first byte" => "the model server did not start answering",
        "idle" => "the model's answer stalled",
        _ => "the model's answer did not finish",
    };
    format!("{what} within {after:?} ({phase} timeout)")
}
