//! One in-memory series: its labels, its closed (immutable) chunks and the open chunk that
//! receives appends.

use std::sync::Mutex;

use super::AppendError;
use crate::chunk::{StoredChunk, XorChunk, decode};
use crate::labels::Labels;
use crate::sample::Sample;

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

#[derive(Debug, Default)]
pub(crate) struct SeriesState {
    pub(crate) closed: Vec<StoredChunk>,
    pub(crate) open: XorChunk,
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
        self.closed
            .first()
            .map(|chunk| chunk.min_t)
            .or(self.open.min_time())
    }

    pub(crate) fn max_time(&self) -> Option<i64> {
        self.open
            .max_time()
            .or(self.closed.last().map(|chunk| chunk.max_t))
    }

    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        match (self.min_time(), self.max_time()) {
            (Some(min), Some(max)) => min <= maxt && max >= mint,
            _ => false,
        }
    }

    /// Checks a sample against the series without changing it.
    pub(crate) fn check(&self, t: i64, v: f64) -> Result<Appended, AppendError> {
        match self.last() {
            Some(last) if t < last.t => Err(AppendError::OutOfOrder { t, newest: last.t }),
            Some(last) if t == last.t => {
                if last.v.to_bits() == v.to_bits() {
                    Ok(Appended::IdenticalDuplicate)
                } else {
                    Err(AppendError::DuplicateSampleForTimestamp { t })
                }
            }
            _ => Ok(Appended::Stored),
        }
    }

    /// Appends a sample, cutting a new chunk when the open one is full or the sample falls in the
    /// next block range (`chunk_range` ms), so chunks never straddle a block boundary.
    pub(crate) fn append(
        &mut self,
        t: i64,
        v: f64,
        chunk_range: i64,
    ) -> Result<Appended, AppendError> {
        let outcome = self.check(t, v)?;
        if outcome == Appended::IdenticalDuplicate {
            return Ok(outcome);
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
        Ok(Appended::Stored)
    }

    pub(crate) fn close_open_chunk(&mut self) {
        let open = std::mem::take(&mut self.open);
        if let Some(stored) = StoredChunk::from_chunk(&open) {
            self.closed.push(stored);
        }
    }

    /// Every chunk (closed then open) as immutable copies, cheap for closed ones.
    pub(crate) fn chunks(&self) -> Vec<StoredChunk> {
        let mut chunks = self.closed.clone();
        chunks.extend(StoredChunk::from_chunk(&self.open));
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
            state.append(i * 1000, i as f64, RANGE).unwrap();
        }
        assert_eq!(state.closed.len(), 1, "120 samples close the first chunk");
        state.append(RANGE, 0.0, RANGE).unwrap();
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
        state.append(10, 1.0, RANGE).unwrap();
        assert_eq!(
            state.append(5, 1.0, RANGE),
            Err(AppendError::OutOfOrder { t: 5, newest: 10 })
        );
        assert_eq!(
            state.append(10, 1.0, RANGE),
            Ok(Appended::IdenticalDuplicate)
        );
        assert_eq!(
            state.append(10, 2.0, RANGE),
            Err(AppendError::DuplicateSampleForTimestamp { t: 10 })
        );
        assert_eq!(state.samples(0, 100), vec![Sample::new(10, 1.0)]);
    }

    #[test]
    fn last_sample_survives_chunk_close() {
        let mut state = SeriesState::default();
        state.append(1, 4.0, RANGE).unwrap();
        state.close_open_chunk();
        assert_eq!(state.last(), Some(Sample::new(1, 4.0)));
        assert_eq!(
            state.append(1, 5.0, RANGE),
            Err(AppendError::DuplicateSampleForTimestamp { t: 1 })
        );
    }

    #[test]
    fn truncate_drops_only_fully_old_chunks() {
        let mut state = SeriesState::default();
        for i in 0..300 {
            state.append(i, 0.0, RANGE).unwrap();
        }
        // Chunks: [0,119], [120,239], open [240,299].
        assert_eq!(state.truncate(120), 1);
        assert_eq!(state.min_time(), Some(120));
        assert_eq!(state.truncate(1_000), 2);
        assert_eq!(state.min_time(), None);
    }
}
