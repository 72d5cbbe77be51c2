//! Counter and gauge change functions: `rate`, `increase`, `delta`, `irate`,
//! `idelta`, `deriv`, `predict_linear`, `resets`, `changes`.

use super::super::numeric::kahan_inc;
use super::super::types::Point;
use super::Window;
use crate::error::EvalError;

type Out = Result<Option<f64>, EvalError>;

pub(super) fn rate(w: &Window<'_>) -> Out {
    Ok(extrapolated_rate(w, true, true))
}

pub(super) fn increase(w: &Window<'_>) -> Out {
    Ok(extrapolated_rate(w, true, false))
}

pub(super) fn delta(w: &Window<'_>) -> Out {
    Ok(extrapolated_rate(w, false, false))
}

/// The change over the window, extrapolated towards the window edges: all the way when
/// the first/last sample is within 1.1 average sample intervals of the edge, otherwise by
/// half an interval; counters are never extrapolated below zero.
fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.points;
    if s.len() < 2 {
        return None;
    }
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.f - first.f;
    if is_counter {
        for pair in s.windows(2) {
            if pair[1].f < pair[0].f {
                result += pair[0].f;
            }
        }
    }
    let mut to_start = (first.t - w.range_start) as f64 / 1000.0;
    let mut to_end = (w.range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_interval = sampled / (s.len() - 1) as f64;
    let threshold = avg_interval * 1.1;
    if to_start >= threshold {
        to_start = avg_interval / 2.0;
    }
    if is_counter && result > 0.0 && first.f >= 0.0 {
        // Extrapolating further back would imply a negative counter.
        let to_zero = sampled * (first.f / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_interval / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= (w.range_end - w.range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

pub(super) fn irate(w: &Window<'_>) -> Out {
    Ok(instant_value(w.points, true))
}

pub(super) fn idelta(w: &Window<'_>) -> Out {
    Ok(instant_value(w.points, false))
}

/// Change between the last two samples (per second for `irate`, which treats a drop as
/// a counter reset).
fn instant_value(s: &[Point], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let prev = s[s.len() - 2];
    let last = s[s.len() - 1];
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let mut v = if is_rate && last.f < prev.f {
        last.f
    } else {
        last.f - prev.f
    };
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit `value = slope * (t - intercept_time) + intercept`, t in seconds.
fn linear_regression(s: &[Point], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].f;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(p.f, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * p.f, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

pub(super) fn deriv(w: &Window<'_>) -> Out {
    if w.points.len() < 2 {
        return Ok(None);
    }
    // Regress relative to the first sample to keep the numbers small.
    Ok(Some(linear_regression(w.points, w.points[0].t).0))
}

pub(super) fn predict_linear(w: &Window<'_>) -> Out {
    if w.points.len() < 2 {
        return Ok(None);
    }
    let duration = w.args.first().copied().unwrap_or(f64::NAN);
    let (slope, intercept) = linear_regression(w.points, w.ts);
    Ok(Some(slope * duration + intercept))
}

pub(super) fn resets(w: &Window<'_>) -> Out {
    let n = w.points.windows(2).filter(|p| p[1].f < p[0].f).count();
    Ok(Some(n as f64))
}

pub(super) fn changes(w: &Window<'_>) -> Out {
    let n = w
        .points
        .windows(2)
        .filter(|p| p[1].f != p[0].f && !(p[1].f.is_nan() && p[0].f.is_nan()))
        .count();
    Ok(Some(n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(points: &[(i64, f64)], start: i64, end: i64) -> Vec<Point> {
        let _ = (start, end);
        points.iter().map(|&(t, f)| Point { t, f }).collect()
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // Samples every 10s from 10s to 60s increasing by 1; window (0, 60s].
        let pts = window(
            &[
                (10_000, 1.0),
                (20_000, 2.0),
                (30_000, 3.0),
                (40_000, 4.0),
                (50_000, 5.0),
                (60_000, 6.0),
            ],
            0,
            60_000,
        );
        let w = Window {
            points: &pts,
            ts: 60_000,
            range_start: 0,
            range_end: 60_000,
            args: &[],
        };
        // Increase is 5 over 50s, extrapolated to 60s -> 6 (bounded by zero point at 10s
        // before the first sample: value 1 means zero at t=0).
        assert_eq!(increase(&w).unwrap(), Some(6.0));
        assert_eq!(rate(&w).unwrap(), Some(0.1));
    }

    #[test]
    fn rate_handles_counter_resets() {
        let pts = window(&[(0, 5.0), (10_000, 10.0), (20_000, 2.0)], 0, 20_000);
        let w = Window {
            points: &pts,
            ts: 20_000,
            range_start: -1,
            range_end: 20_000,
            args: &[],
        };
        let inc = increase(&w).unwrap().unwrap();
        assert!((inc - 7.0 * 20_001.0 / 20_000.0).abs() < 1e-9, "{inc}");
    }

    #[test]
    fn irate_uses_last_two_samples() {
        let pts = window(&[(0, 1.0), (10_000, 5.0), (20_000, 2.0)], 0, 20_000);
        let w = Window {
            points: &pts,
            ts: 20_000,
            range_start: 0,
            range_end: 20_000,
            args: &[],
        };
        assert_eq!(irate(&w).unwrap(), Some(0.2));
        assert_eq!(idelta(&w).unwrap(), Some(-3.0));
    }

    #[test]
    fn deriv_and_predict_linear_fit_a_line() {
        let pts = window(&[(0, 0.0), (10_000, 10.0), (20_000, 20.0)], 0, 20_000);
        let w = Window {
            points: &pts,
            ts: 20_000,
            range_start: 0,
            range_end: 20_000,
            args: &[10.0],
        };
        assert_eq!(deriv(&w).unwrap(), Some(1.0));
        assert_eq!(predict_linear(&w).unwrap(), Some(30.0));
    }

    #[test]
    fn resets_and_changes_count_transitions() {
        let pts = window(&[(0, 1.0), (1, 0.0), (2, 0.0), (3, 5.0)], 0, 3);
        let w = Window {
            points: &pts,
            ts: 3,
            range_start: 0,
            range_end: 3,
            args: &[],
        };
        assert_eq!(resets(&w).unwrap(), Some(1.0));
        assert_eq!(changes(&w).unwrap(), Some(2.0));
    }
}
