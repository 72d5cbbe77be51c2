//! Turning the buckets read from the store into the API's buckets: baselines, breaches, the
//! folding of coarser steps; and reading a requested threshold.

use serde_json::Value;

use crate::baseline;
use crate::error::SloError;
use crate::latency::{BUCKET_MS, RawBucket};
use crate::model::Bucket;
use crate::settings::{MAX_THRESHOLD_MS, MIN_THRESHOLD_MS, check_threshold};

pub(crate) fn ms_to_time(t_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default()
}

/// `threshold_ms` as sent: an integer number of milliseconds within the bounds.
pub(crate) fn parse_threshold(value: &Value) -> Result<u32, SloError> {
    let out_of_range = |got: String| SloError::ThresholdOutOfRange {
        min: MIN_THRESHOLD_MS,
        max: MAX_THRESHOLD_MS,
        got,
    };
    let Some(number) = value.as_f64() else {
        let shown = match value {
            Value::Null => "nothing (send {\"threshold_ms\": 250})".to_owned(),
            other => format!("{other} (not a number)"),
        };
        return Err(out_of_range(shown));
    };
    if number.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&number) {
        return Err(out_of_range(value.to_string()));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = number as u32;
    check_threshold(ms).map_err(|_| out_of_range(ms.to_string()))?;
    Ok(ms)
}

/// `(start, P95)` of the buckets that have one, ascending.
pub(crate) fn p95_history(raw: &[RawBucket]) -> Vec<(i64, f64)> {
    raw.iter()
        .filter_map(|b| b.p95.map(|p| (b.start_ms, p)))
        .collect()
}

pub(crate) fn bucket_of(raw: &RawBucket, history: &[(i64, f64)], threshold_ms: u32) -> Bucket {
    let baseline = baseline::rolling_medians(history, &[raw.start_ms])
        .pop()
        .flatten();
    let weekly = baseline::same_time_last_week(history, &[raw.start_ms])
        .pop()
        .flatten();
    Bucket {
        start: ms_to_time(raw.start_ms),
        count: raw.count,
        errors: raw.errors,
        p50_ms: raw.p50,
        p95_ms: raw.p95,
        p99_ms: raw.p99,
        baseline_p95_ms: baseline,
        same_time_last_week_p95_ms: weekly,
        breach: raw.p95.is_some_and(|p| p > f64::from(threshold_ms)),
    }
}

/// The buckets of `shown`, folded into steps of `step_ms`: counts summed, and the quantiles
/// and baselines of the step's 5-minute bucket with the highest P95 (a step breaches when any
/// of its buckets does).
pub(crate) fn fold_steps(
    shown: &[RawBucket],
    history: &[(i64, f64)],
    threshold_ms: u32,
    step_ms: i64,
) -> Vec<Bucket> {
    let starts: Vec<i64> = shown.iter().map(|b| b.start_ms).collect();
    let medians = baseline::rolling_medians(history, &starts);
    let weekly = baseline::same_time_last_week(history, &starts);
    let mut out: Vec<Bucket> = Vec::new();
    let mut worst_p95: Vec<f64> = Vec::new();
    for (i, raw) in shown.iter().enumerate() {
        let step_start = raw.start_ms.div_euclid(step_ms) * step_ms;
        let mut bucket = Bucket {
            start: ms_to_time(raw.start_ms),
            count: raw.count,
            errors: raw.errors,
            p50_ms: raw.p50,
            p95_ms: raw.p95,
            p99_ms: raw.p99,
            baseline_p95_ms: medians[i],
            same_time_last_week_p95_ms: weekly[i],
            breach: raw.p95.is_some_and(|p| p > f64::from(threshold_ms)),
        };
        if step_ms == BUCKET_MS {
            out.push(bucket);
            continue;
        }
        bucket.start = ms_to_time(step_start);
        let p95 = raw.p95.unwrap_or(f64::NEG_INFINITY);
        match out.last_mut() {
            Some(last) if last.start == bucket.start => {
                let worst = worst_p95.last_mut().map_or(f64::NEG_INFINITY, |w| *w);
                let (count, errors) = (last.count + bucket.count, last.errors + bucket.errors);
                let breach = last.breach || bucket.breach;
                if p95 > worst {
                    *last = bucket;
                    if let Some(w) = worst_p95.last_mut() {
                        *w = p95;
                    }
                }
                last.count = count;
                last.errors = errors;
                last.breach = breach;
            }
            _ => {
                out.push(bucket);
                worst_p95.push(p95);
            }
        }
    }
    out
}
