//! Label matchers written as text (LogQL stream selectors, Alertmanager filters): Go string
//! literals in and out, and whether a matcher admits one of a tenant's values.
//!
//! Loki and Alertmanager are Go programs; their string literals follow Go's rules
//! (`strconv.Unquote`), so the decoder here accepts exactly those escapes and the encoder only
//! produces escapes Go reads back unchanged.

use promql_parser::label::Matcher;
use promql_parser::parser::token::{T_EQL, T_EQL_REGEX, T_NEQ, T_NEQ_REGEX};

use crate::policy::{TenantPolicy, quote_regex_literal};

/// The four label-matcher operators shared by PromQL, LogQL and Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatcherOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatcherOp {
    /// The operator spelled `text`, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "=" => Some(Self::Equal),
            "!=" => Some(Self::NotEqual),
            "=~" => Some(Self::Regex),
            "!~" => Some(Self::NotRegex),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One `name op "value"` matcher with its value decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextMatcher {
    pub(crate) name: String,
    pub(crate) op: MatcherOp,
    pub(crate) value: String,
}

impl TextMatcher {
    /// The matcher the policy adds: `label="v"` for one value, `label=~"a|b"` for several
    /// (values regex-escaped; Go regexes in matchers are anchored, like PromQL's).
    pub(crate) fn enforced(policy: &TenantPolicy) -> Self {
        let (op, value) = match policy.values() {
            [single] => (MatcherOp::Equal, single.clone()),
            values => (
                MatcherOp::Regex,
                values
                    .iter()
                    .map(|v| quote_regex_literal(v))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
        };
        Self {
            name: policy.label().to_owned(),
            op,
            value,
        }
    }

    /// `name op "value"` with the value as a Go string literal.
    pub(crate) fn to_text(&self) -> String {
        format!("{}{}{}", self.name, self.op.as_str(), go_quote(&self.value))
    }

    /// Whether this matcher accepts at least one of `allowed`. `None` when its regex does not
    /// compile, so the caller can refuse instead of guessing.
    pub(crate) fn admits_any(&self, allowed: &[String]) -> Option<bool> {
        let token = match self.op {
            MatcherOp::Equal => T_EQL,
            MatcherOp::NotEqual => T_NEQ,
            MatcherOp::Regex => T_EQL_REGEX,
            MatcherOp::NotRegex => T_NEQ_REGEX,
        };
        // promql-parser translates Go regex syntax and anchors it exactly as Prometheus does,
        // which is also what Loki and Alertmanager do with label matchers.
        let matcher = Matcher::new_matcher(token, self.name.clone(), self.value.clone()).ok()?;
        Some(allowed.iter().any(|value| matcher.is_match(value)))
    }
}

/// Why a Go string literal could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnquoteError {
    /// The literal does not start and end with the same quote character.
    Unterminated,
    /// A backslash escape Go does not accept (or a line break inside `"..."`).
    BadEscape,
    /// An escape produces a byte that is not valid UTF-8 on its own (`\xff`).
    NotUtf8,
}

