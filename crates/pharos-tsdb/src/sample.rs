//! The sample type stored by the database, and Prometheus' stale-marker NaN.

/// Bit pattern of the NaN Prometheus writes as a staleness marker. Any other NaN is an ordinary
/// value; only this exact pattern means "the series ended here".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`. Compare with [`is_stale_nan`], never with `==` (NaN ≠ NaN).
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// True when `value` is exactly Prometheus' staleness marker.
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One float sample: a timestamp in milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; NaN payloads (including [`STALE_NAN`]) are preserved bit for bit.
    pub v: f64,
}

impl Sample {
    /// Creates a sample.
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }
}

/// Samples are equal when timestamps match and values are bit-identical, so NaNs compare equal
/// to themselves and `-0.0` differs from `0.0`: exactly what round-trip tests need.
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

impl Eq for Sample {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_stale_pattern_is_stale() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(0.0));
        assert!(!is_stale_nan(f64::INFINITY));
    }

    #[test]
    fn equality_is_bitwise() {
        assert_eq!(Sample::new(1, f64::NAN), Sample::new(1, f64::NAN));
        assert_ne!(Sample::new(1, 0.0), Sample::new(1, -0.0));
        assert_ne!(Sample::new(1, 1.0), Sample::new(2, 1.0));
    }
}
