//! Batched, durable appends: samples are checked as they are added, then `commit` writes them to
//! the WAL, applies them to the head and returns once an fsync covers them (shared with the
//! commits that wrote meanwhile: group commit).

use std::collections::HashMap;

use hashbrown::HashTable;

use super::{Db, DbError, wall_clock_ms};
use crate::head::{AppendError, Appended, LabelsHash, SeriesHandle, SeriesRef, too_old};
use crate::labels::{Labels, SeriesLabelsError, check_pairs};
use crate::sync::lock;
use crate::wal::WalSample;

/// What a commit stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Samples now durable and queryable.
    pub samples: usize,
    /// Series created by this commit.
    pub new_series: usize,
    /// Samples dropped at commit because a concurrent commit got there first (they passed the
    /// checks in `append` but no longer fit). Counted in the head statistics as well.
    pub rejected: usize,
}

/// Samples of one series waiting for commit, in append order.
#[derive(Debug)]
struct Pending {
    /// The head's hash of the series' labels: the key of the batch's table as well.
    hash: LabelsHash,
    series: Target,
    samples: Vec<(i64, u64)>,
}

/// The series a batch entry appends to. A series already in the head lends the batch its
/// labels, so only a new series costs an owned label set.
#[derive(Debug)]
enum Target {
    /// Found in the head when the first sample was added (re-checked at commit).
    Found(SeriesHandle),
    /// Not in the head then: created at commit unless it appeared meanwhile.
    New(Labels),
}

impl Pending {
    fn new(hash: LabelsHash, series: Target) -> Self {
        Self {
            hash,
            series,
            samples: Vec::new(),
        }
    }

    fn labels(&self) -> &Labels {
        match &self.series {
            Target::Found(handle) => handle.labels(),
            Target::New(labels) => labels,
        }
    }

    fn handle(&self) -> Option<&SeriesHandle> {
        match &self.series {
            Target::Found(handle) => Some(handle),
            Target::New(_) => None,
        }
    }
}

/// The time bounds of a batch's checks, worked out once per series instead of per sample.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    min_valid: i64,
    ooo_min: i64,
    max_valid: i64,
    tolerance_ms: i64,
}

/// A batch of appends. Nothing is visible or durable before [`Appender::commit`]; dropping the
/// appender discards the batch.
#[derive(Debug)]
pub struct Appender<'a> {
    db: &'a Db,
    /// Keyed by the head's label hash, so a series is hashed once for both lookups.
    pending: HashTable<Pending>,
    count: usize,
    /// The wall clock when the batch started (ms).
    now: i64,
}

impl<'a> Appender<'a> {
    pub(crate) fn new(db: &'a Db) -> Self {
        Self {
            db,
            pending: HashTable::new(),
            count: 0,
            now: wall_clock_ms(),
        }
    }

    /// Oldest timestamp a new sample may have: nothing before the newest block's end, nor more
    /// than half a block range behind the newest sample (as Prometheus), so the head can always
    /// be cut into blocks. "Newest" never counts beyond the wall clock, so a sample stamped in
    /// the future (stored before the tolerance existed, or the clock stepped back) cannot close
    /// the window for everyone else.
    fn min_appendable_time(&self) -> i64 {
        let head = &self.db.head;
        let behind_newest = self.db.trusted_max_time(self.now).map_or(i64::MIN, |max| {
            max.saturating_sub(self.db.options.block_duration_ms() / 2)
        });
        head.min_valid_time().max(behind_newest)
    }

    /// Oldest timestamp accepted out of order: the window behind the newest trusted sample
    /// (or behind the oldest writable time); `i64::MAX` when the window is zero.
    fn out_of_order_min(&self) -> i64 {
        let window = self.db.options.out_of_order_window_ms();
        if window == 0 {
            return i64::MAX;
        }
        let newest = self
            .db
            .trusted_max_time(self.now)
            .unwrap_or(i64::MIN)
            .max(self.db.head.min_valid_time());
        newest.saturating_sub(window)
    }

