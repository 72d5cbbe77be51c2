//! A mergeable quantile sketch with a relative-error guarantee, in the manner of DDSketch
//! (Masson, Rim, Lee, VLDB 2019): values fall in logarithmic buckets `(γ^(i-1), γ^i]` with
//! `γ = (1+α)/(1-α)`, and a quantile is answered with its bucket's representative
//! `2γ^i/(γ+1)`, which is within a factor `1 ± α` of every value in that bucket. Ranks are
//! exact (counts are exact), so the answer is within `α` of the true value at that rank.
//!
//! With [`RELATIVE_ACCURACY`] = 0.5 %, latencies from 1 µs to an hour span about 2,200 buckets;
//! the counts live in one dense vector over the occupied index range (a few KiB for a typical
//! service). Small buckets are also kept exactly (up to [`EXACT_LIMIT`] values), so quiet
//! services get exact quantiles.

/// The guaranteed relative error of a quantile answered from the sketch (0.5 %, half the
/// 1 % the latency SLOs need, so the exact-vs-sketch tests have room).
pub const RELATIVE_ACCURACY: f64 = 0.005;
/// Values below this (ms) count as zero: a microsecond is below any latency worth an SLO.
pub const MIN_VALUE_MS: f64 = 1e-3;
/// Up to this many values a bucket also keeps them all and answers exactly.
pub const EXACT_LIMIT: usize = 2048;

/// The sketch. Values must be finite and ≥ 0 (the parsers guarantee it).
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    /// Count of values below [`MIN_VALUE_MS`].
    zeros: u64,
    /// Index of `counts[0]`.
    offset: i32,
    counts: Vec<u64>,
    total: u64,
    /// Every value while there are at most [`EXACT_LIMIT`]; `None` after that.
    exact: Option<Vec<f64>>,
}

impl Default for Sketch {
    fn default() -> Self {
        Self {
            zeros: 0,
            offset: 0,
            counts: Vec::new(),
            total: 0,
            exact: Some(Vec::new()),
        }
    }
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

fn index_of(value: f64) -> i32 {
    // ceil(log_γ(value)); values are bounded (≤ an hour in ms), so this fits an i32.
    (value.ln() / gamma().ln()).ceil() as i32
}

fn representative(index: i32) -> f64 {
    let g = gamma();
    2.0 * g.powi(index) / (g + 1.0)
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values added.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Values at most `limit`: exact while [`Sketch::is_exact`]; else counted by log bucket, so
    /// values in `limit`'s bucket, up to about `2 × RELATIVE_ACCURACY` above it, count too.
    pub fn count_at_most(&self, limit: f64) -> u64 {
        if let Some(exact) = &self.exact {
            return exact.iter().filter(|v| **v <= limit).count() as u64;
        }
        if limit < MIN_VALUE_MS {
            return if limit >= 0.0 { self.zeros } else { 0 };
        }
        let last = index_of(limit);
        let within = self
            .counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| self.offset + *i as i32 <= last)
            .map(|(_, c)| c)
            .sum::<u64>();
        self.zeros + within
    }

