//! Step selection for range queries: a panel never needs more points per series than its
//! budget, so a step that would exceed it is raised to the next step of a fixed ladder (which
//! also makes different panels and viewers share cache entries), and every range is aligned to
//! its step so that repeated loads ask the same question.

use crate::backend::RangeQuery;

/// The steps Pharos raises to, in milliseconds: 15 s … 5 m … 1 h … 1 d.
pub const STEP_LADDER_MS: [i64; 14] = [
    15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
    10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/// The range query to run instead of `query` with at most `max_points` points per series, and
/// the info line that says what changed (none when only the alignment did).
pub fn plan_range(query: &RangeQuery, max_points: i64) -> (RangeQuery, Option<String>) {
    let span = (query.end_ms - query.start_ms).max(0);
    let mut step = query.step_ms.max(1);
    let mut info = None;
    let max_points = max_points.max(2);
    if span / step + 1 > max_points {
        let needed = ceil_div(span, max_points - 1);
        let raised = STEP_LADDER_MS
            .iter()
            .copied()
            .find(|s| *s >= needed)
            .unwrap_or_else(|| ceil_div(needed, 86_400_000) * 86_400_000);
        info = Some(format!(
            "Pharos raised the step from {} to {}: {} points per series is more than the budget of {max_points} (query.max_points_per_series)",
            duration_text(step),
            duration_text(raised),
            span / step + 1
        ));
        step = raised;
    }
    let start = query.start_ms.div_euclid(step) * step;
    let end = (query.end_ms.div_euclid(step) * step).max(start);
    (
        RangeQuery {
            query: query.query.clone(),
            start_ms: start,
            end_ms: end,
            step_ms: step,
            timeout: query.timeout,
        },
        info,
    )
}

/// `a / b` rounded up, for positive `b` and non-negative `a`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// `15s`, `5m`, `1h`, `1d`, or milliseconds.
fn duration_text(ms: i64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(span_ms: i64, step_ms: i64) -> RangeQuery {
        let end = 1_800_000_007_000;
        RangeQuery {
            query: "up".to_owned(),
            start_ms: end - span_ms,
            end_ms: end,
            step_ms,
            timeout: None,
        }
    }

    #[test]
    fn seven_days_at_fifteen_seconds_become_five_minutes() {
        let (planned, info) = plan_range(&range(7 * 86_400_000, 15_000), 2500);
        assert_eq!(planned.step_ms, 300_000);
        let info = info.unwrap_or_default();
        assert!(info.contains("from 15s to 5m"), "{info}");
        assert!((planned.end_ms - planned.start_ms) / planned.step_ms < 2500);
        // With a smaller budget the ladder goes on to an hour.
        assert_eq!(
            plan_range(&range(7 * 86_400_000, 15_000), 200).0.step_ms,
            3_600_000
        );
    }

    #[test]
    fn steps_within_budget_are_kept_and_ranges_aligned() {
        let (planned, info) = plan_range(&range(3_600_000, 15_000), 2500);
        assert_eq!(info, None);
        assert_eq!(planned.step_ms, 15_000);
        assert_eq!(planned.start_ms % 15_000, 0);
        assert_eq!(planned.end_ms % 15_000, 0);
        assert!(planned.end_ms <= 1_800_000_007_000 && planned.end_ms > 1_800_000_007_000 - 15_000);
        // Two loads a few seconds apart ask the same question.
        let mut later = range(3_600_000, 15_000);
        later.start_ms += 3_000;
        later.end_ms += 3_000;
        let (again, _) = plan_range(&later, 2500);
        assert_eq!(
            (again.start_ms, again.end_ms),
            (planned.start_ms, planned.end_ms)
        );
    }

    #[test]
    fn spans_beyond_the_ladder_use_whole_days() {
        let (planned, _) = plan_range(&range(3_650 * 86_400_000, 60_000), 100);
        assert_eq!(planned.step_ms % 86_400_000, 0);
        assert!(planned.step_ms >= 37 * 86_400_000);
    }
}
