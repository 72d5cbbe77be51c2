//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics: regexes are fully anchored,
//! and an absent label has the value `""`, so a matcher that accepts `""` also selects series
//! without the label.

use std::fmt;

use regex::Regex;
use thiserror::Error;

/// The comparison a matcher performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        })
    }
}

/// Why a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatcherError {
    /// The regular expression does not compile.
    #[error("invalid regular expression {pattern:?} in matcher for label {name:?}: {reason}")]
    InvalidRegex {
        /// Label name of the matcher.
        name: String,
        /// The pattern as given.
        pattern: String,
        /// The regex compiler's explanation.
        reason: String,
    },
}

/// A label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// Compiled, anchored pattern for the regex operators.
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; regex patterns are anchored as `^(?s:pattern)$` (Prometheus 3 lets `.`
    /// match newlines).
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|error| {
                    MatcherError::InvalidRegex {
                        name: name.clone(),
                        pattern: value.clone(),
                        reason: error.to_string(),
                    }
                })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`; cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// `name!="value"`; cannot fail.
    pub fn not_equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::NotEqual,
            value: value.into(),
            regex: None,
        }
    }

    /// The label name this matcher tests.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value or pattern as given (unanchored).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Tests a label value; pass `""` for an absent label.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(regex)) => regex.is_match(value),
            (MatchOp::NotRegex, Some(regex)) => !regex.is_match(value),
            // Regex operators always carry a compiled pattern (see `new`).
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// True when series lacking the label are selected too.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

/// PromQL form: `name="value"`, `name=~"pattern"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(op: MatchOp, value: &str) -> Matcher {
        Matcher::new(op, "job", value).unwrap()
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let m = matcher(MatchOp::Regex, "api|web");
        assert!(m.matches("api"));
        assert!(m.matches("web"));
        assert!(!m.matches("xapi"));
        assert!(!m.matches("api-1"));
        assert!(matcher(MatchOp::NotRegex, "a.*").matches("ba"));
        assert!(!matcher(MatchOp::NotRegex, "a.*").matches("ab"));
    }

    #[test]
    fn dot_matches_newlines_as_in_prometheus_3() {
        assert!(matcher(MatchOp::Regex, "a.b").matches("a\nb"));
    }

    #[test]
    fn empty_matching_follows_prometheus() {
        assert!(matcher(MatchOp::Equal, "").matches_empty());
        assert!(!matcher(MatchOp::Equal, "x").matches_empty());
        assert!(matcher(MatchOp::NotEqual, "x").matches_empty());
        assert!(!matcher(MatchOp::NotEqual, "").matches_empty());
        assert!(matcher(MatchOp::Regex, ".*").matches_empty());
        assert!(!matcher(MatchOp::Regex, ".+").matches_empty());
        assert!(matcher(MatchOp::NotRegex, ".+").matches_empty());
        assert!(!matcher(MatchOp::NotRegex, "").matches_empty());
    }

    #[test]
    fn invalid_regex_names_label_and_pattern() {
        let error = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("\"job\"") && message.contains("\"(\""),
            "{message}"
        );
    }

    #[test]
    fn display_is_promql() {
        assert_eq!(
            matcher(MatchOp::NotRegex, "a\"b").to_string(),
            r#"job!~"a\"b""#
        );
    }
}
