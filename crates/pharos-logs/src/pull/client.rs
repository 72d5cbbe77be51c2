//! The `query_range` client: one request with retries, a time range paged forward, and the
//! split of a long window into chunks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{Labels, PullConfig, PullError, PulledEntry, validate_selector};

/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Error bodies are quoted up to this many bytes.
const BODY_QUOTE: usize = 512;

/// What paging a range took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    /// Requests answered (retries not counted).
    pub pages: usize,
    /// Entries handed on (page-boundary repeats skipped).
    pub entries: usize,
    /// Page-boundary repeats skipped.
    pub repeats: usize,
    /// Failed attempts that were retried.
    pub retries: u32,
}

/// `[start, end)` cut into consecutive ranges of at most `chunk` (ns).
pub fn chunks(start_ns: i64, end_ns: i64, chunk: Duration) -> Vec<(i64, i64)> {
    let step = i64::try_from(chunk.as_nanos()).unwrap_or(i64::MAX).max(1);
    let mut out = Vec::new();
    let mut from = start_ns;
    while from < end_ns {
        let to = from.saturating_add(step).min(end_ns);
        out.push((from, to));
        from = to;
    }
    out
}

/// A Loki `query_range` client for one [`PullConfig`].
#[derive(Debug, Clone)]
pub struct LokiClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    config: Arc<PullConfig>,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<StreamResult>,
}

#[derive(Deserialize)]
struct StreamResult {
    #[serde(default)]
    stream: Labels,
    #[serde(default)]
    values: Vec<(String, String)>,
}

/// Why one attempt failed, and whether another may succeed.
enum Attempt {
    Retry(PullError, Option<Duration>),
    Fail(PullError),
}

impl LokiClient {
    /// A client for `config`; refuses a selector that is not a stream selector and a URL
    /// that is not http(s).
    pub fn new(config: PullConfig) -> Result<Self, PullError> {
        let invalid = |reason: String| PullError::Config {
            name: config.name.clone(),
            reason,
        };
        validate_selector(&config.selector).map_err(|e| invalid(format!("selector: {e}")))?;
        let base = reqwest::Url::parse(&config.url)
            .map_err(|e| invalid(format!("url {:?}: {e}", config.url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "url {:?} must be http or https",
                config.url
            )));
        }
        let mut path = base.path().trim_end_matches('/').to_owned();
        path.push_str("/loki/api/v1/query_range");
        let mut endpoint = base;
        endpoint.set_path(&path);
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .timeout(config.timeout)
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PullConfig {
        &self.config
    }

