//! Errors of the two clients and of the operator as a whole.

/// A failed request to the Kubernetes API.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// Connecting, sending or reading failed (including the watch's client-side timeout).
    #[error("Kubernetes API request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The resourceVersion asked for is no longer in the API server's history: relist.
    #[error("resourceVersion expired (410 Gone): {0}")]
    Gone(String),
    /// Any other non-2xx answer, with the `Status` reason and message when there was one.
    #[error("Kubernetes API answered {status} {reason}: {message}")]
    Status {
        /// HTTP status (or the `code` of an `ERROR` watch event).
        status: u16,
        /// The `Status` reason (`NotFound`, `Forbidden`, ...).
        reason: String,
        /// The `Status` message.
        message: String,
    },
    /// The answer was not what the protocol promises.
    #[error("unexpected answer from the Kubernetes API: {0}")]
    Decode(String),
    /// The in-cluster configuration (service host, token, CA) is missing or unreadable.
    #[error("Kubernetes client configuration: {0}")]
    Config(String),
}

/// A failed request to Pharos.
#[derive(Debug, thiserror::Error)]
pub enum PharosError {
    /// Connecting, sending or reading failed.
    #[error("Pharos request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A 4xx: the request itself is wrong (invalid spec, no permission, conflict). Retrying the
    /// same request cannot help; the message is Pharos's own text.
    #[error("Pharos refused the request ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Pharos's message, with the paths of validation errors.
        message: String,
    },
    /// A 5xx: worth retrying later.
    #[error("Pharos answered {status}: {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// Pharos's message.
        message: String,
    },
    /// The answer was not the JSON the API promises.
    #[error("unexpected answer from Pharos: {0}")]
    Decode(String),
}

impl PharosError {
    /// Whether a later retry of the same request may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Rejected { .. })
    }
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The Kubernetes side.
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The Pharos side.
    #[error(transparent)]
    Pharos(#[from] PharosError),
}
