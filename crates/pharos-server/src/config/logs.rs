//! `logs:`: the access-log intake (`POST /loki/api/v1/push`, `POST /api/v1/logs/ndjson`), its
//! bounds, how late lines may arrive, and the Lokis to pull from (`logs.loki_pull`). See
//! docs/user/latency-from-logs.md.

use std::time::Duration;

use pharos_logs::pull::{PullAuth, PullConfig, validate_selector};
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
    /// Lokis to pull lines from (`query_range`): a backfill at start, then a tail.
    pub loki_pull: Vec<LokiPullSettings>,
    /// Where the bucket gauges go besides the embedded store (remote-write, Pushgateway).
    pub forward: super::logs_forward::LogsForwardSettings,
}

/// `logs.loki_pull[]`: one Loki (or Grafana Cloud Logs) to pull access logs from.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LokiPullSettings {
    /// The puller's name (logs and self-metrics).
    pub name: String,
    /// Loki's base URL, e.g. `http://loki:3100`.
    pub url: String,
    /// LogQL stream selector, optionally with line filters: `{job="ingress-nginx"} != "/healthz"`.
    pub selector: String,
    /// The intake source whose format and service labels apply (`loki` unless set).
    pub source: String,
    /// `X-Scope-OrgID` for a multi-tenant Loki.
    pub tenant: Option<String>,
    /// `Authorization: Bearer`.
    pub bearer_token: Option<String>,
    /// `Authorization: Basic`.
    pub basic: Option<BasicAuth>,
    /// How far back the first start pulls (at most 31d).
    #[serde(with = "duration_text")]
    pub backfill: Duration,
    /// How often newer lines are pulled.
    #[serde(with = "duration_text")]
    pub interval: Duration,
    /// Each pull asks again for this much before the last one ended (lines reaching Loki late).
    #[serde(with = "duration_text")]
    pub overlap: Duration,
    /// Entries per request (Loki's `max_entries_limit_per_query` is 5000 by default).
    pub limit: usize,
    /// Longest time range of one request.
    #[serde(with = "duration_text")]
    pub chunk: Duration,
    /// Timeout of one request.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Retries of 429/5xx answers and failed connections.
    pub max_retries: u32,
    /// Accepted values of a stream's `schema_version` (or `schema`) label; the first is that of
    /// streams without one.
    pub schema_versions: Vec<String>,
}

/// User name and password.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct BasicAuth {
    /// User name (Grafana Cloud: the instance id).
    pub username: String,
    /// Password (Grafana Cloud: an access policy token).
    pub password: String,
}

impl Default for LokiPullSettings {
    fn default() -> Self {
        let pull = PullConfig::new("", "", "");
        Self {
            name: String::new(),
            url: String::new(),
            selector: String::new(),
            source: pull.source,
            tenant: None,
            bearer_token: None,
            basic: None,
            backfill: pull.backfill,
            interval: pull.interval,
            overlap: pull.overlap,
            limit: pull.limit,
            chunk: pull.chunk,
            timeout: pull.timeout,
            max_retries: pull.max_retries,
            schema_versions: pull.schema_versions,
        }
    }
}

impl std::fmt::Debug for LokiPullSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "<redacted>" } else { "-" };
        f.debug_struct("LokiPullSettings")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("selector", &self.selector)
            .field("source", &self.source)
            .field("tenant", &self.tenant)
            .field("bearer_token", &redacted(self.bearer_token.is_some()))
            .field(
                "basic",
                &self
                    .basic
                    .as_ref()
                    .map(|b| format!("{}:<redacted>", b.username)),
            )
            .field("backfill", &self.backfill)
            .field("interval", &self.interval)
            .field("overlap", &self.overlap)
            .field("limit", &self.limit)
            .field("chunk", &self.chunk)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("schema_versions", &self.schema_versions)
            .finish()
    }
}

/// The longest backfill: the latency API's longest window.
const MAX_BACKFILL: Duration = Duration::from_secs(31 * 86_400);

