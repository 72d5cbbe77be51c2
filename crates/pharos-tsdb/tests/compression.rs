//! Bytes per sample in chunks for 10k series scraped every 15 s (Prometheus reaches about
//! 1.3 bytes/sample on real data). Printed, with a loose bound so a codec regression fails.
//! Run with `--nocapture` to see the numbers.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use pharos_tsdb::{Head, HeadOptions, Labels};

const SERIES: usize = 10_000;
const SCRAPE_MS: i64 = 15_000;
const SAMPLES_PER_SERIES: i64 = 480; // 2 h: one block range, four full 120-sample chunks

/// Small deterministic generator so the data is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kinds of series on a typical node/Kubernetes scrape.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `up`, `*_info`, limits, configuration: never change.
    Constant,
    /// Request and byte counters: grow by random integer steps.
    Counter,
    /// Memory and queue gauges: integers that move in page-sized steps.
    IntegerGauge,
    /// CPU seconds, ratios, latencies: arbitrary floats (incompressible mantissas).
    FloatGauge,
}

const MIX: [(Kind, usize); 4] = [
    (Kind::Constant, 3_000),
    (Kind::Counter, 3_000),
    (Kind::IntegerGauge, 2_000),
    (Kind::FloatGauge, 2_000),
];

/// Fills a head with `count` series of `kind`; `jitter_ms` > 0 moves timestamps by up to that
/// many ms (unaligned scrapes). Returns (chunk bytes, samples).
fn measure(kind: Kind, count: usize, jitter_ms: u64, rng: &mut XorShift) -> (u64, u64) {
    let head = Head::new(HeadOptions::default());
    let refs: Vec<_> = (0..count)
        .map(|i| {
            let labels = Labels::new([
                ("__name__", format!("metric_{}", i % 200)),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
                ("job", "node".to_owned()),
            ])
            .unwrap();
            head.get_or_create(&labels).unwrap()
        })
        .collect();
    let mut values: Vec<f64> = (0..count).map(|i| (i % 7) as f64).collect();
    for step in 0..SAMPLES_PER_SERIES {
        for (index, series_ref) in refs.iter().enumerate() {
            let jitter = if jitter_ms > 0 {
                rng.below(jitter_ms + 1) as i64
            } else {
                0
            };
            let value = &mut values[index];
            match kind {
                Kind::Constant => {}
                Kind::Counter => *value += rng.below(50) as f64,
                Kind::IntegerGauge => *value = (1_000 + rng.below(64)) as f64 * 4096.0,
                Kind::FloatGauge => *value = rng.below(1_000_000) as f64 / 997.0,
            }
            head.append_ref(*series_ref, step * SCRAPE_MS + jitter, *value)
                .unwrap();
        }
    }
    let stats = head.stats();
    assert_eq!(stats.num_samples, count as u64 * SAMPLES_PER_SERIES as u64);
    (stats.chunk_bytes, stats.num_samples)
}

#[test]
fn bytes_per_sample_for_10k_series_of_15s_data() {
    assert_eq!(MIX.iter().map(|(_, count)| count).sum::<usize>(), SERIES);
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    // Upper bounds per kind from the encoding: constant ≈ 2 bits, integer steps a few bytes,
    // random 52-bit mantissas ≈ 8.5 bytes. Exceeding them means the codec regressed.
    let bounds = [0.5, 2.5, 2.5, 8.5];
    for jitter_ms in [0, 4] {
        let (mut total_bytes, mut total_samples) = (0, 0);
        for ((kind, count), bound) in MIX.into_iter().zip(bounds) {
            let (bytes, samples) = measure(kind, count, jitter_ms, &mut rng);
            let per_sample = bytes as f64 / samples as f64;
            println!(
                "  jitter {jitter_ms} ms, {count:>5} x {kind:?}: {per_sample:.3} bytes/sample"
            );
            if jitter_ms == 0 {
                assert!(per_sample < bound, "{kind:?}: {per_sample:.3} bytes/sample");
            }
            total_bytes += bytes;
            total_samples += samples;
        }
        let per_sample = total_bytes as f64 / total_samples as f64;
        println!(
            "10k series x {SAMPLES_PER_SERIES} samples at 15 s, timestamp jitter {jitter_ms} ms: \
             {total_bytes} chunk bytes = {per_sample:.3} bytes/sample (Prometheus on real data: ~1.3)"
        );
        assert!(per_sample < 8.0, "mix: {per_sample:.3} bytes/sample");
    }
}

#[test]
fn constant_regular_series_cost_almost_nothing() {
    let head = Head::new(HeadOptions::default());
    let labels = Labels::new([("__name__", "up")]).unwrap();
    for step in 0..SAMPLES_PER_SERIES {
        head.append(&labels, step * SCRAPE_MS, 1.0).unwrap();
    }
    let stats = head.stats();
    let bytes_per_sample = stats.chunk_bytes as f64 / stats.num_samples as f64;
    println!("constant series at a regular interval: {bytes_per_sample:.3} bytes/sample");
    assert!(bytes_per_sample < 0.5, "{bytes_per_sample:.3}");
}
