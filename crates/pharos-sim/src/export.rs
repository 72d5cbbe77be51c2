//! The simulation as an OpenMetrics file: the samples [`Simulator::backfill`] would write into
//! the store, for `promtool tsdb create-blocks-from openmetrics` or `pharos tsdb import` (so
//! another store, or another Pharos, holds exactly the demo's data).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use pharos_tsdb::{Labels, METRIC_NAME_LABEL};

use crate::runner::tick_times;
use crate::simulator::Simulator;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Ticks simulated.
    pub ticks: usize,
    /// Distinct series written.
    pub series: usize,
    /// Samples written.
    pub samples: usize,
}

/// One series' samples: tick indices (from the first tick) and values, kept apart so a week of
/// the demo (≈ 33M samples) takes 12 bytes per sample.
struct Column {
    labels: Labels,
    ticks: Vec<u32>,
    values: Vec<f64>,
}

impl Simulator {
    /// Simulates every `step` from `from_ms` through `to_ms` — the ticks
    /// [`Simulator::backfill`] writes for the same arguments — and writes the samples to `out`
    /// as OpenMetrics text: series grouped by metric name (sorted, then by label set), each
    /// series' samples in time order with timestamps in seconds, then `# EOF`. Metric families
    /// carry no `# TYPE` (the store keeps no types; OpenMetrics reads them as `unknown`).
    ///
    /// The simulation runs first and is held in memory (12 bytes per sample), because
    /// OpenMetrics lists a series' samples together while the simulator produces every series
    /// at each tick.
    pub fn export_openmetrics(
        &mut self,
        out: &mut impl Write,
        from_ms: i64,
        to_ms: i64,
        step: Duration,
    ) -> io::Result<ExportSummary> {
        let times: Vec<i64> = tick_times(from_ms, to_ms, step).collect();
        let mut columns: Vec<Column> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        // The simulator emits its series in the same order every tick: the column of the n-th
        // sample of the previous tick is checked first (an equality test instead of a hash).
        let mut previous_order: Vec<usize> = Vec::new();
        for (tick, &t) in times.iter().enumerate() {
            let tick = u32::try_from(tick)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "more than 2^32 ticks"))?;
            let mut nth = 0;
            self.tick_with(t, |labels, value| {
                let cached = previous_order
                    .get(nth)
                    .copied()
                    .filter(|&position| columns[position].labels == *labels);
                let position = match cached.or_else(|| index.get(labels).copied()) {
                    Some(position) => position,
                    None => {
                        index.insert(labels.clone(), columns.len());
                        columns.push(Column {
                            labels: labels.clone(),
                            ticks: Vec::with_capacity(times.len()),
                            values: Vec::with_capacity(times.len()),
                        });
                        columns.len() - 1
                    }
                };
                match previous_order.get_mut(nth) {
                    Some(slot) => *slot = position,
                    None => previous_order.push(position),
                }
                nth += 1;
                let column = &mut columns[position];
                // A series given twice in one tick: the store keeps the first sample.
                if column.ticks.last() != Some(&tick) {
                    column.ticks.push(tick);
                    column.values.push(value);
                }
            });
        }
        drop(index);
        columns.sort_by(|a, b| {
            (a.labels.metric_name(), &a.labels).cmp(&(b.labels.metric_name(), &b.labels))
        });
        let stamps: Vec<String> = times.iter().map(|&t| timestamp_text(t)).collect();
        let mut summary = ExportSummary {
            ticks: times.len(),
            series: columns.len(),
            samples: 0,
        };
        let mut line = String::new();
        for column in &columns {
            let prefix = series_text(&column.labels);
            for (&tick, &value) in column.ticks.iter().zip(&column.values) {
                line.clear();
                line.push_str(&prefix);
                line.push(' ');
                push_value(&mut line, value);
                line.push(' ');
                line.push_str(&stamps[tick as usize]);
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
            summary.samples += column.values.len();
        }
        out.write_all(b"# EOF\n")?;
        out.flush()?;
        Ok(summary)
    }
}

impl Simulator {
    /// Advances the fleet through the ticks of `from_ms` through `to_ms` (as
    /// [`Simulator::backfill`] would) without keeping the samples: the history before an
    /// export that starts later, so its counters and incidents continue from there.
    pub fn skip_through(&mut self, from_ms: i64, to_ms: i64, step: Duration) -> usize {
        let mut ticks = 0;
        for t in tick_times(from_ms, to_ms, step) {
            self.tick_with(t, |_, _| {});
            ticks += 1;
        }
        ticks
    }
}

/// `name{a="x",b="y"}` with OpenMetrics escaping of the values.
fn series_text(labels: &Labels) -> String {
    let mut text = labels.metric_name().unwrap_or_default().to_owned();
    let mut first = true;
    for label in labels.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
        text.push(if first { '{' } else { ',' });
        first = false;
        text.push_str(&label.name);
        text.push_str("=\"");
        for c in label.value.chars() {
            match c {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                c => text.push(c),
            }
        }
        text.push('"');
    }
    if !first {
        text.push('}');
    }
    text
}

/// The shortest decimal that reads back as the same `f64`; `NaN`, `+Inf`, `-Inf` as
/// OpenMetrics spells them.
fn push_value(line: &mut String, value: f64) {
    if value.is_nan() {
        line.push_str("NaN");
    } else if value.is_infinite() {
        line.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(line, "{value}");
    }
}

/// Milliseconds as OpenMetrics seconds: `1767225600` or `1767225600.5`.
fn timestamp_text(t_ms: i64) -> String {
    let (seconds, millis) = (t_ms.div_euclid(1000), t_ms.rem_euclid(1000));
    if millis == 0 {
        seconds.to_string()
    } else {
        format!("{seconds}.{millis:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_timestamps_read_back_exactly() {
        for value in [
            0.0,
            1.0,
            -2.5,
            0.1 + 0.2,
            1e-7,
            123_456_789.123_456_78,
            4.5e18,
        ] {
            let mut text = String::new();
            push_value(&mut text, value);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{text}"
            );
        }
        let mut text = String::new();
        push_value(&mut text, f64::INFINITY);
        push_value(&mut text, f64::NEG_INFINITY);
        push_value(&mut text, f64::NAN);
        assert_eq!(text, "+Inf-InfNaN");
        assert_eq!(timestamp_text(1_767_225_607_000), "1767225607");
        assert_eq!(timestamp_text(1_767_225_607_050), "1767225607.050");
    }

    #[test]
    fn label_values_are_escaped() {
        let labels = Labels::new([
            ("__name__", "vllm:x"),
            ("b", "say \"hi\"\n"),
            ("a", r"c:\d"),
        ])
        .unwrap();
        assert_eq!(
            series_text(&labels),
            r#"vllm:x{a="c:\\d",b="say \"hi\"\n"}"#
        );
        assert_eq!(
            series_text(&Labels::new([("__name__", "up")]).unwrap()),
            "up"
        );
    }
}
