//! A LogQL tokenizer that draws token boundaries exactly where Loki's lexer does for the things
//! that decide what is a stream selector: string literals (`"..."`, `` `...` `` and Go rune
//! literals `'...'`), comments (`#`, `//`, `/* */`, which Loki's Go scanner skips), range
//! literals (`[5m]`, read raw up to the first `]`) and braces. Everything else only has to be
//! split into harmless words and operators, and any character Loki would not accept outside a
//! string is refused here, so the two can never disagree about where a selector starts.

use std::fmt;

/// What a token is, as far as stream selectors are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// `{`: in LogQL only a stream selector opens a brace.
    OpenBrace,
    /// `}`.
    CloseBrace,
    /// A string or rune literal, quotes included.
    Str,
    /// `[...]`, brackets included.
    Range,
    /// An identifier, keyword, number, duration or byte size.
    Word,
    /// An operator or punctuation, one or two characters.
    Punct,
}

/// One token and where it sits in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'q> {
    pub(crate) kind: TokenKind,
    pub(crate) text: &'q str,
    pub(crate) start: usize,
}

impl Token<'_> {
    pub(crate) fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// Where and why tokenizing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) position: usize,
    pub(crate) message: String,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.position)
    }
}

/// Two-character operators Loki's lexer joins (`tokens` map entries of length 2).
const TWO_CHAR_OPS: [&str; 10] = ["=~", "!=", "!~", "!>", "|=", "|~", "|>", "==", ">=", "<="];

/// Single characters allowed outside strings as operators or punctuation.
const ONE_CHAR_OPS: &str = "=!~,()|+-*/%^<>.";

/// Splits `query` into tokens, skipping white space and comments.
pub(crate) fn tokenize(query: &str) -> Result<Vec<Token<'_>>, LexError> {
    let bytes = query.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = query[pos..].chars().next() {
        let start = pos;
        let fail = |message: &str| LexError {
            position: start,
            message: message.to_owned(),
        };
        let kind = match c {
            ' ' | '\t' | '\n' | '\r' => {
                pos += 1;
                continue;
            }
            '#' => {
                pos = line_end(query, pos);
                continue;
            }
            '/' if bytes.get(pos + 1) == Some(&b'/') => {
                pos = line_end(query, pos);
                continue;
            }
            '/' if bytes.get(pos + 1) == Some(&b'*') => {
                let close = query[pos + 2..]
                    .find("*/")
                    .ok_or_else(|| fail("comment not terminated"))?;
                pos += 2 + close + 2;
                continue;
            }
            '"' | '\'' => {
                pos = quoted_end(query, pos, c).ok_or_else(|| fail("string not terminated"))?;
                TokenKind::Str
            }
            '`' => {
                let close = query[pos + 1..]
                    .find('`')
                    .ok_or_else(|| fail("raw string not terminated"))?;
                pos += 1 + close + 1;
                TokenKind::Str
            }
            '[' => {
                let close = query[pos + 1..]
                    .find(']')
                    .ok_or_else(|| fail("missing closing ']' in range"))?;
                let inside = &query[pos + 1..pos + 1 + close];
                if inside.is_empty() || !inside.chars().all(is_duration_char) {
                    return Err(fail("a range must be a duration such as [5m]"));
                }
                pos += 1 + close + 1;
                TokenKind::Range
            }
            '{' => {
                pos += 1;
                TokenKind::OpenBrace
            }
            '}' => {
                pos += 1;
                TokenKind::CloseBrace
            }
            c if c.is_ascii_digit()
                || (c == '.' && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                pos = word_end(query, pos);
                TokenKind::Word
            }
            c if c == '_' || c.is_alphabetic() => {
                pos = word_end(query, pos);
                TokenKind::Word
            }
            c if ONE_CHAR_OPS.contains(c) => {
                let two = query.get(pos..pos + 2);
                pos += if two.is_some_and(|op| TWO_CHAR_OPS.contains(&op)) {
                    2
                } else {
                    1
                };
                TokenKind::Punct
            }
            '\0' => return Err(fail("NUL is not allowed in a query")),
            other => return Err(fail(&format!("unexpected character {other:?}"))),
        };
        tokens.push(Token {
            kind,
            text: &query[start..pos],
            start,
        });
    }
    Ok(tokens)
}

