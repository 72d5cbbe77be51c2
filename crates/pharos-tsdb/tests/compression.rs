//! Bytes per sample in chunks for a typical mix of series scraped every 15 s (Prometheus
//! reaches about 1.3 bytes/sample on real data). Each class of series is bounded close to what
//! the codec achieves today, so a regression of a few percent fails; a result far *below* the
//! expectation fails too (the measurement would be broken, or the codec much better: then
//! lower the expectations). Run with `--nocapture` to see the numbers.
//!
//! Series are independent, so 1,000 of them give the same bytes/sample as 10,000 (measured:
//! within 0.5 %) in a tenth of the time.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use pharos_tsdb::{Head, HeadOptions, Labels};

const SERIES: usize = 1_000;
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
    (Kind::Constant, 300),
    (Kind::Counter, 300),
    (Kind::IntegerGauge, 200),
    (Kind::FloatGauge, 200),
];

/// Expected bytes/sample per kind (in `MIX` order) and for the whole mix, by timestamp jitter:
/// what the codec achieved when this was written. The bound is 5 % above.
const EXPECTED: [(u64, [f64; 4], f64); 2] = [
    (0, [0.377, 1.964, 1.860, 7.546], 2.583),
    (4, [2.030, 3.616, 3.511, 9.201], 4.236),
];
const TOLERANCE: f64 = 1.05;

fn check(what: &str, per_sample: f64, expected: f64) {
    assert!(
        per_sample <= expected * TOLERANCE,
        "{what}: {per_sample:.3} bytes/sample, expected about {expected} (the codec regressed)"
    );
    assert!(
        per_sample >= expected / 2.0,
        "{what}: {per_sample:.3} bytes/sample, expected about {expected}: far better than \
         expected, so the measurement is broken or the codec improved (then lower EXPECTED)"
    );
}

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
fn bytes_per_sample_of_each_series_class_stay_near_todays() {
    assert_eq!(MIX.iter().map(|(_, count)| count).sum::<usize>(), SERIES);
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for (jitter_ms, expected_per_kind, expected_mix) in EXPECTED {
        let (mut total_bytes, mut total_samples) = (0, 0);
        for ((kind, count), expected) in MIX.into_iter().zip(expected_per_kind) {
            let (bytes, samples) = measure(kind, count, jitter_ms, &mut rng);
            let per_sample = bytes as f64 / samples as f64;
            println!(
                "  jitter {jitter_ms} ms, {count:>5} x {kind:?}: {per_sample:.3} bytes/sample"
            );
            check(
                &format!("{kind:?}, jitter {jitter_ms} ms"),
                per_sample,
                expected,
            );
            total_bytes += bytes;
            total_samples += samples;
        }
        let per_sample = total_bytes as f64 / total_samples as f64;
        println!(
            "{SERIES} series x {SAMPLES_PER_SERIES} samples at 15 s, timestamp jitter {jitter_ms} ms: \
             {total_bytes} chunk bytes = {per_sample:.3} bytes/sample (Prometheus on real data: ~1.3)"
        );
        check(
            &format!("mix, jitter {jitter_ms} ms"),
            per_sample,
            expected_mix,
        );
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
    check("one constant series", bytes_per_sample, EXPECTED[0].1[0]);
}
