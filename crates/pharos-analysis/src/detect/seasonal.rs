//! `seasonal_zscore`: a point's robust z-score against two baselines, the recent past (the
//! trailing `baseline_points`) and, when the history has it, the same time of day on
//! previous seasons (± `season_half_window_ms`). With both, the point must be anomalous
//! against both, in the same direction, and the weaker z counts: a daily ramp is normal
//! against yesterday, a slow drift is normal against the last hours, an incident is
//! abnormal against both.

use super::{DetectOptions, Finding, Flag, runs};
use crate::series::Grid;
use crate::stats::{baseline, baseline_of};

pub(crate) fn detect(grid: &Grid, from: usize, options: &DetectOptions) -> Vec<Finding> {
    let n = grid.values.len();
    let window = options.baseline_points as isize;
    let season = (options.season_ms / grid.step) as isize;
    let half = (options.season_half_window_ms / grid.step) as isize;
    let floor = options.floor();
    let mut flags = vec![None; n];
    for (i, flag) in flags.iter_mut().enumerate().skip(from) {
        let x = grid.values[i];
        if !x.is_finite() {
            continue;
        }
        let at = i as isize;
        let Some(recent) = baseline(&grid.finite(at - window, at), options.min_baseline(), floor)
        else {
            continue;
        };
        let z_recent = (x - recent.median) / recent.spread;
        let mut seasonal = Vec::new();
        if season > 0 {
            for k in 1..=options.seasons as isize {
                let centre = at - k * season;
                if centre + half < 0 {
                    break;
                }
                seasonal.extend(grid.finite(centre - half, centre + half + 1));
            }
        }
        let (stat, expected) = match baseline_of(&mut seasonal, options.min_baseline(), floor) {
            Some(past) => {
                let z_past = (x - past.median) / past.spread;
                if z_past.signum() != z_recent.signum() {
                    (0.0, recent.median)
                } else if z_past.abs() < z_recent.abs() {
                    (z_past, past.median)
                } else {
                    (z_recent, recent.median)
                }
            }
            None => (z_recent, recent.median),
        };
        if stat.is_finite() {
            *flag = Some(Flag {
                stat,
                baseline: expected,
            });
        }
    }
    runs(grid, &flags, options.z_threshold, options)
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::test_support::*;

    #[test]
    fn a_spike_is_found_with_its_start_and_end() {
        let mut values: Vec<f64> = noise(400, 1).iter().map(|n| 50.0 + 2.0 * n).collect();
        for v in &mut values[300..315] {
            *v *= 6.0;
        }
        let found = run(&values, 200, Method::SeasonalZscore);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].start_ms, 300 * STEP);
        assert_eq!(found[0].end_ms, 314 * STEP);
        assert!(found[0].score > 1.0);
        assert!(
            found[0].summary.contains("unusually high"),
            "{}",
            found[0].summary
        );
    }

    #[test]
    fn gaussian_noise_and_flat_series_give_nothing() {
        for seed in 1..20 {
            let values: Vec<f64> = noise(2000, seed).iter().map(|n| 10.0 + n).collect();
            assert!(
                run(&values, 150, Method::SeasonalZscore).is_empty(),
                "seed {seed}"
            );
        }
        assert!(run(&[7.0; 500], 150, Method::SeasonalZscore).is_empty());
        // A daily wave is normal against the previous day, even where it climbs fast.
        let day = 1440;
        let values: Vec<f64> = noise(3 * day, 5)
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let phase = std::f64::consts::TAU * (i % day) as f64 / day as f64;
                100.0 + 60.0 * phase.sin() + n
            })
            .collect();
        assert!(run(&values, 2 * day, Method::SeasonalZscore).is_empty());
    }

    #[test]
    fn a_single_point_is_noise() {
        let mut values: Vec<f64> = noise(300, 2).iter().map(|n| 50.0 + n).collect();
        values[250] = 500.0;
        assert!(run(&values, 150, Method::SeasonalZscore).is_empty());
    }
}
