//! The Prometheus/Perses duration format (`1y2w3d4h5m6s7ms`, `0`).

use std::time::Duration;

const MILLIS_PER_SECOND: u64 = 1_000;
const MILLIS_PER_MINUTE: u64 = 60 * MILLIS_PER_SECOND;
const MILLIS_PER_HOUR: u64 = 60 * MILLIS_PER_MINUTE;
const MILLIS_PER_DAY: u64 = 24 * MILLIS_PER_HOUR;
const MILLIS_PER_WEEK: u64 = 7 * MILLIS_PER_DAY;
const MILLIS_PER_YEAR: u64 = 365 * MILLIS_PER_DAY;

/// Units from largest to smallest; a duration must list them in this order.
const UNITS: [(&str, u64); 7] = [
    ("y", MILLIS_PER_YEAR),
    ("w", MILLIS_PER_WEEK),
    ("d", MILLIS_PER_DAY),
    ("h", MILLIS_PER_HOUR),
    ("m", MILLIS_PER_MINUTE),
    ("s", MILLIS_PER_SECOND),
    ("ms", 1),
];

/// Parses a duration such as `5m`, `1h30m`, `0s` or `0`.
///
/// Units are `y` (365 days), `w`, `d`, `h`, `m`, `s`, `ms`; each may appear once,
/// largest first. The error explains the expected format.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    if input.is_empty() {
        return Err("empty duration string".to_string());
    }
    if input == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || {
        format!(
            "{input:?} is not a valid duration: use numbers followed by units y, w, d, h, m, s, ms, \
             largest unit first (e.g. 1h30m, 5m, 0s)"
        )
    };
    let bytes = input.as_bytes();
    let mut position = 0;
    // Index into UNITS of the next unit allowed, so order and uniqueness are enforced.
    let mut next_unit = 0;
    let mut total_millis: u64 = 0;
    while position < bytes.len() {
        let digits_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        if position == digits_start {
            return Err(invalid());
        }
        let number: u64 = input[digits_start..position]
            .parse()
            .map_err(|_| invalid())?;
        let rest = &input[position..];
        let unit_index = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            // `ms` must be tried before `m`, so prefer the longest matching unit.
            .filter(|(_, (unit, _))| rest.starts_with(unit))
            .max_by_key(|(_, (unit, _))| unit.len())
            .map(|(index, _)| index)
            .ok_or_else(invalid)?;
        let (unit, millis_per_unit) = UNITS[unit_index];
        position += unit.len();
        next_unit = unit_index + 1;
        total_millis = number
            .checked_mul(millis_per_unit)
            .and_then(|millis| total_millis.checked_add(millis))
            .ok_or_else(|| format!("{input:?} is too large a duration"))?;
    }
    Ok(Duration::from_millis(total_millis))
}

/// Formats a duration in the shortest Prometheus form (`1h30m`, `1w`, `0s`).
///
/// Precision below one millisecond is dropped, as in Prometheus.
pub fn format_duration(duration: Duration) -> String {
    let mut remaining = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if remaining == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, millis_per_unit) in UNITS {
        let count = remaining / millis_per_unit;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            remaining %= millis_per_unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn parses_common_durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(secs(7 * 86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn parses_every_unit_in_order() {
        let expected = 365 * 86_400_000
            + 2 * 7 * 86_400_000
            + 3 * 86_400_000
            + 4 * 3_600_000
            + 5 * 60_000
            + 6_000
            + 7;
        assert_eq!(
            parse_duration("1y2w3d4h5m6s7ms"),
            Ok(Duration::from_millis(expected))
        );
    }

    #[test]
    fn rejects_bad_syntax_order_and_repeats() {
        for bad in [
            "", "5", "m", "1.5h", "30m1h", "1h1h", "5 m", "-5m", "1x", "1ms1s", "h1",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overflow_instead_of_wrapping() {
        let message = parse_duration("99999999999999999y").unwrap_err();
        assert!(message.contains("too large"), "{message}");
    }

    #[test]
    fn formats_in_shortest_form() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(secs(5400)), "1h30m");
        assert_eq!(format_duration(secs(90)), "1m30s");
        assert_eq!(format_duration(secs(7 * 86_400)), "1w");
        assert_eq!(format_duration(secs(365 * 86_400 + 86_400)), "1y1d");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1s500ms");
    }

    #[test]
    fn format_then_parse_round_trips() {
        for text in ["1y2w3d4h5m6s7ms", "15s", "6h", "1d12h"] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(format_duration(parsed), text);
        }
    }
}
