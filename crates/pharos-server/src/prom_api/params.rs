//! Request parameters as Prometheus reads them: from the query string and, for a form POST,
//! from the body (body values first), plus its time, duration and limit formats.

use std::time::Duration;

use axum::{
    extract::{FromRequest, Request},
    http::{Method, header},
};
use chrono::DateTime;

use super::response::PromError;
use crate::{extract::read_limited, state::AppState};

/// Prometheus' "minus infinity" timestamp (`minTime` in its API), in milliseconds.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus' "plus infinity" timestamp, in milliseconds.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// All `key=value` pairs of a request, form body first, then the query string.
#[derive(Debug, Default)]
pub struct PromParams {
    pairs: Vec<(String, String)>,
}

impl FromRequest<AppState> for PromParams {
    type Rejection = PromError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut pairs = Vec::new();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form && req.method() == Method::POST {
            let body = read_limited(req, state.settings.api.max_body_bytes)
                .await
                .map_err(|e| PromError::bad_data(e.to_string()))?;
            pairs.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        pairs.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
        Ok(Self { pairs })
    }
}

impl PromParams {
    /// Parameters from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `key`, treating an empty value as absent (as Go's `FormValue`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `key` (e.g. `match[]`), in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A required string parameter.
    pub fn required(&self, key: &str) -> Result<&str, PromError> {
        self.get(key).ok_or_else(|| {
            PromError::invalid_param(key, format!("the {key:?} parameter is required"))
        })
    }

    /// A timestamp parameter in milliseconds; `default` when absent.
    pub fn time_or(&self, key: &str, default: i64) -> Result<i64, PromError> {
        match self.get(key) {
            Some(text) => parse_time(text).map_err(|e| PromError::invalid_param(key, e)),
            None => Ok(default),
        }
    }

    /// A required timestamp parameter in milliseconds.
    pub fn time(&self, key: &str) -> Result<i64, PromError> {
        parse_time(self.get(key).unwrap_or_default()).map_err(|e| PromError::invalid_param(key, e))
    }

    /// An optional duration parameter (`timeout`).
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, PromError> {
        self.get(key)
            .map(|text| {
                parse_duration_ms(text)
                    .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
                    .map_err(|e| PromError::invalid_param(key, e))
            })
            .transpose()
    }

    /// An optional `limit`: a non-negative integer, 0 meaning no limit.
    pub fn limit(&self, key: &str) -> Result<Option<usize>, PromError> {
        let Some(text) = self.get(key) else {
            return Ok(None);
        };
        let limit: i64 = text.parse().map_err(|_| {
            PromError::invalid_param(key, format!("cannot parse {text:?} as an integer"))
        })?;
        match limit {
            0 => Ok(None),
            n if n < 0 => Err(PromError::invalid_param(key, "limit must be non-negative")),
            n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        }
    }
}

/// `start`, `end` and `step` of a range query, checked as Prometheus checks them (the point
/// limit is the caller's: the root API refuses, the proxy raises the step).
pub fn range_params(params: &PromParams) -> Result<(i64, i64, i64), PromError> {
    let start = params.time("start")?;
    let end = params.time("end")?;
    if end < start {
        return Err(PromError::bad_data(
            "end timestamp must not be before start time",
        ));
    }
    let step_text = params.get("step").unwrap_or_default();
    let step = parse_duration_ms(step_text).map_err(|e| PromError::invalid_param("step", e))?;
    if step <= 0 {
        return Err(PromError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    Ok((start, end, step))
}

/// Parses a timestamp as Prometheus does: Unix seconds (fractions allowed) or RFC 3339.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {text:?} to a valid timestamp");
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return Err(invalid());
        }
        let whole = seconds.trunc();
        let millis = ((seconds - whole) * 1000.0).round();
        let total = whole * 1000.0 + millis;
        // Beyond ±2^63 ms the value is not a time anybody means.
        if total.abs() >= 9.2e18 {
            return Err(invalid());
        }
        return Ok(total as i64);
    }
    match text {
        MIN_TIME_TEXT => return Ok(MIN_TIME_MS),
        MAX_TIME_TEXT => return Ok(MAX_TIME_MS),
        _ => {}
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| invalid())
}

/// Parses a duration as Prometheus does: float seconds or a duration such as `1m30s`.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        let millis = (seconds * 1000.0).round();
        if !millis.is_finite() || millis.abs() >= 9.2e18 {
            return Err(format!(
                "cannot parse {text:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(millis as i64);
    }
    pharos_model::parse_duration(text)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| format!("cannot parse {text:?} to a valid duration"))
}

/// The current time in milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc3339() {
        assert_eq!(parse_time("1704200000").unwrap(), 1_704_200_000_000);
        assert_eq!(parse_time("1704200000.123").unwrap(), 1_704_200_000_123);
        assert_eq!(parse_time("1.7042e9").unwrap(), 1_704_200_000_000);
        assert_eq!(parse_time("-1.5").unwrap(), -1500);
        assert_eq!(
            parse_time("2024-01-02T12:53:20Z").unwrap(),
            1_704_200_000_000
        );
        assert_eq!(
            parse_time("2024-01-02T13:53:20.5+01:00").unwrap(),
            1_704_200_000_500
        );
        assert_eq!(parse_time(MIN_TIME_TEXT).unwrap(), MIN_TIME_MS);
        assert_eq!(parse_time(MAX_TIME_TEXT).unwrap(), MAX_TIME_MS);
        assert_eq!(
            parse_time("yesterday").unwrap_err(),
            "cannot parse \"yesterday\" to a valid timestamp"
        );
        assert!(parse_time("NaN").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn durations_are_float_seconds_or_prometheus_durations() {
        assert_eq!(parse_duration_ms("15").unwrap(), 15_000);
        assert_eq!(parse_duration_ms("0.5").unwrap(), 500);
        assert_eq!(parse_duration_ms("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("1h").unwrap(), 3_600_000);
        assert_eq!(
            parse_duration_ms("fast").unwrap_err(),
            "cannot parse \"fast\" to a valid duration"
        );
        assert!(
            parse_duration_ms("1e300")
                .unwrap_err()
                .contains("overflows")
        );
    }

    #[test]
    fn body_values_come_first_and_empty_values_are_absent() {
        let params =
            PromParams::from_pairs([("query", "up"), ("query", "down"), ("time", ""), ("m", "a")]);
        assert_eq!(params.get("query"), Some("up"));
        assert_eq!(params.get("time"), None);
        assert_eq!(params.all("query"), ["up", "down"]);
        assert!(params.required("time").is_err());
    }

    #[test]
    fn limits_are_non_negative_and_zero_means_none() {
        let limit = |text: &str| PromParams::from_pairs([("limit", text)]).limit("limit");
        assert_eq!(limit("5").unwrap(), Some(5));
        assert_eq!(limit("0").unwrap(), None);
        assert!(limit("-1").is_err());
        assert!(limit("many").is_err());
    }
}
