//! Applies a tenant policy to one vector selector, resolving conflicts with matchers the query
//! already has on the tenant label.

use promql_parser::label::Matcher;
use promql_parser::parser::VectorSelector;

use crate::error::EnforceError;
use crate::policy::{ConflictMode, TenantPolicy};

/// Adds the policy's matcher to `selector`, following the policy's [`ConflictMode`].
///
/// The caller has already refused selectors with `or` matchers, so only the plain matcher list
/// needs rewriting.
pub(crate) fn enforce_on_selector(
    policy: &TenantPolicy,
    selector: &mut VectorSelector,
) -> Result<(), EnforceError> {
    let label = policy.label();
    let matchers = &mut selector.matchers.matchers;
    match policy.on_conflict() {
        // With one value the enforced `=` already says everything; any other matcher on the
        // label is either redundant or an attempt to widen/escape, so it goes.
        ConflictMode::Replace if policy.is_single_value() => {
            matchers.retain(|m| m.name != label);
        }
        // With several values the query's matcher may legitimately narrow to a subset; ANDing
        // keeps that narrowing and the enforced regex still bounds it.
        ConflictMode::Replace => {}
        ConflictMode::Error => {
            if let Some(conflict) = matchers
                .iter()
                .filter(|m| m.name == label)
                .find(|m| !admits_any(m, policy.values()))
            {
                return Err(EnforceError::ConflictingMatcher {
                    matcher: conflict.to_string(),
                    label: label.to_string(),
                    allowed: policy.values().join(", "),
                });
            }
        }
    }
    let enforced = policy.enforced_matcher();
    // Avoids printing the same matcher twice when the query already carries it.
    matchers.retain(|m| m != enforced);
    matchers.push(enforced.clone());
    Ok(())
}

/// Whether the query's matcher accepts at least one allowed value (regexes are anchored by the
/// parser, as in Prometheus).
fn admits_any(matcher: &Matcher, allowed: &[String]) -> bool {
    allowed.iter().any(|value| matcher.is_match(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::{Expr, parse};

    fn selector(text: &str) -> VectorSelector {
        match parse(text).unwrap() {
            Expr::VectorSelector(vs) => vs,
            other => panic!("not a selector: {other:?}"),
        }
    }

    fn policy(values: &[&str], mode: ConflictMode) -> TenantPolicy {
        TenantPolicy::new(
            "namespace",
            values.iter().map(|v| v.to_string()).collect(),
            mode,
        )
        .unwrap()
    }

    fn enforce(values: &[&str], mode: ConflictMode, text: &str) -> Result<String, EnforceError> {
        let mut vs = selector(text);
        enforce_on_selector(&policy(values, mode), &mut vs)?;
        Ok(vs.to_string())
    }

    #[test]
    fn matchers_on_other_labels_are_kept() {
        let out = enforce(&["team-a"], ConflictMode::Replace, r#"up{job="api"}"#).unwrap();
        assert_eq!(out, r#"up{job="api",namespace="team-a"}"#);
    }

    #[test]
    fn identical_matcher_is_not_duplicated() {
        let out = enforce(&["a", "b"], ConflictMode::Error, r#"up{namespace=~"a|b"}"#).unwrap();
        assert_eq!(out, r#"up{namespace=~"a|b"}"#);
    }

    #[test]
    fn error_mode_reports_matcher_label_and_allowed_values() {
        let err = enforce(&["a", "b"], ConflictMode::Error, r#"up{namespace="c"}"#).unwrap_err();
        assert_eq!(
            err,
            EnforceError::ConflictingMatcher {
                matcher: r#"namespace="c""#.into(),
                label: "namespace".into(),
                allowed: "a, b".into(),
            }
        );
        let message = err.to_string();
        assert!(message.contains(r#"namespace="c""#) && message.contains("a, b"));
    }

    #[test]
    fn error_mode_judges_every_matcher_on_the_label() {
        // The first matcher admits `a`, the second admits nothing allowed.
        let err = enforce(
            &["a"],
            ConflictMode::Error,
            r#"up{namespace=~"a|x",namespace="x"}"#,
        );
        assert!(
            matches!(err, Err(EnforceError::ConflictingMatcher { matcher, .. }) if matcher == r#"namespace="x""#)
        );
    }
}
