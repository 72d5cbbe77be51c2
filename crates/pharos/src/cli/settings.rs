//! The YAML config file (`--config`) and the settings it makes with the flags: flags win over
//! the file, the file over the defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pharos_query::QueryOptions;
use pharos_server::config::{
    ApiSettings, AuthMode, DatabaseSettings, EphemeralSettings, FleetSettings, HttpSettings,
    ProxySettings, QueryLayerSettings, RateLimitSettings, RemoteWriteSettings, RulesSettings,
    SecuritySettings, ServerSettings, TenancySettings, TrashSettings, WorkloadSettings,
};
use serde::Deserialize;

use super::{AuthArg, GlobalArgs, LogFormat};

/// The YAML config file. Flags and environment variables win over it.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub listen: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Database URL.
    pub database_url: Option<String>,
    /// Logging.
    pub log: LogConfig,
    /// Logins, sessions and secrets at rest.
    pub security: SecuritySettings,
    /// See [`RateLimitSettings`].
    pub rate_limit: RateLimitSettings,
    /// See [`ApiSettings`].
    pub api: ApiSettings,
    /// See [`TenancySettings`].
    pub tenancy: TenancySettings,
    /// See [`ProxySettings`].
    pub proxy: ProxySettings,
    /// See [`TrashSettings`].
    pub trash: TrashSettings,
    /// See [`EphemeralSettings`].
    pub ephemeral_dashboard: EphemeralSettings,
    /// See [`DatabaseSettings`].
    pub database: DatabaseSettings,
    /// See [`HttpSettings`].
    pub http: HttpSettings,
    /// See [`RemoteWriteSettings`].
    pub remote_write: RemoteWriteSettings,
    /// See [`QueryLayerSettings`].
    pub query_layer: QueryLayerSettings,
    /// See [`WorkloadSettings`].
    pub workloads: WorkloadSettings,
    /// See [`FleetSettings`].
    pub fleet: FleetSettings,
    /// See [`RulesSettings`].
    pub rules: RulesSettings,
    /// Access-log intake (`pharos_server::config::LogsSettings`).
    pub logs: pharos_server::config::LogsSettings,
    /// `slo:` (latency SLOs of services).
    #[serde(default)]
    pub slo: pharos_slo::SloSettings,
    /// `assistant:` (the chat's language model, bounds of a turn, the anomaly detector).
    pub assistant: pharos_server::config::AssistantSettings,
    /// The embedded metrics store.
    pub tsdb: TsdbConfig,
    /// `tracing:` (OpenTelemetry traces over OTLP; off without an endpoint).
    pub tracing: crate::tracing_setup::TracingConfig,
    /// PromQL evaluation against the embedded store.
    pub query: QueryConfig,
    /// Prometheus `scrape_configs` (static targets); a job scraping Pharos itself is added.
    #[serde(skip_serializing)]
    pub scrape_configs: Vec<pharos_scrape::ScrapeConfig>,
}

/// `tsdb:` section: where the embedded metrics store lives and how long it keeps data.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TsdbConfig {
    /// Directory; `<data_dir>/tsdb` when absent.
    pub path: Option<PathBuf>,
    /// Data older than this (relative to the newest sample) is deleted.
    #[serde(with = "duration_text")]
    pub retention: Duration,
    /// Size limit of blocks plus WAL: a byte count or a size such as `512MB`, `50GB`.
    #[serde(with = "byte_size_text")]
    pub max_bytes: Option<u64>,
    /// How far ahead of the server's clock a sample may be stamped; newer samples are refused.
    #[serde(with = "duration_text")]
    pub future_sample_tolerance: Duration,
    /// How far behind the newest sample a late (out-of-order) sample is still accepted; `0s`
    /// refuses them all.
    #[serde(with = "duration_text")]
    pub out_of_order_window: Duration,
}

impl Default for TsdbConfig {
    fn default() -> Self {
        let defaults = pharos_tsdb::Options::default();
        Self {
            path: None,
            retention: defaults.retention,
            max_bytes: None,
            future_sample_tolerance: defaults.future_sample_tolerance,
            out_of_order_window: defaults.out_of_order_window,
        }
    }
}

/// `query:` section: limits of one PromQL query against the embedded store.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// Longest a query may run (a request's `timeout` can only shorten it).
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Most samples one query may hold in memory.
    pub max_samples: usize,
    /// Most series one query may load.
    pub max_series: usize,
    /// How far back an instant selector looks for a sample.
    #[serde(with = "duration_text")]
    pub lookback_delta: Duration,
    /// Longest PromQL text accepted, in bytes.
    pub max_length: usize,
    /// Most inner steps the subqueries of one query may evaluate together.
    pub max_subquery_steps: usize,
    /// Most queries and listings evaluating at once; the others wait in line.
    pub max_concurrent: usize,
    /// Longest a query waits in line before it is refused with 503.
    #[serde(with = "duration_text")]
    pub queue_timeout: Duration,
}

