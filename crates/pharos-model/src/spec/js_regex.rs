//! Patterns the web UI compiles with JavaScript's `RegExp`: value mappings, a stat chart's
//! `metricLabel`, table cell conditions. A pattern `RegExp` refuses makes the panel show
//! "Invalid regular expression" instead of data, so the validator refuses it first.
//!
//! This is not a full JavaScript regex parser: it finds the mistakes that fail in every
//! JavaScript engine (unbalanced groups and classes, nothing to repeat, a trailing backslash,
//! bad flags) and accepts everything else, so a valid pattern is never refused.

/// Why `RegExp(pattern)` (no `u` flag) fails, or `None` when it is not known to fail.
pub(crate) fn pattern_problem(pattern: &str) -> Option<&'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut depth = 0usize;
    // Nothing a quantifier could repeat: start of the pattern, of a group or of an alternative.
    let mut nothing_to_repeat = true;
    let mut after_quantifier = false;
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        index += 1;
        let mut quantifier = false;
        match c {
            '\\' => {
                if index >= chars.len() {
                    return Some("it ends with a lone backslash");
                }
                index += 1;
                nothing_to_repeat = false;
            }
            '[' => {
                // In JavaScript the class ends at the first unescaped `]`, even right after `[`.
                loop {
                    match chars.get(index) {
                        None => return Some("a character class `[` is not closed"),
                        Some('\\') => index += 2,
                        Some(']') => break,
                        Some(_) => index += 1,
                    }
                }
                index += 1;
                nothing_to_repeat = false;
            }
            '(' => {
                depth += 1;
                if chars.get(index) == Some(&'?') {
                    index += 1;
                    match chars.get(index) {
                        Some(':' | '=' | '!') => index += 1,
                        Some('<') if matches!(chars.get(index + 1), Some('=' | '!')) => index += 2,
                        Some('<') => match chars[index..].iter().position(|&ch| ch == '>') {
                            Some(end) if end > 1 => index += end + 1,
                            _ => return Some("a named group `(?<name>` is not complete"),
                        },
                        _ => {
                            return Some(
                                "`(?` must be followed by `:`, `=`, `!`, `<=`, `<!` or `<name>`",
                            );
                        }
                    }
                }
                nothing_to_repeat = true;
            }
            ')' => {
                if depth == 0 {
                    return Some("a `)` has no matching `(`");
                }
                depth -= 1;
                nothing_to_repeat = false;
            }
            '|' | '^' | '$' => nothing_to_repeat = true,
            '*' | '+' | '?' => {
                if c == '?' && after_quantifier {
                    // The lazy form of the previous quantifier (`*?`, `+?`, `??`, `{n}?`).
                    after_quantifier = false;
                    continue;
                }
                if nothing_to_repeat || after_quantifier {
                    return Some("a quantifier (`*`, `+`, `?`) has nothing to repeat");
                }
                quantifier = true;
            }
            '{' => match braced_quantifier(&chars[index..]) {
                Some((length, in_order)) => {
                    if !in_order {
                        return Some("the numbers of a `{min,max}` quantifier are out of order");
                    }
                    if nothing_to_repeat || after_quantifier {
                        return Some("a `{n}` quantifier has nothing to repeat");
                    }
                    index += length;
                    quantifier = true;
                }
                // Not a quantifier: a literal `{`.
                None => nothing_to_repeat = false,
            },
            _ => nothing_to_repeat = false,
        }
        after_quantifier = quantifier;
    }
    (depth > 0).then_some("a group `(` is not closed")
}

/// `{n}`, `{n,}` or `{n,m}` after the `{`: its length (with the `}`) and whether n <= m.
fn braced_quantifier(rest: &[char]) -> Option<(usize, bool)> {
    let close = rest.iter().position(|&c| c == '}')?;
    let body: String = rest[..close].iter().collect();
    let (min, max) = match body.split_once(',') {
        None => (body.as_str(), None),
        Some((min, max)) => (min, Some(max)),
    };
    let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
    if !digits(min) || max.is_some_and(|max| !max.is_empty() && !digits(max)) {
        return None;
    }
    let in_order = match (min.parse::<u64>(), max.filter(|max| !max.is_empty())) {
        (Ok(min), Some(max)) => max.parse::<u64>().is_ok_and(|max| min <= max),
        _ => true,
    };
    Some((close + 1, in_order))
}

/// Like [`pattern_problem`] for the strings Perses turns into a regex with
/// `createRegexFromString`: `/pattern/flags` is a regex with flags, anything else an exact
/// match (`^text$`), so an empty string is never compiled.
pub(crate) fn slash_pattern_problem(text: &str) -> Option<&'static str> {
    let Some(body) = text.strip_prefix('/') else {
        return pattern_problem(text);
    };
    let Some(end) = body.rfind('/') else {
        return Some("a pattern starting with `/` must have the form /regex/flags");
    };
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    if pattern.is_empty() {
        return Some("a pattern starting with `/` must have the form /regex/flags");
    }
    let mut seen = String::new();
    for flag in flags.chars() {
        if !"gimy".contains(flag) || seen.contains(flag) {
            return Some("the flags after the closing `/` may only be g, i, m and y, each once");
        }
        seen.push(flag);
    }
    pattern_problem(pattern)
}

#[cfg(test)]
mod tests {
    use super::{pattern_problem, slash_pattern_problem};

    #[test]
    fn patterns_javascript_accepts_pass() {
        for pattern in [
            "",
            "abc",
            "a|b",
            "^(a|b)+$",
            "[(]",
            "[]",
            r"\(",
            "(?:x)*?",
            "(?=x)",
            "(?<!x)y",
            "(?<name>x)",
            "a{2}",
            "a{2,}",
            "a{2,3}?",
            "{",
            "a{,3}",
            "x{a}",
            ".*",
            r"[\]]+",
            "prod-.*",
        ] {
            assert_eq!(pattern_problem(pattern), None, "{pattern:?}");
        }
    }

    #[test]
    fn patterns_every_javascript_engine_refuses_are_found() {
        for pattern in [
            "(", "a(b", ")", "a)", "[", "[a", r"a\", "*", "+a", "?", "a|*", "(*)", "a**", "a+*",
            "^*", "{2}", "a{3,2}", "(?", "(?x)", "(?<", "(?<name",
        ] {
            assert!(pattern_problem(pattern).is_some(), "{pattern:?}");
        }
    }

    #[test]
    fn slash_form_checks_flags_and_the_pattern_inside() {
        assert_eq!(slash_pattern_problem("/ab+c/gi"), None);
        assert_eq!(slash_pattern_problem("/a/b/"), None);
        assert_eq!(slash_pattern_problem("label"), None);
        assert!(slash_pattern_problem("/(/").is_some());
        assert!(slash_pattern_problem("/abc").is_some());
        assert!(slash_pattern_problem("//").is_some());
        assert!(slash_pattern_problem("/a/x").is_some());
        assert!(slash_pattern_problem("/a/gg").is_some());
        assert!(slash_pattern_problem("(").is_some());
    }
}
