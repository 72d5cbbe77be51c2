//! `rate_of_change`: the slope over the last `rate_window` points against the median and
//! robust spread of the slopes in the trailing baseline. A lag that keeps growing or a
//! counter that stops increasing changes its slope long before its level looks unusual.
//! The expected value is the last value before the window moved on along the usual slope.

use super::{DetectOptions, Finding, Flag, runs};
use crate::series::Grid;
use crate::stats::baseline;

pub(crate) fn detect(grid: &Grid, from: usize, options: &DetectOptions) -> Vec<Finding> {
    let n = grid.values.len();
    let k = options.rate_window;
    let seconds = (k as f64) * grid.step as f64 / 1000.0;
    let slopes: Vec<f64> = (0..n)
        .map(|i| {
            if i < k {
                return f64::NAN;
            }
            let (a, b) = (grid.values[i - k], grid.values[i]);
            if a.is_finite() && b.is_finite() {
                (b - a) / seconds
            } else {
                f64::NAN
            }
        })
        .collect();
    let window = options.baseline_points as isize;
    let floor = options.floor();
    let mut flags = vec![None; n];
    for (i, flag) in flags.iter_mut().enumerate().skip(from.max(k)) {
        let slope = slopes[i];
        if !slope.is_finite() {
            continue;
        }
        let end = (i - k) as isize;
        let from = (end - window).max(0) as usize;
        let Some(usual) = baseline(
            &slopes[from..end.max(0) as usize],
            options.min_baseline(),
            floor,
        ) else {
            continue;
        };
        let stat = (slope - usual.median) / usual.spread;
        let expected = grid.values[i - k] + usual.median * seconds;
        if stat.is_finite() && expected.is_finite() {
            *flag = Some(Flag {
                stat,
                baseline: expected,
            });
        }
    }
    runs(grid, &flags, options.rate_threshold, options)
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::test_support::*;

    #[test]
    fn a_growing_lag_and_a_stopped_counter_are_found() {
        // A lag that hovers around 1000, then grows by 500 per minute for 15 minutes.
        let mut lag: Vec<f64> = noise(400, 11).iter().map(|n| 1000.0 + 50.0 * n).collect();
        for (j, v) in lag[300..315].iter_mut().enumerate() {
            *v += 500.0 * (j + 1) as f64;
        }
        let found = run(&lag, 200, Method::RateOfChange);
        assert!(!found.is_empty());
        assert!(
            (found[0].start_ms - 300 * STEP).abs() <= 2 * STEP,
            "{found:?}"
        );
        assert!(found[0].summary.contains("rising"));

        // A counter growing 100 ± 3 per minute that stops for 20 minutes.
        let jitter = noise(400, 12);
        let mut total = 0.0;
        let counter: Vec<f64> = (0..400)
            .map(|i| {
                if !(300..320).contains(&i) {
                    total += 100.0 + 3.0 * jitter[i];
                }
                total
            })
            .collect();
        let found = run(&counter, 200, Method::RateOfChange);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].summary.contains("falling or stalled"));
        assert!((found[0].start_ms - 300 * STEP).abs() <= 2 * STEP);
    }

    #[test]
    fn a_steady_counter_and_noise_give_nothing() {
        let jitter = noise(1000, 13);
        let mut total = 0.0;
        let counter: Vec<f64> = jitter
            .iter()
            .map(|j| {
                total += 100.0 + 3.0 * j;
                total
            })
            .collect();
        assert!(run(&counter, 150, Method::RateOfChange).is_empty());
        let values: Vec<f64> = noise(1000, 14).iter().map(|n| 3.0 + n).collect();
        assert!(run(&values, 150, Method::RateOfChange).is_empty());
    }
}
