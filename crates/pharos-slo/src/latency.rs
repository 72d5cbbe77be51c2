//! Reading a service's 5-minute buckets back from the embedded store, and the window a latency
//! request asks for.
//!
//! `pharos-logs` writes each bucket `[S, S+5m)` at timestamps inside the bucket, its final
//! revision last; so `last_over_time(x[5m])` evaluated at `S+5m` is exactly the bucket's final
//! value, and a range query with a 5-minute step aligned to the epoch reads one value per
//! bucket and none for a bucket without requests. A service logged by several sources is
//! folded: counts summed, quantiles the highest of the sources (the conservative reading; P95s
//! of different request sets cannot be merged).

use std::collections::BTreeMap;

use pharos_query::{InstantQuery, MetricsBackend, RangeQuery};
use serde_json::Value;

use crate::error::SloError;

/// Bucket width.
pub const BUCKET_MS: i64 = 300_000;
/// The longest window a latency request may ask for (with the week before it for the
/// baseline, this stays under the engine's 11,000 points per series).
pub const MAX_RANGE_MS: i64 = 31 * 86_400_000;

/// A bucket as read from the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawBucket {
    pub start_ms: i64,
    pub count: f64,
    pub errors: f64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// The window of a latency request, validated: bucket-aligned, `from < to`, at most
/// [`MAX_RANGE_MS`], the step a multiple of 5 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRange {
    /// First bucket start included.
    pub from_ms: i64,
    /// End (exclusive, a bucket boundary).
    pub to_ms: i64,
    /// Width of a returned bucket.
    pub step_ms: i64,
}

impl LatencyRange {
    /// The last 7 days up to `now_ms`, in 5-minute buckets.
    pub fn last_week(now_ms: i64) -> Self {
        let to_ms = align_up(now_ms);
        Self {
            from_ms: to_ms - crate::baseline::WEEK_MS,
            to_ms,
            step_ms: BUCKET_MS,
        }
    }

    /// The 5-minute buckets covering `[from_ms, to_ms]` (a chart's window), at most
    /// [`MAX_RANGE_MS`] back from `to_ms`.
    pub fn covering(from_ms: i64, to_ms: i64) -> Self {
        let to_ms = align_up(to_ms);
        Self {
            from_ms: align_down(from_ms).clamp(to_ms - MAX_RANGE_MS, to_ms - BUCKET_MS),
            to_ms,
            step_ms: BUCKET_MS,
        }
    }

    /// From the request's `from`, `to` (RFC 3339, Unix seconds, `now`, `now-7d`) and `step`
    /// (`5m`, `1h`, seconds); absent ones default to the last 7 days at 5 minutes.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        step: Option<&str>,
        now_ms: i64,
    ) -> Result<Self, SloError> {
        let to_ms = align_up(match to {
            Some(text) => parse_time("to", text, now_ms)?,
            None => now_ms,
        });
        let from_ms = match from {
            Some(text) => parse_time("from", text, now_ms)?,
            None => to_ms - crate::baseline::WEEK_MS,
        };
        let step_ms = match step {
            Some(text) => parse_duration(text)
                .ok_or_else(|| invalid(format!("step {text:?} is not a duration like 5m or 1h")))?,
            None => BUCKET_MS,
        };
        if step_ms <= 0 || step_ms % BUCKET_MS != 0 {
            return Err(invalid(format!(
                "step must be a multiple of 5m (buckets are 5 minutes); got {}s",
                step_ms / 1000
            )));
        }
        let (from_ms, to_ms) = (align_down(from_ms), align_up(to_ms));
        if from_ms >= to_ms {
            return Err(invalid("from must be before to".to_owned()));
        }
        if to_ms - from_ms > MAX_RANGE_MS {
            return Err(invalid(format!(
                "the window is {} days; at most 31 days may be asked for at once",
                (to_ms - from_ms) / 86_400_000
            )));
        }
        Ok(Self {
            from_ms,
            to_ms,
            step_ms,
        })
    }
}

