//! Reading across blocks and head as one store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use super::DbError;
use crate::block::Block;
use crate::head::Head;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::Sample;
use crate::series::SeriesSamples;
use crate::sync::read;
use crate::window::SampleWindows;

/// Where one series' samples are for a streaming read: (block, series index) pairs, and the
/// samples already taken from the head.
type SeriesPlaces = (Vec<(usize, usize)>, Vec<Sample>);

/// A reader over a fixed time range, spanning blocks and head.
///
/// Every call reads the head first and then the blocks current at that moment. A block cut adds
/// the new block before it drops the same data from the head, so whichever happens first, a
/// call sees the data exactly once (overlaps are merged). Blocks removed meanwhile stay readable
/// until the call ends.
#[derive(Debug, Clone)]
pub struct Querier {
    head: Arc<Head>,
    blocks: Arc<RwLock<Vec<Arc<Block>>>>,
    mint: i64,
    maxt: i64,
}

impl Querier {
    pub(crate) fn new(
        head: Arc<Head>,
        blocks: Arc<RwLock<Vec<Arc<Block>>>>,
        mint: i64,
        maxt: i64,
    ) -> Self {
        Self {
            head,
            blocks,
            mint,
            maxt,
        }
    }

    /// Start of the range (inclusive, ms).
    pub fn mint(&self) -> i64 {
        self.mint
    }

    /// End of the range (inclusive, ms).
    pub fn maxt(&self) -> i64 {
        self.maxt
    }

    /// The blocks overlapping the range right now, oldest first.
    fn blocks(&self) -> Vec<Arc<Block>> {
        read(&self.blocks)
            .iter()
            .filter(|b| b.meta().overlaps(self.mint, self.maxt))
            .cloned()
            .collect()
    }

    /// Series matching every matcher with their samples in the range, sorted by labels. A series
    /// present in several blocks and the head comes back once, its samples merged in time order.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<SeriesSamples>, DbError> {
        let mut selected = Vec::new();
        self.select_each_in(matchers, None, &mut |series| {
            selected.push(series);
            true
        })?;
        Ok(selected)
    }

    /// Calls `f` with every series [`Querier::select`] returns, in the same order, reading
    /// one series at a time from blocks: only the label sets of the selection and the head's
    /// recent samples are held, and each series' block samples are decoded (from the chunks
    /// overlapping the range only) just before `f` gets them and freed when it returns. `f`
    /// returns `false` to stop early.
    pub fn select_each(
        &self,
        matchers: &[Matcher],
        f: &mut dyn FnMut(SeriesSamples) -> bool,
    ) -> Result<(), DbError> {
        self.select_each_in(matchers, None, f)
    }

    /// [`Querier::select_each`] that hands over only the samples inside `windows` (when given):
    /// what an evaluator stepping over a grid with a range shorter than its step reads. Chunks
    /// wholly between windows are not decoded; a series without a sample in any window is
    /// skipped.
    pub fn select_each_in(
        &self,
        matchers: &[Matcher],
        windows: Option<&SampleWindows>,
        f: &mut dyn FnMut(SeriesSamples) -> bool,
    ) -> Result<(), DbError> {
        // The head first, then the blocks current at that moment (as in `select`): a block cut
        // meanwhile adds its block before it drops the data from the head, so it is seen once.
        let mut sources: BTreeMap<Labels, SeriesPlaces> = BTreeMap::new();
        for series in self.head.select(matchers, self.mint, self.maxt) {
            sources.insert(series.labels, (Vec::new(), series.samples));
        }
        let blocks = self.blocks();
        for (block_index, block) in blocks.iter().enumerate() {
            for (series_index, labels) in block.matching_labels(matchers, self.mint, self.maxt) {
                sources
                    .entry(labels)
                    .or_default()
                    .0
                    .push((block_index, series_index));
            }
        }
        let mut chunk_bytes = Vec::new();
        for (labels, (in_blocks, from_head)) in sources {
            // Blocks (oldest first), then the head, into one vector; sorted only when sources
            // overlap (out-of-order data, a block cut racing this read), keeping the first
            // source's sample on equal timestamps as `select` does.
            let mut samples = Vec::new();
            let mut ordered = true;
            for (block, series) in in_blocks {
                let before = samples.len();
                blocks[block].append_samples(
                    series,
                    (self.mint, self.maxt),
                    windows,
                    &mut chunk_bytes,
                    &mut samples,
                )?;
                ordered &= joins_in_order(&samples, before);
            }
            let before = samples.len();
            match windows {
                None => samples.extend(from_head),
                Some(windows) => {
                    let mut cursor = windows.cursor();
                    samples.extend(from_head.into_iter().filter(|s| cursor.contains(s.t)));
                }
            }
            ordered &= joins_in_order(&samples, before);
            if !ordered {
                samples.sort_by_key(|sample| sample.t);
                samples.dedup_by_key(|sample| sample.t);
            }
            if samples.is_empty() {
                continue;
            }
            if !f(SeriesSamples { labels, samples }) {
                break;
            }
        }
        Ok(())
    }

    /// Label sets of the matching series with samples in the range, sorted, without duplicates.
    pub fn series(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, DbError> {
        let mut all: BTreeSet<Labels> = self
            .head
            .series(matchers, self.mint, self.maxt)
            .into_iter()
            .collect();
        for block in self.blocks() {
            all.extend(block.series(matchers, self.mint, self.maxt));
        }
        Ok(all.into_iter().collect())
    }

    /// Label names of the matching series with samples in the range, sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, DbError> {
        let mut names: BTreeSet<String> = self
            .head
            .label_names(matchers, self.mint, self.maxt)
            .into_iter()
            .collect();
        for block in self.blocks() {
            names.extend(block.label_names(matchers, self.mint, self.maxt));
        }
        Ok(names.into_iter().collect())
    }

    /// Values of label `name` among the matching series with samples in the range, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, DbError> {
        let mut values: BTreeSet<String> = self
            .head
            .label_values(name, matchers, self.mint, self.maxt)
            .into_iter()
            .collect();
        for block in self.blocks() {
            values.extend(block.label_values(name, matchers, self.mint, self.maxt));
        }
        Ok(values.into_iter().collect())
    }
}

/// Whether the samples appended from index `joined` on continue the ones before in time order.
fn joins_in_order(samples: &[Sample], joined: usize) -> bool {
    match (
        joined.checked_sub(1).and_then(|i| samples.get(i)),
        samples.get(joined),
    ) {
        (Some(last), Some(next)) => last.t < next.t,
        _ => true,
    }
}
