//! OpenMetrics backfill, as `promtool tsdb create-blocks-from openmetrics`: every sample needs
//! a timestamp, each series' samples must be in time order, and the input must end with
//! `# EOF`.
//!
//! The store only accepts samples at most half a block range behind its newest sample, while a
//! backfill file lists one whole series after another. So the file is read completely first
//! (about 16 bytes per sample) and then written in time windows of a quarter block range across
//! all series, with maintenance after each window so finished blocks leave memory.

use std::collections::HashMap;
use std::io::BufRead;

use pharos_tsdb::{Db, DbError, LabelError, Labels};
use thiserror::Error;

use crate::exposition::{Entry, Format, LineParser, ParseError};

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Samples read from the input.
    pub samples_read: usize,
    /// Samples now in the store.
    pub samples_stored: usize,
    /// Distinct series in the input.
    pub series: usize,
    /// Oldest sample, milliseconds since 1970 (`None` for an empty input).
    pub min_time_ms: Option<i64>,
    /// Newest sample, milliseconds since 1970.
    pub max_time_ms: Option<i64>,
    /// Samples the store refused (typically older than data it already holds).
    pub rejected: usize,
    /// The store's reason for the first refused sample.
    pub first_rejection: Option<String>,
}

/// Why an import stopped. Samples written before a storage error stay stored; input errors
/// are found before anything is written.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The input could not be read.
    #[error("cannot read line {line} of the input: {source}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not valid OpenMetrics.
    #[error("invalid OpenMetrics input: {0}")]
    Parse(#[from] ParseError),
    /// A sample's labels break Prometheus' rules.
    #[error("line {line}: {source}")]
    Labels {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        #[source]
        source: LabelError,
    },
    /// A sample without a timestamp.
    #[error(
        "line {line}: sample has no timestamp; backfill needs an explicit timestamp (seconds since 1970) on every sample"
    )]
    MissingTimestamp {
        /// 1-based line number.
        line: usize,
    },
    /// A series' samples are not in increasing time order.
    #[error(
        "line {line}: sample of {series} at {t} ms is not after its previous sample at {previous} ms; sort each series' samples by time and remove duplicates"
    )]
    OutOfOrder {
        /// 1-based line number.
        line: usize,
        /// The series.
        series: String,
        /// The sample's timestamp.
        t: i64,
        /// The previous sample's timestamp.
        previous: i64,
    },
    /// The store failed.
    #[error("cannot write to the store: {0}")]
    Storage(#[from] DbError),
}

struct SeriesSamples {
    labels: Labels,
    samples: Vec<(i64, f64)>,
}

/// Imports an OpenMetrics file into `db`. See the module documentation for the rules.
pub fn import_openmetrics(db: &Db, mut reader: impl BufRead) -> Result<ImportSummary, ImportError> {
    let series = read_series(&mut reader)?;
    let mut summary = ImportSummary {
        series: series.len(),
        samples_read: series.iter().map(|s| s.samples.len()).sum(),
        min_time_ms: series
            .iter()
            .filter_map(|s| s.samples.first())
            .map(|s| s.0)
            .min(),
        max_time_ms: series
            .iter()
            .filter_map(|s| s.samples.last())
            .map(|s| s.0)
            .max(),
        ..ImportSummary::default()
    };
    write_in_windows(db, &series, &mut summary)?;
    Ok(summary)
}

fn read_series(reader: &mut impl BufRead) -> Result<Vec<SeriesSamples>, ImportError> {
    let mut parser = LineParser::new(Format::OpenMetrics);
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut series: Vec<SeriesSamples> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|source| ImportError::Read {
                line: parser.line_number() + 1,
                source,
            })?;
        if read == 0 {
            break;
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let Some(Entry::Sample(sample)) = parser.parse_line(text)? else {
            continue;
        };
        let line_number = parser.line_number();
        let t = sample
            .timestamp_ms
            .ok_or(ImportError::MissingTimestamp { line: line_number })?;
        let labels = sample.to_labels().map_err(|source| ImportError::Labels {
            line: line_number,
            source,
        })?;
        let position = match index.get(&labels) {
            Some(&position) => position,
            None => {
                index.insert(labels.clone(), series.len());
                series.push(SeriesSamples {
                    labels,
                    samples: Vec::new(),
                });
                series.len() - 1
            }
        };
        let entry = &mut series[position];
        if let Some(&(previous, _)) = entry.samples.last()
            && t <= previous
        {
            return Err(ImportError::OutOfOrder {
                line: line_number,
                series: entry.labels.to_string(),
                t,
                previous,
            });
        }
        entry.samples.push((t, sample.value));
    }
    parser.finish()?;
    Ok(series)
}

/// Writes all series window by window (each window spans every series), so no sample is
/// further behind the store's newest sample than the store accepts.
fn write_in_windows(
    db: &Db,
    series: &[SeriesSamples],
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    let block_ms = i64::try_from(db.options().block_duration.as_millis()).unwrap_or(i64::MAX);
    let window = (block_ms / 4).max(1);
    let mut cursors = vec![0_usize; series.len()];
    loop {
        // Jump over gaps: the next window starts at the oldest sample not yet written.
        let Some(next) = series
            .iter()
            .zip(&cursors)
            .filter_map(|(s, &cursor)| s.samples.get(cursor).map(|sample| sample.0))
            .min()
        else {
            return Ok(());
        };
        let end = next
            .div_euclid(window)
            .saturating_add(1)
            .saturating_mul(window);
        let mut appender = db.appender();
        for (entry, cursor) in series.iter().zip(cursors.iter_mut()) {
            while let Some(&(t, v)) = entry.samples.get(*cursor)
                && t < end
            {
                if let Err(error) = appender.append(&entry.labels, t, v) {
                    summary.rejected += 1;
                    summary
                        .first_rejection
                        .get_or_insert_with(|| format!("{}: {error}", entry.labels));
                }
                *cursor += 1;
            }
        }
        let committed = appender.commit()?;
        summary.samples_stored += committed.samples;
        summary.rejected += committed.rejected;
        db.maintenance()?;
    }
}
