//! Inputs that cannot be enforced safely are refused with a reason the user can act on.

// Test helpers outside `#[test]` functions unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pharos_enforce::{ConflictMode, EnforceError, Enforcer, TenantPolicy};
use pharos_promql_syntax::SyntaxError;

fn team_a() -> TenantPolicy {
    TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace).unwrap()
}

fn refuse(query: &str) -> EnforceError {
    Enforcer::new(10)
        .enforce_query(&team_a(), query)
        .expect_err(query)
}

#[test]
fn empty_queries_are_refused() {
    for query in ["", "   ", "\n\t"] {
        assert_eq!(refuse(query), EnforceError::EmptyQuery, "{query:?}");
    }
}

#[test]
fn parse_errors_carry_the_parser_message() {
    let err = refuse("sum(");
    assert_eq!(
        err,
        EnforceError::Parse {
            message: "unclosed left parenthesis".into()
        }
    );
    assert!(err.to_string().contains("unclosed left parenthesis"));
}

#[test]
fn unsupported_experimental_syntax_is_a_parse_error() {
    for query in ["x[5m:1m] offset (1h+5m)", "rate(x[5m] anchored)"] {
        assert!(
            matches!(refuse(query), EnforceError::Parse { .. }),
            "{query}"
        );
    }
}

#[test]
fn negative_at_timestamps_are_refused() {
    for query in [
        "x @ -100",
        "rate(x[5m] @ -1)",
        "max_over_time(x[10m:1m] @ -60)",
        "sum(x) + y @ -0.5",
    ] {
        let err = refuse(query);
        assert_eq!(err, EnforceError::NegativeAtTimestamp, "{query}");
        assert!(err.to_string().contains("@ start()"));
    }
}

#[test]
fn or_between_matchers_is_refused_in_both_apis() {
    let query = r#"sum(up{job="a" or job="b"})"#;
    assert!(matches!(
        refuse(query),
        EnforceError::OrInsideSelector { .. }
    ));
    let selector = Enforcer::new(10).enforce_selector(&team_a(), r#"up{job="a" or job="b"}"#);
    assert!(matches!(
        selector,
        Err(EnforceError::OrInsideSelector { .. })
    ));
}

#[test]
fn deeply_nested_queries_are_refused_without_crashing() {
    let parens = format!("{}x{}", "(".repeat(300), ")".repeat(300));
    assert!(matches!(
        refuse(&parens),
        EnforceError::Syntax(SyntaxError::TooDeep { .. })
    ));
    // Long enough to overflow the parser's stack if it ever reached it.
    let chain = vec!["x"; 50_000].join(" + ");
    assert!(matches!(
        refuse(&chain),
        EnforceError::Syntax(SyntaxError::TooLong { .. })
    ));
    let chain = vec!["x"; 5_000].join(" + ");
    assert!(matches!(
        refuse(&chain),
        EnforceError::Syntax(SyntaxError::TooComplex { .. })
    ));
    let unary = format!("{}x", "-".repeat(50_000));
    assert!(matches!(
        refuse(&unary),
        EnforceError::Syntax(SyntaxError::TooComplex { .. })
    ));
    // Within the token budget but deeper than the nesting limit: refused before parsing.
    let chain = vec!["x"; 2_000].join(" + ");
    let refusal = refuse(&chain);
    assert!(
        matches!(
            refusal,
            EnforceError::Syntax(SyntaxError::TooDeep { limit: 256 })
        ),
        "{refusal:?}"
    );
    assert_eq!(refusal.refusal_reason(), Some("promql_too_deep"));
}

#[test]
fn selector_api_refuses_anything_but_a_bare_selector() {
    let enforcer = Enforcer::new(10);
    for input in [
        "rate(up[5m])",
        "up[5m]",
        "up offset 1m",
        "up @ start()",
        "up + up",
        "-up",
        "(up)",
        "1",
        r#""up""#,
    ] {
        let err = enforcer
            .enforce_selector(&team_a(), input)
            .expect_err(input);
        assert_eq!(
            err,
            EnforceError::NotASelector {
                input: input.into()
            },
            "{input}"
        );
        assert!(err.to_string().contains("selector"));
    }
    assert_eq!(
        enforcer.enforce_selector(&team_a(), " "),
        Err(EnforceError::EmptyQuery)
    );
    assert!(matches!(
        enforcer.enforce_selector(&team_a(), "up{"),
        Err(EnforceError::Parse { .. })
    ));
}

#[test]
fn invalid_policies_are_refused_with_the_offending_input() {
    let err = TenantPolicy::new("name-space", vec!["a".into()], ConflictMode::Replace)
        .expect_err("invalid label");
    assert!(err.to_string().contains("name-space"));
    let err = TenantPolicy::new("namespace", vec![], ConflictMode::Error).expect_err("no values");
    assert_eq!(
        err,
        EnforceError::NoAllowedValues {
            label: "namespace".into()
        }
    );
}
