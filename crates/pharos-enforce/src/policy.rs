//! The tenant policy: which label is enforced, which values a project may read, and what to do
//! when a query already constrains that label.

use std::fmt::Write as _;
use std::sync::Arc;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::T_EQL_REGEX;

use crate::error::EnforceError;

/// What to do when a query already has a matcher on the tenant label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictMode {
    /// prom-label-proxy's default: with one allowed value the query's matchers on the label are
    /// dropped and replaced; with several they are kept and ANDed with the enforced matcher.
    Replace,
    /// prom-label-proxy's `-error-on-replace`: refuse a query whose matcher on the label admits
    /// none of the allowed values; otherwise keep it and AND the enforced matcher.
    Error,
}

/// The label values one project may read, e.g. `namespace` ∈ {`team-a`, `team-b`}.
#[derive(Debug, Clone)]
pub struct TenantPolicy {
    label: String,
    values: Vec<String>,
    on_conflict: ConflictMode,
    enforced: Matcher,
    /// Unambiguous identity of the policy, used as part of cache keys so two policies never
    /// share an entry.
    fingerprint: Arc<str>,
}

impl TenantPolicy {
    /// Builds a policy after checking the label name against Prometheus rules and that at least
    /// one non-empty value is given. Values are sorted and de-duplicated, so the same set in any
    /// order yields the same policy.
    pub fn new(
        label: &str,
        values: Vec<String>,
        on_conflict: ConflictMode,
    ) -> Result<Self, EnforceError> {
        validate_label_name(label)?;
        let mut values = values;
        values.sort();
        values.dedup();
        if values.is_empty() {
            return Err(EnforceError::NoAllowedValues {
                label: label.to_string(),
            });
        }
        if values.iter().any(String::is_empty) {
            return Err(EnforceError::EmptyAllowedValue {
                label: label.to_string(),
            });
        }
        let enforced = build_enforced_matcher(label, &values)?;
        let fingerprint = fingerprint(label, &values, on_conflict);
        Ok(Self {
            label: label.to_string(),
            values,
            on_conflict,
            enforced,
            fingerprint,
        })
    }

    /// The enforced label name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The allowed values, sorted and without duplicates.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// What happens when a query already constrains the label.
    pub fn on_conflict(&self) -> ConflictMode {
        self.on_conflict
    }

    /// The matcher added to every selector: `namespace="team-a"` for one value,
    /// `namespace=~"team-a|team-b"` (values regex-escaped) for several.
    pub fn matcher_text(&self) -> String {
        self.enforced.to_string()
    }

    /// A selector holding only the enforced matcher, e.g. `{namespace="team-a"}`; for label
    /// APIs called without `match[]`.
    pub fn selector_text(&self) -> String {
        format!("{{{}}}", self.matcher_text())
    }

    /// The enforced matcher as a parser value.
    pub(crate) fn enforced_matcher(&self) -> &Matcher {
        &self.enforced
    }

    /// True when exactly one value is allowed (the enforced matcher is `=`).
    pub(crate) fn is_single_value(&self) -> bool {
        self.values.len() == 1
    }

    /// Cache identity of this policy.
    pub(crate) fn fingerprint(&self) -> &Arc<str> {
        &self.fingerprint
    }
}

impl PartialEq for TenantPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for TenantPolicy {}

/// Prometheus' classic label-name rule `[a-zA-Z_][a-zA-Z0-9_]*`; `__`-prefixed names are
/// reserved for internals (enforcing `__name__` would rewrite metric names, not tenants).
fn validate_label_name(label: &str) -> Result<(), EnforceError> {
    let mut chars = label.chars();
    let starts_well = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(EnforceError::InvalidLabelName {
            label: label.to_string(),
        });
    }
    if label.starts_with("__") {
        return Err(EnforceError::ReservedLabelName {
            label: label.to_string(),
        });
    }
    Ok(())
}

fn build_enforced_matcher(label: &str, values: &[String]) -> Result<Matcher, EnforceError> {
    if let [single] = values {
        return Ok(Matcher::new(MatchOp::Equal, label, single));
    }
    let alternatives: Vec<String> = values.iter().map(|v| quote_regex_literal(v)).collect();
    // `new_matcher` anchors the regex exactly like the parser does for queries, so the
    // enforced matcher compares equal to itself after a print → parse round trip.
    Matcher::new_matcher(T_EQL_REGEX, label.to_string(), alternatives.join("|")).map_err(
        |message| EnforceError::UnsafeRewrite {
            detail: format!("could not build the tenant regex: {message}"),
        },
    )
}

