//! The enforcement pipeline for one input: parse, rewrite every selector, print, and verify the
//! printed text before anyone sends it upstream.

use pharos_promql_syntax::{SyntaxLimits, check_depth};
use promql_parser::parser::{Expr, VectorSelector};

use crate::error::EnforceError;
use crate::policy::TenantPolicy;
use crate::selector::enforce_on_selector;
use crate::walk::for_each_selector_mut;

/// Enforces `policy` on a full PromQL expression (`query`, `query_range`, `query_exemplars`).
pub(crate) fn enforce_query_text(
    policy: &TenantPolicy,
    query: &str,
    limits: &SyntaxLimits,
) -> Result<String, EnforceError> {
    if query.trim().is_empty() {
        return Err(EnforceError::EmptyQuery);
    }
    let mut expr = pharos_promql_syntax::parse(query, limits)?;
    for_each_selector_mut(&mut expr, &mut |selector| {
        enforce_on_selector(policy, selector)
    })?;
    print_verified(policy, expr)
}

/// Enforces `policy` on a `match[]` series selector; anything but a bare vector selector is
/// refused, like Prometheus' own metric-selector parser does.
pub(crate) fn enforce_selector_text(
    policy: &TenantPolicy,
    selector: &str,
    limits: &SyntaxLimits,
) -> Result<String, EnforceError> {
    if selector.trim().is_empty() {
        return Err(EnforceError::EmptyQuery);
    }
    let not_a_selector = || EnforceError::NotASelector {
        input: selector.to_string(),
    };
    let mut expr = pharos_promql_syntax::parse(selector, limits)?;
    match &expr {
        Expr::VectorSelector(vs) if vs.offset.is_none() && vs.at.is_none() => {}
        _ => return Err(not_a_selector()),
    }
    for_each_selector_mut(&mut expr, &mut |vs| enforce_on_selector(policy, vs))?;
    print_verified(policy, expr)
}

/// Prints `rewritten` and proves the text means the same: it must parse again, give the same
/// AST (up to matcher order, which the printer sorts) and every selector must carry the
/// enforced matcher. Any surprise in the printer becomes a refusal, never a leak.
///
/// `rewritten` is at most [`pharos_promql_syntax::MAX_NESTING_DEPTH`] deep, so the recursive
/// printer stays on the stack and the parser's type check stays linear in the printed text. The
/// printed text is parsed without the length and structure limits: the tenant matchers make it
/// longer than the input, but not deeper.
fn print_verified(policy: &TenantPolicy, mut rewritten: Expr) -> Result<String, EnforceError> {
    let printed = rewritten.to_string();
    let mut reparsed =
        promql_parser::parser::parse(&printed).map_err(|message| EnforceError::UnsafeRewrite {
            detail: format!("the rewritten query does not parse: {message}"),
        })?;
    check_depth(&reparsed).map_err(|error| EnforceError::UnsafeRewrite {
        detail: format!("the rewritten query parses differently: {error}"),
    })?;
    let enforced = policy.enforced_matcher();
    let mut unfiltered = None;
    for_each_selector_mut(&mut reparsed, &mut |selector| {
        if !selector.matchers.matchers.contains(enforced) && unfiltered.is_none() {
            unfiltered = Some(selector.to_string());
        }
        sort_matchers(selector);
        Ok(())
    })?;
    if let Some(selector) = unfiltered {
        return Err(EnforceError::UnsafeRewrite {
            detail: format!("selector {selector} lacks the tenant matcher after printing"),
        });
    }
    for_each_selector_mut(&mut rewritten, &mut |selector| {
        sort_matchers(selector);
        Ok(())
    })?;
    if reparsed != rewritten {
        return Err(EnforceError::UnsafeRewrite {
            detail: "printing changed the query's meaning".to_string(),
        });
    }
    Ok(printed)
}

/// The printer sorts matchers, so comparisons must ignore their order.
fn sort_matchers(selector: &mut VectorSelector) {
    selector.matchers.matchers.sort_by(|a, b| {
        (&a.name, a.op.to_string(), &a.value).cmp(&(&b.name, b.op.to_string(), &b.value))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ConflictMode;
    use promql_parser::label::{MatchOp, Matcher};
    use promql_parser::parser::parse;

    fn team_a() -> TenantPolicy {
        TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace).unwrap()
    }

    #[test]
    fn selector_without_modifiers_is_accepted() {
        let out =
            enforce_selector_text(&team_a(), r#"{job="x"}"#, &SyntaxLimits::default()).unwrap();
        assert_eq!(out, r#"{job="x",namespace="team-a"}"#);
    }

    #[test]
    fn selector_input_rejects_everything_but_a_bare_selector() {
        for input in [
            "rate(up[5m])",
            "up[5m]",
            "up offset 5m",
            "up @ 100",
            "sum(up)",
            "(up)",
            "1",
        ] {
            assert!(
                matches!(
                    enforce_selector_text(&team_a(), input, &SyntaxLimits::default()),
                    Err(EnforceError::NotASelector { .. })
                ),
                "{input} should be refused"
            );
        }
    }

    #[test]
    fn verification_catches_a_selector_left_unfiltered() {
        // Simulates a walk bug: the AST is printed without enforcement.
        let expr = parse("up").unwrap();
        let err = print_verified(&team_a(), expr).unwrap_err();
        assert!(matches!(err, EnforceError::UnsafeRewrite { .. }), "{err:?}");
    }

    #[test]
    fn verification_catches_printing_that_changes_meaning() {
        // A matcher whose compiled regex disagrees with its text prints as something else.
        let mut expr = parse(r#"up{job=~"a"}"#).unwrap();
        if let Expr::VectorSelector(vs) = &mut expr {
            let regex = regex::Regex::new("^(?:b)$").unwrap();
            vs.matchers.matchers = vec![
                Matcher::new(MatchOp::Re(regex), "job", "a"),
                team_a().enforced_matcher().clone(),
            ];
        }
        let err = print_verified(&team_a(), expr).unwrap_err();
        assert!(
            matches!(&err, EnforceError::UnsafeRewrite { detail } if detail.contains("meaning")),
            "{err:?}"
        );
    }
}
