//! Tenant enforcement for TraceQL (Tempo search): only a single spanset filter `{ ... }` is
//! accepted, and the tenant condition is put inside that same filter, so every span a search
//! returns belongs to the tenant:
//!
//! `{ span.http.status_code >= 500 }` → `{ resource.k8s.namespace.name = "team-a" && (span.http.status_code >= 500) }`
//!
//! Tempo's lexer switches into an attribute mode after a `.` in which most punctuation is part
//! of the name, and its Go scanner also skips `//` and `/* */` comments. To never disagree with
//! it about where the filter ends, the only quote character accepted is `"`, and comment
//! starters, `#`, `'` and backticks are refused outside strings: with those gone, `"..."`
//! literals (a backslash takes the next character along) and the braces and parentheses outside
//! them read the same in both lexer modes. Pipelines (`| count()`), structural operators
//! (`>>`, `~`) and several spansets are refused: their results are not limited to the spans
//! the filter selects.

use thiserror::Error;

use crate::text::go_quote;

/// Why a TraceQL query could not be enforced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TraceqlError {
    /// The query is longer than the configured limit.
    #[error(
        "the TraceQL query is {length} bytes long, more than the limit of {limit} bytes \
         (tenancy.max_query_bytes); shorten it"
    )]
    TooLong {
        /// Length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The query is not one spanset filter the enforcer can restrict.
    #[error(
        "the TraceQL query cannot be restricted to this project's namespaces ({reason}); a \
         project with spec.namespaces may only search with a single spanset filter such as \
         {{ span.http.status_code >= 500 }}"
    )]
    Unsupported {
        /// What is in the way.
        reason: String,
    },
    /// The configured tenant attribute is not a TraceQL attribute.
    #[error(
        "tenancy.trace_attribute {attribute:?} is not a TraceQL attribute such as \
         \"resource.k8s.namespace.name\""
    )]
    InvalidAttribute {
        /// The configured attribute.
        attribute: String,
    },
}

/// Characters that end an attribute name in Tempo's lexer, besides white space.
const ATTRIBUTE_TERMINATORS: &str = "{}()=~!<>&|^,";

/// Checks that `attribute` is a scoped TraceQL attribute (`resource.x`, `span.x`, `.x`) whose
/// name needs no quoting.
pub fn validate_trace_attribute(attribute: &str) -> Result<(), TraceqlError> {
    let name = ["resource.", "span.", "."]
        .iter()
        .find_map(|scope| attribute.strip_prefix(scope));
    let valid = name.is_some_and(|name| {
        !name.is_empty()
            && name.chars().all(|c| {
                !c.is_whitespace() && !ATTRIBUTE_TERMINATORS.contains(c) && !"\"'`#/".contains(c)
            })
    });
    if valid {
        Ok(())
    } else {
        Err(TraceqlError::InvalidAttribute {
            attribute: attribute.to_owned(),
        })
    }
}

/// The tenant condition: `attr = "a"` or `(attr = "a" || attr = "b")`.
pub fn tenant_condition(attribute: &str, values: &[String]) -> String {
    let terms: Vec<String> = values
        .iter()
        .map(|value| format!("{attribute} = {}", go_quote(value)))
        .collect();
    match terms.as_slice() {
        [single] => single.clone(),
        _ => format!("({})", terms.join(" || ")),
    }
}

/// Rewrites a TraceQL search query so it only matches spans with one of `values` in
/// `attribute`. An empty query (Tempo's "recent traces") becomes the tenant filter alone.
pub fn enforce_traceql(
    attribute: &str,
    values: &[String],
    query: &str,
    max_bytes: usize,
) -> Result<String, TraceqlError> {
    validate_trace_attribute(attribute)?;
    if query.len() > max_bytes {
        return Err(TraceqlError::TooLong {
            length: query.len(),
            limit: max_bytes,
        });
    }
    let condition = tenant_condition(attribute, values);
    let body = filter_body(query)?;
    if body.trim().is_empty() {
        return Ok(format!("{{ {condition} }}"));
    }
    Ok(format!("{{ {condition} && ({}) }}", body.trim()))
}

