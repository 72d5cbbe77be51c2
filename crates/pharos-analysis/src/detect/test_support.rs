//! Synthetic series for the methods' tests.

use super::*;

pub(crate) const STEP: i64 = 60_000;

/// Deterministic standard-normal noise (xorshift + Box–Muller).
pub(crate) fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

pub(crate) fn series(values: &[f64]) -> Series {
    Series {
        labels: [("__name__".to_owned(), "m".to_owned())].into(),
        points: values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64 * STEP, *v))
            .collect(),
    }
}

pub(crate) fn run(values: &[f64], from: usize, method: Method) -> Vec<Anomaly> {
    let s = series(values);
    let end = (values.len() as i64 - 1) * STEP;
    detect_series(
        &s,
        STEP,
        from as i64 * STEP,
        end,
        &[method],
        &Filter::default(),
        &DetectOptions::default(),
    )
    .unwrap_or_default()
}