    /// One page: entries of `[start, end)` (ns), oldest first, at most `limit`; 429, 5xx and
    /// transport errors retried with backoff. Returns the entries and the retries made.
    pub async fn query_range(
        &self,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
    ) -> Result<(Vec<PulledEntry>, u32), PullError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.attempt(start_ns, end_ns, limit, attempt).await {
                Ok(entries) => return Ok((entries, attempt - 1)),
                Err(Attempt::Fail(error)) => return Err(error),
                Err(Attempt::Retry(error, retry_after)) => {
                    if attempt > self.config.max_retries {
                        return Err(error);
                    }
                    let backoff = self
                        .config
                        .retry_backoff
                        .saturating_mul(1 << (attempt - 1).min(16))
                        .min(MAX_BACKOFF);
                    let wait = retry_after.map_or(backoff, |r| r.min(MAX_BACKOFF));
                    tracing::debug!(puller = %self.config.name, %error, ?wait, "retrying a Loki query");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        attempt: u32,
    ) -> Result<Vec<PulledEntry>, Attempt> {
        let mut request = self.http.get(self.endpoint.clone()).query(&[
            ("query", self.config.selector.as_str()),
            ("start", &start_ns.to_string()),
            ("end", &end_ns.to_string()),
            ("limit", &limit.to_string()),
            ("direction", "forward"),
        ]);
        if let Some(tenant) = &self.config.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        request = match &self.config.auth {
            super::PullAuth::None => request,
            super::PullAuth::Bearer(token) => request.bearer_auth(token),
            super::PullAuth::Basic { username, password } => {
                request.basic_auth(username, Some(password))
            }
        };
        let response = request.send().await.map_err(|e| {
            Attempt::Retry(
                PullError::Transport {
                    message: e.to_string(),
                    attempts: attempt,
                },
                None,
            )
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(|e| {
            Attempt::Retry(
                PullError::Transport {
                    message: format!("reading the answer: {e}"),
                    attempts: attempt,
                },
                None,
            )
        })?;
        if status != 200 {
            let text = quote(&body);
            return Err(match status {
                400 => Attempt::Fail(PullError::BadQuery(text)),
                401 | 403 => Attempt::Fail(PullError::Unauthorized { status, body: text }),
                429 | 500..=599 => Attempt::Retry(
                    PullError::Http {
                        status,
                        body: text,
                        attempts: attempt,
                    },
                    retry_after,
                ),
                _ => Attempt::Fail(PullError::Http {
                    status,
                    body: text,
                    attempts: attempt,
                }),
            });
        }
        decode(&body).map_err(Attempt::Fail)
    }

    /// Every entry of `[start, end)` (ns), page by page, oldest first: a page with `limit`
    /// entries is followed by one starting at its last timestamp, where entries already handed
    /// on are skipped (Loki's end is exclusive, its start inclusive). `sink` gets each page's
    /// new entries.
    pub async fn pull_range(
        &self,
        start_ns: i64,
        end_ns: i64,
        mut sink: impl FnMut(Vec<PulledEntry>),
    ) -> Result<PageStats, PullError> {
        let limit = self.config.limit.max(1);
        let mut stats = PageStats::default();
        let mut from = start_ns;
        // Keys of the entries handed on at `from` (the previous page's last nanosecond).
        let mut at_boundary: HashSet<u64> = HashSet::new();
        while from < end_ns {
            let (entries, retries) = self.query_range(from, end_ns, limit).await?;
            stats.pages += 1;
            stats.retries += retries;
            let full = entries.len() >= limit;
            let last = entries.last().map(|e| e.timestamp_ns);
            let mut fresh = Vec::with_capacity(entries.len());
            let mut keys_at_last = HashSet::new();
            for entry in entries {
                let key = entry.key();
                if entry.timestamp_ns == from && at_boundary.contains(&key) {
                    stats.repeats += 1;
                    continue;
                }
                if Some(entry.timestamp_ns) == last {
                    keys_at_last.insert(key);
                }
                fresh.push(entry);
            }
            stats.entries += fresh.len();
            sink(fresh);
            let Some(last) = last.filter(|_| full) else {
                break;
            };
            if last == from {
                if keys_at_last.is_empty() {
                    // A full page of entries all seen at `from`: more than `limit` share it.
                    return Err(PullError::Stuck {
                        limit,
                        timestamp_ns: from,
                    });
                }
                at_boundary.extend(keys_at_last);
            } else {
                at_boundary = keys_at_last;
            }
            from = last;
        }
        Ok(stats)
    }
}

/// Loki's streams JSON → entries sorted by time (streams merged).
fn decode(body: &[u8]) -> Result<Vec<PulledEntry>, PullError> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| PullError::Decode(format!("{e}: {}", quote(body))))?;
    if answer.status != "success" {
        return Err(PullError::Decode(format!("status {:?}", answer.status)));
    }
    if answer.data.result_type != "streams" {
        return Err(PullError::Decode(format!(
            "resultType {:?} (a metric query?)",
            answer.data.result_type
        )));
    }
    let mut entries = Vec::new();
    for stream in answer.data.result {
        let labels = Arc::new(stream.stream);
        for (ts, line) in stream.values {
            let timestamp_ns = ts
                .parse()
                .map_err(|_| PullError::Decode(format!("timestamp {ts:?} is not Unix ns")))?;
            entries.push(PulledEntry {
                labels: Arc::clone(&labels),
                timestamp_ns,
                line,
            });
        }
    }
    // Stable: entries of one stream at one nanosecond keep Loki's order.
    entries.sort_by_key(|e| e.timestamp_ns);
    Ok(entries)
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(BODY_QUOTE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
