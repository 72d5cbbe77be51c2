//! `level_shift`: the median of a short window centred on the point (`level_shift_window`
//! points) against the median and robust spread of the trailing baseline before that
//! window. A median of several points ignores single spikes and picks up sustained moves
//! smaller than a z-score would need; the price is half a window of delay at the live edge.

use super::{DetectOptions, Finding, Flag, runs};
use crate::series::Grid;
use crate::stats::{baseline, median_in_place};

pub(crate) fn detect(grid: &Grid, from: usize, options: &DetectOptions) -> Vec<Finding> {
    let n = grid.values.len();
    let half = (options.level_shift_window / 2) as isize;
    let window = options.baseline_points as isize;
    let floor = options.floor();
    let mut flags = vec![None; n];
    for (i, flag) in flags.iter_mut().enumerate().skip(from) {
        let at = i as isize;
        if at + half >= n as isize || !grid.values[i].is_finite() {
            continue;
        }
        let mut centre = grid.finite(at - half, at + half + 1);
        if centre.len() <= half as usize {
            continue;
        }
        let Some(centre) = median_in_place(&mut centre) else {
            continue;
        };
        let Some(before) = baseline(
            &grid.finite(at - half - window, at - half),
            options.min_baseline(),
            floor,
        ) else {
            continue;
        };
        let stat = (centre - before.median) / before.spread;
        if stat.is_finite() {
            *flag = Some(Flag {
                stat,
                baseline: before.median,
            });
        }
    }
    runs(grid, &flags, options.level_shift_threshold, options)
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::test_support::*;

    #[test]
    fn a_level_shift_is_found_and_short_spikes_are_not() {
        let mut values: Vec<f64> = noise(500, 7).iter().map(|n| 20.0 + n).collect();
        for v in &mut values[300..360] {
            *v += 8.0;
        }
        let found = run(&values, 200, Method::LevelShift);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!((found[0].start_ms - 300 * STEP).abs() <= 2 * STEP);
        // As the shift fills the trailing baseline, it becomes the new normal.
        assert!(
            (330 * STEP..=362 * STEP).contains(&found[0].end_ms),
            "{found:?}"
        );
        assert!(found[0].summary.contains("shifted up"));

        let mut spiky: Vec<f64> = noise(500, 8).iter().map(|n| 20.0 + n).collect();
        spiky[300] = 90.0;
        spiky[301] = 90.0;
        assert!(run(&spiky, 200, Method::LevelShift).is_empty());
    }

    #[test]
    fn noise_gives_nothing() {
        for seed in 1..10 {
            let values: Vec<f64> = noise(2000, seed).iter().map(|n| 5.0 + n).collect();
            assert!(
                run(&values, 150, Method::LevelShift).is_empty(),
                "seed {seed}"
            );
        }
    }
}
