//! The enforcer caches outcomes per (policy, input) and never mixes policies.

// Test helpers outside `#[test]` functions unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;

use pharos_enforce::{ConflictMode, EnforceError, Enforcer, TenantPolicy};

fn policy(values: &[&str]) -> TenantPolicy {
    TenantPolicy::new(
        "namespace",
        values.iter().map(|v| v.to_string()).collect(),
        ConflictMode::Replace,
    )
    .unwrap()
}

#[test]
fn identical_requests_hit_the_cache() {
    let enforcer = Enforcer::new(100);
    let p = policy(&["team-a"]);
    for _ in 0..3 {
        assert_eq!(
            enforcer.enforce_query(&p, "rate(x[5m])").as_deref(),
            Ok(r#"rate(x{namespace="team-a"}[5m])"#)
        );
    }
    assert_eq!(enforcer.cache_stats(), (2, 1));
}

#[test]
fn refused_queries_stay_refused_from_the_cache() {
    let enforcer = Enforcer::new(100);
    let p = policy(&["team-a"]);
    let first = enforcer.enforce_query(&p, "x @ -1");
    let second = enforcer.enforce_query(&p, "x @ -1");
    assert_eq!(first, Err(EnforceError::NegativeAtTimestamp));
    assert_eq!(second, first);
    assert_eq!(enforcer.cache_stats(), (1, 1));
}

#[test]
fn equal_policies_share_entries_and_different_ones_do_not() {
    let enforcer = Enforcer::new(100);
    let ab = policy(&["team-a", "team-b"]);
    let ba = policy(&["team-b", "team-a"]);
    let a = policy(&["team-a"]);
    let first = enforcer.enforce_query(&ab, "up").unwrap();
    let same_set = enforcer.enforce_query(&ba, "up").unwrap();
    let other = enforcer.enforce_query(&a, "up").unwrap();
    assert_eq!(first, same_set);
    assert_eq!(&*other, r#"up{namespace="team-a"}"#);
    assert_eq!(enforcer.cache_stats(), (1, 2));
}

#[test]
fn conflict_mode_is_part_of_the_cache_identity() {
    let enforcer = Enforcer::new(100);
    let replace = policy(&["team-a"]);
    let error = TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Error).unwrap();
    let query = r#"up{namespace="team-b"}"#;
    assert!(enforcer.enforce_query(&replace, query).is_ok());
    assert!(matches!(
        enforcer.enforce_query(&error, query),
        Err(EnforceError::ConflictingMatcher { .. })
    ));
}

#[test]
fn concurrent_identical_requests_compute_once() {
    let enforcer = Arc::new(Enforcer::new(100));
    let p = Arc::new(policy(&["team-a"]));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let enforcer = Arc::clone(&enforcer);
            let p = Arc::clone(&p);
            thread::spawn(move || enforcer.enforce_query(&p, "sum(up)").unwrap())
        })
        .collect();
    for handle in handles {
        assert_eq!(&*handle.join().unwrap(), r#"sum(up{namespace="team-a"})"#);
    }
    assert_eq!(enforcer.cache_stats(), (3, 1));
}

#[test]
fn zero_capacity_still_enforces() {
    let enforcer = Enforcer::new(0);
    let p = policy(&["team-a"]);
    assert_eq!(
        enforcer.enforce_query(&p, "up").as_deref(),
        Ok(r#"up{namespace="team-a"}"#)
    );
}
