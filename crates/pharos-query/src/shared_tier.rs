//! The Redis tier of the query cache: answers one replica computed are found by the others
//! (`redis_url` set). Keys are `pharos:qc:<sha256 of the question>`, values the answer as JSON
//! with its evaluation time and expiry, with Redis' own expiry set to match. Redis is a helper,
//! never a dependency: an unreachable or slow Redis (250 ms per round trip) only means this
//! process answers on its own, counted in `pharos_query_cache_redis_errors_total`.

use std::{sync::OnceLock, time::Duration};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::backend::{QueryAnswer, Served};

/// How long one Redis round trip may take.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// An answer as another replica stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedAnswer {
    /// The answer.
    pub answer: QueryAnswer,
    /// When it was evaluated (ms since the epoch).
    pub fetched_ms: i64,
    /// When it stops being fresh (ms since the epoch).
    pub expires_ms: i64,
}

/// The Redis connection of the cache.
pub struct RedisTier {
    client: redis::Client,
    manager: OnceLock<Result<ConnectionManager, String>>,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisTier")
    }
}

fn failed(error: &str) {
    metrics::counter!("pharos_query_cache_redis_errors_total").increment(1);
    tracing::debug!(
        error,
        "query cache: Redis unavailable, answering from this process"
    );
}

impl RedisTier {
    /// The tier at `url` (`redis://host:port/db`); connects lazily.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            manager: OnceLock::new(),
        })
    }

    fn connection(&self) -> Result<ConnectionManager, String> {
        self.manager
            .get_or_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(0);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    fn key(kind: &str, question: &str) -> String {
        let digest = Sha256::digest(question.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("pharos:qc:{kind}:{hex}")
    }

    /// The stored answer to `question` in `kind` (`fresh` or `stale`).
    pub async fn get(&self, kind: &str, question: &str) -> Option<SharedAnswer> {
        let mut connection = self.connection().map_err(|e| failed(&e)).ok()?;
        let text: Option<String> = redis::cmd("GET")
            .arg(Self::key(kind, question))
            .query_async(&mut connection)
            .await
            .map_err(|e| failed(&e.to_string()))
            .ok()?;
        let stored: Value = serde_json::from_str(&text?).ok()?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(SharedAnswer {
            answer: QueryAnswer {
                data: crate::result_data::ResultData::from_serialize(&stored["data"]),
                warnings: strings(&stored["warnings"]),
                infos: strings(&stored["infos"]),
                served: Served::Cache,
            },
            fetched_ms: stored["fetched_ms"].as_i64()?,
            expires_ms: stored["expires_ms"].as_i64()?,
        })
    }

    /// Stores `answer` to `question` in `kind` for `ttl`.
    pub async fn set(&self, kind: &str, question: &str, answer: &SharedAnswer, ttl: Duration) {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let value = json!({
            "data": answer.answer.data.raw(),
            "warnings": answer.answer.warnings,
            "infos": answer.answer.infos,
            "fetched_ms": answer.fetched_ms,
            "expires_ms": answer.expires_ms,
        })
        .to_string();
        let Ok(mut connection) = self.connection().map_err(|e| failed(&e)) else {
            return;
        };
        if let Err(error) = redis::cmd("SET")
            .arg(Self::key(kind, question))
            .arg(value)
            .arg("PX")
            .arg(millis)
            .query_async::<()>(&mut connection)
            .await
        {
            failed(&error.to_string());
        }
    }
}
