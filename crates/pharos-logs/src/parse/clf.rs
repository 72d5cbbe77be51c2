//! Tokens of Common-Log-Format-like lines, shared by the nginx, Traefik, Envoy and HAProxy
//! parsers: bare words, `"quoted strings"` (with `\"` escapes) and `[bracketed]` fields.

use chrono::{DateTime, NaiveDateTime};

/// One token of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A run of non-space characters.
    Word(&'a str),
    /// The inside of `"..."`, escapes left as they are.
    Quoted(&'a str),
    /// The inside of `[...]`.
    Bracketed(&'a str),
}

impl<'a> Token<'a> {
    pub(crate) fn word(self) -> Option<&'a str> {
        match self {
            Token::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Splits `line` into tokens; `None` when a quote or bracket is never closed.
pub(crate) fn tokens(line: &str) -> Option<Vec<Token<'_>>> {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(24);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match bytes.get(j)? {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                out.push(Token::Quoted(line.get(start..j)?));
                i = j + 1;
            }
            b'[' => {
                let start = i + 1;
                let end = start + line.get(start..)?.find(']')?;
                out.push(Token::Bracketed(line.get(start..end)?));
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
                    i += 1;
                }
                out.push(Token::Word(line.get(start..i)?));
            }
        }
    }
    Some(out)
}

/// `23/Apr/2021:14:59:24 +0000` (nginx `$time_local`, CLF) as Unix ms.
pub(crate) fn clf_time(text: &str) -> Option<i64> {
    DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// `06/Feb/2009:12:14:14.655` (HAProxy's accept date, local time without zone: read as UTC).
pub(crate) fn haproxy_time(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// RFC 3339 (`2016-04-15T20:17:00.310Z`) as Unix ms.
pub(crate) fn rfc3339_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The fixed start of a CLF line: `host ident user [time] "request" status bytes`, then the
/// rest. `None` when the line does not have that shape.
pub(crate) struct ClfHead<'a> {
    pub(crate) timestamp: Result<i64, ()>,
    pub(crate) status: Option<u16>,
    pub(crate) rest: Vec<Token<'a>>,
}

pub(crate) fn clf_head(line: &str) -> Option<ClfHead<'_>> {
    let mut tokens = tokens(line)?;
    if tokens.len() < 7 {
        return None;
    }
    let rest = tokens.split_off(7);
    match tokens.as_slice() {
        [
            Token::Word(_),
            Token::Word(_),
            Token::Word(_),
            Token::Bracketed(time),
            Token::Quoted(_),
            Token::Word(status),
            Token::Word(_),
        ] => Some(ClfHead {
            timestamp: clf_time(time).ok_or(()),
            status: super::status_of(status),
            rest,
        }),
        _ => None,
    }
}