impl Default for QueryConfig {
    fn default() -> Self {
        let defaults = QueryOptions::default();
        Self {
            timeout: defaults.timeout,
            max_samples: defaults.max_samples,
            max_series: defaults.max_series,
            lookback_delta: defaults.lookback_delta,
            max_length: defaults.max_length,
            max_subquery_steps: defaults.max_subquery_steps,
            max_concurrent: defaults.max_concurrent,
            queue_timeout: defaults.queue_timeout,
        }
    }
}

impl From<QueryConfig> for QueryOptions {
    fn from(config: QueryConfig) -> Self {
        Self {
            timeout: config.timeout,
            max_samples: config.max_samples,
            max_series: config.max_series,
            lookback_delta: config.lookback_delta,
            max_length: config.max_length,
            max_subquery_steps: config.max_subquery_steps,
            max_concurrent: config.max_concurrent,
            queue_timeout: config.queue_timeout,
        }
    }
}

/// The embedded store's settled configuration.
#[derive(Debug, Clone)]
pub struct TsdbSettings {
    /// Directory.
    pub path: PathBuf,
    /// Store options.
    pub options: pharos_tsdb::Options,
}

/// Logging section.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// Filter directive.
    pub level: Option<String>,
}

/// The settled configuration after merging file, environment and flags.
#[derive(Debug)]
pub struct Settings {
    /// Listen address.
    pub listen: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Configured encryption key, if any.
    pub encryption_key: Option<String>,
    /// HTTP server settings.
    pub server: ServerSettings,
    /// The embedded metrics store.
    pub tsdb: TsdbSettings,
    /// Query limits.
    pub query: QueryOptions,
    /// Scrape jobs from the config file.
    pub scrape_configs: Vec<pharos_scrape::ScrapeConfig>,
    /// `--no-demo`.
    pub no_demo: bool,
    /// OpenTelemetry traces.
    pub tracing: crate::tracing_setup::TracingConfig,
}

/// Reads the config file (if any) and applies flags over it.
pub fn load(args: &GlobalArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("./data"));
    let database_url = args
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| default_sqlite_url(&data_dir));
    let tsdb = tsdb_settings(args, file.tsdb, &data_dir)?;
    let server = ServerSettings {
        api: file.api,
        tenancy: file.tenancy,
        proxy: file.proxy,
        trash: file.trash,
        ephemeral_dashboard: file.ephemeral_dashboard,
        database: file.database,
        http: file.http,
        remote_write: file.remote_write,
        query_layer: file.query_layer,
        workloads: file.workloads,
        fleet: file.fleet,
        rules: file.rules,
        logs: file.logs,
        slo: file.slo,
        assistant: file.assistant,
        rate_limit: RateLimitSettings {
            redis_url: args.redis_url.clone().or(file.rate_limit.redis_url),
            ..file.rate_limit
        },
        security: SecuritySettings {
            auth: match args.auth {
                Some(AuthArg::Native) => AuthMode::Native,
                Some(AuthArg::Kubernetes) => AuthMode::Kubernetes,
                Some(AuthArg::Disabled) => AuthMode::Disabled,
                None => file.security.auth,
            },
            admin_password: args.admin_password.clone(),
            ..file.security
        },
    };
    server
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(Settings {
        listen: args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
        data_dir,
        database_url,
        log_format: args.log_format.unwrap_or(file.log.format),
        log_level: args
            .log_level
            .clone()
            .or(file.log.level)
            .unwrap_or_else(|| "info".to_owned()),
        encryption_key: server.security.encryption_key.clone(),
        server,
        tsdb,
        query: file.query.into(),
        scrape_configs: file.scrape_configs,
        no_demo: args.no_demo,
        tracing: file.tracing,
    })
}

