//! `*_over_time` functions and `double_exponential_smoothing`.

use super::super::numeric::{kahan_inc, quantile};
use super::Window;
use crate::error::EvalError;

type Out = Result<Option<f64>, EvalError>;

pub(super) fn avg(w: &Window<'_>) -> Out {
    let s = w.points;
    let (mut sum, mut count) = (s[0].f, 1.0);
    let (mut mean, mut c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, p) in s.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(p.f, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            // The running sum would overflow: switch to an incremental mean.
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.f / count, q * mean, q * c);
    }
    Ok(Some(if incremental {
        mean + c
    } else {
        sum / count + c / count
    }))
}

pub(super) fn sum(w: &Window<'_>) -> Out {
    let (mut sum, mut c) = (0.0, 0.0);
    for p in w.points {
        (sum, c) = kahan_inc(p.f, sum, c);
    }
    Ok(Some(if sum.is_infinite() { sum } else { sum + c }))
}

pub(super) fn count(w: &Window<'_>) -> Out {
    Ok(Some(w.points.len() as f64))
}

fn extreme(w: &Window<'_>, better: fn(f64, f64) -> bool) -> (f64, i64) {
    let (mut best, mut t) = (w.points[0].f, w.points[0].t);
    for p in w.points {
        if better(p.f, best) || best.is_nan() {
            best = p.f;
            t = p.t;
        }
    }
    (best, t)
}

pub(super) fn min(w: &Window<'_>) -> Out {
    Ok(Some(extreme(w, |cur, best| cur < best).0))
}

pub(super) fn max(w: &Window<'_>) -> Out {
    Ok(Some(extreme(w, |cur, best| cur > best).0))
}

pub(super) fn ts_of_min(w: &Window<'_>) -> Out {
    Ok(Some(extreme(w, |cur, best| cur <= best).1 as f64 / 1000.0))
}

pub(super) fn ts_of_max(w: &Window<'_>) -> Out {
    Ok(Some(extreme(w, |cur, best| cur >= best).1 as f64 / 1000.0))
}

pub(super) fn ts_of_first(w: &Window<'_>) -> Out {
    Ok(Some(w.points[0].t as f64 / 1000.0))
}

pub(super) fn ts_of_last(w: &Window<'_>) -> Out {
    Ok(w.points.last().map(|p| p.t as f64 / 1000.0))
}

/// Population variance with compensated (Kahan) accumulation of mean and deviations.
fn variance(w: &Window<'_>) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in w.points {
        count += 1.0;
        let delta = p.f - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.f - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

pub(super) fn stdvar(w: &Window<'_>) -> Out {
    Ok(Some(variance(w)))
}

pub(super) fn stddev(w: &Window<'_>) -> Out {
    Ok(Some(variance(w).sqrt()))
}

pub(super) fn last(w: &Window<'_>) -> Out {
    Ok(w.points.last().map(|p| p.f))
}

pub(super) fn first(w: &Window<'_>) -> Out {
    Ok(Some(w.points[0].f))
}

pub(super) fn present(_w: &Window<'_>) -> Out {
    Ok(Some(1.0))
}

pub(super) fn quantile_over_time(w: &Window<'_>) -> Out {
    let q = w.args.first().copied().unwrap_or(f64::NAN);
    let mut values: Vec<f64> = w.points.iter().map(|p| p.f).collect();
    Ok(Some(quantile(q, &mut values)))
}

pub(super) fn mad(w: &Window<'_>) -> Out {
    if w.points.iter().any(|p| p.f.is_nan()) {
        return Ok(Some(f64::NAN));
    }
    let mut values: Vec<f64> = w.points.iter().map(|p| p.f).collect();
    let median = quantile(0.5, &mut values);
    let mut dev: Vec<f64> = w.points.iter().map(|p| (p.f - median).abs()).collect();
    Ok(Some(quantile(0.5, &mut dev)))
}

/// Holt's linear smoothing with smoothing factor `sf` and trend factor `tf`.
pub(super) fn double_exponential_smoothing(w: &Window<'_>) -> Out {
    let sf = w.args.first().copied().unwrap_or(f64::NAN);
    let tf = w.args.get(1).copied().unwrap_or(f64::NAN);
    if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
        return Err(EvalError::exec(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
        return Err(EvalError::exec(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    let s = w.points;
    if s.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, s[0].f);
    let mut b = s[1].f - s[0].f;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.f;
        // The trend of the first step is the initial difference itself.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::super::super::types::Point;
    use super::*;

    fn w(points: &[Point]) -> Window<'_> {
        Window {
            points,
            ts: 0,
            range_start: 0,
            range_end: 0,
            args: &[],
        }
    }

    fn pts(vals: &[f64]) -> Vec<Point> {
        vals.iter()
            .enumerate()
            .map(|(i, &f)| Point {
                t: i as i64 * 1000,
                f,
            })
            .collect()
    }

    #[test]
    fn basic_aggregates_over_time() {
        let p = pts(&[1.0, 4.0, 2.0, 3.0]);
        assert_eq!(avg(&w(&p)).unwrap(), Some(2.5));
        assert_eq!(sum(&w(&p)).unwrap(), Some(10.0));
        assert_eq!(count(&w(&p)).unwrap(), Some(4.0));
        assert_eq!(min(&w(&p)).unwrap(), Some(1.0));
        assert_eq!(max(&w(&p)).unwrap(), Some(4.0));
        assert_eq!(ts_of_max(&w(&p)).unwrap(), Some(1.0));
        assert_eq!(stdvar(&w(&p)).unwrap(), Some(1.25));
        assert_eq!(last(&w(&p)).unwrap(), Some(3.0));
        assert_eq!(first(&w(&p)).unwrap(), Some(1.0));
        assert_eq!(mad(&w(&p)).unwrap(), Some(1.0));
    }

    #[test]
    fn max_over_time_skips_leading_nan() {
        let p = pts(&[f64::NAN, 1.0]);
        assert_eq!(max(&w(&p)).unwrap(), Some(1.0));
    }

    #[test]
    fn smoothing_rejects_bad_factors() {
        let p = pts(&[1.0, 2.0]);
        let win = Window {
            args: &[1.5, 0.5],
            ..w(&p)
        };
        assert!(double_exponential_smoothing(&win).is_err());
    }
}
