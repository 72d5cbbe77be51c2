//! Tokenising one sample line: metric name, label set, value, timestamp (and, in OpenMetrics,
//! an exemplar, which is skipped).

use pharos_tsdb::{is_valid_label_name, is_valid_metric_name};

use super::{Format, ParsedSample, Problem};

/// A position in one line. Works on bytes: every delimiter is ASCII, and slicing happens only
/// at ASCII positions, so UTF-8 in label values and help texts passes through intact.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    /// Skips spaces and tabs; returns whether any were skipped.
    fn skip_blanks(&mut self) -> bool {
        let start = self.position;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.position += 1;
        }
        self.position > start
    }

    /// Takes bytes while `accept` holds.
    fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &'a str {
        let start = self.position;
        while self.peek().is_some_and(&accept) {
            self.position += 1;
        }
        &self.text[start..self.position]
    }

    /// Takes a token up to the next blank.
    fn token(&mut self) -> &'a str {
        self.take_while(|b| b != b' ' && b != b'\t')
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':'
}

/// Parses a sample line (no leading blanks; comments are handled by the caller).
pub(super) fn parse_sample_line(format: Format, line: &str) -> Result<ParsedSample, Problem> {
    let mut cursor = Cursor {
        text: line,
        position: 0,
    };
    let name = cursor.take_while(is_name_byte);
    if !is_valid_metric_name(name) {
        let shown = if name.is_empty() {
            Cursor {
                text: line,
                position: 0,
            }
            .take_while(|b| b != b'{' && b != b' ' && b != b'\t')
        } else {
            name
        };
        return Err(Problem::InvalidMetricName(shown.to_owned()));
    }
    let labels = if cursor.peek() == Some(b'{') {
        cursor.position += 1;
        parse_labels(&mut cursor)?
    } else {
        Vec::new()
    };
    if !cursor.skip_blanks() {
        return Err(if cursor.at_end() {
            Problem::MissingValue
        } else {
            Problem::InvalidMetricName(format!("{name}{}", cursor.token()))
        });
    }
    let value_token = cursor.token();
    if value_token.is_empty() {
        return Err(Problem::MissingValue);
    }
    let value = parse_value(value_token)?;
    cursor.skip_blanks();
    let mut timestamp_ms = None;
    if !cursor.at_end() && !is_exemplar_start(format, &cursor) {
        let token = cursor.token();
        timestamp_ms = Some(parse_timestamp(format, token)?);
        cursor.skip_blanks();
    }
    if !cursor.at_end() && !is_exemplar_start(format, &cursor) {
        return Err(Problem::TrailingText(cursor.rest().to_owned()));
    }
    Ok(ParsedSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// OpenMetrics exemplars follow the sample after ` # `; Prometheus ignores them for storage.
fn is_exemplar_start(format: Format, cursor: &Cursor<'_>) -> bool {
    format == Format::OpenMetrics && cursor.peek() == Some(b'#')
}

/// Parses `name="value", ...}` (the opening brace already consumed).
fn parse_labels(cursor: &mut Cursor<'_>) -> Result<Vec<(String, String)>, Problem> {
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        cursor.skip_blanks();
        match cursor.peek() {
            None => return Err(Problem::UnterminatedLabels),
            Some(b'}') => {
                cursor.position += 1;
                return Ok(labels);
            }
            Some(_) => {}
        }
        let name = cursor.take_while(is_name_byte);
        if !is_valid_label_name(name) {
            let shown = if name.is_empty() {
                cursor.take_while(|b| b != b'=' && b != b',' && b != b'}')
            } else {
                name
            };
            return Err(Problem::InvalidLabelName(shown.to_owned()));
        }
        cursor.skip_blanks();
        if cursor.peek() != Some(b'=') {
            return Err(Problem::ExpectedEquals(name.to_owned()));
        }
        cursor.position += 1;
        cursor.skip_blanks();
        if cursor.peek() != Some(b'"') {
            return Err(Problem::ExpectedQuote(name.to_owned()));
        }
        cursor.position += 1;
        let value =
            parse_quoted(cursor).ok_or_else(|| Problem::UnterminatedValue(name.to_owned()))?;
        if labels.iter().any(|(existing, _)| existing == name) {
            return Err(Problem::DuplicateLabel(name.to_owned()));
        }
        labels.push((name.to_owned(), value));
        cursor.skip_blanks();
        match cursor.peek() {
            Some(b',') => cursor.position += 1,
            Some(b'}') => {}
            None => return Err(Problem::UnterminatedLabels),
            Some(_) => return Err(Problem::ExpectedCommaOrBrace(name.to_owned())),
        }
    }
}

/// Reads a label value up to the closing quote, resolving `\\`, `\"` and `\n`. Other escapes
/// are kept verbatim, as Prometheus does. `None` when the closing quote is missing.
fn parse_quoted(cursor: &mut Cursor<'_>) -> Option<String> {
    let rest = cursor.rest();
    let mut value = String::with_capacity(rest.len().min(64));
    let mut chars = rest.char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => {
                cursor.position += offset + 1;
                return Some(value);
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return None,
            },
            other => value.push(other),
        }
    }
    None
}