impl LokiPullSettings {
    /// What is wrong with entry `i`, naming the setting; `sources` are the configured ones.
    fn validate(&self, i: usize, sources: &[SourceSettings]) -> Result<(), String> {
        let at = format!("logs.loki_pull[{i}]");
        if !usable_name(&self.name) {
            return Err(format!(
                "{at}.name {:?} must be 1-64 letters, digits, '_' or '-'",
                self.name
            ));
        }
        let url = url::Url::parse(&self.url)
            .map_err(|e| format!("{at}.url {:?} is not a URL: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{at}.url {:?} must be http:// or https://",
                self.url
            ));
        }
        validate_selector(&self.selector).map_err(|e| format!("{at}.selector: {e}"))?;
        let known = self.source == "loki"
            || self.source == "ndjson"
            || sources.iter().any(|s| s.name == self.source);
        if !known {
            return Err(format!(
                "{at}.source {:?} is not an intake source: list it under logs.sources (format, service_labels) or use loki",
                self.source
            ));
        }
        if self.bearer_token.is_some() && self.basic.is_some() {
            return Err(format!("{at}: set bearer_token or basic, not both"));
        }
        if self.tenant.as_deref().is_some_and(str::is_empty) {
            return Err(format!("{at}.tenant must not be empty (leave it out)"));
        }
        if self.backfill > MAX_BACKFILL {
            return Err(format!("{at}.backfill must be at most 31d"));
        }
        let positive = [
            ("interval", self.interval),
            ("chunk", self.chunk),
            ("timeout", self.timeout),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{at}.{name} must be positive"));
        }
        if self.overlap > Duration::from_secs(3_600) {
            return Err(format!("{at}.overlap must be at most 1h"));
        }
        if !(1..=50_000).contains(&self.limit) {
            return Err(format!(
                "{at}.limit must be 1-50000 (Loki refuses more than its max_entries_limit_per_query, 5000 by default)"
            ));
        }
        if self.schema_versions.is_empty() || self.schema_versions.iter().any(String::is_empty) {
            return Err(format!(
                "{at}.schema_versions must list at least one non-empty version, like [v1]"
            ));
        }
        Ok(())
    }

    /// The puller's configuration.
    pub fn config(&self) -> PullConfig {
        let mut config = PullConfig::new(&self.name, &self.url, &self.selector);
        config.source = self.source.clone();
        config.tenant = self.tenant.clone();
        config.auth = match (&self.bearer_token, &self.basic) {
            (Some(token), _) => PullAuth::Bearer(token.clone()),
            (None, Some(basic)) => PullAuth::Basic {
                username: basic.username.clone(),
                password: basic.password.clone(),
            },
            (None, None) => PullAuth::None,
        };
        config.backfill = self.backfill;
        config.interval = self.interval;
        config.overlap = self.overlap;
        config.limit = self.limit;
        config.chunk = self.chunk;
        config.timeout = self.timeout;
        config.max_retries = self.max_retries;
        config.schema_versions = self.schema_versions.clone();
        config
    }
}

fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
            loki_pull: Vec::new(),
            forward: super::logs_forward::LogsForwardSettings::default(),
        }
    }
}

impl LogsSettings {
    /// Durations and limits in range, source names unique and usable as label values.
    pub fn validate(&self) -> Result<(), String> {
        self.forward.validate()?;
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
            if !usable_name(&source.name) {
                return Err(format!(
                    "logs.sources[{i}].name {:?} must be 1-64 letters, digits, '_' or '-'",
                    source.name
                ));
            }
            if self.sources[..i].iter().any(|s| s.name == source.name) {
                return Err(format!("logs.sources: {:?} is listed twice", source.name));
            }
        }
        for (i, pull) in self.loki_pull.iter().enumerate() {
            pull.validate(i, &self.sources)?;
            if self.loki_pull[..i].iter().any(|p| p.name == pull.name) {
                return Err(format!(
                    "logs.loki_pull: {:?} is listed twice (names must differ)",
                    pull.name
                ));
            }
        }
        Ok(())
    }

    /// The pullers' configurations.
    pub fn pull_configs(&self) -> Vec<PullConfig> {
        self.loki_pull
            .iter()
            .map(LokiPullSettings::config)
            .collect()
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

    #[test]
    fn loki_pulls_default_validate_and_say_which_setting_is_wrong() {
        let yaml = r#"
sources: [{name: edge, format: nginx}]
loki_pull:
  - name: main
    url: http://loki:3100
    selector: '{job="nginx"} != "/healthz"'
    source: edge
    tenant: team-a
    basic: {username: u, password: hunter2}
    backfill: 2d
"#;
        let parsed: LogsSettings = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(parsed.validate(), Ok(()));
        let config = &parsed.pull_configs()[0];
        assert_eq!(config.backfill, Duration::from_secs(2 * 86_400));
        assert_eq!(config.interval, Duration::from_secs(30));
        assert_eq!((config.limit, config.source.as_str()), (5_000, "edge"));
        assert_eq!(config.schema_versions, vec!["v1".to_owned()]);
        assert!(matches!(&config.auth, PullAuth::Basic { username, .. } if username == "u"));
        assert!(!format!("{parsed:?}").contains("hunter2"));
        let bad = |fields: &[(&str, &str)]| {
            let mut entry = vec![
                ("name", "p"),
                ("url", "'http://loki'"),
                ("selector", r#"'{job="x"}'"#),
            ];
            for &(key, value) in fields {
                match entry.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => entry.push((key, value)),
                }
            }
            let entry: Vec<String> = entry.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let yaml = format!("loki_pull:\n  - {{{}}}\n", entry.join(", "));
            serde_saphyr::from_str::<LogsSettings>(&yaml)
                .map_err(|e| e.to_string())
                .and_then(|s| s.validate())
                .unwrap_err()
        };
        for (fields, says) in [
            (&[("source", "nope")][..], "logs.loki_pull[0].source"),
            (
                &[("selector", r#"'rate({job="x"}[5m])'"#)],
                "logs.loki_pull[0].selector",
            ),
            (&[("url", "'ftp://x'")], "logs.loki_pull[0].url"),
            (&[("name", "'a b'")], "logs.loki_pull[0].name"),
            (&[("limit", "0")], "logs.loki_pull[0].limit"),
            (&[("interval", "0s")], "logs.loki_pull[0].interval"),
            (&[("backfill", "40d")], "logs.loki_pull[0].backfill"),
            (
                &[("schema_versions", "[]")],
                "logs.loki_pull[0].schema_versions",
            ),
            (
                &[
                    ("bearer_token", "t"),
                    ("basic", "{username: u, password: p}"),
                ],
                "not both",
            ),
            (&[("scheme", "x")], "scheme"),
        ] {
            let error = bad(fields);
            assert!(error.contains(says), "{fields:?}: {error}");
        }
    }
}
