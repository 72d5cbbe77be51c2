//! Sharded lookup tables from labels and from id to series, so appenders creating or finding
//! different series rarely contend on the same lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use super::series::MemSeries;
use crate::labels::Labels;
use crate::sync::{read, write};

const SHARDS: usize = 64;

type Shard<K> = RwLock<HashMap<K, Arc<MemSeries>>>;

#[derive(Debug)]
pub(crate) struct SeriesMaps {
    by_labels: Vec<Shard<Labels>>,
    by_id: Vec<Shard<u64>>,
    hasher: RandomState,
}

impl Default for SeriesMaps {
    fn default() -> Self {
        Self {
            by_labels: (0..SHARDS).map(|_| RwLock::default()).collect(),
            by_id: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl SeriesMaps {
    pub(crate) fn labels_shard(&self, labels: &Labels) -> &Shard<Labels> {
        let index = (self.hasher.hash_one(labels) as usize) % SHARDS;
        &self.by_labels[index]
    }

    pub(crate) fn id_shard(&self, id: u64) -> &Shard<u64> {
        &self.by_id[(id as usize) % SHARDS]
    }

    pub(crate) fn by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        read(self.id_shard(id)).get(&id).cloned()
    }

    pub(crate) fn by_labels(&self, labels: &Labels) -> Option<Arc<MemSeries>> {
        read(self.labels_shard(labels)).get(labels).cloned()
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