/// Resolves the escapes of a HELP text: `\\` and `\n` (and `\"` in OpenMetrics).
pub(super) fn unescape_help(format: Format, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') if format == Format::OpenMetrics => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A float, `NaN` or `±Inf` (Rust's parser accepts the spellings Go's does, case-insensitively).
fn parse_value(token: &str) -> Result<f64, Problem> {
    token
        .parse::<f64>()
        .map_err(|_| Problem::InvalidValue(token.to_owned()))
}

const TEXT_TIMESTAMP_HINT: &str =
    "the text format expects integer milliseconds since 1970, e.g. 1704067200000";
const OPENMETRICS_TIMESTAMP_HINT: &str =
    "OpenMetrics expects seconds since 1970, e.g. 1704067200 or 1704067200.250";

fn parse_timestamp(format: Format, token: &str) -> Result<i64, Problem> {
    let parsed = match format {
        Format::PrometheusText => token.parse::<i64>().ok(),
        Format::OpenMetrics => seconds_to_millis(token),
    };
    parsed.ok_or_else(|| {
        let hint = match format {
            Format::PrometheusText => TEXT_TIMESTAMP_HINT,
            Format::OpenMetrics => OPENMETRICS_TIMESTAMP_HINT,
        };
        Problem::InvalidTimestamp(token.to_owned(), hint)
    })
}

/// Converts decimal seconds to milliseconds exactly (rounding below a millisecond), without a
/// detour through `f64` that would turn `1704067200.123` into `...122`.
fn seconds_to_millis(token: &str) -> Option<i64> {
    if token.contains(['e', 'E']) {
        let seconds: f64 = token.parse().ok()?;
        let millis = (seconds * 1000.0).round();
        // i64 range in f64 terms; the bounds are exact powers of two.
        return (millis.is_finite() && millis.abs() < 9.2e18).then_some(millis as i64);
    }
    let (negative, unsigned) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut millis_part: i64 = 0;
    for (index, digit) in fraction.bytes().take(3).enumerate() {
        millis_part += i64::from(digit - b'0') * [100, 10, 1][index];
    }
    if fraction.as_bytes().get(3).is_some_and(|&d| d >= b'5') {
        millis_part += 1;
    }
    let millis = whole.checked_mul(1000)?.checked_add(millis_part)?;
    Some(if negative { -millis } else { millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_seconds_convert_exactly() {
        assert_eq!(seconds_to_millis("1704067200"), Some(1_704_067_200_000));
        assert_eq!(seconds_to_millis("1704067200.123"), Some(1_704_067_200_123));
        assert_eq!(seconds_to_millis("1704067200.1"), Some(1_704_067_200_100));
        assert_eq!(
            seconds_to_millis("1704067200.0005"),
            Some(1_704_067_200_001)
        );
        assert_eq!(seconds_to_millis("1.5e3"), Some(1_500_000));
        assert_eq!(seconds_to_millis("-1.5"), Some(-1_500));
        assert_eq!(seconds_to_millis("."), None);
        assert_eq!(seconds_to_millis("12a"), None);
        assert_eq!(seconds_to_millis("1e400"), None);
    }

    #[test]
    fn help_escapes_depend_on_the_format() {
        assert_eq!(
            unescape_help(Format::PrometheusText, r#"a\\b\nc \"q\""#),
            "a\\b\nc \\\"q\\\""
        );
        assert_eq!(
            unescape_help(Format::OpenMetrics, r#"say \"hi\""#),
            "say \"hi\""
        );
    }
}
