//! The in-memory head: recent samples of every series in compressed chunks, a label postings
//! index, and the append policy (increasing time per series, nothing older than the oldest
//! writable time, except late samples within the out-of-order window, which are kept beside the
//! chunks and merged into reads).

mod error;
mod maps;
mod query;
mod series;
mod stats;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use self::error::AppendError;
pub(crate) use self::error::too_old;
pub(crate) use self::maps::LabelsHash;
use self::maps::SeriesMaps;
pub use self::series::Appended;
use self::series::{MemSeries, OutOfOrder};
use self::stats::Counters;
pub use self::stats::HeadStats;
use crate::chunk::{ChunkError, StoredChunk, XorChunk};
use crate::index::PostingsIndex;
use crate::labels::Labels;
use crate::sample::Sample;
use crate::sync::{lock, read, write};

/// One series of a checkpoint: id, labels, in-order chunks and out-of-order samples.
pub(crate) type SnapshotSeries = (u64, Labels, Vec<StoredChunk>, Vec<Sample>);

/// A stable handle to a head series, valid until the series is garbage-collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

/// A head series found once and kept, so checks and appends skip the id lookup (a batch holds
/// one per series). It may have been garbage-collected since: checks then say `UnknownSeries`.
#[derive(Debug, Clone)]
pub(crate) struct SeriesHandle(Arc<MemSeries>);

impl SeriesHandle {
    pub(crate) fn series_ref(&self) -> SeriesRef {
        SeriesRef(self.0.id)
    }

    /// The series' labels (still readable after garbage collection dropped it).
    pub(crate) fn labels(&self) -> &Labels {
        &self.0.labels
    }

    /// Whether garbage collection has not dropped the series.
    pub(crate) fn is_live(&self) -> bool {
        !lock(&self.0.state).removed
    }
}

/// Head configuration.
#[derive(Debug, Clone, Copy)]
pub struct HeadOptions {
    /// Block range in milliseconds: chunks never straddle a multiple of it.
    pub chunk_range_ms: i64,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            chunk_range_ms: 2 * 60 * 60 * 1000,
        }
    }
}

/// All series' recent samples, in memory. Safe to share between threads: appends to different
/// series proceed in parallel, readers never block appenders for long.
#[derive(Debug)]
pub struct Head {
    chunk_range: i64,
    maps: SeriesMaps,
    postings: RwLock<PostingsIndex>,
    next_id: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    min_valid_time: AtomicI64,
    /// How far behind the newest sample a late sample is still accepted (ms); 0: not at all.
    out_of_order_window: AtomicI64,
    counters: Counters,
}

impl Default for Head {
    fn default() -> Self {
        Self::new(HeadOptions::default())
    }
}

impl Head {
    /// An empty head. A non-positive `chunk_range_ms` is replaced by the 2 h default.
    pub fn new(options: HeadOptions) -> Self {
        let chunk_range = if options.chunk_range_ms > 0 {
            options.chunk_range_ms
        } else {
            HeadOptions::default().chunk_range_ms
        };
        Self {
            chunk_range,
            maps: SeriesMaps::default(),
            postings: RwLock::default(),
            next_id: AtomicU64::new(1),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            out_of_order_window: AtomicI64::new(0),
            counters: Counters::default(),
        }
    }

