//! One in-memory series: its labels, its closed (immutable) chunks, the open chunk that
//! receives appends, and the out-of-order samples (older than the series' newest sample, or
//! than the head's oldest writable time, yet within the out-of-order window), kept sorted beside
//! the chunks until a block cut or an out-of-order flush persists them.

use std::sync::Mutex;

use super::AppendError;
use crate::chunk::{MAX_SAMPLES_PER_CHUNK, StoredChunk, XorChunk, decode};
use crate::labels::Labels;
use crate::sample::Sample;
use crate::series::merge_sorted;

/// What `append` did with a sample that was not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The sample was stored.
    Stored,
    /// The series already held this exact sample (same timestamp, bit-identical value);
    /// nothing changed.
    IdenticalDuplicate,
}

#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) id: u64,
    pub(crate) labels: Labels,
    pub(crate) state: Mutex<SeriesState>,
}

impl MemSeries {
    pub(crate) fn new(id: u64, labels: Labels) -> Self {
        Self {
            id,
            labels,
            state: Mutex::new(SeriesState::default()),
        }
    }
}

/// Where an out-of-order sample may go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutOfOrder {
    /// Oldest timestamp accepted out of order (`i64::MAX`: none; `i64::MIN`: any, in replay).
    pub(crate) min_t: i64,
    /// The sample is older than the head's oldest writable time: its range may already be in a
    /// block, so it goes to the out-of-order samples even when it is in order for the series.
    pub(crate) forced: bool,
}

impl OutOfOrder {
    /// No out-of-order samples at all (the behaviour without a window).
    #[cfg(test)]
    pub(crate) const NONE: Self = Self {
        min_t: i64::MAX,
        forced: false,
    };
}

#[derive(Debug, Default)]
pub(crate) struct SeriesState {
    pub(crate) closed: Vec<StoredChunk>,
    pub(crate) open: XorChunk,
    /// Accepted out-of-order samples, sorted by time, one per timestamp.
    pub(crate) out_of_order: Vec<Sample>,
    /// Set when garbage collection dropped the series; appenders holding a stale handle must
    /// look the labels up again.
    pub(crate) removed: bool,
}

impl SeriesState {
    pub(crate) fn last(&self) -> Option<Sample> {
        self.open
            .last()
            .or_else(|| self.closed.last().and_then(last_of_stored))
    }

    pub(crate) fn min_time(&self) -> Option<i64> {
        let in_order = self
            .closed
            .first()
            .map(|chunk| chunk.min_t)
            .or(self.open.min_time());
        let out_of_order = self.out_of_order.first().map(|s| s.t);
        in_order.into_iter().chain(out_of_order).min()
    }