/// Decodes a Go string literal (`"..."` with escapes or `` `...` `` raw). Single-quoted
/// literals are Go rune literals, not strings, and are refused by the caller before this.
pub(crate) fn go_unquote(literal: &str) -> Result<String, UnquoteError> {
    if let Some(raw) = literal
        .strip_prefix('`')
        .and_then(|rest| rest.strip_suffix('`'))
    {
        if raw.contains('`') {
            return Err(UnquoteError::Unterminated);
        }
        // Go drops carriage returns from raw strings.
        return Ok(raw.replace('\r', ""));
    }
    let body = literal
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or(UnquoteError::Unterminated)?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Err(UnquoteError::Unterminated),
            '\n' => return Err(UnquoteError::BadEscape),
            '\\' => out.push(decode_escape(&mut chars)?),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn decode_escape(chars: &mut std::str::Chars<'_>) -> Result<char, UnquoteError> {
    let simple = match chars.next().ok_or(UnquoteError::BadEscape)? {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        '\\' => '\\',
        '"' => '"',
        digit @ '0'..='7' => {
            let rest = take_digits(chars, 2, 8)?;
            let value = digit.to_digit(8).unwrap_or(0) * 64 + rest;
            return byte_char(value);
        }
        'x' => return byte_char(take_digits(chars, 2, 16)?),
        'u' => return char::from_u32(take_digits(chars, 4, 16)?).ok_or(UnquoteError::BadEscape),
        'U' => return char::from_u32(take_digits(chars, 8, 16)?).ok_or(UnquoteError::BadEscape),
        _ => return Err(UnquoteError::BadEscape),
    };
    Ok(simple)
}

fn take_digits(
    chars: &mut std::str::Chars<'_>,
    count: usize,
    radix: u32,
) -> Result<u32, UnquoteError> {
    let mut value: u32 = 0;
    for _ in 0..count {
        let digit = chars
            .next()
            .and_then(|c| c.to_digit(radix))
            .ok_or(UnquoteError::BadEscape)?;
        value = value * radix + digit;
    }
    Ok(value)
}

/// `\xNN` and octal escapes are bytes in Go; only ASCII bytes stand for a character alone.
fn byte_char(value: u32) -> Result<char, UnquoteError> {
    match u8::try_from(value) {
        Ok(byte) if byte.is_ascii() => Ok(char::from(byte)),
        Ok(_) => Err(UnquoteError::NotUtf8),
        Err(_) => Err(UnquoteError::BadEscape),
    }
}

/// A double-quoted Go string literal for `value`; every escape it writes is one Go reads back
/// as the same character.
pub(crate) fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ConflictMode;

    #[test]
    fn unquotes_go_escapes_and_raw_strings() {
        assert_eq!(
            go_unquote(r#""a\"b\\c\n\x41\101\u00e9""#).unwrap(),
            "a\"b\\c\nAAé"
        );
        assert_eq!(go_unquote(r"`a\nb}`").unwrap(), "a\\nb}");
        assert_eq!(go_unquote(r#""\q""#), Err(UnquoteError::BadEscape));
        assert_eq!(go_unquote(r#""\xff""#), Err(UnquoteError::NotUtf8));
        assert_eq!(go_unquote(r#""\x4""#), Err(UnquoteError::BadEscape));
        assert_eq!(go_unquote("\"a\nb\""), Err(UnquoteError::BadEscape));
        assert_eq!(go_unquote("'a'"), Err(UnquoteError::Unterminated));
    }

    #[test]
    fn quoting_round_trips() {
        for value in [
            "plain",
            "quo\"te",
            "back\\slash",
            "line\nbreak",
            "tab\t",
            "\u{1}",
            "é}{",
        ] {
            assert_eq!(go_unquote(&go_quote(value)).unwrap(), value, "{value:?}");
        }
    }

    #[test]
    fn enforced_matcher_matches_the_policy() {
        let one =
            TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace).unwrap();
        assert_eq!(
            TextMatcher::enforced(&one).to_text(),
            r#"namespace="team-a""#
        );
        let two = TenantPolicy::new(
            "namespace",
            vec!["b.x".into(), "a".into()],
            ConflictMode::Replace,
        )
        .unwrap();
        assert_eq!(
            TextMatcher::enforced(&two).to_text(),
            r#"namespace=~"a|b\\.x""#
        );
    }

    #[test]
    fn admits_any_is_anchored_and_reports_bad_regexes() {
        let allowed = ["team-a".to_owned()];
        let matcher = |op, value: &str| TextMatcher {
            name: "namespace".into(),
            op,
            value: value.into(),
        };
        assert_eq!(
            matcher(MatcherOp::Regex, "team-.*").admits_any(&allowed),
            Some(true)
        );
        assert_eq!(
            matcher(MatcherOp::Regex, "team").admits_any(&allowed),
            Some(false)
        );
        assert_eq!(
            matcher(MatcherOp::NotEqual, "team-a").admits_any(&allowed),
            Some(false)
        );
        assert_eq!(
            matcher(MatcherOp::NotRegex, "x").admits_any(&allowed),
            Some(true)
        );
        assert_eq!(matcher(MatcherOp::Regex, "(").admits_any(&allowed), None);
    }
}
