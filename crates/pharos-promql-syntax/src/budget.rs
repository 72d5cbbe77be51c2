//! A cheap scan that refuses pathologically nested input before the parser sees it.
//!
//! promql-parser builds, type-checks and drops its AST recursively, and its type check walks
//! the left spine of every binary operator again, so long operator chains cost quadratic time:
//! about 25 000 levels overflow a 2 MiB thread stack, which aborts the whole process. Every level
//! of AST nesting needs its own opening bracket or operator token, so bounding those tokens
//! bounds both the depth the parser can reach and its quadratic work.

use crate::error::SyntaxError;

/// Most brackets plus operator tokens a query may contain. Far above any real dashboard query
/// and far below the depth at which the parser exhausts a 2 MiB stack.
pub const MAX_STRUCTURE_TOKENS: usize = 4096;

/// Keywords that are binary operators and so can chain without brackets.
const KEYWORD_OPERATORS: [&str; 4] = ["and", "or", "unless", "atan2"];

/// Refuses `query` when it holds more than [`MAX_STRUCTURE_TOKENS`] opening brackets and
/// operator tokens outside string literals and comments.
pub(crate) fn check_structure_budget(query: &str) -> Result<(), SyntaxError> {
    if count_structure_tokens(query, MAX_STRUCTURE_TOKENS) > MAX_STRUCTURE_TOKENS {
        return Err(SyntaxError::TooComplex {
            limit: MAX_STRUCTURE_TOKENS,
        });
    }
    Ok(())
}

/// Over-counts on purpose (each character of `==` counts, so do matcher operators and the `-`
/// of a negative offset): an over-count can only refuse earlier, never let deep input through.
/// String and comment rules mirror promql-parser's lexer, including backslash escapes inside
/// backtick strings, so the scan never skips text the parser treats as code. Stops counting
/// once the count exceeds `stop_above`.
fn count_structure_tokens(query: &str, stop_above: usize) -> usize {
    let mut count = 0;
    let mut chars = query.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if count > stop_above {
            break;
        }
        match c {
            '"' | '\'' | '`' => skip_string(&mut chars, c),
            '#' => {
                for (_, next) in chars.by_ref() {
                    if next == '\n' || next == '\r' {
                        break;
                    }
                }
            }
            '(' | '[' | '+' | '-' | '*' | '/' | '%' | '^' | '=' | '!' | '<' | '>' => count += 1,
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start + c.len_utf8();
                while let Some(&(index, next)) = chars.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_' || next == ':') {
                        break;
                    }
                    end = index + next.len_utf8();
                    chars.next();
                }
                let word = &query[start..end];
                if KEYWORD_OPERATORS
                    .iter()
                    .any(|keyword| word.eq_ignore_ascii_case(keyword))
                {
                    count += 1;
                }
            }
            _ => {}
        }
    }
    count
}

fn skip_string(chars: &mut impl Iterator<Item = (usize, char)>, quote: char) {
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_tokens(query: &str) -> usize {
        count_structure_tokens(query, usize::MAX)
    }

    #[test]
    fn counts_brackets_operators_and_keyword_operators() {
        assert_eq!(count_tokens("up"), 0);
        assert_eq!(count_tokens("sum(rate(x[5m]))"), 3);
        assert_eq!(count_tokens("a + b - c"), 2);
        assert_eq!(count_tokens("a and b OR c unless d"), 3);
        assert_eq!(count_tokens("atan2(a, b)"), 2);
        // Identifiers merely containing a keyword do not count.
        assert_eq!(count_tokens("android_or_order"), 0);
    }

    #[test]
    fn ignores_strings_and_comments() {
        // Only the matcher's `=` counts.
        assert_eq!(count_tokens(r#"x{a=~"(+-*/)"}"#), 1);
        assert_eq!(count_tokens("x{a=~'(+)'}"), 1);
        assert_eq!(count_tokens("x{a=~`(+)`}"), 1);
        assert_eq!(count_tokens("x # (((+++\n+ y"), 1);
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        // The lexer treats `\"` (and `\`` in backticks) as escapes, so the string runs on.
        assert_eq!(count_tokens(r#"x{a="\"(((" }"#), 1);
        assert_eq!(count_tokens(r"x{a=`\`(((` }"), 1);
    }

    #[test]
    fn budget_refuses_deep_chains_before_parsing() {
        let chain = vec!["x"; MAX_STRUCTURE_TOKENS + 2].join(" + ");
        assert_eq!(
            check_structure_budget(&chain),
            Err(SyntaxError::TooComplex {
                limit: MAX_STRUCTURE_TOKENS
            })
        );
        let unary = format!("{}x", "-".repeat(MAX_STRUCTURE_TOKENS + 1));
        assert!(check_structure_budget(&unary).is_err());
        let at_limit = format!("{}x", "-".repeat(MAX_STRUCTURE_TOKENS));
        assert!(check_structure_budget(&at_limit).is_ok());
    }
}