    pub(crate) fn max_time(&self) -> Option<i64> {
        let in_order = self
            .open
            .max_time()
            .or(self.closed.last().map(|chunk| chunk.max_t));
        let out_of_order = self.out_of_order.last().map(|s| s.t);
        in_order.into_iter().chain(out_of_order).max()
    }

    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        match (self.min_time(), self.max_time()) {
            (Some(min), Some(max)) => min <= maxt && max >= mint,
            _ => false,
        }
    }

    /// Checks a sample against the series without changing it. A sample older than the newest
    /// one (or `forced`) is accepted out of order when it is not older than `ooo.min_t`; a
    /// timestamp the head already holds is a duplicate (a no-op with the same value). One whose
    /// range has left the head for a block is not checked against the block: a different value
    /// there is a conflicting write, and either value may be read back.
    pub(crate) fn check(&self, t: i64, v: f64, ooo: OutOfOrder) -> Result<Appended, AppendError> {
        let last = self.last();
        if !ooo.forced {
            match last {
                None => return Ok(Appended::Stored),
                Some(last) if t > last.t => return Ok(Appended::Stored),
                Some(last) if t == last.t => {
                    return if last.v.to_bits() == v.to_bits() {
                        Ok(Appended::IdenticalDuplicate)
                    } else {
                        Err(AppendError::DuplicateSampleForTimestamp { t })
                    };
                }
                Some(_) => {}
            }
        }
        if t < ooo.min_t {
            return Err(AppendError::OutOfOrder {
                t,
                newest: last.map_or(t, |last| last.t),
            });
        }
        let held = match self.out_of_order.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => Some(self.out_of_order[i].v),
            Err(_) => self.in_order_value_at(t),
        };
        match held {
            Some(held) if held.to_bits() == v.to_bits() => Ok(Appended::IdenticalDuplicate),
            Some(_) => Err(AppendError::DuplicateSampleForTimestamp { t }),
            None => Ok(Appended::Stored),
        }
    }

    /// The in-order sample at exactly `t`, if any (decodes the one chunk that covers `t`).
    fn in_order_value_at(&self, t: i64) -> Option<f64> {
        if let (Some(min), Some(max)) = (self.open.min_time(), self.open.max_time())
            && (min..=max).contains(&t)
        {
            return self.open.iter().find(|s| s.t == t).map(|s| s.v);
        }
        let chunk = self.closed.iter().find(|c| c.min_t <= t && t <= c.max_t)?;
        decode(&chunk.data)
            .ok()?
            .into_iter()
            .find(|s| s.t == t)
            .map(|s| s.v)
    }

    /// Whether `t` goes to the out-of-order samples rather than the open chunk.
    fn is_out_of_order(&self, t: i64, ooo: OutOfOrder) -> bool {
        ooo.forced || self.last().is_some_and(|last| t < last.t)
    }

    /// Appends a sample, cutting a new chunk when the open one is full or the sample falls in the
    /// next block range (`chunk_range` ms), so chunks never straddle a block boundary. Returns
    /// whether it went to the out-of-order samples.
    pub(crate) fn append(
        &mut self,
        t: i64,
        v: f64,
        chunk_range: i64,
        ooo: OutOfOrder,
    ) -> Result<(Appended, bool), AppendError> {
        let outcome = self.check(t, v, ooo)?;
        if outcome == Appended::IdenticalDuplicate {
            return Ok((outcome, false));
        }
        if self.is_out_of_order(t, ooo) {
            let at = self.out_of_order.partition_point(|s| s.t < t);
            self.out_of_order.insert(at, Sample::new(t, v));
            return Ok((Appended::Stored, true));
        }
        if let Some(open_min) = self.open.min_time() {
            let crosses_range = t.div_euclid(chunk_range) != open_min.div_euclid(chunk_range);
            if crosses_range || self.open.is_full() {
                self.close_open_chunk();
            }
        }
        // `check` ruled out ordering problems and a full chunk was just closed, so this only
        // fails on a bug; report it rather than panic.
        self.open.append(t, v)?;
        Ok((Appended::Stored, false))
    }

    /// The out-of-order samples before `before`, to be written to a block.
    pub(crate) fn out_of_order_before(&self, before: i64) -> &[Sample] {
        let end = self.out_of_order.partition_point(|s| s.t < before);
        &self.out_of_order[..end]
    }

    /// Forgets the out-of-order samples that `written` holds (same timestamp and value): they
    /// are in a block now. Samples that arrived meanwhile stay.
    pub(crate) fn forget_out_of_order(&mut self, written: &[Sample]) {
        self.out_of_order.retain(|s| {
            written
                .binary_search_by_key(&s.t, |w| w.t)
                .map_or(true, |i| written[i].v.to_bits() != s.v.to_bits())
        });
    }

    pub(crate) fn close_open_chunk(&mut self) {
        let open = std::mem::take(&mut self.open);
        if let Some(stored) = StoredChunk::from_chunk(&open) {
            self.closed.push(stored);
        }
    }

    /// Every in-order chunk (closed then open) as immutable copies, cheap for closed ones.
    pub(crate) fn chunks(&self) -> Vec<StoredChunk> {
        let mut chunks = self.closed.clone();
        chunks.extend(StoredChunk::from_chunk(&self.open));
        chunks
    }

    /// The in-order chunks with the out-of-order samples merged in (re-encoded, split at
    /// capacity and at `chunk_range` boundaries), for a block cut.
    pub(crate) fn merged_chunks(&self, chunk_range: i64) -> Vec<StoredChunk> {
        if self.out_of_order.is_empty() {
            return self.chunks();
        }
        let mut chunks = Vec::new();
        let mut current = XorChunk::new();
        for sample in self.samples(i64::MIN, i64::MAX) {
            if let Some(min) = current.min_time()
                && (current.num_samples() >= MAX_SAMPLES_PER_CHUNK
                    || sample.t.div_euclid(chunk_range) != min.div_euclid(chunk_range))
            {
                chunks.extend(StoredChunk::from_chunk(&std::mem::take(&mut current)));
            }
            // Merged samples are strictly increasing, so the encoder accepts each.
            if current.append(sample.t, sample.v).is_err() {
                break;
            }
        }
        chunks.extend(StoredChunk::from_chunk(&current));
        chunks
    }

    /// Samples with `mint <= t <= maxt`.
    pub(crate) fn samples(&self, mint: i64, maxt: i64) -> Vec<Sample> {
        let mut samples = Vec::new();
        for chunk in self.closed.iter().filter(|c| c.overlaps(mint, maxt)) {
            extend_in_range(
                &mut samples,
                decode(&chunk.data).unwrap_or_default(),
                mint,
                maxt,
            );
        }
        if matches!((self.open.min_time(), self.open.max_time()), (Some(min), Some(max)) if min <= maxt && max >= mint)
        {
            extend_in_range(&mut samples, self.open.iter(), mint, maxt);
        }
        let start = self.out_of_order.partition_point(|s| s.t < mint);
        let end = self.out_of_order.partition_point(|s| s.t <= maxt);
        if start < end {
            // In-order samples first: they win a tie with a late copy.
            samples = merge_sorted(vec![samples, self.out_of_order[start..end].to_vec()]);
        }
        samples
    }

    /// Drops chunks whose samples all lie before `before`; returns how many were dropped.
    pub(crate) fn truncate(&mut self, before: i64) -> usize {
        let kept_from = self
            .closed
            .iter()
            .position(|chunk| chunk.max_t >= before)
            .unwrap_or(self.closed.len());
        let mut dropped = kept_from;
        self.closed.drain(..kept_from);
        if self.closed.is_empty() && self.open.max_time().is_some_and(|max| max < before) {
            self.open = XorChunk::new();
            dropped += 1;
        }
        self.out_of_order.retain(|s| s.t >= before);
        dropped
    }
}