/// Escapes the characters that are special in both RE2 (Prometheus) and the Rust regex crate,
/// the same set as Go's `regexp.QuoteMeta`, so `team-a` stays readable (no `\-`).
pub(crate) fn quote_regex_literal(value: &str) -> String {
    const SPECIAL: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
    ];
    let mut quoted = String::with_capacity(value.len());
    for c in value.chars() {
        if SPECIAL.contains(&c) {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted
}

/// Length-prefixed encoding: no two different policies can produce the same text, whatever
/// characters their values contain.
fn fingerprint(label: &str, values: &[String], on_conflict: ConflictMode) -> Arc<str> {
    let mut text = format!("{on_conflict:?};{}:{label}", label.len());
    for value in values {
        // Writing into a String cannot fail.
        let _ = write!(text, ";{}:{value}", value.len());
    }
    Arc::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(values: &[&str]) -> TenantPolicy {
        TenantPolicy::new(
            "namespace",
            values.iter().map(|v| v.to_string()).collect(),
            ConflictMode::Replace,
        )
        .unwrap()
    }

    #[test]
    fn single_value_uses_equality() {
        let p = policy(&["team-a"]);
        assert_eq!(p.matcher_text(), r#"namespace="team-a""#);
        assert_eq!(p.selector_text(), r#"{namespace="team-a"}"#);
        assert!(p.is_single_value());
    }

    #[test]
    fn several_values_are_sorted_deduplicated_and_use_regex() {
        let p = policy(&["team-b", "team-a", "team-b"]);
        assert_eq!(p.values(), ["team-a", "team-b"]);
        assert_eq!(p.matcher_text(), r#"namespace=~"team-a|team-b""#);
        assert!(!p.is_single_value());
    }

    #[test]
    fn regex_metacharacters_in_values_are_escaped_and_match_literally() {
        let p = policy(&["a.b", "c|d"]);
        assert_eq!(p.matcher_text(), r#"namespace=~"a\\.b|c\\|d""#);
        let m = p.enforced_matcher();
        assert!(m.is_match("a.b"));
        assert!(m.is_match("c|d"));
        assert!(!m.is_match("axb"));
        assert!(!m.is_match("c"));
    }

    #[test]
    fn enforced_regex_is_anchored() {
        let p = policy(&["team-a", "team-b"]);
        assert!(p.enforced_matcher().is_match("team-b"));
        assert!(!p.enforced_matcher().is_match("team-bx"));
        assert!(!p.enforced_matcher().is_match("xteam-a"));
    }

    #[test]
    fn quotes_in_values_are_escaped_in_text() {
        let p = policy(&[r#"we"ird"#]);
        assert_eq!(p.matcher_text(), r#"namespace="we\"ird""#);
    }

    #[test]
    fn label_names_follow_prometheus_rules() {
        for bad in ["", "1abc", "a-b", "a.b", "näme", "a b"] {
            let err = TenantPolicy::new(bad, vec!["x".into()], ConflictMode::Replace);
            assert!(
                matches!(err, Err(EnforceError::InvalidLabelName { .. })),
                "{bad:?} should be rejected, got {err:?}"
            );
        }
        for good in ["namespace", "_tenant", "k8s_ns2", "A"] {
            assert!(TenantPolicy::new(good, vec!["x".into()], ConflictMode::Replace).is_ok());
        }
    }

    #[test]
    fn reserved_label_names_are_rejected() {
        let err = TenantPolicy::new("__name__", vec!["x".into()], ConflictMode::Replace);
        assert!(matches!(err, Err(EnforceError::ReservedLabelName { .. })));
    }

    #[test]
    fn empty_value_lists_and_empty_values_are_rejected() {
        let none = TenantPolicy::new("namespace", vec![], ConflictMode::Replace);
        assert!(matches!(none, Err(EnforceError::NoAllowedValues { .. })));
        let empty = TenantPolicy::new(
            "namespace",
            vec!["a".into(), "".into()],
            ConflictMode::Error,
        );
        assert!(matches!(empty, Err(EnforceError::EmptyAllowedValue { .. })));
    }

    #[test]
    fn fingerprint_distinguishes_policies_and_ignores_value_order() {
        let ab = policy(&["a", "b"]);
        let ba = policy(&["b", "a"]);
        assert_eq!(ab.fingerprint(), ba.fingerprint());
        assert_eq!(ab, ba);
        // A value containing the separator must not collide with two values.
        let joined = policy(&["a;1:b"]);
        assert_ne!(ab.fingerprint(), joined.fingerprint());
        let error_mode = TenantPolicy::new(
            "namespace",
            vec!["a".into(), "b".into()],
            ConflictMode::Error,
        )
        .unwrap();
        assert_ne!(ab.fingerprint(), error_mode.fingerprint());
        let other_label = TenantPolicy::new(
            "tenant",
            vec!["a".into(), "b".into()],
            ConflictMode::Replace,
        )
        .unwrap();
        assert_ne!(ab.fingerprint(), other_label.fingerprint());
    }
}
