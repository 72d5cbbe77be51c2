//! Tenant enforcement for LogQL (Loki): every stream selector `{...}` of a log or metric query
//! gets the tenant matcher, with the same conflict rules as PromQL ([`crate::ConflictMode`]).
//!
//! In LogQL a brace only ever opens a stream selector, so the rewrite does not need Loki's
//! whole grammar: a tokenizer that agrees with Loki on strings, comments and ranges finds every
//! selector, each selector's matchers are parsed strictly, and everything between selectors is
//! copied unchanged. The result is tokenized again and checked (same tokens outside the
//! selectors, the tenant matcher in every selector) before it is returned; any doubt is a
//! refusal, never a query sent with an unfiltered selector.
//!
//! ```
//! use pharos_enforce::{ConflictMode, TenantPolicy, enforce_logql};
//!
//! let policy = TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace)?;
//! let query = enforce_logql(&policy, r#"sum by (app) (rate({app="api"} |= "}" [5m]))"#, 16_384)?;
//! assert_eq!(query, r#"sum by (app) (rate({app="api", namespace="team-a"} |= "}" [5m]))"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod lex;

use thiserror::Error;

use crate::policy::{ConflictMode, TenantPolicy};
use crate::text::{MatcherOp, TextMatcher, UnquoteError, go_unquote};
use lex::{Token, TokenKind, tokenize};

/// Why a LogQL query could not be enforced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogqlError {
    /// The query is empty or white space only.
    #[error("the LogQL query is empty; send a stream selector such as {{app=\"api\"}}")]
    Empty,

    /// The query is longer than the configured limit.
    #[error(
        "the LogQL query is {length} bytes long, more than the limit of {limit} bytes \
         (tenancy.max_query_bytes); shorten it"
    )]
    TooLong {
        /// Length of the query in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },

    /// The query has no stream selector. LogQL reads logs only through selectors, so such a
    /// query reads nothing in Loki; it is refused so that an upstream that is not Loki can
    /// never read it as something else (`up` is PromQL).
    #[error(
        "the LogQL query has no stream selector; select streams with {{...}}, e.g. \
         count_over_time({{app=\"api\"}}[5m])"
    )]
    NoSelector,

    /// The query is not LogQL the enforcer can read.
    #[error("the LogQL query cannot be read ({message} at byte {position}); fix the syntax")]
    Syntax {
        /// Byte offset of the problem.
        position: usize,
        /// What is wrong.
        message: String,
    },

    /// With [`ConflictMode::Error`]: a matcher on the tenant label admits none of the values.
    #[error(
        "matcher {matcher} can never match this project's values of {label:?} ({allowed}); \
         remove it or select one of those values"
    )]
    ConflictingMatcher {
        /// The matcher as written back, e.g. `namespace="team-c"`.
        matcher: String,
        /// The tenant label.
        label: String,
        /// The allowed values, comma separated.
        allowed: String,
    },

    /// The rewritten query failed the safety check.
    #[error(
        "the enforced LogQL query could not be verified ({detail}); it was refused for safety, \
         please report the query to the Pharos maintainers"
    )]
    UnsafeRewrite {
        /// What the check found.
        detail: String,
    },
}

/// One stream selector: its byte span in the query and its matchers.
#[derive(Debug)]
struct Selector {
    start: usize,
    end: usize,
    matchers: Vec<TextMatcher>,
}

/// A query split into its selectors and the tokens outside them.
struct Parsed<'q> {
    selectors: Vec<Selector>,
    outside: Vec<Token<'q>>,
}