fn last_of_stored(chunk: &StoredChunk) -> Option<Sample> {
    decode(&chunk.data)
        .ok()
        .and_then(|samples| samples.last().copied())
}

fn extend_in_range(
    out: &mut Vec<Sample>,
    samples: impl IntoIterator<Item = Sample>,
    mint: i64,
    maxt: i64,
) {
    out.extend(
        samples
            .into_iter()
            .skip_while(|s| s.t < mint)
            .take_while(|s| s.t <= maxt),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: i64 = 7_200_000;

    #[test]
    fn chunks_are_cut_at_capacity_and_block_boundaries() {
        let mut state = SeriesState::default();
        for i in 0..130 {
            state
                .append(i * 1000, i as f64, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended)
                .unwrap();
        }
        assert_eq!(state.closed.len(), 1, "120 samples close the first chunk");
        state
            .append(RANGE, 0.0, RANGE, OutOfOrder::NONE)
            .map(|(appended, _)| appended)
            .unwrap();
        assert_eq!(
            state.closed.len(),
            2,
            "crossing the block boundary closes the chunk"
        );
        assert!(state.closed.iter().all(|c| c.max_t < RANGE));
        assert_eq!(state.samples(i64::MIN, i64::MAX).len(), 131);
        assert_eq!(state.samples(5_000, 9_000).len(), 5);
    }

    #[test]
    fn ordering_and_duplicate_policy() {
        let mut state = SeriesState::default();
        state
            .append(10, 1.0, RANGE, OutOfOrder::NONE)
            .map(|(appended, _)| appended)
            .unwrap();
        assert_eq!(
            state
                .append(5, 1.0, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended),
            Err(AppendError::OutOfOrder { t: 5, newest: 10 })
        );
        assert_eq!(
            state
                .append(10, 1.0, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended),
            Ok(Appended::IdenticalDuplicate)
        );
        assert_eq!(
            state
                .append(10, 2.0, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended),
            Err(AppendError::DuplicateSampleForTimestamp { t: 10 })
        );
        assert_eq!(state.samples(0, 100), vec![Sample::new(10, 1.0)]);
    }

    #[test]
    fn last_sample_survives_chunk_close() {
        let mut state = SeriesState::default();
        state
            .append(1, 4.0, RANGE, OutOfOrder::NONE)
            .map(|(appended, _)| appended)
            .unwrap();
        state.close_open_chunk();
        assert_eq!(state.last(), Some(Sample::new(1, 4.0)));
        assert_eq!(
            state
                .append(1, 5.0, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended),
            Err(AppendError::DuplicateSampleForTimestamp { t: 1 })
        );
    }

    #[test]
    fn truncate_drops_only_fully_old_chunks() {
        let mut state = SeriesState::default();
        for i in 0..300 {
            state
                .append(i, 0.0, RANGE, OutOfOrder::NONE)
                .map(|(appended, _)| appended)
                .unwrap();
        }
        // Chunks: [0,119], [120,239], open [240,299].
        assert_eq!(state.truncate(120), 1);
        assert_eq!(state.min_time(), Some(120));
        assert_eq!(state.truncate(1_000), 2);
        assert_eq!(state.min_time(), None);
    }

    fn window(min_t: i64) -> OutOfOrder {
        OutOfOrder {
            min_t,
            forced: false,
        }
    }

    #[test]
    fn late_samples_within_the_window_are_kept_sorted_and_merged_into_reads() {
        let mut state = SeriesState::default();
        for t in [10, 20, 30] {
            state.append(t, t as f64, RANGE, window(0)).unwrap();
        }
        assert_eq!(
            state.append(15, 15.0, RANGE, window(0)),
            Ok((Appended::Stored, true))
        );
        assert_eq!(
            state.append(5, 5.0, RANGE, window(0)),
            Ok((Appended::Stored, true))
        );
        assert_eq!(
            state.append(15, 15.0, RANGE, window(0)),
            Ok((Appended::IdenticalDuplicate, false))
        );
        assert_eq!(
            state.append(15, 16.0, RANGE, window(0)),
            Err(AppendError::DuplicateSampleForTimestamp { t: 15 })
        );
        assert_eq!(
            state.append(-1, 0.0, RANGE, window(0)),
            Err(AppendError::OutOfOrder { t: -1, newest: 30 }),
            "older than the window"
        );
        let times: Vec<i64> = state
            .samples(i64::MIN, i64::MAX)
            .iter()
            .map(|s| s.t)
            .collect();
        assert_eq!(times, [5, 10, 15, 20, 30]);
        assert_eq!(state.samples(12, 25).len(), 2);
        assert_eq!((state.min_time(), state.max_time()), (Some(5), Some(30)));
        // New in-order samples still go to the open chunk.
        assert_eq!(
            state.append(40, 40.0, RANGE, window(0)),
            Ok((Appended::Stored, false))
        );
    }

    #[test]
    fn merged_chunks_hold_every_sample_once_and_respect_block_boundaries() {
        let mut state = SeriesState::default();
        for t in (0..200).map(|i| i * 10) {
            state.append(t, 1.0, 1_000, window(i64::MIN)).unwrap();
        }
        for t in (0..200).map(|i| i * 10 + 5) {
            state.append(t, 2.0, 1_000, window(i64::MIN)).unwrap();
        }
        let chunks = state.merged_chunks(1_000);
        let all: Vec<Sample> = chunks
            .iter()
            .flat_map(|c| decode(&c.data).unwrap())
            .collect();
        assert_eq!(all.len(), 400);
        assert!(all.windows(2).all(|w| w[0].t < w[1].t));
        assert!(
            chunks
                .iter()
                .all(|c| c.min_t.div_euclid(1_000) == c.max_t.div_euclid(1_000))
        );
        assert!(
            chunks
                .iter()
                .all(|c| c.num_samples <= MAX_SAMPLES_PER_CHUNK)
        );
    }

    #[test]
    fn forced_samples_go_out_of_order_and_can_be_forgotten_once_written() {
        let mut state = SeriesState::default();
        let forced = OutOfOrder {
            min_t: 0,
            forced: true,
        };
        assert_eq!(
            state.append(7, 7.0, RANGE, forced),
            Ok((Appended::Stored, true))
        );
        assert_eq!(
            state.append(3, 3.0, RANGE, forced),
            Ok((Appended::Stored, true))
        );
        assert!(state.open.is_empty());
        let written = state.out_of_order_before(5).to_vec();
        assert_eq!(written, [Sample::new(3, 3.0)]);
        state.forget_out_of_order(&written);
        assert_eq!(state.out_of_order, [Sample::new(7, 7.0)]);
        assert_eq!(state.truncate(8), 0);
        assert!(state.out_of_order.is_empty());
    }
}
