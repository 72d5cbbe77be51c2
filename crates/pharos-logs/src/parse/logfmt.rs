//! logfmt lines (`ts=... level=info status=200 duration=35ms`): `key=value` pairs, values
//! optionally `"quoted"`. Fields are looked up by their whole key, with the same lists (and
//! defaults) as JSON lines.

use super::json::{JsonFields, Scalar, extract};
use super::{Parsed, Reject};

pub(super) fn parse(line: &str, fields: &JsonFields) -> Result<Parsed, Reject> {
    let pairs = pairs(line).ok_or(Reject::UnknownFormat)?;
    if pairs.is_empty() {
        return Err(Reject::UnknownFormat);
    }
    extract(
        |path| {
            pairs
                .iter()
                .find(|(k, _)| *k == path.as_str())
                .map(|(_, v)| Scalar::Text(v))
        },
        fields,
    )
}

/// The `key=value` pairs of `line`; `None` when a word is not a pair or a quote is unclosed.
fn pairs(line: &str) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains([' ', '"']) {
            return None;
        }
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((key, value));
        rest = next.trim_start();
    }
    Some(out)
}
