//! A small seeded random source (SplitMix64). Kept in the crate rather than taken from `rand`
//! so a seed produces the same fleet and the same series across dependency upgrades.

/// Deterministic pseudo-random numbers.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for one purpose, so adding draws elsewhere leaves it unchanged.
    pub(crate) fn derive(seed: u64, stream: u64) -> Self {
        let mut mixer = Self::new(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Self::new(mixer.next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    pub(crate) fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in `[low, high]`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low + 1).unwrap_or(1).max(1);
        low + i64::try_from(self.next_u64() % span).unwrap_or(0)
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Rounds `x ≥ 0` up or down at random so that the expected value is `x`: counters then
    /// grow by whole events without a systematic bias.
    pub(crate) fn round_stochastic(&mut self, x: f64) -> f64 {
        let x = x.max(0.0);
        let floor = x.floor();
        floor + if self.chance(x - floor) { 1.0 } else { 0.0 }
    }

    /// Lowercase hex digits, as in pod name suffixes and GPU UUIDs.
    pub(crate) fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[(self.next_u64() % 16) as usize]))
            .collect()
    }

    /// Kubernetes-style random suffix (`x2k4p`).
    pub(crate) fn pod_suffix(&mut self, length: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..length)
            .map(|_| char::from(ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize]))
            .collect()
    }
}

/// A mean-reverting random walk (Ornstein–Uhlenbeck in discrete steps): smooth wandering
/// around 0 with a typical size of `scale`, for values that should drift rather than jitter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wander {
    value: f64,
}

impl Wander {
    /// Advances by `dt_s` seconds; `period_s` is how fast it forgets its past.
    pub(crate) fn step(&mut self, rng: &mut Rng, dt_s: f64, period_s: f64, scale: f64) -> f64 {
        let keep = (-dt_s / period_s).exp();
        self.value = self.value * keep + scale * (1.0 - keep * keep).sqrt() * rng.normal();
        self.value
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error below 1.5e-7).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if z >= 0.0 { erf } else { -erf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let drawn: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(drawn, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::derive(7, 1).next_u64(), Rng::derive(7, 2).next_u64());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&rng.unit()));
            assert!((3..=5).contains(&rng.between(3, 5)));
            let r = rng.round_stochastic(2.3);
            assert!(r == 2.0 || r == 3.0);
        }
    }

    #[test]
    fn normal_cdf_matches_known_points() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((normal_cdf(-1.959_964) - 0.025).abs() < 1e-6);
        assert!(normal_cdf(10.0) <= 1.0 && normal_cdf(-10.0) >= 0.0);
    }
}
