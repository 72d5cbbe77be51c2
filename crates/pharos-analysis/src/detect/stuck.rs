//! `stuck`: the same value repeated for at least `stuck_min_points`, in a series that
//! normally moves. How often the series repeats itself in the trailing baseline (equal
//! consecutive points, Laplace-smoothed) gives the chance `p^(L−1)` of a run of `L` equal
//! points; the run is anomalous when that chance is below `stuck_max_chance`. A series that
//! repeats itself half the time or more (an idle GPU at 0, a flag) is never stuck.

use super::{DetectOptions, Direction, Finding};
use crate::series::Grid;
use crate::stats::median;

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

pub(crate) fn detect(grid: &Grid, from: usize, options: &DetectOptions) -> Vec<Finding> {
    let values = &grid.values;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=values.len() {
        let continues = i < values.len()
            && values[i].is_finite()
            && values[start].is_finite()
            && same(values[i], values[start]);
        if continues {
            continue;
        }
        let end = i - 1;
        if end >= from
            && end + 1 - start >= options.stuck_min_points
            && values[start].is_finite()
            && let Some(finding) = judge(grid, start, end, options)
        {
            out.push(finding);
        }
        start = i;
    }
    out
}

fn judge(grid: &Grid, start: usize, end: usize, options: &DetectOptions) -> Option<Finding> {
    let window = &grid.values[start.saturating_sub(options.baseline_points)..start];
    let finite = window.iter().filter(|v| v.is_finite()).count();
    if finite < options.min_baseline() {
        return None;
    }
    let (mut pairs, mut equal) = (0u32, 0u32);
    for pair in window.windows(2) {
        if pair[0].is_finite() && pair[1].is_finite() {
            pairs += 1;
            equal += u32::from(same(pair[0], pair[1]));
        }
    }
    let p = (f64::from(equal) + 1.0) / (f64::from(pairs) + 2.0);
    if p >= 0.5 {
        return None;
    }
    let length = end + 1 - start;
    let log_chance = (length - 1) as f64 * p.log10();
    let threshold = options.stuck_max_chance.log10();
    if log_chance > threshold {
        return None;
    }
    let value = grid.values[start];
    let usual = median(window)?;
    // Up when the value sits high in the baseline (pinned at full utilisation), down when
    // it sits low (an idle floor): judged by how many baseline values lie on each side, so
    // a value equal to the median still gets its side.
    let below = window.iter().filter(|v| **v < value).count();
    let above = window.iter().filter(|v| **v > value).count();
    Some(Finding {
        start,
        end,
        peak: end,
        strength: log_chance / threshold,
        direction: if below > above {
            Direction::Up
        } else {
            Direction::Down
        },
        value,
        baseline: usual,
        detail: format!(
            "{length} equal points; before, it repeated itself {:.0} % of the time",
            p * 100.0
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::test_support::*;

    #[test]
    fn a_pinned_value_is_found_where_the_series_normally_moves() {
        let mut util: Vec<f64> = noise(400, 21)
            .iter()
            .map(|n| (95.0 + 3.0 * n).clamp(0.0, 100.0).round())
            .collect();
        for v in &mut util[300..320] {
            *v = 100.0;
        }
        let found = run(&util, 200, Method::Stuck);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].start_ms <= 300 * STEP && found[0].start_ms >= 298 * STEP);
        assert!(found[0].end_ms >= 319 * STEP);
        assert!(
            found[0].summary.contains("stuck at 100"),
            "{}",
            found[0].summary
        );
    }

    #[test]
    fn an_idle_floor_is_stuck_down_even_when_it_is_the_usual_value() {
        // Mostly idle at 0 with busy spells: back at 0 for long is "down", not "up".
        let busy = noise(400, 23);
        let mut util: Vec<f64> = (0..400)
            .map(|i| {
                if (150..200).contains(&i) || (240..260).contains(&i) {
                    (55.0 + 10.0 * busy[i]).round()
                } else {
                    0.0
                }
            })
            .collect();
        util[399] = 1.0;
        let found = run(&util, 260, Method::Stuck);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].direction, super::Direction::Down);
    }

    #[test]
    fn a_series_that_is_always_flat_or_coarse_is_not_stuck() {
        assert!(run(&[0.0; 500], 150, Method::Stuck).is_empty());
        // Integer values of a quiet series repeat often: runs of a few are normal.
        let coarse: Vec<f64> = noise(3000, 22)
            .iter()
            .map(|n| (10.0 + 0.5 * n).round())
            .collect();
        assert!(run(&coarse, 150, Method::Stuck).is_empty());
    }
}
