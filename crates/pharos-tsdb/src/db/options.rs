//! Database options and their validation.

use std::time::Duration;

use super::DbError;
use crate::wal::DEFAULT_SEGMENT_SIZE;

/// Longest block compaction produces, whatever the retention (as Prometheus).
const MAX_BLOCK_DURATION_CAP: Duration = Duration::from_secs(31 * 24 * 3600);

/// How the database stores and expires data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Blocks whose newest sample is older than this, relative to the newest data, are
    /// deleted. Default 15 days.
    pub retention: Duration,
    /// When set, the oldest blocks are deleted while blocks plus WAL exceed this many bytes.
    pub max_bytes: Option<u64>,
    /// Range of one block cut from the head; chunks never straddle it. Default 2 hours.
    pub block_duration: Duration,
    /// Size at which the WAL starts a new segment file. Default 32 MiB.
    pub wal_segment_size: u64,
    /// How far ahead of the wall clock a sample may be. Newer samples are rejected one by one
    /// (`too far in the future`): a single sample stamped years ahead would otherwise make the
    /// series, and the store's writable window, refuse every "now" sample. Default 10 minutes.
    pub future_sample_tolerance: Duration,
    /// How far behind a series' newest sample (and behind the store's newest sample) a late
    /// sample is still accepted; zero refuses every out-of-order sample, as Prometheus does
    /// without `out_of_order_time_window`. Default 2 hours: a remote-write sender cut off for up
    /// to two hours (Prometheus keeps about that much WAL to resend) delivers its backlog, and
    /// a late sample falls at most one block range behind, so each late range adds at most one
    /// overlapping block until compaction merges it.
    pub out_of_order_window: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(15 * 24 * 3600),
            max_bytes: None,
            block_duration: Duration::from_secs(2 * 3600),
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            future_sample_tolerance: Duration::from_secs(10 * 60),
            out_of_order_window: Duration::from_secs(2 * 3600),
        }
    }
}

impl Options {
    pub(crate) fn validate(&self) -> Result<(), DbError> {
        if self.block_duration.as_millis() < 1 || self.block_duration_ms() >= i64::MAX / 4 {
            return Err(DbError::InvalidOptions(format!(
                "block_duration {:?} must be between 1 ms and many years",
                self.block_duration
            )));
        }
        if self.retention.is_zero() {
            return Err(DbError::InvalidOptions(
                "retention must be greater than zero".into(),
            ));
        }
        if self.wal_segment_size < 1024 {
            return Err(DbError::InvalidOptions(format!(
                "wal_segment_size {} is below the 1 KiB minimum",
                self.wal_segment_size
            )));
        }
        Ok(())
    }

    pub(crate) fn block_duration_ms(&self) -> i64 {
        i64::try_from(self.block_duration.as_millis()).unwrap_or(i64::MAX)
    }

    pub(crate) fn future_sample_tolerance_ms(&self) -> i64 {
        i64::try_from(self.future_sample_tolerance.as_millis()).unwrap_or(i64::MAX)
    }

    pub(crate) fn out_of_order_window_ms(&self) -> i64 {
        i64::try_from(self.out_of_order_window.as_millis()).unwrap_or(i64::MAX)
    }

    pub(crate) fn retention_ms(&self) -> i64 {
        i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX)
    }

    /// Compaction ranges: 3×, 9×, 27×… the block duration, up to a tenth of the retention
    /// (capped at 31 days), so the oldest data can still be dropped in reasonable steps.
    pub(crate) fn compaction_ranges(&self) -> Vec<i64> {
        let limit = (self.retention / 10).min(MAX_BLOCK_DURATION_CAP);
        let limit = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
        let mut ranges = Vec::new();
        let mut range = self.block_duration_ms().saturating_mul(3);
        while range <= limit {
            ranges.push(range);
            range = range.saturating_mul(3);
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_compaction_ranges_follow_prometheus() {
        let hours: Vec<i64> = Options::default()
            .compaction_ranges()
            .iter()
            .map(|ms| ms / 3_600_000)
            .collect();
        // 15 d retention → at most 36 h blocks.
        assert_eq!(hours, [6, 18]);
    }

    #[test]
    fn invalid_options_are_explained() {
        let zero_block = Options {
            block_duration: Duration::ZERO,
            ..Options::default()
        };
        assert!(
            zero_block
                .validate()
                .unwrap_err()
                .to_string()
                .contains("block_duration")
        );
        let no_retention = Options {
            retention: Duration::ZERO,
            ..Options::default()
        };
        assert!(
            no_retention
                .validate()
                .unwrap_err()
                .to_string()
                .contains("retention")
        );
        assert!(Options::default().validate().is_ok());
    }
}