    /// Newest timestamp a new sample may have: the clock plus the future tolerance.
    fn max_appendable_time(&self) -> i64 {
        self.now
            .saturating_add(self.db.options.future_sample_tolerance_ms())
    }

    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            min_valid: self.min_appendable_time(),
            ooo_min: self.out_of_order_min(),
            max_valid: self.max_appendable_time(),
            tolerance_ms: self.db.options.future_sample_tolerance_ms(),
        }
    }

    /// Adds a sample to the batch after checking it against stored data and the batch itself.
    /// An error means the sample was not added (and is counted in the head statistics); other
    /// samples are unaffected. Re-sending a sample that is already stored is accepted as a no-op.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        if labels.is_empty() {
            return Err(self.refuse(AppendError::EmptyLabels));
        }
        let bounds = self.bounds();
        let head = &self.db.head;
        let hash = head.hash_labels(labels);
        let pending_last = self
            .pending
            .find(hash.value(), |p| p.labels() == labels)
            .and_then(|p| p.samples.last().copied());
        let found = match pending_last {
            Some(_) => None,
            None => head.handle_hashed(labels, hash),
        };
        match check(self.db, bounds, pending_last, found.as_ref(), t, v) {
            Ok(Appended::Stored) => {
                let entry =
                    self.pending
                        .entry(hash.value(), |p| p.labels() == labels, |p| p.hash.value());
                let pending = entry.or_insert_with(|| {
                    let series = match found {
                        Some(handle) => Target::Found(handle),
                        None => Target::New(labels.clone()),
                    };
                    Pending::new(hash, series)
                });
                pending.into_mut().samples.push((t, v.to_bits()));
                self.count += 1;
                Ok(())
            }
            Ok(Appended::IdenticalDuplicate) => Ok(()),
            Err(error) => Err(self.refuse(error)),
        }
    }

    /// Adds the samples of one series (in the given order), as [`Appender::append`] would one by
    /// one, but finding the series once per call instead of several times per sample, and
    /// taking the label set without copying it. Each refused sample goes to `refused` with the
    /// series' labels; returns how many were accepted (re-sends of stored samples included).
    pub fn append_series(
        &mut self,
        labels: Labels,
        samples: impl IntoIterator<Item = (i64, f64)>,
        mut refused: impl FnMut(AppendError, &Labels),
    ) -> usize {
        if labels.is_empty() {
            for _ in samples {
                refused(self.refuse(AppendError::EmptyLabels), &labels);
            }
            return 0;
        }
        let head = &self.db.head;
        let hash = head.hash_labels(&labels);
        let pending = match self
            .pending
            .find_entry(hash.value(), |p| p.labels() == &labels)
        {
            Ok(entry) => entry.remove().0,
            Err(_) => match head.handle_hashed(&labels, hash) {
                Some(handle) => Pending::new(hash, Target::Found(handle)),
                None => Pending::new(hash, Target::New(labels)),
            },
        };
        self.add_samples(pending, samples, refused)
    }

    /// [`Appender::append_series`] for a label set still in borrowed form, such as slices of a
    /// decoded remote-write request, as sent: in any order, possibly with empty values. The
    /// pairs are checked as [`Labels::new`] checks them, then sorted and cleared of empty
    /// values in place (pass one cleared, reused vector per call to avoid allocating); the
    /// series is looked up by the borrowed slices, and an owned `Labels` is built only when
    /// the series is neither in the batch nor in the head. An invalid or empty label set is
    /// returned as an error before any sample is looked at (none counts as refused).
    pub fn append_series_pairs(
        &mut self,
        pairs: &mut Vec<(&str, &str)>,
        samples: impl IntoIterator<Item = (i64, f64)>,
        refused: impl FnMut(AppendError, &Labels),
    ) -> Result<usize, SeriesLabelsError> {
        check_pairs(pairs)?;
        let pairs: &[(&str, &str)] = pairs;
        let head = &self.db.head;
        let hash = head.hash_pairs(pairs);
        let pending = match self
            .pending
            .find_entry(hash.value(), |p| p.labels().eq_pairs(pairs))
        {
            Ok(entry) => entry.remove().0,
            Err(_) => match head.handle_by_pairs(pairs, hash) {
                Some(handle) => Pending::new(hash, Target::Found(handle)),
                None => Pending::new(hash, Target::New(Labels::from_checked_pairs(pairs))),
            },
        };
        Ok(self.add_samples(pending, samples, refused))
    }

    /// Checks and adds one series' samples to its batch entry (taken out of the table, so the
    /// checks can borrow it while `refused` sees its labels), then puts the entry back.
    fn add_samples(
        &mut self,
        mut pending: Pending,
        samples: impl IntoIterator<Item = (i64, f64)>,
        mut refused: impl FnMut(AppendError, &Labels),
    ) -> usize {
        let bounds = self.bounds();
        let db = self.db;
        let samples = samples.into_iter();
        pending.samples.reserve(samples.size_hint().0);
        let (mut accepted, mut stored) = (0, 0);
        for (t, v) in samples {
            let last = pending.samples.last().copied();
            let against_head = if last.is_some() {
                None
            } else {
                pending.handle()
            };
            match check(db, bounds, last, against_head, t, v) {
                Ok(Appended::Stored) => {
                    pending.samples.push((t, v.to_bits()));
                    accepted += 1;
                    stored += 1;
                }
                Ok(Appended::IdenticalDuplicate) => accepted += 1,
                Err(error) => refused(refuse(db, error), pending.labels()),
            }
        }
        if !pending.samples.is_empty() {
            let hash = pending.hash.value();
            self.pending
                .insert_unique(hash, pending, |p| p.hash.value());
        }
        self.count += stored;
        accepted
    }

    /// Counts a refusal and hands it back.
    fn refuse(&self, error: AppendError) -> AppendError {
        refuse(self.db, error)
    }

    /// Makes the batch durable (WAL write + fsync) and visible in the head. On a write error
    /// nothing of the batch is stored; if the fsync fails, the samples may be visible but are not
    /// acknowledged, and the store refuses further writes (they could not be made durable).
    pub fn commit(self) -> Result<CommitSummary, DbError> {
        let mut summary = CommitSummary::default();
        if self.pending.is_empty() {
            return Ok(summary);
        }
        let db = self.db;
        let head = &db.head;
        let mut wal = lock(&db.wal);
        // Re-check under the commit lock: another appender may have committed since `append`.
        let (min_valid, ooo_min) = (self.min_appendable_time(), self.out_of_order_min());
        let mut new_series: Vec<(u64, &Labels)> = Vec::new();
        // Per series: the handle (None for one created below) or its new id, and its accepted
        // samples' range in `accepted`.
        let mut targets: Vec<(Option<SeriesHandle>, SeriesRef, std::ops::Range<usize>)> =
            Vec::with_capacity(self.pending.len());
        let mut accepted: Vec<(i64, u64)> = Vec::with_capacity(self.count);
        let mut wal_samples: Vec<WalSample> = Vec::with_capacity(self.count);
        for pending in &self.pending {
            let labels = pending.labels();
            // The series found at append time, unless it was dropped since (ids are never
            // reused); else it may have been created meanwhile.
            let existing = pending
                .handle()
                .filter(|handle| handle.is_live())
                .cloned()
                .or_else(|| head.handle(labels));
            let series_ref = match &existing {
                Some(handle) => handle.series_ref(),
                None => {
                    let id = head.allocate_id();
                    new_series.push((id, labels));
                    SeriesRef(id)
                }
            };
            let start = accepted.len();
            let mut last: Option<(i64, u64)> = None;
            for &(t, bits) in &pending.samples {
                let v = f64::from_bits(bits);
                let verdict = if let Some(error) = too_old(t, min_valid, ooo_min) {
                    Err(error)
                } else if let Some((last_t, last_bits)) = last {
                    check_after(last_t, last_bits, t, v, ooo_min)
                } else if let Some(handle) = &existing {
                    head.check_handle(handle, t, v, ooo_min)
                } else {
                    Ok(Appended::Stored)
                };
                match verdict {
                    Ok(Appended::Stored) => {
                        accepted.push((t, bits));
                        wal_samples.push(WalSample {
                            series: series_ref.0,
                            t,
                            value_bits: bits,
                        });
                        last = Some((t, bits));
                    }
                    Ok(Appended::IdenticalDuplicate) => {}
                    Err(error) => {
                        head.count_rejection(&error);
                        summary.rejected += 1;
                    }
                }
            }
            targets.push((existing, series_ref, start..accepted.len()));
        }
        let written = wal.write(&new_series, &wal_samples)?;

        // Written: now apply (visible to queries, acknowledged only once durable below). New
        // series take the ids the WAL recorded; applying under the WAL lock keeps the head in
        // the log's order.
        // The id in use, should the labels have appeared under another one meanwhile.
        let created: HashMap<u64, SeriesRef> = new_series
            .iter()
            .map(|(id, labels)| (*id, head.create_series_with_id(*id, labels)))
            .collect();
        for (existing, series_ref, range) in targets {
            let series_ref = created.get(&series_ref.0).copied().unwrap_or(series_ref);
            let Some(handle) = existing.or_else(|| head.handle_by_id(series_ref)) else {
                continue;
            };
            for &(t, bits) in &accepted[range] {
                if head
                    .append_handle(&handle, t, f64::from_bits(bits), ooo_min)
                    .is_ok()
                {
                    summary.samples += 1;
                }
            }
        }
        summary.new_series = new_series.len();
        let group_sync = wal.group_sync();
        drop(wal);
        // Outside the lock: the next commit writes while this one waits for the disk, and one
        // fsync covers every commit written before it.
        group_sync.sync_through(written)?;
        Ok(summary)
    }
}

