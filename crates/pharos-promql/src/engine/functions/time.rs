//! Calendar functions (`hour`, `day_of_week`, `days_in_month`, ...), all in UTC.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};

/// A calendar field extracted from a UTC date-time.
pub(super) type DateFn = fn(&DateTime<chrono::Utc>) -> f64;

pub(super) fn date_function(name: &str) -> Option<DateFn> {
    Some(match name {
        "year" => |t| f64::from(t.year()),
        "month" => |t| f64::from(t.month()),
        "day_of_month" => |t| f64::from(t.day()),
        "day_of_year" => |t| f64::from(t.ordinal()),
        "day_of_week" => |t| f64::from(t.weekday().num_days_from_sunday()),
        "hour" => |t| f64::from(t.hour()),
        "minute" => |t| f64::from(t.minute()),
        "days_in_month" => |t| days_in_month(t.year(), t.month()),
        _ => return None,
    })
}

fn days_in_month(year: i32, month: u32) -> f64 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(ny, nm, 1),
    ) {
        (Some(a), Some(b)) => (b - a).num_days() as f64,
        _ => f64::NAN,
    }
}

/// Applies a calendar function to a Unix time in seconds (truncated to whole seconds,
/// as Prometheus does). Values outside the representable calendar give NaN.
pub(super) fn apply_date(f: DateFn, seconds: f64) -> f64 {
    if !seconds.is_finite() {
        return f64::NAN;
    }
    match DateTime::from_timestamp(seconds.trunc() as i64, 0) {
        Some(t) => f(&t),
        None => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, secs: f64) -> f64 {
        apply_date(date_function(name).unwrap(), secs)
    }

    #[test]
    fn calendar_fields_are_utc() {
        // 2024-02-29T13:45:00Z, a Thursday.
        let t = 1_709_214_300.0;
        assert_eq!(call("year", t), 2024.0);
        assert_eq!(call("month", t), 2.0);
        assert_eq!(call("day_of_month", t), 29.0);
        assert_eq!(call("day_of_year", t), 60.0);
        assert_eq!(call("day_of_week", t), 4.0);
        assert_eq!(call("hour", t), 13.0);
        assert_eq!(call("minute", t), 45.0);
        assert_eq!(call("days_in_month", t), 29.0);
    }

    #[test]
    fn non_finite_input_gives_nan() {
        assert!(call("year", f64::NAN).is_nan());
    }
}
