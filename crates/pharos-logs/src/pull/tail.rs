//! The tail: after the backfill, each `interval` asks Loki for `[cursor − overlap, now)`, skips
//! the entries of the overlap it already took (by a hash of stream, timestamp and line), and
//! hands the rest to the running intake as a Loki push.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::{PullConfig, PulledEntry};
use crate::intake::{BodyKind, IntakeError, IntakeReport, LogIntake, MAX_SAMPLED_REJECTS};
use crate::parse::Reject;

/// The tail's position and the entries of the overlap already taken.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    /// Everything before this (ns) is taken; never moves back.
    cursor_ns: i64,
    /// Never asks before this (the backfill's cut).
    floor_ns: i64,
    /// (timestamp, key) of entries taken at or after `cursor − overlap`.
    seen: HashSet<(i64, u64)>,
}

impl Tail {
    /// A tail that starts at `cut_ns` (the end of the backfill).
    pub fn new(cut_ns: i64) -> Self {
        Self {
            cursor_ns: cut_ns,
            floor_ns: cut_ns,
            seen: HashSet::new(),
        }
    }

    /// The range to ask for at `now_ns`: from the cursor less the overlap (not before the
    /// backfill's cut) to now.
    pub fn window(&self, overlap_ns: i64, now_ns: i64) -> (i64, i64) {
        let start = self.cursor_ns.saturating_sub(overlap_ns).max(self.floor_ns);
        (start, now_ns.max(start))
    }

    /// Where the tail stands (ns).
    pub fn cursor_ns(&self) -> i64 {
        self.cursor_ns
    }

    /// Drops the entries taken already from `entries`, remembering the new ones.
    pub fn fresh(&mut self, entries: Vec<PulledEntry>) -> Vec<PulledEntry> {
        entries
            .into_iter()
            .filter(|e| self.seen.insert((e.timestamp_ns, e.key())))
            .collect()
    }

    /// The window up to `end_ns` is taken: the cursor moves there, and only entries inside
    /// the next overlap are remembered.
    pub fn advance(&mut self, end_ns: i64, overlap_ns: i64) {
        self.cursor_ns = self.cursor_ns.max(end_ns);
        let keep_from = self.cursor_ns.saturating_sub(overlap_ns);
        self.seen.retain(|(t, _)| *t >= keep_from);
    }

    /// Entries remembered for de-duplication.
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

/// Hands `entries` to `intake` under the puller's source, as Loki JSON pushes of at most the
/// intake's `max_lines_per_request` lines; lines of streams with an unknown schema version are
/// rejected here (`unknown_schema`). One merged report.
pub fn feed(
    intake: &LogIntake,
    config: &PullConfig,
    entries: &[PulledEntry],
    now_ms: i64,
) -> Result<IntakeReport, IntakeError> {
    let mut report = IntakeReport {
        source: config.source.clone(),
        ..IntakeReport::default()
    };
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries {
        match config.schema_of(&entry.labels) {
            Ok(_) => kept.push(entry),
            Err(_) => report.reject(Reject::UnknownSchema, None, &entry.line),
        }
    }
    let settings = intake.settings();
    let (max_lines, max_bytes) = (
        settings.max_lines_per_request.max(1),
        settings.max_decompressed_bytes / 2,
    );
    // Pushes within the intake's line and size limits.
    let mut parts: Vec<&[&PulledEntry]> = Vec::new();
    let (mut begin, mut bytes) = (0, 0);
    for (i, entry) in kept.iter().enumerate() {
        let size = entry.line.len() + 64;
        if i > begin && (i - begin >= max_lines || bytes + size > max_bytes) {
            parts.push(&kept[begin..i]);
            (begin, bytes) = (i, 0);
        }
        bytes += size;
    }
    if begin < kept.len() {
        parts.push(&kept[begin..]);
    }
    for part in parts {
        // Streams in order of first appearance, each with its entries.
        let mut streams: Vec<(&super::Labels, Vec<Value>)> = Vec::new();
        let mut index: BTreeMap<*const super::Labels, usize> = BTreeMap::new();
        for &entry in part {
            let key = std::sync::Arc::as_ptr(&entry.labels);
            let at = *index.entry(key).or_insert_with(|| {
                streams.push((&entry.labels, Vec::new()));
                streams.len() - 1
            });
            streams[at]
                .1
                .push(json!([entry.timestamp_ns.to_string(), entry.line]));
        }
        let body = json!({
            "streams": streams
                .into_iter()
                .map(|(labels, values)| json!({"stream": labels, "values": values}))
                .collect::<Vec<_>>()
        });
        let body = serde_json::to_vec(&body).map_err(|e| IntakeError::Malformed(e.to_string()))?;
        let part_report = intake.push(
            BodyKind::LokiJson,
            &body,
            None,
            Some(&config.source),
            now_ms,
        )?;
        merge(&mut report, part_report);
    }
    Ok(report)
}

/// Adds `other`'s counts and samples (up to the sample limit) to `report`.
pub(crate) fn merge(report: &mut IntakeReport, other: IntakeReport) {
    report.accepted += other.accepted;
    for (reason, n) in other.rejected {
        *report.rejected.entry(reason).or_default() += n;
    }
    let room = MAX_SAMPLED_REJECTS.saturating_sub(report.samples.len());
    report.samples.extend(other.samples.into_iter().take(room));
}