fn invalid(message: String) -> SloError {
    SloError::Invalid(message)
}

pub(crate) fn align_down(t_ms: i64) -> i64 {
    t_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

pub(crate) fn align_up(t_ms: i64) -> i64 {
    align_down(t_ms + BUCKET_MS - 1)
}

fn parse_time(name: &str, text: &str, now_ms: i64) -> Result<i64, SloError> {
    let text = text.trim();
    if text == "now" {
        return Ok(now_ms);
    }
    if let Some(ago) = text.strip_prefix("now-") {
        return parse_duration(ago).map(|d| now_ms - d).ok_or_else(|| {
            invalid(format!(
                "{name} {text:?}: after now- comes a duration like 7d or 24h"
            ))
        });
    }
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds.abs() < 1e11
    {
        #[allow(clippy::cast_possible_truncation)]
        return Ok((seconds * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            invalid(format!(
                "{name} {text:?} is not a time: use RFC 3339, Unix seconds, now or now-7d"
            ))
        })
}

/// `5m`, `1h`, `7d`, `90s`, or plain seconds; `None` otherwise.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return seconds.checked_mul(1000);
    }
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `value` as the inside of a PromQL string literal.
pub(crate) fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `{service="<id>"}`, or nothing for every service.
pub(crate) fn selector(service: Option<&str>) -> String {
    service.map_or_else(String::new, |id| format!("{{service=\"{}\"}}", quote(id)))
}

/// The buckets starting in `[from_ms, to_ms)` of `service` (or of every service), by service.
pub(crate) async fn read_buckets(
    backend: &dyn MetricsBackend,
    service: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Result<BTreeMap<String, Vec<RawBucket>>, SloError> {
    let matcher = selector(service);
    let failed = |message: String| SloError::Query {
        service: service.unwrap_or("*").to_owned(),
        message,
    };
    let mut columns: Vec<BTreeMap<String, BTreeMap<i64, f64>>> = Vec::with_capacity(5);
    for (metric, fold) in [
        ("pharos_service_requests", "sum"),
        ("pharos_service_errors", "sum"),
        ("pharos_service_latency_p50_ms", "max"),
        ("pharos_service_latency_p95_ms", "max"),
        ("pharos_service_latency_p99_ms", "max"),
    ] {
        let query = RangeQuery {
            query: format!("{fold} by (service) (last_over_time({metric}{matcher}[5m]))"),
            // Evaluated at each bucket's end: the first bucket ends at from + 5m.
            start_ms: from_ms + BUCKET_MS,
            end_ms: to_ms,
            step_ms: BUCKET_MS,
            timeout: None,
        };
        let answer = backend
            .range(&query)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let data: Value = serde_json::from_str(answer.data.get())
            .map_err(|e| failed(format!("unreadable answer: {e}")))?;
        columns.push(matrix_by_service(&data));
    }
    let [requests, errors, p50, p95, p99]: [BTreeMap<String, BTreeMap<i64, f64>>; 5] = columns
        .try_into()
        .map_err(|_| failed("missing columns".to_owned()))?;
    let mut out = BTreeMap::new();
    for (name, counts) in requests {
        let at = |column: &BTreeMap<String, BTreeMap<i64, f64>>, end: i64| {
            column
                .get(&name)
                .and_then(|points| points.get(&end))
                .copied()
        };
        let buckets: Vec<RawBucket> = counts
            .iter()
            .filter(|(_, count)| **count > 0.0 || count.is_nan())
            .map(|(&end, &count)| RawBucket {
                start_ms: end - BUCKET_MS,
                count,
                errors: at(&errors, end).unwrap_or(0.0),
                p50: at(&p50, end),
                p95: at(&p95, end),
                p99: at(&p99, end),
            })
            .collect();
        out.insert(name, buckets);
    }
    Ok(out)
}

/// The log sources of `service` (or of every service) with requests within `window` (a PromQL
/// duration) before `now_ms`, by service.
pub(crate) async fn sources_seen(
    backend: &dyn MetricsBackend,
    service: Option<&str>,
    window: &str,
    now_ms: i64,
) -> Result<BTreeMap<String, Vec<String>>, SloError> {
    let query = InstantQuery {
        query: format!(
            "group by (service, source) (last_over_time(pharos_service_requests{}[{window}]))",
            selector(service)
        ),
        time_ms: now_ms,
        timeout: None,
    };
    let answer = backend.instant(&query).await.map_err(|e| SloError::Query {
        service: service.unwrap_or("*").to_owned(),
        message: e.to_string(),
    })?;
    let data: Value = serde_json::from_str(answer.data.get()).unwrap_or(Value::Null);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for series in data["result"].as_array().into_iter().flatten() {
        if let (Some(service), Some(source)) = (
            series["metric"]["service"].as_str(),
            series["metric"]["source"].as_str(),
        ) {
            out.entry(service.to_owned())
                .or_default()
                .push(source.to_owned());
        }
    }
    Ok(out)
}

/// `{service → {t_ms → value}}` of a matrix answer.
pub(crate) fn matrix_by_service(data: &Value) -> BTreeMap<String, BTreeMap<i64, f64>> {
    let mut out = BTreeMap::new();
    for series in data["result"].as_array().into_iter().flatten() {
        let Some(name) = series["metric"]["service"].as_str() else {
            continue;
        };
        let points: BTreeMap<i64, f64> = series["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|point| {
                let t = point[0].as_f64()?;
                let v: f64 = point[1].as_str()?.parse().ok()?;
                #[allow(clippy::cast_possible_truncation)]
                Some(((t * 1000.0).round() as i64, v))
            })
            .collect();
        out.insert(name.to_owned(), points);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_123_456;

    #[test]
    fn windows_parse_align_and_refuse_what_cannot_be_answered() {
        let week = LatencyRange::parse(None, None, None, NOW).unwrap();
        assert_eq!(week, LatencyRange::last_week(NOW));
        assert_eq!(week.to_ms % BUCKET_MS, 0);
        assert!(week.to_ms >= NOW && week.to_ms - NOW < BUCKET_MS);
        let day = LatencyRange::parse(Some("now-24h"), Some("now"), Some("1h"), NOW).unwrap();
        assert_eq!(day.step_ms, 3_600_000);
        assert_eq!(day.to_ms - day.from_ms, 86_400_000 + BUCKET_MS);
        let rfc = LatencyRange::parse(
            Some("2026-12-01T00:00:00Z"),
            Some("1796169600"),
            Some("300"),
            NOW,
        )
        .unwrap();
        assert_eq!(rfc.from_ms, 1_796_083_200_000);
        assert_eq!(rfc.to_ms, 1_796_169_600_000);
        for (from, to, step, says) in [
            (Some("yesterday"), None, None, "is not a time"),
            (Some("now-7x"), None, None, "after now- comes a duration"),
            (None, None, Some("7m"), "multiple of 5m"),
            (None, None, Some("fast"), "is not a duration"),
            (Some("now"), Some("now-1h"), None, "from must be before to"),
            (Some("now-40d"), None, None, "at most 31 days"),
        ] {
            let error = LatencyRange::parse(from, to, step, NOW).unwrap_err();
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn a_charts_window_is_covered_by_whole_buckets_within_the_limit() {
        let range = LatencyRange::covering(NOW - 3_600_000, NOW);
        assert_eq!(range.to_ms, align_up(NOW));
        assert_eq!(range.from_ms, align_down(NOW - 3_600_000));
        let long = LatencyRange::covering(NOW - 90 * 86_400_000, NOW);
        assert_eq!(long.to_ms - long.from_ms, MAX_RANGE_MS);
        let empty = LatencyRange::covering(NOW, NOW - 1);
        assert_eq!(empty.to_ms - empty.from_ms, BUCKET_MS);
    }

    #[test]
    fn selectors_quote_the_service() {
        assert_eq!(selector(Some("a\"b")), "{service=\"a\\\"b\"}");
        assert_eq!(selector(None), "");
    }
}
