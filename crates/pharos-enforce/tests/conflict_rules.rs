//! The conflict matrix: Replace/Error × one/several allowed values × the four matcher types,
//! through both public entry points (queries and `match[]` selectors).

// Test helpers outside `#[test]` functions unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pharos_enforce::{ConflictMode, EnforceError, Enforcer, TenantPolicy};

const ONE: &[&str] = &["team-a"];
const TWO: &[&str] = &["team-a", "team-b"];

fn policy(values: &[&str], mode: ConflictMode) -> TenantPolicy {
    TenantPolicy::new(
        "namespace",
        values.iter().map(|v| v.to_string()).collect(),
        mode,
    )
    .unwrap()
}

/// One row: the query's matcher on `namespace`, then the expected result for
/// Replace+one, Replace+two, Error+one, Error+two. `None` means refused.
struct Row {
    matcher: &'static str,
    replace_one: &'static str,
    replace_two: &'static str,
    error_one: Option<&'static str>,
    error_two: Option<&'static str>,
}

const A: &str = r#"up{namespace="team-a"}"#;

fn rows() -> Vec<Row> {
    vec![
        Row {
            matcher: r#"namespace="team-a""#,
            replace_one: A,
            replace_two: r#"up{namespace="team-a",namespace=~"team-a|team-b"}"#,
            error_one: Some(A),
            error_two: Some(r#"up{namespace="team-a",namespace=~"team-a|team-b"}"#),
        },
        Row {
            matcher: r#"namespace="team-b""#,
            replace_one: A,
            replace_two: r#"up{namespace="team-b",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: Some(r#"up{namespace="team-b",namespace=~"team-a|team-b"}"#),
        },
        Row {
            matcher: r#"namespace="team-c""#,
            replace_one: A,
            replace_two: r#"up{namespace="team-c",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: None,
        },
        Row {
            matcher: r#"namespace="""#,
            replace_one: A,
            replace_two: r#"up{namespace="",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: None,
        },
        Row {
            matcher: r#"namespace!="team-a""#,
            replace_one: A,
            replace_two: r#"up{namespace!="team-a",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: Some(r#"up{namespace!="team-a",namespace=~"team-a|team-b"}"#),
        },
        Row {
            matcher: r#"namespace!="team-c""#,
            replace_one: A,
            replace_two: r#"up{namespace!="team-c",namespace=~"team-a|team-b"}"#,
            error_one: Some(r#"up{namespace!="team-c",namespace="team-a"}"#),
            error_two: Some(r#"up{namespace!="team-c",namespace=~"team-a|team-b"}"#),
        },
        Row {
            matcher: r#"namespace=~"team-.*""#,
            replace_one: A,
            replace_two: r#"up{namespace=~"team-.*",namespace=~"team-a|team-b"}"#,
            error_one: Some(r#"up{namespace="team-a",namespace=~"team-.*"}"#),
            error_two: Some(r#"up{namespace=~"team-.*",namespace=~"team-a|team-b"}"#),
        },
        Row {
            matcher: r#"namespace=~"other-.*""#,
            replace_one: A,
            replace_two: r#"up{namespace=~"other-.*",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: None,
        },
        // Regexes are anchored: `team` does not match `team-a`.
        Row {
            matcher: r#"namespace=~"team""#,
            replace_one: A,
            replace_two: r#"up{namespace=~"team",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: None,
        },
        Row {
            matcher: r#"namespace!~"team-.*""#,
            replace_one: A,
            replace_two: r#"up{namespace!~"team-.*",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: None,
        },
        Row {
            matcher: r#"namespace!~"team-a""#,
            replace_one: A,
            replace_two: r#"up{namespace!~"team-a",namespace=~"team-a|team-b"}"#,
            error_one: None,
            error_two: Some(r#"up{namespace!~"team-a",namespace=~"team-a|team-b"}"#),
        },
        // Anchoring again: `!~"team"` excludes only the literal `team`, so it admits `team-a`.
        Row {
            matcher: r#"namespace!~"team""#,
            replace_one: A,
            replace_two: r#"up{namespace!~"team",namespace=~"team-a|team-b"}"#,
            error_one: Some(r#"up{namespace!~"team",namespace="team-a"}"#),
            error_two: Some(r#"up{namespace!~"team",namespace=~"team-a|team-b"}"#),
        },
    ]
}

/// Runs `input` through both entry points and checks they agree with `expected`.
fn check(values: &[&str], mode: ConflictMode, row: &Row, expected: Option<&str>) {
    let enforcer = Enforcer::new(100);
    let p = policy(values, mode);
    let input = format!("up{{{}}}", row.matcher);
    let outcomes = [
        ("query", enforcer.enforce_query(&p, &input)),
        ("selector", enforcer.enforce_selector(&p, &input)),
    ];
    for (api, outcome) in outcomes {
        let context = format!("{api} {input} with {mode:?} {values:?}");
        match (expected, outcome) {
            (Some(want), Ok(got)) => assert_eq!(&*got, want, "{context}"),
            (
                None,
                Err(EnforceError::ConflictingMatcher {
                    matcher,
                    label,
                    allowed,
                }),
            ) => {
                assert_eq!(matcher, row.matcher, "{context}");
                assert_eq!(label, "namespace", "{context}");
                assert_eq!(allowed, values.join(", "), "{context}");
            }
            (want, got) => panic!("{context}: expected {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn replace_with_one_value_drops_the_query_matcher() {
    for row in rows() {
        check(ONE, ConflictMode::Replace, &row, Some(row.replace_one));
    }
}

#[test]
fn replace_with_several_values_keeps_and_ands_the_query_matcher() {
    for row in rows() {
        check(TWO, ConflictMode::Replace, &row, Some(row.replace_two));
    }
}

#[test]
fn error_mode_with_one_value_refuses_disjoint_matchers() {
    for row in rows() {
        check(ONE, ConflictMode::Error, &row, row.error_one);
    }
}

#[test]
fn error_mode_with_several_values_refuses_disjoint_matchers() {
    for row in rows() {
        check(TWO, ConflictMode::Error, &row, row.error_two);
    }
}

#[test]
fn conflicts_are_resolved_in_every_selector_of_a_query() {
    let enforcer = Enforcer::new(100);
    let replace = policy(ONE, ConflictMode::Replace);
    let out = enforcer
        .enforce_query(
            &replace,
            r#"rate(a{namespace="x"}[5m]) + on(pod) b{namespace=~".*",pod="p"}"#,
        )
        .unwrap();
    assert_eq!(
        &*out,
        r#"rate(a{namespace="team-a"}[5m]) + on (pod) b{namespace="team-a",pod="p"}"#
    );
    // In Error mode one bad selector anywhere refuses the whole query.
    let error = policy(TWO, ConflictMode::Error);
    let refused = enforcer.enforce_query(
        &error,
        r#"sum(a{namespace="team-a"}) / sum(b{namespace="team-z"})"#,
    );
    assert!(
        matches!(&refused, Err(EnforceError::ConflictingMatcher { matcher, .. }) if matcher == r#"namespace="team-z""#),
        "{refused:?}"
    );
}

#[test]
fn matchers_on_other_labels_never_count_as_conflicts() {
    let enforcer = Enforcer::new(100);
    let error = policy(ONE, ConflictMode::Error);
    let out = enforcer
        .enforce_query(&error, r#"up{job="team-z",namespace_alias="team-z"}"#)
        .unwrap();
    assert_eq!(
        &*out,
        r#"up{job="team-z",namespace="team-a",namespace_alias="team-z"}"#
    );
}
