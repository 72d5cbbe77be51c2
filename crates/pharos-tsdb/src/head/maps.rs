//! Sharded lookup tables from labels and from id to series, so appenders creating or finding
//! different series rarely contend on the same lock.
//!
//! A label set is hashed once, with a per-process seeded hash (foldhash's quality variant: fast
//! on the short strings labels are, and seeded so a sender cannot aim for collisions without
//! knowing the seed); that one hash picks the shard and the slot in the shard's table. Ids are
//! spread over shards by value and hashed with foldhash too.
//!
//! The hash is defined over `(name, value)` string pairs, not over the `Labels` type, so a
//! label set still in borrowed form (slices of a decoded request) hashes and compares the same
//! as its owned [`Labels`]: appenders build the owned set only for series that are new.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use hashbrown::HashTable;

use super::series::MemSeries;
use crate::labels::Labels;
use crate::sync::{read, write};

const SHARDS: usize = 64;

type IdShard = RwLock<HashMap<u64, Arc<MemSeries>, foldhash::fast::RandomState>>;

#[derive(Debug)]
pub(crate) struct SeriesMaps {
    by_labels: Vec<RwLock<HashTable<Arc<MemSeries>>>>,
    by_id: Vec<IdShard>,
    hasher: foldhash::quality::RandomState,
}

impl Default for SeriesMaps {
    fn default() -> Self {
        Self {
            by_labels: (0..SHARDS).map(|_| RwLock::default()).collect(),
            by_id: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }
}

/// A label set's hash, computed once per lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelsHash(u64);

impl LabelsHash {
    /// The raw hash, for tables keyed the same way (an appender's pending series).
    pub(crate) fn value(self) -> u64 {
        self.0
    }
}

/// The write-locked shard of one label set, for creating or removing its series while the
/// caller holds other locks in the documented order (labels shard → series → id → postings).
pub(crate) struct LabelsShard<'a> {
    table: RwLockWriteGuard<'a, HashTable<Arc<MemSeries>>>,
    hash: LabelsHash,
    maps: &'a SeriesMaps,
}

impl LabelsShard<'_> {
    /// The series with exactly `labels`, if present.
    pub(crate) fn get(&self, labels: &Labels) -> Option<&Arc<MemSeries>> {
        self.table.find(self.hash.0, |s| s.labels == *labels)
    }

    /// Adds `series` (whose labels must not be present yet).
    pub(crate) fn insert(&mut self, series: Arc<MemSeries>) {
        let maps = self.maps;
        self.table
            .insert_unique(self.hash.0, series, |s| maps.hash(&s.labels).0);
    }

    /// Removes the series with `labels`.
    pub(crate) fn remove(&mut self, labels: &Labels) {
        if let Ok(entry) = self.table.find_entry(self.hash.0, |s| s.labels == *labels) {
            entry.remove();
        }
    }
}

impl SeriesMaps {
    pub(crate) fn hash(&self, labels: &Labels) -> LabelsHash {
        self.hash_iter(
            labels
                .iter()
                .map(|label| (label.name.as_str(), label.value.as_str())),
        )
    }

    /// The hash of checked pairs (sorted, no empty values): equal to [`SeriesMaps::hash`] of
    /// the `Labels` they stand for.
    pub(crate) fn hash_pairs(&self, pairs: &[(&str, &str)]) -> LabelsHash {
        self.hash_iter(pairs.iter().copied())
    }

    /// The one definition of a label set's hash. `str`'s `Hash` ends each string with a
    /// separator, so `("ab", "c")` and `("a", "bc")` feed the hasher different bytes.
    fn hash_iter<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> LabelsHash {
        let mut hasher = self.hasher.build_hasher();
        for (name, value) in pairs {
            name.hash(&mut hasher);
            value.hash(&mut hasher);
        }
        LabelsHash(hasher.finish())
    }

    fn shard_of(hash: LabelsHash) -> usize {
        // Middle bits: the table itself uses the low bits for the slot and the top 7 as tags.
        ((hash.0 >> 32) as usize) % SHARDS
    }

