//! `match[]` series selectors of the listing endpoints, parsed into store matcher sets.

use pharos_promql::{EvalError, SyntaxError};
use pharos_promql_syntax::SyntaxLimits;
use promql_parser::label::{MatchOp as ParsedOp, Matcher as ParsedMatcher};
use promql_parser::parser::Expr;

use crate::error::QueryError;
use pharos_tsdb::{METRIC_NAME_LABEL, MatchOp, Matcher};

/// Parses `match[]` selectors (`up`, `{job="api"}`, `{a="1" or b="2"}`) into matcher sets; a
/// series matches when it satisfies every matcher of at least one set.
pub fn parse_series_selectors(selectors: &[String]) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let mut sets = Vec::new();
    for text in selectors {
        let selector = match pharos_promql_syntax::parse(text, &SyntaxLimits::default()) {
            Ok(Expr::VectorSelector(selector)) => selector,
            Ok(_) => {
                return Err(QueryError::BadSelector(format!(
                    "match[] {text:?} is not a series selector: use a selector such as up{{job=\"api\"}}"
                )));
            }
            Err(SyntaxError::Parse(error)) => return Err(QueryError::BadSelector(error)),
            Err(limit) => return Err(QueryError::Eval(EvalError::Syntax(limit))),
        };
        let name = selector
            .name
            .as_ref()
            .map(|name| Matcher::equal(METRIC_NAME_LABEL, name.as_str()));
        let groups: Vec<&[ParsedMatcher]> = if selector.matchers.or_matchers.is_empty() {
            vec![selector.matchers.matchers.as_slice()]
        } else {
            selector
                .matchers
                .or_matchers
                .iter()
                .map(Vec::as_slice)
                .collect()
        };
        for group in groups {
            let mut set: Vec<Matcher> = group.iter().map(convert).collect::<Result<_, _>>()?;
            set.extend(name.clone());
            if set.iter().all(Matcher::matches_empty) {
                return Err(QueryError::BadSelector(
                    "match[] must contain at least one non-empty matcher".into(),
                ));
            }
            sets.push(set);
        }
    }
    Ok(sets)
}

fn convert(matcher: &ParsedMatcher) -> Result<Matcher, QueryError> {
    let op = match matcher.op {
        ParsedOp::Equal => MatchOp::Equal,
        ParsedOp::NotEqual => MatchOp::NotEqual,
        ParsedOp::Re(_) => MatchOp::Regex,
        ParsedOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(op, matcher.name.as_str(), matcher.value.as_str())
        .map_err(|e| QueryError::BadSelector(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(selectors: &[&str]) -> Result<Vec<Vec<String>>, String> {
        let owned: Vec<String> = selectors.iter().map(|s| (*s).to_owned()).collect();
        parse_series_selectors(&owned)
            .map(|sets| {
                sets.iter()
                    .map(|set| set.iter().map(ToString::to_string).collect())
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_metric_name_becomes_a_matcher() {
        assert_eq!(
            parse(&[r#"up{job=~"a|b"}"#]).unwrap(),
            [vec![
                r#"job=~"a|b""#.to_owned(),
                r#"__name__="up""#.to_owned()
            ]]
        );
    }

    #[test]
    fn or_groups_become_separate_sets() {
        let sets = parse(&[r#"{a="1" or b="2"}"#, "up"]).unwrap();
        assert_eq!(sets.len(), 3);
    }

    #[test]
    fn selectors_that_match_everything_are_refused() {
        for selector in [r#"{job=~".*"}"#, r#"{a="1" or b=~".*"}"#] {
            let error = parse(&[selector]).unwrap_err();
            assert!(error.contains("at least one non-empty matcher"), "{error}");
        }
    }

    #[test]
    fn expressions_and_garbage_are_refused_with_the_reason() {
        assert!(
            parse(&["sum(up)"])
                .unwrap_err()
                .contains("not a series selector")
        );
        assert!(!parse(&["up{"]).unwrap_err().is_empty());
    }
}
