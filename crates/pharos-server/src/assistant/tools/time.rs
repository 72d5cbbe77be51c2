//! Times and windows as a model writes them: `now`, `now-1h`, `-30m`, RFC 3339 or Unix
//! seconds; steps as `60s`/`5m` or seconds. A window without a step gets one that gives at
//! most [`TARGET_POINTS`] points, so one call never asks for more than a model can read.

use pharos_assistant::tools::ToolError;

/// Points per series a window aims at.
pub(crate) const TARGET_POINTS: i64 = 240;
/// The longest window a tool may read.
pub(crate) const MAX_WINDOW_MS: i64 = 31 * 86_400_000;

/// Milliseconds of a Prometheus duration (`90s`, `1h30m`) or of plain seconds.
pub(crate) fn duration_ms(field: &str, text: &str) -> Result<i64, ToolError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds > 0.0
    {
        return Ok((seconds * 1000.0) as i64);
    }
    pharos_model::parse_duration(text)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .filter(|ms| *ms > 0)
        .ok_or_else(|| {
            ToolError::InvalidArguments(format!(
                "{field} \"{text}\" is not a duration: write 30s, 5m, 1h or 2d"
            ))
        })
}

/// A time: `now`, `now-1h`, `-1h`, RFC 3339 or Unix seconds.
pub(crate) fn time_ms(field: &str, text: &str, now_ms: i64) -> Result<i64, ToolError> {
    let text = text.trim();
    if text.is_empty() || text == "now" {
        return Ok(now_ms);
    }
    let relative = text.strip_prefix("now-").or_else(|| text.strip_prefix('-'));
    if let Some(ago) = relative {
        return Ok(now_ms - duration_ms(field, ago)?);
    }
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok((seconds * 1000.0) as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ToolError::InvalidArguments(format!(
                "{field} \"{text}\" is not a time: write now, now-1h, an RFC 3339 time or Unix seconds"
            ))
        })
}

/// A checked window: start, end and step in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) step_ms: i64,
}

/// The window of `start`/`end`/`step` (defaults: the last `default_ms`, now, a step for
/// [`TARGET_POINTS`]).
pub(crate) fn window(
    start: Option<&str>,
    end: Option<&str>,
    step: Option<&str>,
    default_ms: i64,
    now_ms: i64,
) -> Result<Window, ToolError> {
    let end_ms = match end {
        Some(text) => time_ms("end", text, now_ms)?,
        None => now_ms,
    };
    let start_ms = match start {
        Some(text) => time_ms("start", text, now_ms)?,
        None => end_ms - default_ms,
    };
    if end_ms <= start_ms {
        return Err(ToolError::InvalidArguments(
            "end must be after start".to_owned(),
        ));
    }
    if end_ms - start_ms > MAX_WINDOW_MS {
        return Err(ToolError::InvalidArguments(
            "the window is longer than 31 days: ask for a shorter one".to_owned(),
        ));
    }
    let step_ms = match step {
        Some(text) => duration_ms("step", text)?,
        None => ((end_ms - start_ms) / TARGET_POINTS).max(15_000),
    };
    if (end_ms - start_ms) / step_ms > 11_000 {
        return Err(ToolError::InvalidArguments(
            "the step gives more than 11,000 points: use a larger step".to_owned(),
        ));
    }
    Ok(Window {
        start_ms,
        end_ms,
        step_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000;

    #[test]
    fn model_written_times_are_understood_or_refused_with_the_forms() {
        assert_eq!(time_ms("t", "now", NOW), Ok(NOW));
        assert_eq!(time_ms("t", "now-1h", NOW), Ok(NOW - 3_600_000));
        assert_eq!(time_ms("t", "-30m", NOW), Ok(NOW - 1_800_000));
        assert_eq!(time_ms("t", "1767225600", NOW), Ok(NOW));
        assert_eq!(time_ms("t", "2026-01-01T00:00:00Z", NOW), Ok(NOW));
        let error = time_ms("start", "yesterday", NOW).unwrap_err();
        assert!(error.to_string().contains("now-1h"));
    }

    #[test]
    fn windows_get_a_readable_step_and_bounds() {
        let w =
            window(Some("now-1h"), None, None, 3_600_000, NOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.step_ms, 15_000);
        let w =
            window(Some("now-2d"), None, None, 3_600_000, NOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.step_ms, 2 * 86_400_000 / TARGET_POINTS);
        assert!(window(Some("now-40d"), None, None, 0, NOW).is_err());
        assert!(window(Some("now"), Some("now-1h"), None, 0, NOW).is_err());
        assert!(window(Some("now-1d"), None, Some("1s"), 0, NOW).is_err());
    }
}
