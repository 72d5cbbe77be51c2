//! Burn rates of latency objectives. An objective "`target` of the requests within
//! `threshold_ms`" has an error budget of `1 − target`; over a window, the burn rate is the
//! share of requests slower than the threshold divided by that budget (1 spends the budget
//! exactly over the objective's window). Requests within the threshold are the buckets'
//! `pharos_service_fast_requests{le_ms}` (the threshold is a step of the ladder), the others
//! `pharos_service_requests` minus those. Windows count closed buckets only: the newest one
//! ends at the last 5-minute boundary.
//!
//! The alerts follow the multi-window, multi-burn-rate scheme of the Google SRE workbook: page
//! when the 1 h and 5 m rates exceed 14.4 (2 % of a 30-day budget in an hour) or the 6 h and
//! 30 m rates exceed 6; open a ticket when the 1 d and 2 h rates exceed 3 or the 3 d and 6 h
//! rates exceed 1.

use std::collections::BTreeMap;

use pharos_query::{MetricsBackend, RangeQuery};
use serde_json::Value;

use crate::error::SloError;
use crate::latency::{BUCKET_MS, align_down, matrix_by_service, quote};
use crate::model::Objective;

/// The windows rates are computed over, with their length.
pub const WINDOWS: [(&str, i64); 7] = [
    ("5m", 5 * 60_000),
    ("30m", 30 * 60_000),
    ("1h", 3_600_000),
    ("2h", 2 * 3_600_000),
    ("6h", 6 * 3_600_000),
    ("1d", 86_400_000),
    ("3d", 3 * 86_400_000),
];

/// The gauge the binary writes: `pharos_service_slo_burn_rate{service, window}`.
pub const BURN_RATE_METRIC: &str = "pharos_service_slo_burn_rate";

/// `(requests, within the threshold)` of each closed bucket of the last 3 days, by start.
async fn read_counts(
    backend: &dyn MetricsBackend,
    service: &str,
    threshold_ms: u32,
    now_ms: i64,
) -> Result<BTreeMap<i64, (f64, f64)>, SloError> {
    let end = align_down(now_ms);
    let start = end - WINDOWS[WINDOWS.len() - 1].1;
    let mut columns = Vec::with_capacity(2);
    for (metric, extra) in [
        ("pharos_service_requests", String::new()),
        (
            pharos_logs::FAST_REQUESTS,
            format!(", le_ms=\"{threshold_ms}\""),
        ),
    ] {
        let matcher = format!("{{service=\"{}\"{extra}}}", quote(service));
        let query = RangeQuery {
            query: format!("sum by (service) (last_over_time({metric}{matcher}[5m]))"),
            start_ms: start + BUCKET_MS,
            end_ms: end,
            step_ms: BUCKET_MS,
            timeout: None,
        };
        let answer = backend.range(&query).await.map_err(|e| SloError::Query {
            service: service.to_owned(),
            message: e.to_string(),
        })?;
        let data: Value = serde_json::from_str(answer.data.get()).unwrap_or(Value::Null);
        columns.push(matrix_by_service(&data).remove(service).unwrap_or_default());
    }
    // Points are at bucket ends; the buckets are keyed by their start.
    let fast = columns.pop().unwrap_or_default();
    let requests = columns.pop().unwrap_or_default();
    Ok(requests
        .into_iter()
        .map(|(end, total)| {
            let within = fast.get(&end).copied().unwrap_or(0.0);
            (end - BUCKET_MS, (total, within))
        })
        .collect())
}

/// The burn rate over each of [`WINDOWS`] ending at the last bucket boundary before
/// `now_ms`; a window without requests has none.
pub(crate) fn rates(
    counts: &BTreeMap<i64, (f64, f64)>,
    objective: &Objective,
    now_ms: i64,
) -> BTreeMap<&'static str, f64> {
    let end = align_down(now_ms);
    let budget = 1.0 - objective.target;
    let mut out = BTreeMap::new();
    for (name, length) in WINDOWS {
        let (total, fast) = counts
            .range(end - length..end)
            .fold((0.0, 0.0), |(t, f), (_, (total, fast))| {
                (t + total, f + fast)
            });
        if total > 0.0 && budget > 0.0 {
            let slow = (total - fast).max(0.0);
            out.insert(name, slow / total / budget);
        }
    }
    out
}

/// The burn rates of one service's objective at `now_ms`.
pub(crate) async fn burn_rates(
    backend: &dyn MetricsBackend,
    service: &str,
    objective: &Objective,
    now_ms: i64,
) -> Result<BTreeMap<&'static str, f64>, SloError> {
    let counts = read_counts(backend, service, objective.threshold_ms, now_ms).await?;
    Ok(rates(&counts, objective, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_divide_the_slow_share_by_the_budget_per_window() {
        let objective = Objective {
            target: 0.99,
            threshold_ms: 300,
            window_days: 30,
        };
        let now = 100 * 86_400_000 + 60_000;
        let end = align_down(now);
        let mut counts = BTreeMap::new();
        // Three days of 100 requests per bucket, 1 slow; the last hour 10 slow.
        let mut start = end - 3 * 86_400_000;
        while start < end {
            let slow = if start >= end - 3_600_000 { 10.0 } else { 1.0 };
            counts.insert(start, (100.0, 100.0 - slow));
            start += BUCKET_MS;
        }
        let r = rates(&counts, &objective, now);
        assert!((r["5m"] - 10.0).abs() < 1e-9, "{r:?}");
        assert!((r["1h"] - 10.0).abs() < 1e-9, "{r:?}");
        // 6 h: 12 buckets at 10 %, 60 at 1 % → 2.5 % → 2.5×.
        assert!((r["6h"] - 2.5).abs() < 1e-9, "{r:?}");
        assert!(r["3d"] > 1.0 && r["3d"] < 1.2, "{r:?}");
        // The open bucket does not count; no requests, no rate.
        counts.insert(end, (100.0, 0.0));
        assert!((rates(&counts, &objective, now)["5m"] - 10.0).abs() < 1e-9);
        assert!(rates(&BTreeMap::new(), &objective, now).is_empty());
    }
}
