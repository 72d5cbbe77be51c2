//! Sharded lookup tables from labels and from id to series, so appenders creating or finding
//! different series rarely contend on the same lock.
//!
//! A label set is hashed once, with a per-process seeded hash (foldhash's quality variant: fast
//! on the short strings labels are, and seeded so a sender cannot aim for collisions without
//! knowing the seed); that one hash picks the shard and the slot in the shard's table. Ids are
//! spread over shards by value and hashed with foldhash too.

use std::collections::HashMap;
use std::hash::BuildHasher;
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
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelsHash(u64);

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
        let hasher = &self.maps.hasher;
        self.table
            .insert_unique(self.hash.0, series, |s| hasher.hash_one(&s.labels));
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
        LabelsHash(self.hasher.hash_one(labels))
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