/// Position of the next line feed (a comment's end), or the end of the query.
fn line_end(query: &str, from: usize) -> usize {
    query[from..].find('\n').map_or(query.len(), |i| from + i)
}

/// End (exclusive) of a `"`- or `'`-quoted literal starting at `start`, following Go's
/// scanner: a backslash takes the next character with it, and a line feed ends the literal
/// with an error.
fn quoted_end(query: &str, start: usize, quote: char) -> Option<usize> {
    let mut chars = query[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\n' => return None,
            // The guard consumes the escaped character; only a line feed (or the end) there
            // ends the literal with an error.
            '\\' if chars.next().is_none_or(|(_, escaped)| escaped == '\n') => return None,
            c if c == quote => return Some(start + 1 + offset + 1),
            _ => {}
        }
    }
    None
}

/// Identifiers, numbers, durations (`5m`, `1.5h`, `300µs`) and byte sizes (`20MB`, `1KiB`)
/// are runs of letters, digits, `_`, `.` and `µ`; none of them can hide a quote or a brace.
fn word_end(query: &str, start: usize) -> usize {
    query[start..]
        .char_indices()
        .find(|&(_, c)| !(c == '_' || c == '.' || c.is_alphanumeric()))
        .map_or(query.len(), |(offset, _)| start + offset)
}

fn is_duration_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == 'µ' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(query: &str) -> Vec<(TokenKind, &str)> {
        tokenize(query)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn braces_inside_strings_are_not_selectors() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"{app="a"} |= "}" | label_format x=`{{.y}}` != '}'"#),
            vec![
                (OpenBrace, "{"),
                (Word, "app"),
                (Punct, "="),
                (Str, "\"a\""),
                (CloseBrace, "}"),
                (Punct, "|="),
                (Str, "\"}\""),
                (Punct, "|"),
                (Word, "label_format"),
                (Word, "x"),
                (Punct, "="),
                (Str, "`{{.y}}`"),
                (Punct, "!="),
                (Str, "'}'"),
            ]
        );
    }

    #[test]
    fn escaped_quotes_do_not_end_strings_but_backticks_have_no_escapes() {
        assert_eq!(kinds(r#""a\"}""#).len(), 1);
        assert_eq!(kinds(r"`a\`").len(), 1);
        assert!(
            tokenize(r"`a\`}`").is_err(),
            "the second backtick opens a raw string"
        );
    }

    #[test]
    fn comments_are_skipped_as_loki_does() {
        use TokenKind::*;
        assert_eq!(
            kinds("{a=\"b\"} # {x=\"y\"}\n/* {c=\"d\"} */ // {e=\"f\"}"),
            vec![
                (OpenBrace, "{"),
                (Word, "a"),
                (Punct, "="),
                (Str, "\"b\""),
                (CloseBrace, "}")
            ]
        );
        assert!(tokenize("{a=\"b\"} /* open").is_err());
    }

    #[test]
    fn ranges_are_raw_up_to_the_first_bracket() {
        use TokenKind::*;
        assert_eq!(
            kinds("rate({a=\"b\"}[1m30s])")[7..9],
            [(Range, "[1m30s]"), (Punct, ")")]
        );
        assert!(tokenize("rate({a=\"b\"}[\"]\"])").is_err());
        assert!(tokenize("x[]").is_err());
    }

    #[test]
    fn unterminated_literals_and_odd_characters_are_refused() {
        for query in [
            "{a=\"b}",
            "{a=\"b\n\"}",
            "{a=`b}",
            "{a='b}",
            "{a=\"b\"} @",
            "a\0",
        ] {
            assert!(tokenize(query).is_err(), "{query:?}");
        }
    }

    #[test]
    fn words_cover_numbers_durations_and_bytes() {
        use TokenKind::*;
        assert_eq!(
            kinds("| d > 1.5s and b <= 20MB or n == .5"),
            vec![
                (Punct, "|"),
                (Word, "d"),
                (Punct, ">"),
                (Word, "1.5s"),
                (Word, "and"),
                (Word, "b"),
                (Punct, "<="),
                (Word, "20MB"),
                (Word, "or"),
                (Word, "n"),
                (Punct, "=="),
                (Word, ".5"),
            ]
        );
    }
}