/// Merges the `tsdb:` section with the `--tsdb-*` flags.
fn tsdb_settings(
    args: &GlobalArgs,
    file: TsdbConfig,
    data_dir: &Path,
) -> anyhow::Result<TsdbSettings> {
    let retention = match &args.tsdb_retention {
        Some(text) => pharos_model::parse_duration(text)
            .map_err(|e| anyhow::anyhow!("--tsdb-retention: {e}"))?,
        None => file.retention,
    };
    let max_bytes = match &args.tsdb_max_bytes {
        Some(text) => {
            Some(parse_byte_size(text).map_err(|e| anyhow::anyhow!("--tsdb-max-bytes: {e}"))?)
        }
        None => file.max_bytes,
    };
    Ok(TsdbSettings {
        path: args
            .tsdb_path
            .clone()
            .or(file.path)
            .unwrap_or_else(|| data_dir.join("tsdb")),
        options: pharos_tsdb::Options {
            retention,
            max_bytes,
            future_sample_tolerance: file.future_sample_tolerance,
            out_of_order_window: file.out_of_order_window,
            ..pharos_tsdb::Options::default()
        },
    })
}

/// Parses `1048576`, `512MB`, `50GiB`...: units B, KB, MB, GB, TB, PB (powers of 1024, as
/// Prometheus' `--storage.tsdb.retention.size`), `KiB`-style spellings accepted too.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let invalid = || {
        format!("{text:?} is not a size: use a number of bytes or a size such as 512MB, 50GB, 1TB")
    };
    let number: u64 = digits.parse().map_err(|_| invalid())?;
    let power = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 1,
        "M" | "MB" | "MIB" => 2,
        "G" | "GB" | "GIB" => 3,
        "T" | "TB" | "TIB" => 4,
        "P" | "PB" | "PIB" => 5,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(1024u64.pow(power))
        .ok_or_else(|| format!("{text:?} is too large a size"))
}

/// Durations written as Prometheus duration strings (`15d`, `2m`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&pharos_model::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        pharos_model::parse_duration(&text).map_err(D::Error::custom)
    }
}

