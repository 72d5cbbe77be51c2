//! Past buckets of the demo services, written straight into the store as the gauges the log
//! intake writes for a final bucket. Per service and bucket, 60–150 requests (more at busy
//! hours) are drawn from the live lines' distribution, incidents included, and turned into
//! samples by `pharos_logs::final_bucket_samples` — the aggregator's own code.
//!
//! The incidents: before the simulator's first tick, a plan of their own (the same schedule
//! code with another seed); from that tick on, exactly the simulator's, so the logs' spikes
//! match the metrics' alerts.

use pharos_logs::{BUCKET_MS, MetricSample, StoreReport, bucket_start, final_bucket_samples};
use pharos_tsdb::{Db, DbError};

use crate::fleet::World;
use crate::incidents::{Incident, IncidentSchedule};
use crate::options::SimOptions;
use crate::rng::Rng;

use super::{DEMO_LOG_SERVICES, traffic};

/// Fewest and most requests drawn per bucket (night, busiest hour).
const DRAWS: (f64, f64) = (60.0, 150.0);
/// Buckets per store commit (12 hours).
const BUCKETS_PER_COMMIT: i64 = 144;
/// Mixed into the seed of the incidents planned before the simulator's first tick.
const EARLIER_INCIDENTS_SEED: u64 = 0x1065_ac55;
/// The stamp of a bucket's final revision, relative to its start.
const FINAL_STAMP_MS: i64 = BUCKET_MS - 1_000;

/// The buckets of the demo services from `from` up to (not including) the bucket in progress
/// at `to`, with the incidents of that time.
#[derive(Debug, Clone)]
pub struct AccessLogHistory {
    seed: u64,
    incidents: Vec<Incident>,
    /// First bucket not written yet.
    next_bucket: i64,
    /// Start of the first bucket not in the history (live lines fill it).
    end_bucket: i64,
}

impl AccessLogHistory {
    /// The history of the buckets that start at or after `from_ms` and end at or before
    /// `bucket_start(to_ms)`. `sim_start_ms` is the simulator's first tick: incidents from
    /// then on are the ones [`crate::Simulator`] plans from that tick.
    pub fn plan(options: &SimOptions, from_ms: i64, sim_start_ms: i64, to_ms: i64) -> Self {
        let world = World::build(options);
        let mut incidents = Vec::new();
        if from_ms < sim_start_ms {
            let mut earlier = IncidentSchedule::new(options.seed ^ EARLIER_INCIDENTS_SEED);
            earlier.advance(from_ms, &world);
            earlier.advance(sim_start_ms - 1, &world);
            incidents.extend(
                earlier
                    .history()
                    .iter()
                    .filter(|i| i.start_ms < sim_start_ms)
                    .map(|i| Incident {
                        end_ms: i.end_ms.min(sim_start_ms),
                        ..i.clone()
                    }),
            );
        }
        let mut simulated = IncidentSchedule::new(options.seed);
        simulated.advance(sim_start_ms, &world);
        simulated.advance(to_ms, &world);
        incidents.extend(simulated.history().iter().cloned());
        let first = bucket_start(from_ms.saturating_add(BUCKET_MS - 1));
        Self {
            seed: options.seed,
            incidents,
            next_bucket: first,
            end_bucket: bucket_start(to_ms).max(first),
        }
    }

    /// The incidents the history draws with, oldest first.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// Where the history ends: live lines start here (the start of the bucket in progress at
    /// the planned `to`).
    pub fn end_ms(&self) -> i64 {
        self.end_bucket
    }

    /// Starts of the buckets not written yet.
    pub fn bucket_starts(&self) -> std::iter::StepBy<std::ops::Range<i64>> {
        (self.next_bucket..self.end_bucket).step_by(BUCKET_MS as usize)
    }

    /// The samples of every demo service for the bucket starting at `start_ms` (its final
    /// revision, stamped `start + 5 min − 1 s`). The same bucket always gives the same samples.
    pub fn bucket_samples(&self, start_ms: i64) -> Vec<MetricSample> {
        let bucket = start_ms.div_euclid(BUCKET_MS);
        let mut samples = Vec::with_capacity(DEMO_LOG_SERVICES.len() * pharos_logs::METRICS.len());
        let mut latencies = Vec::new();
        // Only the incidents overlapping the bucket (most buckets have none).
        let incidents: Vec<Incident> = self
            .incidents
            .iter()
            .filter(|i| i.start_ms < start_ms + BUCKET_MS && i.end_ms > start_ms)
            .cloned()
            .collect();
        for (index, service) in DEMO_LOG_SERVICES.iter().enumerate() {
            let mut rng = Rng::derive(
                self.seed ^ (bucket as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
                1_000 + index as u64,
            );
            let middle = traffic::load(service, start_ms + BUCKET_MS / 2);
            let n = rng.round_stochastic(DRAWS.0 + (DRAWS.1 - DRAWS.0) * middle) as usize;
            latencies.clear();
            let mut errors = 0;
            for _ in 0..n {
                let t = start_ms + rng.between(0, BUCKET_MS - 1);
                let request = traffic::draw(service, t, &incidents, &mut rng);
                latencies.push(request.latency_ms);
                errors += u64::from(request.status >= 500);
            }
            // Sorted here (an optimised crate), the sketch's exact quantiles find them sorted:
            // most of the cost of a week of buckets in a debug build otherwise.
            latencies.sort_unstable_by(f64::total_cmp);
            samples.extend(final_bucket_samples(
                service.source,
                service.service,
                Some(service.namespace),
                start_ms,
                &latencies,
                errors,
            ));
        }
        samples
    }

    /// Writes the buckets not written yet whose final stamp is at or before `t_ms`, in time
    /// order, committing every 12 hours of buckets. The store refuses samples far behind its
    /// newest one, so this runs interleaved with the simulator's own history.
    pub fn write_until(&mut self, db: &Db, t_ms: i64) -> Result<StoreReport, DbError> {
        let mut total = StoreReport::default();
        loop {
            let mut samples = Vec::new();
            let mut buckets = 0;
            while self.next_bucket < self.end_bucket
                && self.next_bucket + FINAL_STAMP_MS <= t_ms
                && buckets < BUCKETS_PER_COMMIT
            {
                samples.extend(self.bucket_samples(self.next_bucket));
                self.next_bucket += BUCKET_MS;
                buckets += 1;
            }
            if samples.is_empty() {
                return Ok(total);
            }
            let report = pharos_logs::append_samples(db, &samples)?;
            total.appended += report.appended;
            total.rejected += report.rejected;
            if total.first_error.is_none() {
                total.first_error = report.first_error;
            }
        }
    }
}