    /// Oldest sample time in the head, `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        let min = self.min_time.load(Ordering::Acquire);
        (min != i64::MAX).then_some(min)
    }

    /// Newest sample time in the head, `None` when empty.
    pub fn max_time(&self) -> Option<i64> {
        let max = self.max_time.load(Ordering::Acquire);
        (max != i64::MIN).then_some(max)
    }

    /// Samples older than this are rejected as [`AppendError::TooOld`].
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// Raises the oldest writable time (never lowers it).
    pub(crate) fn raise_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    /// Accepts samples up to `window_ms` behind the newest sample out of order (0: none).
    pub fn set_out_of_order_window(&self, window_ms: i64) {
        self.out_of_order_window
            .store(window_ms.max(0), Ordering::Release);
    }

    /// The oldest timestamp accepted out of order now: the window behind the newest sample (or
    /// behind the oldest writable time while the head is empty); `i64::MAX` without a window.
    pub(crate) fn out_of_order_min(&self) -> i64 {
        let window = self.out_of_order_window.load(Ordering::Acquire);
        if window == 0 {
            return i64::MAX;
        }
        let newest = self
            .max_time()
            .unwrap_or(i64::MIN)
            .max(self.min_valid_time());
        newest.saturating_sub(window)
    }

    /// Appends one sample to the series with `labels`, creating the series if needed.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<Appended, AppendError> {
        loop {
            let series_ref = self.get_or_create(labels)?;
            match self.append_ref(series_ref, t, v) {
                // Garbage collection removed the series between lookup and append: look again.
                Err(AppendError::UnknownSeries(_)) => continue,
                result => return result,
            }
        }
    }

    /// Finds or creates the series with `labels`.
    pub fn get_or_create(&self, labels: &Labels) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::EmptyLabels);
        }
        if let Some(series) = self.maps.by_labels(labels) {
            return Ok(SeriesRef(series.id));
        }
        let id = self.next_id.fetch_add(1, Ordering::AcqRel);
        Ok(SeriesRef(self.insert_series(id, labels)))
    }

    /// Inserts a series under `id` unless its labels already exist; returns the id in use.
    fn insert_series(&self, id: u64, labels: &Labels) -> u64 {
        let mut by_labels = self.maps.lock_labels(labels);
        if let Some(existing) = by_labels.get(labels) {
            return existing.id;
        }
        let series = Arc::new(MemSeries::new(id, labels.clone()));
        by_labels.insert(Arc::clone(&series));
        self.maps.insert_id(&series);
        write(&self.postings).add(id, labels);
        Counters::add(&self.counters.series_created, 1);
        id
    }

    /// Re-creates a series with the id it had before a restart (WAL replay, checkpoint). When the
    /// labels already exist under another id, that id is returned and the caller maps to it.
    pub(crate) fn create_series_with_id(&self, id: u64, labels: &Labels) -> SeriesRef {
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::AcqRel);
        SeriesRef(self.insert_series(id, labels))
    }

    /// The series with exactly these labels, if present.
    pub fn get(&self, labels: &Labels) -> Option<SeriesRef> {
        self.maps
            .by_labels(labels)
            .map(|series| SeriesRef(series.id))
    }

    /// Reserves a fresh series id without creating the series (the database logs new series
    /// to the WAL before they enter the head).
    pub(crate) fn allocate_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::AcqRel)
    }

    /// Zeroes the counters (after WAL replay, whose re-appends are not new traffic).
    pub(crate) fn reset_counters(&self) {
        self.counters.reset();
    }

    /// Makes sure future series ids are above `id` (ids seen in the WAL must not be reused).
    pub(crate) fn reserve_ids_through(&self, id: u64) {
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::AcqRel);
    }

    /// The series with exactly these labels, as a handle that skips the lookup next time.
    pub(crate) fn handle(&self, labels: &Labels) -> Option<SeriesHandle> {
        self.maps.by_labels(labels).map(SeriesHandle)
    }

    /// The lookup hash of `labels`, to find it in the head and in tables keyed the same way.
    pub(crate) fn hash_labels(&self, labels: &Labels) -> LabelsHash {
        self.maps.hash(labels)
    }

    /// The lookup hash of checked borrowed pairs, equal to that of their `Labels`.
    pub(crate) fn hash_pairs(&self, pairs: &[(&str, &str)]) -> LabelsHash {
        self.maps.hash_pairs(pairs)
    }

    /// [`Head::handle`] with the hash already computed.
    pub(crate) fn handle_hashed(&self, labels: &Labels, hash: LabelsHash) -> Option<SeriesHandle> {
        self.maps.by_hashed_labels(labels, hash).map(SeriesHandle)
    }

    /// The series with exactly the checked `pairs` (see `labels::check_pairs`), found without
    /// building their `Labels`.
    pub(crate) fn handle_by_pairs(
        &self,
        pairs: &[(&str, &str)],
        hash: LabelsHash,
    ) -> Option<SeriesHandle> {
        self.maps.by_hashed_pairs(pairs, hash).map(SeriesHandle)
    }

    /// The series with this id, as a handle.
    pub(crate) fn handle_by_id(&self, series_ref: SeriesRef) -> Option<SeriesHandle> {
        self.maps.by_id(series_ref.0).map(SeriesHandle)
    }

    /// Checks whether a sample would be accepted by a series already found, without storing
    /// it; samples not older than `ooo_min` are accepted out of order.
    pub(crate) fn check_handle(
        &self,
        handle: &SeriesHandle,
        t: i64,
        v: f64,
        ooo_min: i64,
    ) -> Result<Appended, AppendError> {
        let state = lock(&handle.0.state);
        if state.removed {
            return Err(AppendError::UnknownSeries(handle.0.id));
        }
        let forced = t < self.min_valid_time();
        state.check(
            t,
            v,
            OutOfOrder {
                min_t: ooo_min,
                forced,
            },
        )
    }

    /// Appends one sample to a series found earlier with [`Head::get_or_create`].
    pub fn append_ref(
        &self,
        series_ref: SeriesRef,
        t: i64,
        v: f64,
    ) -> Result<Appended, AppendError> {
        self.append_ref_within(series_ref, t, v, self.out_of_order_min())
    }

    /// [`Head::append_ref`] accepting late samples down to `ooo_min` (`i64::MIN`: any, for WAL
    /// replay, whose samples were all accepted once; `i64::MAX`: none).
    pub(crate) fn append_ref_within(
        &self,
        series_ref: SeriesRef,
        t: i64,
        v: f64,
        ooo_min: i64,
    ) -> Result<Appended, AppendError> {
        if let Some(error) = self.too_old(t, ooo_min) {
            return Err(error);
        }
        let series = self
            .maps
            .by_id(series_ref.0)
            .ok_or(AppendError::UnknownSeries(series_ref.0))?;
        self.append_handle(&SeriesHandle(series), t, v, ooo_min)
    }

    /// Older than both the oldest writable time and the out-of-order bound: counted and refused.
    fn too_old(&self, t: i64, ooo_min: i64) -> Option<AppendError> {
        let error = too_old(t, self.min_valid_time(), ooo_min)?;
        self.counters.count_rejection(&error);
        Some(error)
    }

    /// [`Head::append_ref_within`] for a series already found.
    pub(crate) fn append_handle(
        &self,
        handle: &SeriesHandle,
        t: i64,
        v: f64,
        ooo_min: i64,
    ) -> Result<Appended, AppendError> {
        if let Some(error) = self.too_old(t, ooo_min) {
            return Err(error);
        }
        let min_valid = self.min_valid_time();
        let result = {
            let mut state = lock(&handle.0.state);
            if state.removed {
                return Err(AppendError::UnknownSeries(handle.0.id));
            }
            let ooo = OutOfOrder {
                min_t: ooo_min,
                forced: t < min_valid,
            };
            state.append(t, v, self.chunk_range, ooo)
        };
        match &result {
            Ok((Appended::Stored, late)) => {
                self.min_time.fetch_min(t, Ordering::AcqRel);
                self.max_time.fetch_max(t, Ordering::AcqRel);
                Counters::add(&self.counters.samples_appended, 1);
                if *late {
                    Counters::add(&self.counters.out_of_order_accepted, 1);
                }
            }
            Ok((Appended::IdenticalDuplicate, _)) => {
                Counters::add(&self.counters.identical_duplicates, 1);
            }
            Err(error) => self.counters.count_rejection(error),
        }
        result.map(|(appended, _)| appended)
    }

    /// The out-of-order samples older than `before` (their ranges may already be in blocks),
    /// per series with samples there, sorted by labels.
    pub(crate) fn out_of_order_before(&self, before: i64) -> Vec<(Labels, Vec<Sample>)> {
        let mut found: Vec<(Labels, Vec<Sample>)> = self
            .maps
            .all()
            .into_iter()
            .filter_map(|series| {
                let state = lock(&series.state);
                let late = state.out_of_order_before(before);
                (!state.removed && !late.is_empty()).then(|| (series.labels.clone(), late.to_vec()))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// Forgets out-of-order samples now written to a block (see
    /// [`Head::out_of_order_before`]).
    pub(crate) fn forget_out_of_order(&self, written: &[(Labels, Vec<Sample>)]) {
        for (labels, samples) in written {
            if let Some(series) = self.maps.by_labels(labels) {
                lock(&series.state).forget_out_of_order(samples);
            }
        }
    }

    /// Counts a rejection decided outside the head (e.g. by the database's appender).
    pub(crate) fn count_rejection(&self, error: &AppendError) {
        self.counters.count_rejection(error);
    }

    /// Restores a series' chunks (oldest first) from a checkpoint. Chunks not after the series'
    /// newest sample are skipped; samples after `newest_allowed` are left out and counted.
    pub(crate) fn restore_chunks(
        &self,
        series_ref: SeriesRef,
        chunks: Vec<Vec<u8>>,
        newest_allowed: i64,
    ) -> Result<u64, ChunkError> {
        let Some(series) = self.maps.by_id(series_ref.0) else {
            return Ok(0);
        };
        let mut state = lock(&series.state);
        let count = chunks.len();
        let mut left_out = 0u64;
        for (index, bytes) in chunks.into_iter().enumerate() {
            let mut chunk = XorChunk::from_bytes(bytes)?;
            if chunk.max_time().is_some_and(|max| max > newest_allowed) {
                let (kept, dropped) = keep_until(&chunk, newest_allowed)?;
                chunk = kept;
                left_out += dropped;
            }
            let (Some(min), Some(max)) = (chunk.min_time(), chunk.max_time()) else {
                continue;
            };
            if state.max_time().is_some_and(|existing| min <= existing) {
                continue;
            }
            state.close_open_chunk();
            // The newest chunk stays open so appends continue in it.
            if index + 1 == count {
                state.open = chunk;
            } else if let Some(stored) = StoredChunk::from_chunk(&chunk) {
                state.closed.push(stored);
            }
            self.min_time.fetch_min(min, Ordering::AcqRel);
            self.max_time.fetch_max(max, Ordering::AcqRel);
        }
        Ok(left_out)
    }

    /// Every live series with all its chunks and out-of-order samples, for checkpoints.
    pub(crate) fn snapshot(&self) -> Vec<SnapshotSeries> {
        let mut all: Vec<SnapshotSeries> = self
            .maps
            .all()
            .into_iter()
            .map(|series| {
                let state = lock(&series.state);
                let (chunks, late) = (state.chunks(), state.out_of_order.clone());
                (series.id, series.labels.clone(), chunks, late)
            })
            .collect();
        all.sort_by_key(|(id, _, _, _)| *id);
        all
    }

    /// Drops chunks whose samples are all before `before`, then removes series left empty.
    /// Returns the number of series removed.
    pub(crate) fn truncate(&self, before: i64) -> usize {
        let mut removed = 0;
        let mut new_min = i64::MAX;
        for series in self.maps.all() {
            let mut by_labels = self.maps.lock_labels(&series.labels);
            let mut state = lock(&series.state);
            state.truncate(before);
            if let Some(min) = state.min_time() {
                new_min = new_min.min(min);
                continue;
            }
            // Lock order labels shard → series → id shard → postings, as in creation.
            state.removed = true;
            by_labels.remove(&series.labels);
            drop(state);
            drop(by_labels);
            self.maps.remove_id(series.id);
            write(&self.postings).remove(series.id, &series.labels);
            removed += 1;
        }
        self.min_time.store(new_min, Ordering::Release);
        if new_min == i64::MAX {
            self.max_time.store(i64::MIN, Ordering::Release);
        }
        Counters::add(&self.counters.series_removed, removed as u64);
        removed
    }

    /// A snapshot of sizes and counters.
    pub fn stats(&self) -> HeadStats {
        let mut stats = HeadStats::default();
        for series in self.maps.all() {
            let state = lock(&series.state);
            if state.removed {
                continue;
            }
            stats.num_series += 1;
            for chunk in &state.closed {
                stats.num_chunks += 1;
                stats.num_samples += chunk.num_samples as u64;
                stats.chunk_bytes += chunk.data.len() as u64;
            }
            if !state.open.is_empty() {
                stats.num_chunks += 1;
                stats.num_samples += state.open.num_samples() as u64;
                stats.chunk_bytes += state.open.bytes().len() as u64;
            }
            stats.num_samples += state.out_of_order.len() as u64;
            stats.out_of_order_samples += state.out_of_order.len() as u64;
        }
        let counters = &self.counters;
        stats.min_time = self.min_time();
        stats.max_time = self.max_time();
        stats.samples_appended_total = Counters::get(&counters.samples_appended);
        stats.out_of_order_total = Counters::get(&counters.out_of_order);
        stats.out_of_order_accepted_total = Counters::get(&counters.out_of_order_accepted);
        stats.too_old_total = Counters::get(&counters.too_old);
        stats.too_far_in_future_total = Counters::get(&counters.too_far_in_future);
        stats.duplicate_rejected_total = Counters::get(&counters.duplicate_rejected);
        stats.identical_duplicates_total = Counters::get(&counters.identical_duplicates);
        stats.series_created_total = Counters::get(&counters.series_created);
        stats.series_removed_total = Counters::get(&counters.series_removed);
        stats
    }

    /// Number of distinct values per label name, most first (cardinality statistics).
    pub fn label_value_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = read(&self.postings)
            .value_counts()
            .map(|(name, count)| (name.to_owned(), count))
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }
}

/// A copy of `chunk` with only the samples up to `newest`, and how many were left out.
fn keep_until(chunk: &XorChunk, newest: i64) -> Result<(XorChunk, u64), ChunkError> {
    let mut kept = XorChunk::new();
    let mut dropped = 0;
    for sample in chunk.iter() {
        if sample.t <= newest {
            kept.append(sample.t, sample.v)?;
        } else {
            dropped += 1;
        }
    }
    Ok((kept, dropped))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
