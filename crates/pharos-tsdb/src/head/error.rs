//! Why an append was refused ([`AppendError`]), the one "too old" rule shared by the head and
//! the appender, and durations as messages show them.

use thiserror::Error;

use crate::chunk::ChunkError;

/// Why a sample was not stored. Messages start with Prometheus' wording so API layers can map
/// them to the same error types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppendError {
    /// A sample needs at least one label (normally `__name__`).
    #[error("empty label set: every series needs at least one label, normally __name__")]
    EmptyLabels,
    /// The series already has a newer sample.
    #[error(
        "out of order sample: timestamp {t} is before this series' newest sample at {newest} and outside the out-of-order window (tsdb.out_of_order_window); send each series' samples in time order"
    )]
    OutOfOrder {
        /// Rejected timestamp.
        t: i64,
        /// The series' newest timestamp.
        newest: i64,
    },
    /// The sample is older than anything the head still accepts.
    #[error(
        "out of bounds: timestamp {t} is older than {min_valid}, the oldest time still writable (it lies further behind the newest sample than tsdb.out_of_order_window allows)"
    )]
    TooOld {
        /// Rejected timestamp.
        t: i64,
        /// Oldest timestamp accepted at the time of the append.
        min_valid: i64,
    },
    /// The sample is newer than the clock allows (`Options::future_sample_tolerance`).
    #[error(
        "too far in the future: timestamp {t} is after {max_valid}, the newest time accepted (the server's clock plus {}, limit tsdb.future_sample_tolerance); check the sender's clock",
        format_millis(*tolerance_ms)
    )]
    TooFarInFuture {
        /// Rejected timestamp.
        t: i64,
        /// Newest timestamp accepted at the time of the append.
        max_valid: i64,
        /// The configured tolerance, in milliseconds.
        tolerance_ms: i64,
    },
    /// A different value is already stored at this timestamp.
    #[error(
        "duplicate sample for timestamp {t}: a different value is already stored; a series may have only one value per timestamp"
    )]
    DuplicateSampleForTimestamp {
        /// Rejected timestamp.
        t: i64,
    },
    /// The series reference is not (or no longer) in the head.
    #[error(
        "unknown series reference {0}: the series does not exist or was garbage-collected; append by labels instead"
    )]
    UnknownSeries(u64),
    /// The chunk encoder refused the sample (a bug, never expected in practice).
    #[error("could not encode sample: {0}")]
    Chunk(#[from] ChunkError),
}

/// The one rule for "too old": older than the oldest in-order writable time and than the
/// out-of-order bound. The error names the older of the two, the oldest time still accepted.
pub(crate) fn too_old(t: i64, min_valid: i64, ooo_min: i64) -> Option<AppendError> {
    (t < min_valid && t < ooo_min).then(|| AppendError::TooOld {
        t,
        min_valid: min_valid.min(ooo_min),
    })
}

/// A duration in milliseconds as `10m`, `1h30m`, `45s` or `250ms`, for messages.
fn format_millis(ms: i64) -> String {
    if ms <= 0 || ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut seconds = ms / 1000;
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}
