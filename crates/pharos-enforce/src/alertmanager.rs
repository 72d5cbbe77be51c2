//! Tenant enforcement for Alertmanager's API v2 `filter` parameters (`GET /api/v2/alerts`,
//! `/api/v2/alerts/groups`, `/api/v2/silences`).
//!
//! Alertmanager ANDs every `filter` it receives, so adding the tenant matcher as one more
//! filter already limits the answer to the tenant's alerts; a client filter can only narrow
//! further. Client filters on the tenant label get the same conflict rules as PromQL: with one
//! allowed value they are dropped (replaced), in error mode one that admits none of the values
//! is refused. A filter this module cannot read is kept as is: it is still ANDed.

use thiserror::Error;

use crate::policy::{ConflictMode, TenantPolicy};
use crate::text::{MatcherOp, TextMatcher, go_unquote};

/// Why a client filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// With [`ConflictMode::Error`]: the filter admits none of the tenant's values.
    #[error(
        "filter {filter} can never match this project's values of {label:?} ({allowed}); \
         remove it or select one of those values"
    )]
    Conflicting {
        /// The filter as sent.
        filter: String,
        /// The tenant label.
        label: String,
        /// The allowed values, comma separated.
        allowed: String,
    },
    /// The filter is longer than the limit.
    #[error(
        "the filter is {length} bytes long, more than the limit of {limit} bytes \
         (tenancy.max_query_bytes)"
    )]
    TooLong {
        /// Length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
}

/// The filter the proxy adds: `namespace="team-a"` or `namespace=~"team-a|team-b"`.
pub fn tenant_filter(policy: &TenantPolicy) -> String {
    TextMatcher::enforced(policy).to_text()
}

/// Applies the conflict rules to one client `filter` value: `Ok(None)` drops it,
/// `Ok(Some(text))` forwards `text`.
pub fn enforce_client_filter(
    policy: &TenantPolicy,
    filter: &str,
    max_bytes: usize,
) -> Result<Option<String>, FilterError> {
    if filter.len() > max_bytes {
        return Err(FilterError::TooLong {
            length: filter.len(),
            limit: max_bytes,
        });
    }
    let Some(matchers) = parse_filter(filter) else {
        return Ok(Some(filter.to_owned()));
    };
    let label = policy.label();
    if !matchers.iter().any(|m| m.name == label) {
        return Ok(Some(filter.to_owned()));
    }
    match policy.on_conflict() {
        ConflictMode::Replace if policy.is_single_value() => {
            let rest: Vec<String> = matchers
                .iter()
                .filter(|m| m.name != label)
                .map(TextMatcher::to_text)
                .collect();
            Ok((!rest.is_empty()).then(|| format!("{{{}}}", rest.join(","))))
        }
        ConflictMode::Replace => Ok(Some(filter.to_owned())),
        ConflictMode::Error => {
            let admits = matchers
                .iter()
                .filter(|m| m.name == label)
                .all(|m| m.admits_any(policy.values()) == Some(true));
            if admits {
                Ok(Some(filter.to_owned()))
            } else {
                Err(FilterError::Conflicting {
                    filter: filter.to_owned(),
                    label: label.to_owned(),
                    allowed: policy.values().join(", "),
                })
            }
        }
    }
}

/// Reads `name op value[, ...]`, optionally in braces, with quoted or bare names and values
/// (both forms Alertmanager accepts). `None` when the text is anything else.
fn parse_filter(filter: &str) -> Option<Vec<TextMatcher>> {
    let text = filter.trim();
    let text = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => text,
    };
    split_outside_quotes(text)?
        .into_iter()
        .map(parse_matcher)
        .collect()
}

fn parse_matcher(text: &str) -> Option<TextMatcher> {
    let text = text.trim();
    let op_start = text.find(['=', '!'])?;
    let name = unquote_or_bare(text[..op_start].trim())?;
    let rest = &text[op_start..];
    let (op, value) = ["=~", "!~", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|value| (*op, value)))?;
    let value = unquote_or_bare(value.trim())?;
    if name.is_empty() {
        return None;
    }
    Some(TextMatcher {
        name,
        op: MatcherOp::parse(op)?,
        value,
    })
}

fn unquote_or_bare(text: &str) -> Option<String> {
    if text.starts_with('"') {
        return go_unquote(text).ok();
    }
    let bare = !text.contains(['"', '\'', '`', '{', '}', ',', '=', '!', '~']);
    bare.then(|| text.to_owned())
}

/// Splits on commas that are not inside a `"` string; `None` for an unterminated string.
fn split_outside_quotes(text: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (false, _, '"') => in_string = true,
            (false, _, ',') => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if in_string {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
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

    #[test]
    fn tenant_filter_text() {
        assert_eq!(
            tenant_filter(&policy(&["team-a"], ConflictMode::Replace)),
            r#"namespace="team-a""#
        );
        assert_eq!(
            tenant_filter(&policy(&["a", "b"], ConflictMode::Replace)),
            r#"namespace=~"a|b""#
        );
    }

    #[test]
    fn single_value_replace_drops_tenant_filters_and_keeps_the_rest() {
        let p = policy(&["team-a"], ConflictMode::Replace);
        assert_eq!(
            enforce_client_filter(&p, r#"namespace="team-b""#, 100),
            Ok(None)
        );
        assert_eq!(
            enforce_client_filter(&p, "namespace=~team-.*", 100),
            Ok(None)
        );
        assert_eq!(
            enforce_client_filter(&p, r#"{namespace="team-b", alertname="X"}"#, 100),
            Ok(Some(r#"{alertname="X"}"#.to_owned()))
        );
        assert_eq!(
            enforce_client_filter(&p, r#"severity="page""#, 100),
            Ok(Some(r#"severity="page""#.to_owned()))
        );
    }

    #[test]
    fn unreadable_filters_are_kept_because_they_are_anded() {
        let p = policy(&["team-a"], ConflictMode::Replace);
        assert_eq!(
            enforce_client_filter(&p, "namespace", 100),
            Ok(Some("namespace".to_owned()))
        );
    }

    #[test]
    fn error_mode_refuses_conflicts() {
        let p = policy(&["team-a"], ConflictMode::Error);
        assert!(matches!(
            enforce_client_filter(&p, r#"namespace="team-b""#, 100),
            Err(FilterError::Conflicting { .. })
        ));
        assert_eq!(
            enforce_client_filter(&p, r#"namespace=~"team-.+""#, 100),
            Ok(Some(r#"namespace=~"team-.+""#.to_owned()))
        );
    }

    #[test]
    fn long_filters_are_refused() {
        let p = policy(&["team-a"], ConflictMode::Replace);
        assert_eq!(
            enforce_client_filter(&p, "a=bbbbbb", 3),
            Err(FilterError::TooLong {
                length: 8,
                limit: 3
            })
        );
    }
}
