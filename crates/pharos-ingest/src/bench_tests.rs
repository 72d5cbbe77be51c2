//! A rough measurement, not a test: decoding and appending realistic remote-write requests the
//! way Pharos did before (prost-owned strings, a `Labels` per series) and the way it does now.
//! Run with `cargo test --config 'profile.dev.package.pharos-ingest.opt-level=1' -p
//! pharos-ingest --lib -- --ignored --nocapture ingest_cost` (the option puts this crate at the
//! optimisation its dependencies get in tests); compare the two lines, not absolute numbers.

use std::time::{Duration, Instant};

use pharos_tsdb::{Db, Labels, Options};
use prost::Message as _;

use crate::append::add_series;
use crate::proto::{Label, Sample, TimeSeries, WriteRequest};
use crate::{WriteLimits, WriteReport, decode_write_request, encode_write_request};

const SERIES: usize = 10_000;
const PER_REQUEST: usize = 500;
const SAMPLES_PER_SERIES: usize = 4;
const ROUNDS: usize = 4;

/// Node-exporter-like series: 8 labels, a few hundred per request, several samples each.
fn requests(round: usize) -> Vec<Vec<u8>> {
    let base = 1_700_000_000_000 + (round * SAMPLES_PER_SERIES) as i64 * 15_000;
    (0..SERIES / PER_REQUEST)
        .map(|r| {
            let timeseries = (0..PER_REQUEST)
                .map(|i| {
                    let n = r * PER_REQUEST + i;
                    TimeSeries {
                        labels: vec![
                            Label::new("__name__", format!("node_cpu_seconds_total_{}", n % 50)),
                            Label::new("cluster", "prod-eu-1"),
                            Label::new("cpu", (n % 64).to_string()),
                            Label::new("instance", format!("10.0.{}.{}:9100", n / 250, n % 250)),
                            Label::new("job", "node-exporter"),
                            Label::new("mode", ["idle", "user", "system"][n % 3]),
                            Label::new("namespace", "monitoring"),
                            Label::new("pod", format!("node-exporter-{:05}", n / 64)),
                        ],
                        samples: (0..SAMPLES_PER_SERIES)
                            .map(|s| Sample {
                                value: (n * 7 + s) as f64 * 0.25,
                                timestamp: base + s as i64 * 15_000,
                            })
                            .collect(),
                        histograms: vec![],
                    }
                })
                .collect();
            let request = WriteRequest {
                timeseries,
                metadata: vec![],
            };
            encode_write_request(&request).unwrap_or_default()
        })
        .collect()
}

/// The path before: prost decoding, then a validated `Labels` per series. Returns the time
/// to decode and to add to the batch (the commit, the same for both paths, is not timed).
fn old_path(db: &Db, body: &[u8]) -> (Duration, Duration) {
    let start = Instant::now();
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(body)
        .unwrap_or_default();
    let request = WriteRequest::decode(bytes.as_slice()).unwrap_or_default();
    let decoded = start.elapsed();
    let start = Instant::now();
    let mut appender = db.appender();
    for series in &request.timeseries {
        let pairs = series.labels.iter().map(|l| (&*l.name, &*l.value));
        let Ok(labels) = Labels::new(pairs) else {
            continue;
        };
        let samples = series.samples.iter().map(|s| (s.timestamp, s.value));
        appender.append_series(labels, samples, |_, _| {});
    }
    drop(request);
    let appended = start.elapsed();
    let _ = appender.commit();
    (decoded, appended)
}

/// The path now: the strict reader, then borrowed labels.
fn new_path(db: &Db, body: &[u8]) -> (Duration, Duration) {
    let start = Instant::now();
    let decoded = decode_write_request(body, &WriteLimits::default()).unwrap_or_default();
    let decode_time = start.elapsed();
    let start = Instant::now();
    let mut appender = db.appender();
    let mut report = WriteReport::default();
    add_series(&mut appender, &decoded, &mut report);
    drop(decoded);
    let appended = start.elapsed();
    let _ = appender.commit();
    (decode_time, appended)
}

fn run(path: fn(&Db, &[u8]) -> (Duration, Duration)) -> (Duration, Duration, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let (mut decode, mut append, mut samples) = (Duration::ZERO, Duration::ZERO, 0);
    for round in 0..ROUNDS {
        for body in requests(round) {
            let (d, a) = path(&db, &body);
            // The first round creates the series; steady state is what counts.
            if round > 0 {
                decode += d;
                append += a;
                samples += PER_REQUEST * SAMPLES_PER_SERIES;
            }
        }
    }
    (decode, append, samples)
}

#[test]
#[ignore = "a measurement; run by hand"]
fn ingest_cost() {
    for (name, path) in [
        ("prost + Labels", old_path as fn(&Db, &[u8]) -> _),
        ("reader + borrowed labels", new_path),
    ] {
        let (decode, append, samples) = run(path);
        let per = |d: Duration| d.as_nanos() as f64 / samples as f64;
        println!(
            "{name:>26}: decode {:.0} ns/sample, append {:.0} ns/sample ({samples} samples)",
            per(decode),
            per(append)
        );
    }
}