/// Sizes written as a byte count or with a unit (`512MB`).
mod byte_size_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Bytes(u64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(size: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match size {
            Some(bytes) => s.serialize_u64(*bytes),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<Written>::deserialize(d)? {
            None => Ok(None),
            Some(Written::Bytes(bytes)) => Ok(Some(bytes)),
            Some(Written::Text(text)) => super::parse_byte_size(&text)
                .map(Some)
                .map_err(D::Error::custom),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text)
        .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("pharos.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pharos.yaml");
        std::fs::write(
            &path,
            "listen: 127.0.0.1:9999\ntenancy:\n  label: tenant\ntrash:\n  retention: 48h\n",
        )
        .unwrap();
        let args = GlobalArgs {
            listen: Some("127.0.0.1:7000".into()),
            data_dir: None,
            database_url: None,
            config: Some(path),
            log_format: None,
            log_level: None,
            tsdb_path: None,
            tsdb_retention: None,
            tsdb_max_bytes: None,
            no_demo: false,
            auth: None,
            admin_password: None,
            redis_url: None,
        };
        let settings = load(&args).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:7000");
        assert_eq!(settings.server.tenancy.label, "tenant");
        assert_eq!(settings.server.trash.retention.as_secs(), 48 * 3600);
        assert_eq!(settings.database_url, "sqlite://./data/pharos.db?mode=rwc");
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pharos.yaml");
        std::fs::write(&path, "tenancy:\n  lable: tenant\n").unwrap();
        let args = GlobalArgs {
            listen: None,
            data_dir: None,
            database_url: None,
            config: Some(path),
            log_format: None,
            log_level: None,
            tsdb_path: None,
            tsdb_retention: None,
            tsdb_max_bytes: None,
            no_demo: false,
            auth: None,
            admin_password: None,
            redis_url: None,
        };
        let err = load(&args).unwrap_err().to_string();
        assert!(err.contains("lable"), "{err}");
    }

    fn args_with(config: Option<PathBuf>) -> GlobalArgs {
        GlobalArgs {
            listen: None,
            data_dir: Some(PathBuf::from("/var/lib/pharos")),
            database_url: None,
            config,
            log_format: None,
            log_level: None,
            tsdb_path: None,
            tsdb_retention: None,
            tsdb_max_bytes: None,
            no_demo: false,
            auth: None,
            admin_password: None,
            redis_url: None,
        }
    }

    #[test]
    fn tsdb_and_query_sections_have_prometheus_defaults() {
        let settings = load(&args_with(None)).unwrap();
        assert_eq!(settings.tsdb.path, PathBuf::from("/var/lib/pharos/tsdb"));
        assert_eq!(
            settings.tsdb.options.retention,
            Duration::from_secs(15 * 86_400)
        );
        assert_eq!(settings.tsdb.options.max_bytes, None);
        assert_eq!(
            settings.tsdb.options.future_sample_tolerance,
            Duration::from_secs(600)
        );
        assert_eq!(settings.server.remote_write.max_label_value_length, 2048);
        assert_eq!(settings.server.remote_write.max_labels_per_series, 30);
        assert_eq!(settings.query.timeout, Duration::from_secs(120));
        assert_eq!(settings.query.max_samples, 50_000_000);
        assert_eq!(settings.query.lookback_delta, Duration::from_secs(300));
    }

    #[test]
    fn tsdb_and_query_sections_are_read_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pharos.yaml");
        std::fs::write(
            &path,
            "tsdb:\n  path: /srv/metrics\n  retention: 30d\n  max_bytes: 10GB\n  future_sample_tolerance: 1h\n  out_of_order_window: 30m\nquery:\n  timeout: 30s\n  max_samples: 1000\n  lookback_delta: 1m\nremote_write:\n  max_label_value_length: 4096\n  max_series_per_request: 10\n",
        )
        .unwrap();
        let settings = load(&args_with(Some(path.clone()))).unwrap();
        assert_eq!(settings.tsdb.path, PathBuf::from("/srv/metrics"));
        assert_eq!(
            settings.tsdb.options.retention,
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(settings.tsdb.options.max_bytes, Some(10 << 30));
        assert_eq!(
            settings.tsdb.options.future_sample_tolerance,
            Duration::from_secs(3600)
        );
        assert_eq!(
            settings.tsdb.options.out_of_order_window,
            Duration::from_secs(1800)
        );
        let limits = settings.server.remote_write.limits();
        assert_eq!(limits.max_label_value_length, 4096);
        assert_eq!(limits.max_series_per_request, 10);
        assert_eq!(
            limits.max_label_name_length, 1024,
            "unset keys keep defaults"
        );
        assert_eq!(settings.query.timeout, Duration::from_secs(30));
        assert_eq!(settings.query.max_samples, 1000);
        assert_eq!(settings.query.lookback_delta, Duration::from_secs(60));

        let mut args = args_with(Some(path));
        args.tsdb_retention = Some("90d".into());
        args.tsdb_max_bytes = Some("1048576".into());
        args.tsdb_path = Some(PathBuf::from("/fast/tsdb"));
        let settings = load(&args).unwrap();
        assert_eq!(
            settings.tsdb.options.retention,
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(settings.tsdb.options.max_bytes, Some(1 << 20));
        assert_eq!(settings.tsdb.path, PathBuf::from("/fast/tsdb"));
    }

    #[test]
    fn http_and_admission_limits_are_read_from_the_file() {
        let defaults = load(&args_with(None)).unwrap();
        assert_eq!(
            defaults.server.http.header_read_timeout,
            Duration::from_secs(10)
        );
        assert_eq!(defaults.server.http.max_connections, 10_000);
        assert!(defaults.query.max_concurrent >= 2);
        assert_eq!(defaults.query.queue_timeout, Duration::from_secs(30));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pharos.yaml");
        std::fs::write(
            &path,
            "http:\n  header_read_timeout: 2s\n  body_read_timeout: 3s\n  idle_timeout: 4s\n  max_connections: 50\nquery:\n  max_concurrent: 1\n  queue_timeout: 500ms\n",
        )
        .unwrap();
        let settings = load(&args_with(Some(path))).unwrap();
        let http = &settings.server.http;
        assert_eq!(
            (
                http.header_read_timeout,
                http.body_read_timeout,
                http.idle_timeout,
                http.max_connections
            ),
            (
                Duration::from_secs(2),
                Duration::from_secs(3),
                Duration::from_secs(4),
                50
            )
        );
        assert_eq!(settings.query.max_concurrent, 1);
        assert_eq!(settings.query.queue_timeout, Duration::from_millis(500));
    }

    #[test]
    fn bad_sizes_and_durations_name_the_setting() {
        let mut args = args_with(None);
        args.tsdb_max_bytes = Some("lots".into());
        let err = load(&args).unwrap_err().to_string();
        assert!(
            err.contains("--tsdb-max-bytes") && err.contains("512MB"),
            "{err}"
        );
        let mut args = args_with(None);
        args.tsdb_retention = Some("forever".into());
        let err = load(&args).unwrap_err().to_string();
        assert!(err.contains("--tsdb-retention"), "{err}");
    }

    #[test]
    fn byte_sizes_use_powers_of_1024() {
        assert_eq!(parse_byte_size("512").unwrap(), 512);
        assert_eq!(parse_byte_size("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_byte_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_byte_size("1 tb").unwrap(), 1 << 40);
        assert!(parse_byte_size("1.5GB").is_err());
        assert!(
            parse_byte_size("99999999PB")
                .unwrap_err()
                .contains("too large")
        );
    }
}
