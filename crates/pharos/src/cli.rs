//! Command-line flags (each with an environment equivalent) and the YAML config file.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use pharos_server::config::{
    ApiSettings, DatabaseSettings, EphemeralSettings, ProxySettings, ServerSettings,
    TenancySettings, TrashSettings,
};
use serde::Deserialize;

/// Pharos: dashboards, datasource proxy and tenant enforcement in one binary.
#[derive(Debug, Parser)]
#[command(name = "pharos", version, about)]
pub struct Cli {
    /// What to run; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
}

/// Flags shared by every command.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Address to listen on.
    #[arg(long, env = "PHAROS_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Directory for the SQLite file, the secret key file and other state.
    #[arg(long, env = "PHAROS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://...` or `postgres://...` (default: SQLite in the data dir).
    #[arg(long, env = "PHAROS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// YAML configuration file for everything else.
    #[arg(long, env = "PHAROS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "PHAROS_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter (`info`, `pharos_server=debug,info`, ...); `RUST_LOG` works too.
    #[arg(long, env = "PHAROS_LOG_LEVEL", global = true)]
    pub log_level: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

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
    /// Secrets at rest.
    pub security: SecurityConfig,
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

/// Security section.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Base64 of 32 bytes; when absent a key file in the data dir is used (created once).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub encryption_key: Option<String>,
}

fn redact<S: serde::Serializer>(_: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<secret>")
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
        encryption_key: file.security.encryption_key,
        server: ServerSettings {
            api: file.api,
            tenancy: file.tenancy,
            proxy: file.proxy,
            trash: file.trash,
            ephemeral_dashboard: file.ephemeral_dashboard,
            database: file.database,
        },
    })
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
        };
        let err = load(&args).unwrap_err().to_string();
        assert!(err.contains("lable"), "{err}");
    }
}