/// Counts a refusal in the head statistics (and, for samples from the future, the refusals).
fn refuse(db: &Db, error: AppendError) -> AppendError {
    db.head.count_rejection(&error);
    if matches!(error, AppendError::TooFarInFuture { .. }) {
        metrics::counter!("pharos_refusals_total", "reason" => "too_far_in_future").increment(1);
    }
    error
}

/// Checks one sample against the batch's bounds, the previous sample of its series in the batch
/// (`pending_last`), or else the series in the head.
fn check(
    db: &Db,
    bounds: Bounds,
    pending_last: Option<(i64, u64)>,
    found: Option<&SeriesHandle>,
    t: i64,
    v: f64,
) -> Result<Appended, AppendError> {
    if t > bounds.max_valid {
        return Err(AppendError::TooFarInFuture {
            t,
            max_valid: bounds.max_valid,
            tolerance_ms: bounds.tolerance_ms,
        });
    }
    if let Some(error) = too_old(t, bounds.min_valid, bounds.ooo_min) {
        return Err(error);
    }
    if let Some((last_t, last_bits)) = pending_last {
        return check_after(last_t, last_bits, t, v, bounds.ooo_min);
    }
    match found {
        Some(handle) => match db.head.check_handle(handle, t, v, bounds.ooo_min) {
            // Garbage-collected meanwhile: it will be created again at commit.
            Err(AppendError::UnknownSeries(_)) => Ok(Appended::Stored),
            other => other,
        },
        None => Ok(Appended::Stored),
    }
}

/// Ordering and duplicate rules against the previous sample of the same series in the batch. A
/// late one within the window passes; the head sorts it in (and drops it if it repeats one).
fn check_after(
    last_t: i64,
    last_bits: u64,
    t: i64,
    v: f64,
    ooo_min: i64,
) -> Result<Appended, AppendError> {
    if t > last_t || (t < last_t && t >= ooo_min) {
        Ok(Appended::Stored)
    } else if t < last_t {
        Err(AppendError::OutOfOrder { t, newest: last_t })
    } else if v.to_bits() == last_bits {
        Ok(Appended::IdenticalDuplicate)
    } else {
        Err(AppendError::DuplicateSampleForTimestamp { t })
    }
}

#[cfg(test)]
#[path = "appender_tests.rs"]
mod tests;