/// Rewrites `query` so every stream selector carries the policy's matcher, or explains why it
/// cannot. `max_bytes` bounds the input (Loki itself refuses long queries).
pub fn enforce_logql(
    policy: &TenantPolicy,
    query: &str,
    max_bytes: usize,
) -> Result<String, LogqlError> {
    if query.trim().is_empty() {
        return Err(LogqlError::Empty);
    }
    if query.len() > max_bytes {
        return Err(LogqlError::TooLong {
            length: query.len(),
            limit: max_bytes,
        });
    }
    let parsed = parse(query)?;
    if parsed.selectors.is_empty() {
        return Err(LogqlError::NoSelector);
    }
    let mut rewritten = String::with_capacity(query.len() + 32 * parsed.selectors.len());
    let mut expected = Vec::with_capacity(parsed.selectors.len());
    let mut copied_to = 0;
    for selector in &parsed.selectors {
        let matchers = enforce_matchers(policy, &selector.matchers)?;
        rewritten.push_str(&query[copied_to..selector.start]);
        rewritten.push_str(&print_selector(&matchers));
        copied_to = selector.end;
        expected.push(matchers);
    }
    rewritten.push_str(&query[copied_to..]);
    verify(policy, &parsed, &expected, &rewritten)?;
    Ok(rewritten)
}

/// Applies the conflict rules to one selector's matchers and appends the enforced matcher.
fn enforce_matchers(
    policy: &TenantPolicy,
    matchers: &[TextMatcher],
) -> Result<Vec<TextMatcher>, LogqlError> {
    let label = policy.label();
    let mut out: Vec<TextMatcher> = matchers.to_vec();
    match policy.on_conflict() {
        // One value: the enforced `=` says everything; anything else on the label goes.
        ConflictMode::Replace if policy.is_single_value() => out.retain(|m| m.name != label),
        // Several values: the query may narrow to a subset; the enforced regex bounds it.
        ConflictMode::Replace => {}
        ConflictMode::Error => {
            for matcher in out.iter().filter(|m| m.name == label) {
                match matcher.admits_any(policy.values()) {
                    Some(true) => {}
                    Some(false) => {
                        return Err(LogqlError::ConflictingMatcher {
                            matcher: matcher.to_text(),
                            label: label.to_owned(),
                            allowed: policy.values().join(", "),
                        });
                    }
                    None => {
                        return Err(LogqlError::Syntax {
                            position: 0,
                            message: format!(
                                "the regular expression of {} does not compile",
                                matcher.to_text()
                            ),
                        });
                    }
                }
            }
        }
    }
    let enforced = TextMatcher::enforced(policy);
    out.retain(|m| *m != enforced);
    out.push(enforced);
    Ok(out)
}

fn print_selector(matchers: &[TextMatcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(TextMatcher::to_text).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Finds every selector and parses its matchers strictly:
/// `{}` or `{name op "value", ...}` with op one of `=`, `!=`, `=~`, `!~`.
fn parse(query: &str) -> Result<Parsed<'_>, LogqlError> {
    let tokens = tokenize(query).map_err(|e| LogqlError::Syntax {
        position: e.position,
        message: e.message,
    })?;
    let mut selectors = Vec::new();
    let mut outside = Vec::new();
    let mut iter = tokens.into_iter();
    while let Some(token) = iter.next() {
        match token.kind {
            TokenKind::OpenBrace => selectors.push(parse_selector(token, &mut iter)?),
            TokenKind::CloseBrace => {
                return Err(syntax(&token, "'}' without a matching '{'"));
            }
            _ => outside.push(token),
        }
    }
    Ok(Parsed { selectors, outside })
}

fn parse_selector<'q>(
    open: Token<'q>,
    tokens: &mut impl Iterator<Item = Token<'q>>,
) -> Result<Selector, LogqlError> {
    let mut matchers = Vec::new();
    let unclosed = || syntax(&open, "stream selector without a closing '}'");
    let mut next = tokens.next().ok_or_else(unclosed)?;
    if next.kind == TokenKind::CloseBrace {
        return Ok(Selector {
            start: open.start,
            end: next.end(),
            matchers,
        });
    }
    loop {
        let name = next;
        let starts_like_label = name
            .text
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic());
        if name.kind != TokenKind::Word || !starts_like_label || name.text.contains('.') {
            return Err(syntax(
                &name,
                "expected a label name in the stream selector",
            ));
        }
        let op_token = tokens.next().ok_or_else(unclosed)?;
        let op = (op_token.kind == TokenKind::Punct)
            .then(|| MatcherOp::parse(op_token.text))
            .flatten()
            .ok_or_else(|| syntax(&op_token, "expected =, !=, =~ or !~ after the label name"))?;
        let value_token = tokens.next().ok_or_else(unclosed)?;
        if value_token.kind != TokenKind::Str || value_token.text.starts_with('\'') {
            return Err(syntax(
                &value_token,
                "expected a \"double-quoted\" or `backtick` string as the matcher value",
            ));
        }
        let value = go_unquote(value_token.text).map_err(|e| {
            let why = match e {
                UnquoteError::Unterminated => "unterminated string",
                UnquoteError::BadEscape => "invalid escape in string",
                UnquoteError::NotUtf8 => "escape that is not valid UTF-8 in string",
            };
            syntax(&value_token, why)
        })?;
        matchers.push(TextMatcher {
            name: name.text.to_owned(),
            op,
            value,
        });
        let separator = tokens.next().ok_or_else(unclosed)?;
        match (separator.kind, separator.text) {
            (TokenKind::CloseBrace, _) => {
                return Ok(Selector {
                    start: open.start,
                    end: separator.end(),
                    matchers,
                });
            }
            (TokenKind::Punct, ",") => next = tokens.next().ok_or_else(unclosed)?,
            _ => return Err(syntax(&separator, "expected ',' or '}' after a matcher")),
        }
    }
}