/// The text between the braces of a query that is exactly one spanset filter.
fn filter_body(query: &str) -> Result<&str, TraceqlError> {
    let unsupported = |reason: String| TraceqlError::Unsupported { reason };
    let trimmed = query.trim();
    if trimmed.is_empty() {
        return Ok("");
    }
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| unsupported("it is not a single { ... } filter".to_owned()))?;
    let mut depth: usize = 0;
    let mut chars = inner.char_indices().peekable();
    while let Some((position, c)) = chars.next() {
        match c {
            '"' => skip_string(&mut chars).ok_or_else(|| {
                unsupported(format!("unterminated string at byte {}", position + 1))
            })?,
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    unsupported(format!("unbalanced ')' at byte {}", position + 1))
                })?;
            }
            '{' | '}' => {
                return Err(unsupported(
                    "it combines several spansets; use one { ... } filter".to_owned(),
                ));
            }
            '/' if matches!(chars.peek(), Some((_, '/' | '*'))) => {
                return Err(unsupported("comments are not accepted".to_owned()));
            }
            '\'' | '`' | '#' | '\0' => {
                return Err(unsupported(format!(
                    "the character {c:?} is not accepted outside a \"string\""
                )));
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(unsupported("unbalanced '('".to_owned()));
    }
    Ok(inner)
}

/// Advances past a `"`-string whose opening quote was just read; `None` if it never ends.
fn skip_string(chars: &mut impl Iterator<Item = (usize, char)>) -> Option<()> {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '"' => return Some(()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "resource.k8s.namespace.name";

    fn team_a(query: &str) -> Result<String, TraceqlError> {
        enforce_traceql(NS, &["team-a".to_owned()], query, 4096)
    }

    #[test]
    fn the_condition_goes_inside_the_filter() {
        assert_eq!(
            team_a(r#"{ span.http.status_code >= 500 && name = "GET /}" }"#).unwrap(),
            r#"{ resource.k8s.namespace.name = "team-a" && (span.http.status_code >= 500 && name = "GET /}") }"#
        );
        assert_eq!(
            team_a("").unwrap(),
            r#"{ resource.k8s.namespace.name = "team-a" }"#
        );
        assert_eq!(
            team_a("{ }").unwrap(),
            r#"{ resource.k8s.namespace.name = "team-a" }"#
        );
    }

    #[test]
    fn several_values_are_ored_equalities() {
        let out = enforce_traceql(NS, &["a".to_owned(), "b".to_owned()], "{ true }", 4096).unwrap();
        assert_eq!(
            out,
            r#"{ (resource.k8s.namespace.name = "a" || resource.k8s.namespace.name = "b") && (true) }"#
        );
    }

    #[test]
    fn anything_but_one_filter_is_refused() {
        for query in [
            "{ .a = 1 } || { .b = 2 }",
            "{ .a = 1 } >> { .b = 2 }",
            "{ .a = 1 } | count() > 2",
            "{ .a = 1 ) || ( true }",
            "{ .a = \"x }",
            "{ .a = 1 /* } || { true */ }",
            "{ .a = 1 // }",
            "{ .a = `x` }",
            "{ .a = 'x' }",
            ".a = 1",
        ] {
            assert!(
                matches!(team_a(query), Err(TraceqlError::Unsupported { .. })),
                "{query:?} should be refused, got {:?}",
                team_a(query)
            );
        }
    }

    #[test]
    fn escaped_quotes_stay_inside_strings() {
        assert!(team_a(r#"{ name = "a\"}" }"#).is_ok());
        assert!(team_a(r#"{ name = "a\\" } || { true }"#).is_err());
    }

    #[test]
    fn limits_and_attribute_validation() {
        let err = enforce_traceql(NS, &["a".to_owned()], &"x".repeat(20), 10).unwrap_err();
        assert_eq!(
            err,
            TraceqlError::TooLong {
                length: 20,
                limit: 10
            }
        );
        assert!(validate_trace_attribute("resource.k8s.namespace.name").is_ok());
        assert!(validate_trace_attribute(".namespace").is_ok());
        for bad in [
            "namespace",
            "resource.",
            "span.a b",
            "span.a}",
            "span.\"a\"",
        ] {
            assert!(validate_trace_attribute(bad).is_err(), "{bad:?}");
        }
    }
}