    /// Write-locks the shard of `labels`.
    pub(crate) fn lock_labels(&self, labels: &Labels) -> LabelsShard<'_> {
        let hash = self.hash(labels);
        LabelsShard {
            table: write(&self.by_labels[Self::shard_of(hash)]),
            hash,
            maps: self,
        }
    }

    fn id_shard(&self, id: u64) -> &IdShard {
        &self.by_id[(id as usize) % SHARDS]
    }

    pub(crate) fn by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        read(self.id_shard(id)).get(&id).cloned()
    }

    pub(crate) fn by_labels(&self, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.by_hashed_labels(labels, self.hash(labels))
    }

    /// [`SeriesMaps::by_labels`] with the hash already computed.
    pub(crate) fn by_hashed_labels(
        &self,
        labels: &Labels,
        hash: LabelsHash,
    ) -> Option<Arc<MemSeries>> {
        read(&self.by_labels[Self::shard_of(hash)])
            .find(hash.0, |s| s.labels == *labels)
            .cloned()
    }

    /// The series with exactly the checked `pairs`, whose hash is `hash`: candidates sharing
    /// the hash are compared label by label, so a collision never answers another series.
    pub(crate) fn by_hashed_pairs(
        &self,
        pairs: &[(&str, &str)],
        hash: LabelsHash,
    ) -> Option<Arc<MemSeries>> {
        read(&self.by_labels[Self::shard_of(hash)])
            .find(hash.0, |s| s.labels.eq_pairs(pairs))
            .cloned()
    }

    pub(crate) fn insert_id(&self, series: &Arc<MemSeries>) {
        write(self.id_shard(series.id)).insert(series.id, Arc::clone(series));
    }

    pub(crate) fn remove_id(&self, id: u64) {
        write(self.id_shard(id)).remove(&id);
    }

    /// Every live series, in no particular order.
    pub(crate) fn all(&self) -> Vec<Arc<MemSeries>> {
        self.by_id
            .iter()
            .flat_map(|shard| read(shard).values().cloned().collect::<Vec<_>>())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(id: u64, labels: &[(&str, &str)]) -> Arc<MemSeries> {
        let labels = Labels::new(labels.iter().copied()).unwrap_or_default();
        Arc::new(MemSeries::new(id, labels))
    }

    #[test]
    fn borrowed_pairs_hash_and_find_like_their_labels() {
        let maps = SeriesMaps::default();
        let labels = Labels::new([("__name__", "up"), ("job", "api")]).unwrap_or_default();
        let pairs = [("__name__", "up"), ("job", "api")];
        assert_eq!(maps.hash(&labels), maps.hash_pairs(&pairs));
        assert_ne!(
            maps.hash_pairs(&[("ab", "c")]),
            maps.hash_pairs(&[("a", "bc")])
        );
        let mut shard = maps.lock_labels(&labels);
        shard.insert(Arc::new(MemSeries::new(1, labels.clone())));
        drop(shard);
        let found = maps.by_hashed_pairs(&pairs, maps.hash_pairs(&pairs));
        assert_eq!(found.map(|s| s.id), Some(1));
        let other = [("__name__", "up"), ("job", "web")];
        assert!(
            maps.by_hashed_pairs(&other, maps.hash_pairs(&other))
                .is_none()
        );
    }

    #[test]
    fn series_sharing_a_hash_stay_apart() {
        // Two different series forced under one hash, as a collision would put them.
        let maps = SeriesMaps::default();
        let collision = LabelsHash(0x5eed_0000_0000_0007);
        let a = series(1, &[("__name__", "m"), ("pod", "a")]);
        let b = series(2, &[("__name__", "m"), ("pod", "b")]);
        {
            let mut shard = LabelsShard {
                table: write(&maps.by_labels[SeriesMaps::shard_of(collision)]),
                hash: collision,
                maps: &maps,
            };
            shard.insert(Arc::clone(&a));
            shard.insert(Arc::clone(&b));
        }
        let find = |pairs: &[(&str, &str)]| maps.by_hashed_pairs(pairs, collision).map(|s| s.id);
        assert_eq!(find(&[("__name__", "m"), ("pod", "a")]), Some(1));
        assert_eq!(find(&[("__name__", "m"), ("pod", "b")]), Some(2));
        assert_eq!(find(&[("__name__", "m"), ("pod", "c")]), None);
        assert_eq!(find(&[("__name__", "m")]), None);
        let by_labels = maps.by_hashed_labels(&b.labels, collision).map(|s| s.id);
        assert_eq!(by_labels, Some(2));
    }
}