    /// True when the quantiles are exact (few values so far).
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Adds one value (negative or non-finite values are ignored; the parsers never pass any).
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        self.total += 1;
        if let Some(exact) = &mut self.exact {
            if exact.len() < EXACT_LIMIT {
                exact.push(value);
            } else {
                self.exact = None;
            }
        }
        if value < MIN_VALUE_MS {
            self.zeros += 1;
        } else {
            self.add_index(index_of(value), 1);
        }
    }

    fn add_index(&mut self, index: i32, count: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(count);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            let mut counts = vec![0; grow];
            counts.append(&mut self.counts);
            self.counts = counts;
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += count;
    }

    /// Adds every value of `other` (sketches of the same accuracy merge exactly).
    pub fn merge(&mut self, other: &Sketch) {
        self.exact = match (self.exact.take(), &other.exact) {
            (Some(mut mine), Some(theirs)) if mine.len() + theirs.len() <= EXACT_LIMIT => {
                mine.extend_from_slice(theirs);
                Some(mine)
            }
            _ => None,
        };
        self.zeros += other.zeros;
        self.total += other.total;
        for (i, count) in other.counts.iter().enumerate() {
            if *count > 0 {
                self.add_index(other.offset + i as i32, *count);
            }
        }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) by nearest rank: the value at rank `⌈q·n⌉`. `None` when
    /// empty. Exact while [`Sketch::is_exact`], else within [`RELATIVE_ACCURACY`].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        if let Some(exact) = &self.exact {
            let mut sorted = exact.clone();
            sorted.sort_by(f64::total_cmp);
            return sorted.get(rank as usize - 1).copied();
        }
        if rank <= self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(representative(self.offset + i as i32));
            }
        }
        self.counts
            .len()
            .checked_sub(1)
            .map(|last| representative(self.offset + last as i32))
    }

    /// Rough heap use, for the memory bound's bookkeeping.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * 8 + self.exact.as_ref().map_or(0, |e| e.capacity() * 8)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;

    fn exact_quantile(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn assert_within(values: &[f64], sketch: &Sketch, bound: f64) {
        for q in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let want = exact_quantile(values, q);
            let got = sketch.quantile(q).unwrap();
            let error = if want < MIN_VALUE_MS {
                got
            } else {
                (got - want).abs() / want
            };
            assert!(
                error <= bound,
                "q={q}: got {got}, exact {want}, error {error}"
            );
        }
    }

    /// Uniform, log-normal, Pareto (heavy tail) and bimodal data, 100k values each.
    #[test]
    fn relative_error_is_within_one_percent_on_heavy_tails() {
        let mut rng = StdRng::seed_from_u64(13);
        type Generator = Box<dyn Fn(&mut StdRng) -> f64>;
        let generators: Vec<(&str, Generator)> = vec![
            ("uniform", Box::new(|r| r.random_range(0.0..1000.0))),
            (
                "lognormal",
                Box::new(|r| {
                    // Box-Muller normal, then exp: median e^3 ≈ 20 ms, long right tail.
                    let (u1, u2): (f64, f64) = (r.random_range(1e-12..1.0), r.random());
                    let n = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    (3.0 + 1.5 * n).exp()
                }),
            ),
            (
                "pareto",
                Box::new(|r| {
                    let u: f64 = r.random_range(1e-9..1.0);
                    (5.0 / u.powf(1.0 / 1.2)).min(MAX)
                }),
            ),
            (
                "bimodal",
                Box::new(|r| {
                    if r.random_bool(0.97) {
                        r.random_range(2.0..8.0)
                    } else {
                        r.random_range(900.0..4000.0)
                    }
                }),
            ),
        ];
        const MAX: f64 = 3_600_000.0;
        for (name, generate) in generators {
            let values: Vec<f64> = (0..100_000).map(|_| generate(&mut rng)).collect();
            let mut sketch = Sketch::new();
            values.iter().for_each(|v| sketch.add(*v));
            assert!(!sketch.is_exact(), "{name}");
            assert_within(&values, &sketch, 0.01);
            // The bound is the sketch's own accuracy, not just 1 %.
            assert_within(&values, &sketch, RELATIVE_ACCURACY + 1e-9);
            assert!(
                sketch.heap_bytes() < 64 * 1024,
                "{name}: {} bytes",
                sketch.heap_bytes()
            );
        }
    }

    #[test]
    fn merged_sketches_answer_as_one() {
        let mut rng = StdRng::seed_from_u64(7);
        let values: Vec<f64> = (0..30_000).map(|_| rng.random_range(0.0..5000.0)).collect();
        let (mut a, mut b, mut whole) = (Sketch::new(), Sketch::new(), Sketch::new());
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 {
                a.add(*v)
            } else {
                b.add(*v)
            }
            whole.add(*v);
        }
        a.merge(&b);
        assert_eq!(a.count(), whole.count());
        for q in [0.5, 0.95, 0.99] {
            assert_eq!(a.quantile(q), whole.quantile(q));
        }
        assert_within(&values, &a, RELATIVE_ACCURACY + 1e-9);
    }

    #[test]
    fn small_buckets_are_exact_and_zeros_count() {
        let mut sketch = Sketch::new();
        assert_eq!(sketch.quantile(0.5), None);
        for v in [0.0, 0.0, 5.0, 10.0, 250.0] {
            sketch.add(v);
        }
        sketch.add(f64::NAN);
        sketch.add(-1.0);
        assert!(sketch.is_exact());
        assert_eq!(sketch.count(), 5);
        assert_eq!(sketch.quantile(0.5), Some(5.0));
        assert_eq!(sketch.quantile(0.95), Some(250.0));
        assert_eq!(sketch.quantile(0.0), Some(0.0));
        // Past the exact limit, zeros still answer as zero.
        let mut many = Sketch::new();
        (0..EXACT_LIMIT * 2).for_each(|_| many.add(0.0));
        many.add(100.0);
        assert!(!many.is_exact());
        assert_eq!(many.quantile(0.5), Some(0.0));
        let top = many.quantile(1.0).unwrap();
        assert!((top - 100.0).abs() / 100.0 <= RELATIVE_ACCURACY);
    }

    #[test]
    fn counts_at_most_a_limit_are_exact_then_off_only_near_the_limit() {
        let mut rng = StdRng::seed_from_u64(7);
        let values: Vec<f64> = (0..20_000)
            .map(|_| rng.random_range(1.0..2_000.0))
            .collect();
        let mut sketch = Sketch::new();
        for (i, v) in values.iter().enumerate() {
            sketch.add(*v);
            if i == 99 {
                assert_eq!(
                    sketch.count_at_most(300.0),
                    values[..100].iter().filter(|x| **x <= 300.0).count() as u64
                );
            }
        }
        assert!(!sketch.is_exact());
        for limit in [50.0, 100.0, 250.0, 300.0, 1000.0] {
            let below = values.iter().filter(|x| **x <= limit).count() as u64;
            let at_most_above = values
                .iter()
                .filter(|x| **x <= limit * (1.0 + 2.0 * RELATIVE_ACCURACY))
                .count() as u64;
            let got = sketch.count_at_most(limit);
            assert!(
                (below..=at_most_above).contains(&got),
                "{limit}: {got} not in {below}..={at_most_above}"
            );
        }
        assert_eq!(sketch.count_at_most(-1.0), 0);
        assert_eq!(sketch.count_at_most(1e9), 20_000);
    }
}
