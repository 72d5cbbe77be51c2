//! Metric metadata (type, help, unit) as ingestion reported it, for `/api/v1/metadata`.

use std::collections::BTreeMap;
use std::sync::RwLock;

/// Most metric families remembered; later ones are ignored so a misbehaving sender cannot
/// grow memory without bound.
pub const MAX_FAMILIES: usize = 100_000;
/// Most distinct entries kept per family (several senders may describe one family).
pub const MAX_ENTRIES_PER_FAMILY: usize = 4;

/// One description of a metric family, as in the Prometheus metadata API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadataEntry {
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`.
    pub metric_type: String,
    /// HELP text.
    pub help: String,
    /// UNIT, often empty.
    pub unit: String,
}

/// Metadata per family name, newest description first.
#[derive(Debug, Default)]
pub(crate) struct MetadataCatalog {
    families: RwLock<BTreeMap<String, Vec<MetricMetadataEntry>>>,
}

impl MetadataCatalog {
    pub(crate) fn record(&self, family: &str, entry: MetricMetadataEntry) {
        let mut families = self
            .families
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !families.contains_key(family) && families.len() >= MAX_FAMILIES {
            return;
        }
        let entries = families.entry(family.to_owned()).or_default();
        entries.retain(|e| e != &entry);
        entries.insert(0, entry);
        entries.truncate(MAX_ENTRIES_PER_FAMILY);
    }

    /// Families (all, or only `metric`), at most `limit` families and `limit_per_metric`
    /// entries each; `None` means no limit.
    pub(crate) fn list(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
        limit_per_metric: Option<usize>,
    ) -> BTreeMap<String, Vec<MetricMetadataEntry>> {
        let families = self
            .families
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        families
            .iter()
            .filter(|(name, _)| metric.is_none_or(|m| m == name.as_str()))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(name, entries)| {
                let entries = entries
                    .iter()
                    .take(limit_per_metric.unwrap_or(usize::MAX))
                    .cloned()
                    .collect();
                (name.clone(), entries)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(metric_type: &str, help: &str) -> MetricMetadataEntry {
        MetricMetadataEntry {
            metric_type: metric_type.into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn repeated_descriptions_are_kept_once_newest_first() {
        let catalog = MetadataCatalog::default();
        catalog.record("up", entry("gauge", "a"));
        catalog.record("up", entry("gauge", "b"));
        catalog.record("up", entry("gauge", "a"));
        let listed = catalog.list(None, None, None);
        assert_eq!(listed["up"], [entry("gauge", "a"), entry("gauge", "b")]);
    }

    #[test]
    fn limits_and_the_metric_filter_apply() {
        let catalog = MetadataCatalog::default();
        for name in ["a", "b", "c"] {
            catalog.record(name, entry("counter", "x"));
            catalog.record(name, entry("counter", "y"));
        }
        assert_eq!(catalog.list(None, Some(2), None).len(), 2);
        assert_eq!(catalog.list(None, None, Some(1))["c"].len(), 1);
        let only_b = catalog.list(Some("b"), None, None);
        assert_eq!(only_b.keys().collect::<Vec<_>>(), ["b"]);
    }
}
