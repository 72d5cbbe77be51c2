//! `logs:`: the access-log intake (`POST /loki/api/v1/push`, `POST /api/v1/logs/ndjson`), its
//! bounds, and how late lines may arrive. See docs/user/latency-from-logs.md.

use std::time::Duration;

use pharos_logs::{AggregatorLimits, IntakeSettings, SourceSettings};
use serde::{Deserialize, Serialize};

use super::duration_text;

/// The embedded store refuses samples about an hour behind its newest; a bucket is written
/// up to 5 minutes plus the lateness after it starts, so the lateness stays well inside.
const MAX_LATENESS: Duration = Duration::from_secs(30 * 60);

/// `logs`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogsSettings {
    /// Turns the two intake routes on (they answer 503 when off).
    pub enabled: bool,
    /// A line is counted while its 5-minute bucket ended less than this long ago.
    #[serde(with = "duration_text")]
    pub lateness: Duration,
    /// A new bucket is first written this long after it starts, so late lines of the previous
    /// one still reach the store (at most `lateness`).
    #[serde(with = "duration_text")]
    pub settle: Duration,
    /// Lines stamped further ahead of the clock are refused.
    #[serde(with = "duration_text")]
    pub future_tolerance: Duration,
    /// How often changed buckets are written to the store.
    #[serde(with = "duration_text")]
    pub publish_interval: Duration,
    /// Longest request body read, as sent (compressed).
    pub max_body_bytes: usize,
    /// Longest body after decompression (gzip, deflate, snappy).
    pub max_decompressed_bytes: usize,
    /// Most lines in one request.
    pub max_lines_per_request: usize,
    /// Longer lines are rejected one by one.
    pub max_line_bytes: usize,
    /// Distinct services one source may have at a time.
    pub max_services_per_source: usize,
    /// Distinct services over all sources.
    pub max_services_total: usize,
    /// Named sources (`?source=name`): format, service labels, JSON/logfmt fields. `loki` and
    /// `ndjson` exist with the defaults unless listed here.
    pub sources: Vec<SourceSettings>,
}

impl Default for LogsSettings {
    fn default() -> Self {
        let intake = IntakeSettings::default();
        let limits = intake.limits;
        Self {
            enabled: true,
            lateness: limits.lateness,
            settle: limits.settle,
            future_tolerance: limits.future_tolerance,
            publish_interval: Duration::from_secs(15),
            max_body_bytes: intake.max_body_bytes,
            max_decompressed_bytes: intake.max_decompressed_bytes,
            max_lines_per_request: intake.max_lines_per_request,
            max_line_bytes: intake.max_line_bytes,
            max_services_per_source: limits.max_services_per_source,
            max_services_total: limits.max_services_total,
            sources: Vec::new(),
        }
    }
}

impl LogsSettings {
    /// Durations and limits in range, source names unique and usable as label values.
    pub fn validate(&self) -> Result<(), String> {
        if self.lateness > MAX_LATENESS {
            return Err(format!(
                "logs.lateness must be at most {} (the store refuses samples about an hour old)",
                pharos_model::format_duration(MAX_LATENESS)
            ));
        }
        if self.settle > self.lateness {
            return Err("logs.settle must not be longer than logs.lateness".to_owned());
        }
        if self.publish_interval.is_zero() {
            return Err("logs.publish_interval must be positive".to_owned());
        }
        let limits = [
            ("max_body_bytes", self.max_body_bytes),
            ("max_decompressed_bytes", self.max_decompressed_bytes),
            ("max_lines_per_request", self.max_lines_per_request),
            ("max_line_bytes", self.max_line_bytes),
            ("max_services_per_source", self.max_services_per_source),
            ("max_services_total", self.max_services_total),
        ];
        if let Some((name, _)) = limits.iter().find(|(_, v)| *v == 0) {
            return Err(format!("logs.{name} must be positive"));
        }
        for (i, source) in self.sources.iter().enumerate() {
            let usable = !source.name.is_empty()
                && source.name.len() <= 64
                && source
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !usable {
                return Err(format!(
                    "logs.sources[{i}].name {:?} must be 1-64 letters, digits, '_' or '-'",
                    source.name
                ));
            }
            if self.sources[..i].iter().any(|s| s.name == source.name) {
                return Err(format!("logs.sources: {:?} is listed twice", source.name));
            }
        }
        Ok(())
    }

    /// The intake's settings.
    pub fn intake(&self) -> IntakeSettings {
        IntakeSettings {
            limits: AggregatorLimits {
                lateness: self.lateness,
                settle: self.settle,
                future_tolerance: self.future_tolerance,
                max_services_per_source: self.max_services_per_source,
                max_services_total: self.max_services_total,
            },
            max_body_bytes: self.max_body_bytes,
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_lines_per_request: self.max_lines_per_request,
            max_line_bytes: self.max_line_bytes,
            sources: self.sources.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_say_what_to_fix() {
        assert_eq!(LogsSettings::default().validate(), Ok(()));
        let parsed: LogsSettings = serde_saphyr::from_str(
            "lateness: 5m\nsettle: 30s\nsources:\n  - name: edge\n    format: nginx\n    service_labels: [job]\n",
        )
        .unwrap();
        assert_eq!(parsed.validate(), Ok(()));
        assert_eq!(parsed.intake().limits.lateness, Duration::from_secs(300));
        let bad = |yaml: &str| {
            serde_saphyr::from_str::<LogsSettings>(yaml)
                .map_err(|e| e.to_string())
                .and_then(|s| s.validate())
                .unwrap_err()
        };
        assert!(bad("lateness: 2h").contains("logs.lateness"));
        assert!(bad("lateness: 1m\nsettle: 2m").contains("logs.settle"));
        assert!(bad("max_services_total: 0").contains("max_services_total"));
        assert!(bad("sources: [{name: 'a b'}]").contains("logs.sources[0].name"));
        assert!(bad("sources: [{name: a}, {name: a}]").contains("twice"));
        assert!(bad("sources: [{name: a, format: csv}]").contains("csv"));
    }
}
