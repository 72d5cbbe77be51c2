//! Numeric building blocks shared by aggregations and functions.

/// One step of Kahan-Neumaier compensated summation: returns the new sum and
/// compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Smallest positive normal f64.
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Relative float equality as Prometheus defines it (NaN equals NaN).
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Prometheus' value ordering for sorting: NaN sorts before everything (a total order,
/// as sorting requires).
pub(crate) fn cmp_nan_first(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The φ-quantile of `values` (sorted in place), interpolating between neighbours.
/// NaN for no values or a NaN φ; ±Inf for φ outside `[0, 1]`.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| cmp_nan_first(*a, *b));
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// One bucket of a classic histogram: upper bound (`le`) and cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Relative delta below which neighbouring bucket counts are treated as equal (float
/// noise from summing many series).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Result of [`bucket_quantile`].
pub(crate) struct BucketQuantile {
    pub value: f64,
    pub forced_monotonic: bool,
}

fn sort_and_coalesce(buckets: &mut Vec<Bucket>) {
    // total_cmp: a malformed NaN bound must not break the sort.
    buckets.sort_by(|a, b| a.upper.total_cmp(&b.upper));
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.drain(..) {
        match out.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(b),
        }
    }
    *buckets = out;
}

/// The φ-quantile of a classic histogram, interpolating linearly inside a bucket.
pub(crate) fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>) -> BucketQuantile {
    let nan = |forced| BucketQuantile {
        value: f64::NAN,
        forced_monotonic: forced,
    };
    if q.is_nan() {
        return nan(false);
    }
    if q < 0.0 {
        return BucketQuantile {
            value: f64::NEG_INFINITY,
            forced_monotonic: false,
        };
    }
    if q > 1.0 {
        return BucketQuantile {
            value: f64::INFINITY,
            forced_monotonic: false,
        };
    }
    sort_and_coalesce(&mut buckets);
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return nan(false);
    }
    let forced = ensure_monotonic(&mut buckets);
    if buckets.len() < 2 {
        return nan(false);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return nan(false);
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1]
        .iter()
        .position(|x| x.count >= rank)
        .unwrap_or(buckets.len() - 1);
    let value = if b == buckets.len() - 1 {
        buckets[buckets.len() - 2].upper
    } else if b == 0 && buckets[0].upper <= 0.0 {
        buckets[0].upper
    } else {
        let mut bucket_start = 0.0;
        let bucket_end = buckets[b].upper;
        let mut count = buckets[b].count;
        if b > 0 {
            bucket_start = buckets[b - 1].upper;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    };
    BucketQuantile {
        value,
        forced_monotonic: forced,
    }
}

/// Ignores float-noise differences between neighbouring buckets and removes any
/// decrease in cumulative counts; returns whether a real decrease had to be removed.
fn ensure_monotonic(buckets: &mut [Bucket]) -> bool {
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Fraction of observations between `lower` and `upper` in a classic histogram.
///
/// Inside finite buckets observations are assumed evenly spread (the lowest bucket
/// starts at 0 when its upper bound is positive); observations of an infinitely wide
/// bucket are assumed to sit at its infinite end, so they only count when the range
/// reaches that infinity.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, mut buckets: Vec<Bucket>) -> f64 {
    sort_and_coalesce(&mut buckets);
    let Some(last) = buckets.last() else {
        return f64::NAN;
    };
    if last.upper != f64::INFINITY {
        return f64::NAN;
    }
    ensure_monotonic(&mut buckets);
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    // Number of observations at or below `v`.
    let rank_at = |v: f64| -> f64 {
        if v == f64::NEG_INFINITY {
            return 0.0;
        }
        if v == f64::INFINITY {
            return total;
        }
        let mut prev_upper = 0.0;
        let mut prev_count = 0.0;
        for (i, b) in buckets.iter().enumerate() {
            if v <= b.upper {
                if b.upper == f64::INFINITY {
                    return prev_count;
                }
                if i == 0 {
                    if b.upper <= 0.0 {
                        // (-Inf, upper]: its observations sit at -Inf, below v.
                        return b.count;
                    }
                    if v <= 0.0 {
                        return 0.0;
                    }
                }
                return prev_count
                    + (b.count - prev_count) * (v - prev_upper) / (b.upper - prev_upper);
            }
            prev_upper = b.upper;
            prev_count = b.count;
        }
        total
    };
    (rank_at(upper) - rank_at(lower)) / total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(upper: f64, count: f64) -> Bucket {
        Bucket { upper, count }
    }

    #[test]
    fn kahan_summation_recovers_lost_precision() {
        let mut sum = 0.0;
        let mut c = 0.0;
        for x in [1e100, 1.0, -1e100] {
            (sum, c) = kahan_inc(x, sum, c);
        }
        assert_eq!(sum + c, 1.0);
    }

    #[test]
    fn quantile_interpolates_and_handles_edges() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn bucket_quantile_interpolates_linearly() {
        let bs = vec![b(1.0, 10.0), b(2.0, 20.0), b(f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, bs.clone()).value, 1.0);
        assert_eq!(bucket_quantile(0.75, bs).value, 1.5);
    }

    #[test]
    fn bucket_quantile_needs_an_inf_bucket() {
        assert!(
            bucket_quantile(0.5, vec![b(1.0, 1.0), b(2.0, 2.0)])
                .value
                .is_nan()
        );
    }

    #[test]
    fn bucket_quantile_reports_forced_monotonicity() {
        let r = bucket_quantile(0.5, vec![b(1.0, 10.0), b(2.0, 5.0), b(f64::INFINITY, 10.0)]);
        assert!(r.forced_monotonic);
    }

    #[test]
    fn bucket_fraction_interpolates() {
        let bs = vec![b(1.0, 10.0), b(2.0, 20.0), b(f64::INFINITY, 20.0)];
        assert_eq!(bucket_fraction(0.0, 1.5, bs.clone()), 0.75);
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, bs), 1.0);
        // Observations of (-Inf, -3] only count when the range reaches -Inf.
        let neg = vec![b(-3.0, 10.0), b(-2.0, 12.0), b(f64::INFINITY, 100.0)];
        assert_eq!(bucket_fraction(-4.0, -2.0, neg.clone()), 0.02);
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, -2.0, neg), 0.12);
    }
}
