//! Robust statistics: medians and median absolute deviations that ignore missing points,
//! with a floor on the spread so a flat series does not turn every wiggle into an outlier.

/// Scale of the MAD to the standard deviation of a normal distribution.
pub(crate) const MAD_TO_SIGMA: f64 = 1.4826;

/// Median of the finite values (reorders `values`); `None` when there are none.
pub(crate) fn median_in_place(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if values.len() % 2 == 1 {
        return Some(upper);
    }
    let lower = values[..mid]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

/// Median of the finite values of `values`.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    median_in_place(&mut finite)
}

/// A robust centre and spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Baseline {
    /// Median.
    pub median: f64,
    /// 1.4826 × MAD, at least the floor.
    pub spread: f64,
    /// Values it was computed from.
    pub count: usize,
}

/// The spread floor: `absolute + relative × |median|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Floor {
    pub absolute: f64,
    pub relative: f64,
}

/// Median and floored MAD of the finite values in `values`; `None` with fewer than
/// `min_count` of them.
pub(crate) fn baseline(values: &[f64], min_count: usize, floor: Floor) -> Option<Baseline> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    baseline_of(&mut finite, min_count, floor)
}

/// Like [`baseline`] over a vector of finite values it may reorder.
pub(crate) fn baseline_of(finite: &mut [f64], min_count: usize, floor: Floor) -> Option<Baseline> {
    let count = finite.len();
    if count < min_count.max(1) {
        return None;
    }
    let median = median_in_place(finite)?;
    for value in finite.iter_mut() {
        *value = (*value - median).abs();
    }
    let mad = median_in_place(finite)?;
    let spread = (MAD_TO_SIGMA * mad).max(floor.absolute + floor.relative * median.abs());
    (spread.is_finite() && spread > 0.0).then_some(Baseline {
        median,
        spread,
        count,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FLOOR: Floor = Floor {
        absolute: 1e-9,
        relative: 0.0,
    };

    #[test]
    fn median_and_mad_ignore_missing_points_and_outliers() {
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN]), None);
        let b = baseline(&[1.0, 2.0, 3.0, 4.0, 1000.0], 3, FLOOR).unwrap();
        assert_eq!(b.median, 3.0);
        assert!((b.spread - MAD_TO_SIGMA).abs() < 1e-9);
        assert!(baseline(&[1.0, 2.0], 3, FLOOR).is_none());
    }

    #[test]
    fn a_flat_series_gets_the_floor_as_spread() {
        let b = baseline(
            &[5.0; 10],
            3,
            Floor {
                absolute: 0.1,
                relative: 0.05,
            },
        )
        .unwrap();
        assert!((b.spread - 0.35).abs() < 1e-9);
    }
}
