//! The two baselines drawn beside a service's P95, computed from its 5-minute P95s:
//!
//! - **rolling**: the median of the bucket P95s of the 7 days before the bucket (the bucket
//!   itself excluded). A median rather than a mean, so one incident does not lift the baseline
//!   it is compared against; of bucket P95s rather than the P95 of all requests of the week,
//!   because the store keeps per-bucket quantiles, not the week's requests;
//! - **same time of week**: the mean of the bucket P95s of the hour around the same time one
//!   week earlier, `(S − 7d − 30m, S − 7d + 30m]` for a bucket starting at `S` (weekly traffic
//!   patterns: Monday 9:00 against Monday 9:00).
//!
//! Fewer than [`MIN_BASELINE_BUCKETS`] buckets give no rolling baseline (seed 004's gate).

/// One week in milliseconds.
pub const WEEK_MS: i64 = 7 * 86_400_000;
/// Buckets needed before a baseline is compared.
pub const MIN_BASELINE_BUCKETS: usize = 3;
/// How the rolling baseline is computed, as the API says it.
pub const BASELINE_DESCRIPTION: &str = "median of the 5-minute P95s over the previous 7 days";
/// Half the width of the same-time-of-week window.
const SAME_TIME_HALF_WINDOW_MS: i64 = 30 * 60_000;

/// The rolling baseline at each of `at` (bucket starts, ascending), from `history` (bucket
/// start, P95), ascending. One pass: the window slides forward, kept as a sorted list.
pub(crate) fn rolling_medians(history: &[(i64, f64)], at: &[i64]) -> Vec<Option<f64>> {
    let mut window: Vec<f64> = Vec::new();
    let (mut added, mut removed) = (0, 0);
    let mut out = Vec::with_capacity(at.len());
    for &start in at {
        // Add everything before `start`, drop everything older than a week before it.
        while added < history.len() && history[added].0 < start {
            insert_sorted(&mut window, history[added].1);
            added += 1;
        }
        while removed < added && history[removed].0 < start - WEEK_MS {
            remove_sorted(&mut window, history[removed].1);
            removed += 1;
        }
        out.push((window.len() >= MIN_BASELINE_BUCKETS).then(|| median(&window)));
    }
    out
}

/// The same-time-of-week baseline at each of `at`, from `history` as above.
pub(crate) fn same_time_last_week(history: &[(i64, f64)], at: &[i64]) -> Vec<Option<f64>> {
    at.iter()
        .map(|&start| {
            let centre = start - WEEK_MS;
            let from = history.partition_point(|(t, _)| *t <= centre - SAME_TIME_HALF_WINDOW_MS);
            let to = history.partition_point(|(t, _)| *t <= centre + SAME_TIME_HALF_WINDOW_MS);
            let values = &history[from..to];
            (!values.is_empty())
                .then(|| values.iter().map(|(_, v)| v).sum::<f64>() / values.len() as f64)
        })
        .collect()
}

fn insert_sorted(window: &mut Vec<f64>, value: f64) {
    let at = window.partition_point(|v| *v < value);
    window.insert(at, value);
}

fn remove_sorted(window: &mut Vec<f64>, value: f64) {
    let at = window.partition_point(|v| *v < value);
    if window.get(at).is_some_and(|v| *v == value) {
        window.remove(at);
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: i64 = 300_000;

    /// The baseline by its definition, computed the slow way.
    fn naive_median(history: &[(i64, f64)], start: i64) -> Option<f64> {
        let mut values: Vec<f64> = history
            .iter()
            .filter(|(t, _)| *t < start && *t >= start - WEEK_MS)
            .map(|(_, v)| *v)
            .collect();
        values.sort_by(f64::total_cmp);
        (values.len() >= MIN_BASELINE_BUCKETS).then(|| median(&values))
    }

    #[test]
    fn the_sliding_median_equals_the_definition_on_every_bucket() {
        // Nine days of buckets with gaps and repeated values, a spike in the middle.
        let history: Vec<(i64, f64)> = (0..(9 * 288))
            .filter(|i| i % 7 != 3)
            .map(|i| {
                let v = if (1200..1210).contains(&i) {
                    900.0
                } else {
                    100.0 + f64::from(i * 37 % 50)
                };
                (i64::from(i) * BUCKET, v)
            })
            .collect();
        let at: Vec<i64> = (0..(9 * 288)).map(|i| i * BUCKET).collect();
        let fast = rolling_medians(&history, &at);
        for (start, got) in at.iter().zip(&fast) {
            assert_eq!(*got, naive_median(&history, *start), "bucket at {start}");
        }
        // The ten-bucket spike does not move the median of a week.
        let after_spike = fast[1300].unwrap();
        assert!((100.0..150.0).contains(&after_spike), "{after_spike}");
    }

    #[test]
    fn fewer_than_three_buckets_give_no_baseline() {
        let history = [(0, 100.0), (BUCKET, 120.0)];
        assert_eq!(rolling_medians(&history, &[2 * BUCKET]), vec![None]);
        let history = [(0, 100.0), (BUCKET, 120.0), (2 * BUCKET, 500.0)];
        assert_eq!(rolling_medians(&history, &[3 * BUCKET]), vec![Some(120.0)]);
    }

    #[test]
    fn same_time_last_week_averages_the_hour_around_it() {
        let start = WEEK_MS + 100 * BUCKET;
        let centre = 100 * BUCKET;
        let history = [
            (centre - 6 * BUCKET, 999.0), // 30 minutes before: outside
            (centre - 5 * BUCKET, 100.0), // 25 minutes before: inside
            (centre, 200.0),
            (centre + 6 * BUCKET, 300.0), // 30 minutes after: inside
            (centre + 7 * BUCKET, 999.0),
        ];
        assert_eq!(same_time_last_week(&history, &[start]), vec![Some(200.0)]);
        assert_eq!(
            same_time_last_week(&history, &[start + WEEK_MS]),
            vec![None]
        );
    }
}