fn syntax(token: &Token<'_>, message: &str) -> LogqlError {
    LogqlError::Syntax {
        position: token.start,
        message: format!("{message} (found {:?})", token.text),
    }
}

/// Re-reads the rewritten text: the tokens outside selectors must be unchanged and every
/// selector must hold exactly the matchers the rewrite meant to write, tenant matcher included.
fn verify(
    policy: &TenantPolicy,
    original: &Parsed<'_>,
    expected: &[Vec<TextMatcher>],
    rewritten: &str,
) -> Result<(), LogqlError> {
    let unsafe_rewrite = |detail: &str| LogqlError::UnsafeRewrite {
        detail: detail.to_owned(),
    };
    let reparsed = parse(rewritten).map_err(|e| LogqlError::UnsafeRewrite {
        detail: format!("the rewritten query does not parse: {e}"),
    })?;
    let shape = |tokens: &[Token<'_>]| -> Vec<(TokenKind, String)> {
        tokens.iter().map(|t| (t.kind, t.text.to_owned())).collect()
    };
    if shape(&reparsed.outside) != shape(&original.outside) {
        return Err(unsafe_rewrite(
            "the text outside the stream selectors changed",
        ));
    }
    if reparsed.selectors.len() != expected.len() {
        return Err(unsafe_rewrite("the number of stream selectors changed"));
    }
    let enforced = TextMatcher::enforced(policy);
    for (selector, wanted) in reparsed.selectors.iter().zip(expected) {
        if selector.matchers != *wanted {
            return Err(unsafe_rewrite("a stream selector reads back differently"));
        }
        if selector.matchers.iter().filter(|m| **m == enforced).count() != 1 {
            return Err(unsafe_rewrite("a stream selector lacks the tenant matcher"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(values: &[&str], mode: ConflictMode) -> TenantPolicy {
        TenantPolicy::new(
            "namespace",
            values.iter().map(|v| (*v).to_owned()).collect(),
            mode,
        )
        .unwrap()
    }

    fn team_a(query: &str) -> Result<String, LogqlError> {
        enforce_logql(&policy(&["team-a"], ConflictMode::Replace), query, 16_384)
    }

    #[test]
    fn log_queries_keep_their_pipeline() {
        assert_eq!(
            team_a(r#"{app="api"} |= "error" | json | line_format "{{.msg}}""#).unwrap(),
            r#"{app="api", namespace="team-a"} |= "error" | json | line_format "{{.msg}}""#
        );
    }

    #[test]
    fn braces_in_filters_and_templates_are_left_alone() {
        assert_eq!(
            team_a(r#"{app="a"} |= "}" |~ `{x}` | label_format y=`{{.z}}` != "{""#).unwrap(),
            r#"{app="a", namespace="team-a"} |= "}" |~ `{x}` | label_format y=`{{.z}}` != "{""#
        );
    }

    #[test]
    fn metric_queries_enforce_every_selector() {
        let out = team_a(
            r#"sum by (app) (rate({app="a"}[5m])) / on(app) count_over_time({app="b"} | logfmt [1h] offset 5m)"#,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"sum by (app) (rate({app="a", namespace="team-a"}[5m])) / on(app) count_over_time({app="b", namespace="team-a"} | logfmt [1h] offset 5m)"#
        );
    }

    #[test]
    fn single_value_replace_drops_other_tenant_matchers() {
        assert_eq!(
            team_a(r#"{namespace="team-b", app="x"}"#).unwrap(),
            r#"{app="x", namespace="team-a"}"#
        );
        assert_eq!(
            team_a(r#"{namespace=~".+"}"#).unwrap(),
            r#"{namespace="team-a"}"#
        );
    }

    #[test]
    fn several_values_and_the_query_matcher_and_together() {
        let p = policy(&["team-a", "team-b"], ConflictMode::Replace);
        assert_eq!(
            enforce_logql(&p, r#"{namespace="team-b"}"#, 1024).unwrap(),
            r#"{namespace="team-b", namespace=~"team-a|team-b"}"#
        );
    }

    #[test]
    fn error_mode_refuses_a_matcher_that_admits_no_allowed_value() {
        let p = policy(&["team-a"], ConflictMode::Error);
        let err = enforce_logql(&p, r#"{namespace="team-b"}"#, 1024).unwrap_err();
        assert!(
            matches!(err, LogqlError::ConflictingMatcher { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("team-a"), "{err}");
        assert_eq!(
            enforce_logql(&p, r#"{namespace=~"team-.*"}"#, 1024).unwrap(),
            r#"{namespace=~"team-.*", namespace="team-a"}"#
        );
    }

    #[test]
    fn empty_selectors_and_raw_values_are_normalised() {
        assert_eq!(team_a("{}").unwrap(), r#"{namespace="team-a"}"#);
        assert_eq!(
            team_a(r"{app=`a\b`}").unwrap(),
            r#"{app="a\\b", namespace="team-a"}"#
        );
    }

    #[test]
    fn comments_cannot_hide_or_fake_a_selector() {
        // Loki skips comments, so a selector inside one is not a selector, and one after
        // a comment on its own line is.
        assert_eq!(
            team_a("{a=\"b\"} # {x=\"y\"}\n |= \"z\"").unwrap(),
            "{a=\"b\", namespace=\"team-a\"} # {x=\"y\"}\n |= \"z\""
        );
        assert_eq!(
            team_a("count_over_time( /* ) */ {a=\"b\"}[5m])").unwrap(),
            "count_over_time( /* ) */ {a=\"b\", namespace=\"team-a\"}[5m])"
        );
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for query in [
            "{a=\"b\",}",
            "{a=\"b\"",
            "{a \"b\"}",
            "{a=='b'}",
            "{a='b'}",
            "{a=b}",
            "{1a=\"b\"}",
            "{a= ~\"b\"}",
            "a=\"b\"}",
            "{a=\"\\q\"}",
            "{a=\"b\"} | x=\"\\xff\" [5m",
        ] {
            assert!(
                matches!(team_a(query), Err(LogqlError::Syntax { .. })),
                "{query:?} should be refused, got {:?}",
                team_a(query)
            );
        }
    }

    #[test]
    fn limits_and_empty_input() {
        assert_eq!(team_a("  "), Err(LogqlError::Empty));
        let long = format!("{{a=\"{}\"}}", "x".repeat(100));
        let err =
            enforce_logql(&policy(&["team-a"], ConflictMode::Replace), &long, 50).unwrap_err();
        assert_eq!(
            err,
            LogqlError::TooLong {
                length: long.len(),
                limit: 50
            }
        );
        assert!(err.to_string().contains("tenancy.max_query_bytes"));
    }

    #[test]
    fn queries_without_selectors_are_refused() {
        for query in ["vector(1) + 2", "up", "sum(rate(http_requests_total[5m]))"] {
            assert_eq!(team_a(query), Err(LogqlError::NoSelector), "{query}");
        }
    }
}
