//! Login throttling: after `max_failures` failed logins for one login name, or from one client
//! address, within `window`, further attempts are refused with 429 until the oldest failure
//! leaves the window. Per process; a success clears the login's failures.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::error::ApiError;

/// How many distinct keys are tracked before the oldest are dropped (bounds memory under a
/// flood of made-up login names).
const MAX_TRACKED: usize = 100_000;

/// Failed-login bookkeeping.
#[derive(Debug)]
pub struct LoginGuard {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginGuard {
    /// A guard allowing `max_failures` failures per `window` (0 turns it off).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures as usize,
            window,
            failures: Mutex::default(),
        }
    }

    fn keys(login: &str, client: &str) -> [String; 2] {
        [format!("login:{login}"), format!("client:{client}")]
    }

    /// 429 when the login or the client is over its failure budget.
    pub fn check(&self, login: &str, client: &str) -> Result<(), ApiError> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        for key in Self::keys(login, client) {
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    times.pop_front();
                }
                if times.len() >= self.max_failures {
                    let oldest = times.front().copied().unwrap_or(now);
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(ApiError::TooManyRequests {
                        message: format!(
                            "{} failed logins within {}s (security.max_login_failures); try again in {}s",
                            self.max_failures,
                            self.window.as_secs(),
                            wait.as_secs().max(1)
                        ),
                        retry_after: wait.as_secs().max(1),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn failed(&self, login: &str, client: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED {
            let now = Instant::now();
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in Self::keys(login, client) {
            let times = failures.entry(key).or_default();
            times.push_back(Instant::now());
            while times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }

    /// A success clears the login's failures (not the client's: one address trying many
    /// accounts stays throttled).
    pub fn succeeded(&self, login: &str, _client: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("login:{login}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_throttled_after_its_failures_and_others_are_not() {
        let guard = LoginGuard::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(guard.check("alice", "10.0.0.1").is_ok());
            guard.failed("alice", "10.0.0.1");
        }
        let refused = guard.check("alice", "10.0.0.2").unwrap_err();
        assert!(
            matches!(refused, ApiError::TooManyRequests { retry_after, .. } if retry_after >= 1)
        );
        // The client that failed three times is throttled for other logins too.
        assert!(guard.check("bob", "10.0.0.1").is_err());
        assert!(guard.check("bob", "10.0.0.3").is_ok());
    }

    #[test]
    fn failures_leave_the_window() {
        let guard = LoginGuard::new(1, Duration::from_millis(1));
        guard.failed("alice", "c");
        std::thread::sleep(Duration::from_millis(5));
        assert!(guard.check("alice", "c").is_ok());
    }
}
