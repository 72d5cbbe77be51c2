//! When to scrape and which timestamp to give the samples.
//!
//! Each target scrapes at a fixed phase of its interval (derived from a hash of its URL, so
//! targets spread out and keep their phase across restarts). Samples get the *scheduled* time
//! when the scrape started within [`TIMESTAMP_TOLERANCE`] of it: Prometheus does the same
//! (`--scrape.timestamp-tolerance`) so that timestamps are exactly one interval apart and the
//! delta-of-delta timestamp encoding stores each one in a single bit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far a scrape may start from its scheduled time and still be stamped with it. Wider
/// than Prometheus' 2 ms because a busy async runtime wakes timers a little late.
pub(crate) const TIMESTAMP_TOLERANCE: Duration = Duration::from_millis(25);

/// Milliseconds since 1970 now.
pub(crate) fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Whole milliseconds of a duration, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The target's phase within its interval: FNV-1a of its URL and job, modulo the interval.
pub(crate) fn phase_of(key: &str, interval_ms: i64) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let interval = u64::try_from(interval_ms.max(1)).unwrap_or(1);
    i64::try_from(hash % interval).unwrap_or(0)
}

/// The first scheduled time at or after `now`: `phase + k * interval`.
pub(crate) fn next_scheduled(now_ms: i64, interval_ms: i64, phase_ms: i64) -> i64 {
    let interval = interval_ms.max(1);
    let since_phase = now_ms - phase_ms;
    let k = since_phase.div_euclid(interval) + i64::from(since_phase.rem_euclid(interval) != 0);
    phase_ms + k * interval
}

/// The timestamp of a scrape scheduled at `scheduled_ms` that actually started at `started_ms`.
pub(crate) fn sample_timestamp(scheduled_ms: i64, started_ms: i64) -> i64 {
    if (started_ms - scheduled_ms).abs() <= millis(TIMESTAMP_TOLERANCE) {
        scheduled_ms
    } else {
        started_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_keeps_the_phase() {
        assert_eq!(next_scheduled(100_000, 15_000, 3_000), 108_000);
        assert_eq!(next_scheduled(108_000, 15_000, 3_000), 108_000);
        assert_eq!(next_scheduled(108_001, 15_000, 3_000), 123_000);
        assert_eq!(next_scheduled(-1, 15_000, 0), 0);
    }

    #[test]
    fn phase_is_stable_and_within_the_interval() {
        let a = phase_of("http://a:9100/metrics", 15_000);
        assert_eq!(a, phase_of("http://a:9100/metrics", 15_000));
        assert!((0..15_000).contains(&a));
        let spread: std::collections::HashSet<i64> = (0..20)
            .map(|i| phase_of(&format!("http://host-{i}:9100/metrics"), 15_000))
            .collect();
        assert!(spread.len() > 10, "targets should not all share one phase");
    }

    #[test]
    fn timestamps_snap_to_the_schedule_within_the_tolerance() {
        assert_eq!(sample_timestamp(15_000, 15_003), 15_000);
        assert_eq!(sample_timestamp(15_000, 14_990), 15_000);
        assert_eq!(sample_timestamp(15_000, 15_500), 15_500);
    }
}
