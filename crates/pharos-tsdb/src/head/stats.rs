//! Head counters (monotonic, for `/metrics`) and the statistics snapshot returned to callers.

use std::sync::atomic::{AtomicU64, Ordering};

use super::AppendError;

/// Monotonic counters updated by appenders.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) samples_appended: AtomicU64,
    pub(crate) out_of_order: AtomicU64,
    pub(crate) out_of_order_accepted: AtomicU64,
    pub(crate) too_old: AtomicU64,
    pub(crate) too_far_in_future: AtomicU64,
    pub(crate) duplicate_rejected: AtomicU64,
    pub(crate) identical_duplicates: AtomicU64,
    pub(crate) series_created: AtomicU64,
    pub(crate) series_removed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn count_rejection(&self, error: &AppendError) {
        let counter = match error {
            AppendError::OutOfOrder { .. } => &self.out_of_order,
            AppendError::TooOld { .. } => &self.too_old,
            AppendError::TooFarInFuture { .. } => &self.too_far_in_future,
            AppendError::DuplicateSampleForTimestamp { .. } => &self.duplicate_rejected,
            AppendError::EmptyLabels | AppendError::UnknownSeries(_) | AppendError::Chunk(_) => {
                return;
            }
        };
        Self::add(counter, 1);
    }

    pub(crate) fn reset(&self) {
        for counter in [
            &self.samples_appended,
            &self.out_of_order,
            &self.out_of_order_accepted,
            &self.too_old,
            &self.too_far_in_future,
            &self.duplicate_rejected,
            &self.identical_duplicates,
            &self.series_created,
            &self.series_removed,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A snapshot of the head's size and of its append counters since the process started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series currently in memory.
    pub num_series: u64,
    /// Chunks currently in memory (closed and open).
    pub num_chunks: u64,
    /// Samples currently in memory.
    pub num_samples: u64,
    /// Encoded bytes of those chunks.
    pub chunk_bytes: u64,
    /// Oldest sample timestamp in the head, if any.
    pub min_time: Option<i64>,
    /// Newest sample timestamp in the head, if any.
    pub max_time: Option<i64>,
    /// Samples stored since start.
    pub samples_appended_total: u64,
    /// Samples rejected because the series already had a newer sample and they were outside
    /// the out-of-order window.
    pub out_of_order_total: u64,
    /// Late samples accepted within the out-of-order window.
    pub out_of_order_accepted_total: u64,
    /// Out-of-order samples held in the head now (included in `num_samples`).
    pub out_of_order_samples: u64,
    /// Samples rejected because they were older than the oldest writable time.
    pub too_old_total: u64,
    /// Samples rejected because they were newer than the clock plus the future tolerance.
    pub too_far_in_future_total: u64,
    /// Samples rejected because a different value existed for the same timestamp.
    pub duplicate_rejected_total: u64,
    /// Identical re-sent samples ignored without error.
    pub identical_duplicates_total: u64,
    /// Series created since start.
    pub series_created_total: u64,
    /// Series dropped by garbage collection since start.
    pub series_removed_total: u64,
}
