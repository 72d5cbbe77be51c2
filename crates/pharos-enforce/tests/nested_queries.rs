//! Selectors at every depth and in every position get the tenant matcher; queries without
//! selectors pass through with their meaning intact.

// Test helpers outside `#[test]` functions unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pharos_enforce::{ConflictMode, Enforcer, TenantPolicy};
use promql_parser::parser::parse;

fn team_a() -> TenantPolicy {
    TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace).unwrap()
}

fn two_teams() -> TenantPolicy {
    TenantPolicy::new(
        "namespace",
        vec!["team-a".into(), "team-b".into()],
        ConflictMode::Replace,
    )
    .unwrap()
}

#[test]
fn nested_queries_are_enforced_everywhere() {
    let cases = [
        (
            "sum by (pod)(rate(x[5m])) / on(pod) group_left kube_pod_info",
            r#"sum by (pod) (rate(x{namespace="team-a"}[5m])) / on (pod) group_left () kube_pod_info{namespace="team-a"}"#,
        ),
        (
            "max_over_time(rate(x[5m])[1h:1m] offset 10m)",
            r#"max_over_time(rate(x{namespace="team-a"}[5m])[1h:1m] offset 10m)"#,
        ),
        (
            "avg_over_time((a - b)[30m:])",
            r#"avg_over_time((a{namespace="team-a"} - b{namespace="team-a"})[30m:])"#,
        ),
        ("x @ start()", r#"x{namespace="team-a"} @ start()"#),
        (
            "rate(x[5m] @ end() offset -5m)",
            r#"rate(x{namespace="team-a"}[5m] @ end() offset -5m)"#,
        ),
        ("x offset 1h", r#"x{namespace="team-a"} offset 1h"#),
        (
            "x @ 1700000000",
            r#"x{namespace="team-a"} @ 1700000000.000"#,
        ),
        (
            r#"absent(nonexistent{job="a"})"#,
            r#"absent(nonexistent{job="a",namespace="team-a"})"#,
        ),
        (
            r#"label_replace(up, "namespace", "team-b", "", "")"#,
            r#"label_replace(up{namespace="team-a"}, "namespace", "team-b", "", "")"#,
        ),
        (
            r#"count_values("namespace", up)"#,
            r#"count_values("namespace", up{namespace="team-a"})"#,
        ),
        ("topk(3, x)", r#"topk(3, x{namespace="team-a"})"#),
        (
            "quantile(0.9, x)",
            r#"quantile(0.9, x{namespace="team-a"})"#,
        ),
        (
            "topk(scalar(k), x)",
            r#"topk(scalar(k{namespace="team-a"}), x{namespace="team-a"})"#,
        ),
        ("-x", r#"-x{namespace="team-a"}"#),
        ("(x)", r#"(x{namespace="team-a"})"#),
        (
            "x or y unless z",
            r#"x{namespace="team-a"} or y{namespace="team-a"} unless z{namespace="team-a"}"#,
        ),
        (
            r#"{__name__=~"up|down"}"#,
            r#"{__name__=~"up|down",namespace="team-a"}"#,
        ),
        (
            r#"{"my.metric"}"#,
            r#"{__name__="my.metric",namespace="team-a"}"#,
        ),
        (
            r#"histogram_quantile(0.99, sum by (le) (rate(h_bucket{job="api"}[5m])))"#,
            r#"histogram_quantile(0.99, sum by (le) (rate(h_bucket{job="api",namespace="team-a"}[5m])))"#,
        ),
    ];
    let enforcer = Enforcer::new(100);
    let policy = team_a();
    for (input, want) in cases {
        let got = enforcer.enforce_query(&policy, input);
        assert_eq!(got.as_deref(), Ok(want), "{input}");
    }
}

#[test]
fn several_values_are_applied_as_one_anchored_regex() {
    let enforcer = Enforcer::new(100);
    let got = enforcer
        .enforce_query(&two_teams(), "sum(rate(x[5m])) / sum(y)")
        .unwrap();
    assert_eq!(
        &*got,
        r#"sum(rate(x{namespace=~"team-a|team-b"}[5m])) / sum(y{namespace=~"team-a|team-b"})"#
    );
}

#[test]
fn queries_without_selectors_keep_their_meaning() {
    let enforcer = Enforcer::new(100);
    let policy = team_a();
    for input in ["1+1", "time()", r#""text""#, "vector(1)", "2 ^ 3 * -4"] {
        let got = enforcer.enforce_query(&policy, input).unwrap();
        assert!(!got.contains("team-a"), "{input} gained a matcher: {got}");
        // Printing may normalise spacing; the parsed meaning must not change.
        assert_eq!(parse(&got).unwrap(), parse(input).unwrap(), "{input}");
    }
}

#[test]
fn comments_and_formatting_are_normalised_but_enforced() {
    let enforcer = Enforcer::new(100);
    let got = enforcer
        .enforce_query(&team_a(), "sum(\n  up # all targets\n)")
        .unwrap();
    assert_eq!(&*got, r#"sum(up{namespace="team-a"})"#);
}

#[test]
fn selector_api_enforces_bare_selectors() {
    let enforcer = Enforcer::new(100);
    let policy = two_teams();
    let cases = [
        ("up", r#"up{namespace=~"team-a|team-b"}"#),
        (r#"{job="x"}"#, r#"{job="x",namespace=~"team-a|team-b"}"#),
        (r#"up{a="b"}"#, r#"up{a="b",namespace=~"team-a|team-b"}"#),
    ];
    for (input, want) in cases {
        let got = enforcer.enforce_selector(&policy, input);
        assert_eq!(got.as_deref(), Ok(want), "{input}");
    }
}

#[test]
fn selector_text_is_a_valid_match_argument() {
    let policy = two_teams();
    let enforcer = Enforcer::new(100);
    let got = enforcer.enforce_selector(&policy, &policy.selector_text());
    assert_eq!(got.as_deref(), Ok(policy.selector_text().as_str()));
}
