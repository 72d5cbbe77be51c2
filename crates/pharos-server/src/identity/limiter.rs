//! Counters for the guards (failed logins, share-link checks, per-user and per-address request
//! rates): fixed windows per key, in this process, or in Redis when `rate_limit.redis_url` is
//! set so that every replica counts the same attempts. If Redis cannot be reached the process
//! counts on its own (and says so in the log and in `pharos_rate_limit_redis_errors_total`):
//! a guard that stops the service when its store is down would be a worse outage than the
//! attack it guards against.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Keys tracked in process before stale ones are dropped.
const MAX_KEYS: usize = 100_000;

/// How long one Redis round trip may take before the local count is used instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// Shared or local counters.
pub struct Limiter {
    local: Mutex<HashMap<String, (Instant, u64)>>,
    redis: Option<RedisCounters>,
}

struct RedisCounters {
    client: redis::Client,
    manager: OnceLock<Result<ConnectionManager, String>>,
    prefix: String,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

/// A window's state after an increment or a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Events in the current window.
    pub count: u64,
    /// Seconds until the window ends (at least 1).
    pub resets_in: u64,
}

impl Limiter {
    /// Counters in this process only.
    pub fn local() -> Self {
        Self {
            local: Mutex::default(),
            redis: None,
        }
    }

    /// Counters in process, or in Redis at `redis_url` (`redis://host:port/db`). A URL Redis'
    /// client cannot parse is an error here, at start.
    pub fn new(redis_url: Option<&str>) -> Result<Self, String> {
        let redis = redis_url
            .map(|url| {
                redis::Client::open(url)
                    .map(|client| RedisCounters {
                        client,
                        manager: OnceLock::new(),
                        prefix: "pharos:limit:".to_owned(),
                    })
                    .map_err(|e| format!("rate_limit.redis_url: {e}"))
            })
            .transpose()?;
        Ok(Self {
            redis,
            ..Self::local()
        })
    }

    /// Whether counts are shared through Redis.
    pub fn shared(&self) -> bool {
        self.redis.is_some()
    }

    /// Adds one event to `bucket`/`key` and returns the window's count.
    pub async fn increment(&self, bucket: &str, key: &str, window: Duration) -> Count {
        if let Some(redis) = &self.redis {
            match redis.increment(bucket, key, window).await {
                Ok(count) => return count,
                Err(error) => redis_failed(&error),
            }
        }
        self.local_update(bucket, key, window, 1)
    }

    /// The window's count without adding to it.
    pub async fn current(&self, bucket: &str, key: &str, window: Duration) -> Count {
        if let Some(redis) = &self.redis {
            match redis.current(bucket, key).await {
                Ok(count) => return count,
                Err(error) => redis_failed(&error),
            }
        }
        self.local_update(bucket, key, window, 0)
    }

    /// Forgets `bucket`/`key` (a successful login clears its failures).
    pub async fn clear(&self, bucket: &str, key: &str) {
        if let Some(redis) = &self.redis
            && let Err(error) = redis.clear(bucket, key).await
        {
            redis_failed(&error);
        }
        if let Ok(mut local) = self.local.lock() {
            local.remove(&format!("{bucket}:{key}"));
        }
    }

    fn local_update(&self, bucket: &str, key: &str, window: Duration, add: u64) -> Count {
        let now = Instant::now();
        let Ok(mut local) = self.local.lock() else {
            return Count {
                count: 0,
                resets_in: 1,
            };
        };
        if local.len() >= MAX_KEYS {
            local.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = local.entry(format!("{bucket}:{key}")).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += add;
        Count {
            count: entry.1,
            resets_in: window
                .saturating_sub(now.duration_since(entry.0))
                .as_secs()
                .max(1),
        }
    }
}

fn redis_failed(error: &str) {
    metrics::counter!("pharos_rate_limit_redis_errors_total").increment(1);
    tracing::warn!(
        error,
        "rate limits: Redis unavailable, counting in this process"
    );
}

impl RedisCounters {
    fn connection(&self) -> Result<ConnectionManager, String> {
        self.manager
            .get_or_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}:{key}", self.prefix)
    }

    async fn increment(&self, bucket: &str, key: &str, window: Duration) -> Result<Count, String> {
        let mut connection = self.connection()?;
        let key = self.key(bucket, key);
        // SET NX starts the window once (with its expiry); INCR counts; TTL says when it ends.
        let (count, ttl): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("EX")
            .arg(window.as_secs().max(1))
            .arg("NX")
            .ignore()
            .incr(&key, 1)
            .ttl(&key)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Count {
            count,
            resets_in: u64::try_from(ttl).unwrap_or(1).max(1),
        })
    }

    async fn current(&self, bucket: &str, key: &str) -> Result<Count, String> {
        let mut connection = self.connection()?;
        let key = self.key(bucket, key);
        let (count, ttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Count {
            count: count.unwrap_or(0),
            resets_in: u64::try_from(ttl).unwrap_or(1).max(1),
        })
    }

    async fn clear(&self, bucket: &str, key: &str) -> Result<(), String> {
        let mut connection = self.connection()?;
        redis::cmd("DEL")
            .arg(self.key(bucket, key))
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_windows_count_and_reset() {
        let limiter = Limiter::local();
        let window = Duration::from_millis(50);
        assert_eq!(limiter.increment("b", "k", window).await.count, 1);
        assert_eq!(limiter.increment("b", "k", window).await.count, 2);
        assert_eq!(limiter.current("b", "k", window).await.count, 2);
        assert_eq!(limiter.current("b", "other", window).await.count, 0);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(limiter.increment("b", "k", window).await.count, 1);
        limiter.clear("b", "k").await;
        assert_eq!(limiter.current("b", "k", window).await.count, 0);
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_local_counts() {
        // Port 9 (discard) refuses connections on loopback.
        let limiter = Limiter::new(Some("redis://127.0.0.1:9/0")).unwrap();
        assert!(limiter.shared());
        let window = Duration::from_secs(60);
        assert_eq!(limiter.increment("b", "k", window).await.count, 1);
        assert_eq!(limiter.increment("b", "k", window).await.count, 2);
        assert!(Limiter::new(Some("not a url")).is_err());
    }
}
