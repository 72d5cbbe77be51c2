//! Pulling access logs from an existing Loki: `GET /loki/api/v1/query_range` over a LogQL
//! stream selector, forward in time, paged as Loki's own `logcli` pages (a full page's last
//! timestamp starts the next page; the entries at exactly that nanosecond already taken are
//! skipped), in bounded chunks of time, with retries of 429 and 5xx answers.
//!
//! Two uses: the **backfill** ([`Backfill`]) turns a window of pulled lines straight into the
//! final samples of its 5-minute buckets, in time order, for the binary to write before
//! anything writes "now" samples; the **tail** ([`Tail`], [`feed`]) hands the lines of each
//! newer window to the running [`LogIntake`](crate::LogIntake) as a Loki push, so they become
//! buckets like pushed lines.
//!
//! Each source has **schema versions**: a stream labelled `schema_version` (or `schema`) with a
//! value the puller does not accept is rejected line by line as
//! [`Reject::UnknownSchema`](crate::Reject::UnknownSchema); a stream without the label is taken
//! as the first accepted version. See decision 0023.

mod backfill;
mod client;
mod selector;
mod tail;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use backfill::{Backfill, StoreWindow, backfill_from, store_window};
pub use client::{LokiClient, PageStats, chunks};
pub use selector::validate_selector;
pub use tail::{Tail, feed};

/// Stream labels that name the schema version of a stream's lines, first present wins.
pub const SCHEMA_LABELS: [&str; 2] = ["schema_version", "schema"];

/// Credentials sent to Loki (or the proxy in front of it).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum PullAuth {
    /// None.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic` (Grafana Cloud: the instance id and an access token).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

impl fmt::Debug for PullAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// One Loki to pull from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullConfig {
    /// The puller's name (logs and self-metrics).
    pub name: String,
    /// Loki's base URL (`http://loki:3100`, or a gateway prefix).
    pub url: String,
    /// LogQL stream selector, optionally with line filters.
    pub selector: String,
    /// The intake source whose format and service labels apply.
    pub source: String,
    /// `X-Scope-OrgID`.
    pub tenant: Option<String>,
    /// Credentials.
    pub auth: PullAuth,
    /// How far back the first start pulls.
    pub backfill: Duration,
    /// How often the tail asks for new lines.
    pub interval: Duration,
    /// The tail asks again for this much before its cursor (lines reaching Loki late).
    pub overlap: Duration,
    /// Entries per request (Loki's `max_entries_limit_per_query` is 5,000 by default).
    pub limit: usize,
    /// Longest time range of one request.
    pub chunk: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of a 429, a 5xx or a failed connection before giving up.
    pub max_retries: u32,
    /// First wait before a retry; doubled each time (at most 10 s).
    pub retry_backoff: Duration,
    /// Accepted schema versions; the first is that of streams without a schema label.
    pub schema_versions: Vec<String>,
}

impl PullConfig {
    /// The defaults for `name` pulling `selector` from `url` into source `loki`.
    pub fn new(name: &str, url: &str, selector: &str) -> Self {
        Self {
            name: name.to_owned(),
            url: url.to_owned(),
            selector: selector.to_owned(),
            source: "loki".to_owned(),
            tenant: None,
            auth: PullAuth::None,
            backfill: Duration::from_secs(7 * 86_400),
            interval: Duration::from_secs(30),
            overlap: Duration::from_secs(120),
            limit: 5_000,
            chunk: Duration::from_secs(3_600),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            retry_backoff: Duration::from_millis(500),
            schema_versions: vec!["v1".to_owned()],
        }
    }

    /// The schema of a stream with `labels`: its label's value if accepted, the default when it
    /// has none, `Err` with the unknown value otherwise.
    pub fn schema_of<'a>(&'a self, labels: &'a Labels) -> Result<&'a str, &'a str> {
        let default = self.schema_versions.first().map_or("v1", String::as_str);
        match SCHEMA_LABELS.iter().find_map(|name| labels.get(*name)) {
            None => Ok(default),
            Some(value) if self.schema_versions.iter().any(|v| v == value) => Ok(value),
            Some(value) => Err(value),
        }
    }
}

/// A stream's labels as Loki answers them.
pub type Labels = BTreeMap<String, String>;

/// One pulled log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledEntry {
    /// Its stream's labels (shared by the stream's entries).
    pub labels: Arc<Labels>,
    /// Loki's timestamp, Unix nanoseconds.
    pub timestamp_ns: i64,
    /// The line.
    pub line: String,
}

impl PulledEntry {
    /// A hash of (stream, timestamp, line): what tells entries apart across pages and windows.
    pub fn key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        // Fixed keys: the same entry hashes alike in every page of the process.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.labels.hash(&mut hasher);
        self.timestamp_ns.hash(&mut hasher);
        self.line.hash(&mut hasher);
        hasher.finish()
    }
}

/// Why a pull failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PullError {
    /// The configuration cannot work (bad selector or URL).
    #[error("logs.loki_pull {name:?}: {reason}")]
    Config {
        /// The puller.
        name: String,
        /// What to fix.
        reason: String,
    },
    /// Loki refused the query (HTTP 400, with its text); not retried.
    #[error("Loki refused the query (HTTP 400): {0}")]
    BadQuery(String),
    /// Loki (or its proxy) refused the credentials or tenant; not retried.
    #[error(
        "Loki refused the request (HTTP {status}; check bearer_token, basic and tenant): {body}"
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// Its body, cut.
        body: String,
    },
    /// Another HTTP error, or 429/5xx still failing after the retries.
    #[error("Loki answered HTTP {status} (after {attempts} attempts): {body}")]
    Http {
        /// The status.
        status: u16,
        /// Its body, cut.
        body: String,
        /// Requests made.
        attempts: u32,
    },
    /// No answer (connection refused, timeout), after the retries.
    #[error("cannot reach Loki (after {attempts} attempts): {message}")]
    Transport {
        /// What failed.
        message: String,
        /// Requests made.
        attempts: u32,
    },
    /// The answer is not Loki's streams JSON.
    #[error("Loki's answer is not a streams result: {0}")]
    Decode(String),
    /// A full page whose entries all share the page's first nanosecond: paging cannot advance.
    #[error(
        "more than limit = {limit} entries at one nanosecond ({timestamp_ns}): paging cannot advance past it; raise limit"
    )]
    Stuck {
        /// The page size.
        limit: usize,
        /// The timestamp.
        timestamp_ns: i64,
    },
}

impl PullError {
    /// The `reason` label of `pharos_logs_pull_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Config { .. } => "config",
            Self::BadQuery(_) => "bad_query",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Http { status: 429, .. } => "rate_limited",
            Self::Http { status, .. } if *status >= 500 => "server_error",
            Self::Http { .. } => "http",
            Self::Transport { .. } => "transport",
            Self::Decode(_) => "decode",
            Self::Stuck { .. } => "stuck",
        }
    }
}

#[cfg(test)]
mod tests;
