//! Reading the head: select series by matchers and time range, list series, label names and
//! values, and hand whole chunks to the block writer.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Head;
use super::series::MemSeries;
use crate::chunk::{StoredChunk, XorChunk, decode};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::series::SeriesSamples;
use crate::sync::{lock, read};

impl Head {
    /// Live series selected by `matchers`, in id order.
    fn matching_series(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let ids = read(&self.postings).select(matchers);
        ids.into_iter()
            .filter_map(|id| self.maps.by_id(id))
            .collect()
    }

    /// Series matching every matcher that have samples in `[mint, maxt]` (inclusive), with those
    /// samples, sorted by labels.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        let mut out: Vec<SeriesSamples> = self
            .matching_series(matchers)
            .into_iter()
            .filter_map(|series| {
                let samples = lock(&series.state).samples(mint, maxt);
                (!samples.is_empty()).then(|| SeriesSamples {
                    labels: series.labels.clone(),
                    samples,
                })
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Labels of the series matching every matcher that have samples in `[mint, maxt]`, sorted.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let mut out: Vec<Labels> = self
            .matching_series(matchers)
            .into_iter()
            .filter(|series| lock(&series.state).overlaps(mint, maxt))
            .map(|series| series.labels.clone())
            .collect();
        out.sort();
        out
    }

    /// True when every series in the head has data inside `[mint, maxt]`, so the index alone
    /// answers label questions without visiting series.
    fn range_covers_head(&self, mint: i64, maxt: i64) -> bool {
        matches!((self.min_time(), self.max_time()), (Some(min), Some(max)) if mint <= min && max <= maxt)
    }

    /// Label names used by series matching `matchers` with samples in `[mint, maxt]`, sorted.
    pub fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        if matchers.is_empty() && self.range_covers_head(mint, maxt) {
            return read(&self.postings)
                .label_names()
                .map(str::to_owned)
                .collect();
        }
        let names: BTreeSet<String> = self
            .series(matchers, mint, maxt)
            .iter()
            .flat_map(|labels| labels.iter().map(|label| label.name.clone()))
            .collect();
        names.into_iter().collect()
    }

    /// Values of label `name` among series matching `matchers` with samples in `[mint, maxt]`,
    /// sorted.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<String> {
        if matchers.is_empty() && self.range_covers_head(mint, maxt) {
            return read(&self.postings)
                .label_values(name)
                .map(str::to_owned)
                .collect();
        }
        let values: BTreeSet<String> = self
            .series(matchers, mint, maxt)
            .iter()
            .filter_map(|labels| labels.get(name).map(str::to_owned))
            .collect();
        values.into_iter().collect()
    }

    /// For every series with samples in `[mint, maxt)` (end exclusive, like block ranges), the
    /// chunks holding exactly those samples, oldest first. Chunks normally align with block
    /// ranges and are shared as-is; a chunk straddling the range is re-encoded.
    pub(crate) fn chunks_in_range(&self, mint: i64, maxt: i64) -> Vec<(Labels, Vec<StoredChunk>)> {
        let Some(last) = maxt.checked_sub(1) else {
            return Vec::new();
        };
        let mut out: Vec<(Labels, Vec<StoredChunk>)> = self
            .maps
            .all()
            .into_iter()
            .filter_map(|series| {
                let chunks: Vec<StoredChunk> = lock(&series.state)
                    .merged_chunks(self.chunk_range)
                    .into_iter()
                    .filter(|chunk| chunk.overlaps(mint, last))
                    .filter_map(|chunk| clip(chunk, mint, last))
                    .collect();
                (!chunks.is_empty()).then(|| (series.labels.clone(), chunks))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// The part of `chunk` inside `[mint, maxt]`, re-encoded only when it sticks out.
fn clip(chunk: StoredChunk, mint: i64, maxt: i64) -> Option<StoredChunk> {
    if chunk.min_t >= mint && chunk.max_t <= maxt {
        return Some(chunk);
    }
    let mut clipped = XorChunk::new();
    for sample in decode(&chunk.data).ok()? {
        if (mint..=maxt).contains(&sample.t) {
            clipped.append(sample.t, sample.v).ok()?;
        }
    }
    StoredChunk::from_chunk(&clipped)
}
