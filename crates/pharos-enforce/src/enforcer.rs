//! The cached front door: dashboards re-issue identical queries, so each (policy, input) pair
//! is parsed and rewritten once and then served from memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::sync::Cache;
use pharos_promql_syntax::SyntaxLimits;

use crate::error::EnforceError;
use crate::policy::TenantPolicy;
use crate::rewrite::{enforce_query_text, enforce_selector_text};

/// Which API an input came from; the same text is validated differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum InputKind {
    Query,
    Selector,
}

/// The policy's full fingerprint (not a hash of it) is part of the key, so two policies can
/// never share an entry.
type CacheKey = (Arc<str>, InputKind, Box<str>);

/// Refusals are cached too: a bad query stays bad for the same policy.
type CachedOutcome = Result<Arc<str>, EnforceError>;

/// Enforces tenant policies on PromQL queries and `match[]` selectors, caching outcomes.
///
/// Cheap to share behind an `Arc`; all methods take `&self` and are safe to call from many
/// threads at once.
pub struct Enforcer {
    cache: Cache<CacheKey, CachedOutcome>,
    limits: SyntaxLimits,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Enforcer {
    /// Creates an enforcer whose cache holds at most `cache_capacity` outcomes (entries, not
    /// bytes; the query length limit bounds each entry). `0` disables caching. Queries get the
    /// default [`SyntaxLimits`].
    pub fn new(cache_capacity: u64) -> Self {
        Self::with_limits(cache_capacity, SyntaxLimits::default())
    }

    /// Like [`Enforcer::new`], with the configured query length limit.
    pub fn with_limits(cache_capacity: u64, limits: SyntaxLimits) -> Self {
        Self {
            cache: Cache::new(cache_capacity),
            limits,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Rewrites a PromQL expression (for `query`, `query_range`, `query_exemplars`) so every
    /// selector in it carries the policy's matcher, or explains why it cannot.
    pub fn enforce_query(
        &self,
        policy: &TenantPolicy,
        query: &str,
    ) -> Result<Arc<str>, EnforceError> {
        self.cached(policy, InputKind::Query, query, || {
            enforce_query_text(policy, query, &self.limits)
        })
    }

    /// Rewrites one `match[]` value of the series, labels or label-values APIs; it must be a
    /// plain vector selector such as `up` or `{job="x"}`.
    pub fn enforce_selector(
        &self,
        policy: &TenantPolicy,
        selector: &str,
    ) -> Result<Arc<str>, EnforceError> {
        self.cached(policy, InputKind::Selector, selector, || {
            enforce_selector_text(policy, selector, &self.limits)
        })
    }

    /// Cache hits and misses since creation, as `(hits, misses)`.
    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn cached(
        &self,
        policy: &TenantPolicy,
        kind: InputKind,
        input: &str,
        compute: impl FnOnce() -> Result<String, EnforceError>,
    ) -> Result<Arc<str>, EnforceError> {
        // The cheap limits first and uncached, so an oversized input never becomes a cache key.
        pharos_promql_syntax::check_text(input, &self.limits)?;
        let key = (Arc::clone(policy.fingerprint()), kind, Box::from(input));
        // `or_insert_with` also makes concurrent callers of the same key wait for one
        // computation instead of parsing the query several times.
        let entry = self
            .cache
            .entry(key)
            .or_insert_with(|| compute().map(Arc::from));
        let counter = if entry.is_fresh() {
            &self.misses
        } else {
            &self.hits
        };
        counter.fetch_add(1, Ordering::Relaxed);
        entry.into_value()
    }
}

impl Default for Enforcer {
    /// An enforcer with room for 10 000 outcomes.
    fn default() -> Self {
        Self::new(10_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ConflictMode;

    fn policy(values: &[&str]) -> TenantPolicy {
        TenantPolicy::new(
            "namespace",
            values.iter().map(|v| v.to_string()).collect(),
            ConflictMode::Replace,
        )
        .unwrap()
    }

    #[test]
    fn repeated_query_is_a_hit() {
        let enforcer = Enforcer::new(100);
        let p = policy(&["team-a"]);
        let first = enforcer.enforce_query(&p, "up").unwrap();
        let second = enforcer.enforce_query(&p, "up").unwrap();
        assert_eq!(first, second);
        assert!(
            Arc::ptr_eq(&first, &second),
            "second answer should come from the cache"
        );
        assert_eq!(enforcer.cache_stats(), (1, 1));
    }

    #[test]
    fn refusals_are_cached() {
        let enforcer = Enforcer::new(100);
        let p = policy(&["team-a"]);
        let first = enforcer.enforce_query(&p, "sum(").unwrap_err();
        let second = enforcer.enforce_query(&p, "sum(").unwrap_err();
        assert_eq!(first, second);
        assert_eq!(enforcer.cache_stats(), (1, 1));
    }

    #[test]
    fn policies_never_share_entries() {
        let enforcer = Enforcer::new(100);
        let a = enforcer.enforce_query(&policy(&["team-a"]), "up").unwrap();
        let b = enforcer.enforce_query(&policy(&["team-b"]), "up").unwrap();
        assert_eq!(&*a, r#"up{namespace="team-a"}"#);
        assert_eq!(&*b, r#"up{namespace="team-b"}"#);
        assert_eq!(enforcer.cache_stats(), (0, 2));
    }

    #[test]
    fn query_and_selector_apis_do_not_share_entries() {
        let enforcer = Enforcer::new(100);
        let p = policy(&["team-a"]);
        assert!(enforcer.enforce_query(&p, "sum(up)").is_ok());
        let as_selector = enforcer.enforce_selector(&p, "sum(up)");
        assert!(matches!(
            as_selector,
            Err(EnforceError::NotASelector { .. })
        ));
        assert_eq!(enforcer.cache_stats(), (0, 2));
    }
}
