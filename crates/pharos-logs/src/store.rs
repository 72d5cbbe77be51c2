//! Writing the bucket gauges into the embedded store, as the remote-write path appends: one
//! appender batch, committed (WAL + fsync) before it returns.

use pharos_tsdb::{Db, DbError, Labels};

use crate::aggregate::MetricSample;

/// What one append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreReport {
    /// Samples stored.
    pub appended: usize,
    /// Samples the store refused (out of order, too old, ...).
    pub rejected: usize,
    /// The first refusal, for the log.
    pub first_error: Option<String>,
}

/// Appends `samples` with labels `__name__`, `service`, `source` (and `namespace`, `le_ms` when
/// set) and commits them.
pub fn append_samples(db: &Db, samples: &[MetricSample]) -> Result<StoreReport, DbError> {
    let mut report = StoreReport::default();
    if samples.is_empty() {
        return Ok(report);
    }
    let mut appender = db.appender();
    for sample in samples {
        let le = sample.le_ms.map(|le| le.to_string());
        let pairs = [
            Some(("__name__", sample.name)),
            Some(("service", sample.service.as_str())),
            Some(("source", sample.source.as_str())),
            sample.namespace.as_deref().map(|n| ("namespace", n)),
            le.as_deref().map(|le| ("le_ms", le)),
        ];
        let labels = Labels::new(pairs.into_iter().flatten());
        let outcome = match labels {
            Ok(labels) => appender
                .append(&labels, sample.timestamp_ms, sample.value)
                .map_err(|e| format!("{e}; series {labels}")),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(()) => report.appended += 1,
            Err(error) => {
                report.rejected += 1;
                report.first_error.get_or_insert(error);
            }
        }
    }
    let summary = appender.commit()?;
    report.appended = report.appended.saturating_sub(summary.rejected);
    report.rejected += summary.rejected;
    Ok(report)
}
