//! Login throttling: after `max_failures` failed logins for one login name, or from one client
//! address, within `window`, further attempts are refused with 429 until the window ends. The
//! counts live in the [`Limiter`], so with Redis every replica sees the same failures. A success
//! clears the login's failures (not the address's: one address trying many accounts stays
//! throttled).

use std::time::Duration;

use super::limiter::Limiter;
use crate::error::ApiError;

const BUCKET: &str = "login-failures";

/// Failed-login bookkeeping.
#[derive(Debug, Clone, Copy)]
pub struct LoginGuard {
    max_failures: u64,
    window: Duration,
}

impl LoginGuard {
    /// A guard allowing `max_failures` failures per `window` (0 turns it off).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: u64::from(max_failures),
            window,
        }
    }

    fn keys(login: &str, client: &str) -> [String; 2] {
        [format!("login:{login}"), format!("client:{client}")]
    }

    /// 429 when the login or the client is over its failure budget.
    pub async fn check(
        &self,
        limiter: &Limiter,
        login: &str,
        client: &str,
    ) -> Result<(), ApiError> {
        if self.max_failures == 0 {
            return Ok(());
        }
        for key in Self::keys(login, client) {
            let seen = limiter.current(BUCKET, &key, self.window).await;
            if seen.count >= self.max_failures {
                return Err(ApiError::TooManyRequests {
                    message: format!(
                        "{} failed logins within {}s (security.max_login_failures); try again in {}s",
                        self.max_failures,
                        self.window.as_secs(),
                        seen.resets_in
                    ),
                    retry_after: seen.resets_in,
                });
            }
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub async fn failed(&self, limiter: &Limiter, login: &str, client: &str) {
        for key in Self::keys(login, client) {
            limiter.increment(BUCKET, &key, self.window).await;
        }
    }

    /// Clears the login's failures after a success.
    pub async fn succeeded(&self, limiter: &Limiter, login: &str) {
        limiter.clear(BUCKET, &format!("login:{login}")).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_login_is_throttled_after_its_failures_and_others_are_not() {
        let limiter = Limiter::local();
        let guard = LoginGuard::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(guard.check(&limiter, "alice", "10.0.0.1").await.is_ok());
            guard.failed(&limiter, "alice", "10.0.0.1").await;
        }
        let refused = guard
            .check(&limiter, "alice", "10.0.0.2")
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ApiError::TooManyRequests { retry_after, .. } if retry_after >= 1)
        );
        // The client that failed three times is throttled for other logins too.
        assert!(guard.check(&limiter, "bob", "10.0.0.1").await.is_err());
        assert!(guard.check(&limiter, "bob", "10.0.0.3").await.is_ok());
        guard.succeeded(&limiter, "alice").await;
        assert!(guard.check(&limiter, "alice", "10.0.0.2").await.is_ok());
    }
}
