//! Command-line flags (each with an environment equivalent); the YAML config file and how both
//! make the settings are in [`settings`].

mod settings;

pub use settings::{Settings, TsdbSettings, load};

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
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
    /// Once listening, write the bound address (`127.0.0.1:PORT`) to this file, so a caller that
    /// started `--listen 127.0.0.1:0` learns the port the system chose (tests, supervisors).
    #[arg(long, env = "PHAROS_ADDR_FILE", global = true)]
    pub addr_file: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
    /// Run the assistant's evaluation suite against an OpenAI-compatible endpoint and print
    /// the results; exits 1 when a scenario fails.
    Eval(EvalArgs),
    /// Write the config store (SQLite or PostgreSQL, every table) and a snapshot of the metrics
    /// store to one archive. The config part is safe while Pharos runs; the metrics part needs
    /// Pharos stopped (or `--no-tsdb`).
    Backup(BackupArgs),
    /// Restore an archive of `pharos backup` into an empty config store (either engine) and an
    /// empty metrics directory.
    Restore(RestoreArgs),
    /// Tools for the embedded metrics store.
    Tsdb {
        /// What to do.
        #[command(subcommand)]
        command: TsdbCommand,
    },
    /// The built-in AI-platform simulator outside the server: its history as a file, its
    /// dashboard.
    Demo {
        /// What to do.
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Watch PersesDashboard/PersesDatasource (and pharos.dev Dashboard) custom resources and
    /// apply them to a Pharos server through its API (docs/user/operator.md).
    Operator(OperatorArgs),
}

/// `pharos operator ...`
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// Base URL of the Pharos API the operator writes to.
    #[arg(long, env = "PHAROS_URL")]
    pub pharos_url: String,
    /// A Pharos API token (`pht_...`) of the user the writes are made and audited as
    /// (`operator`); from the environment, so it is not shown in the process list.
    #[arg(long, env = "PHAROS_OPERATOR_TOKEN", hide_env_values = true)]
    pub pharos_token: String,
    /// The Kubernetes API server; default: the in-cluster configuration (service account).
    #[arg(long)]
    pub kube_url: Option<String>,
    /// Bearer token for `--kube-url` (default: the service account token).
    #[arg(long, requires = "kube_url", hide_env_values = true)]
    pub kube_token: Option<String>,
    /// PEM CA bundle to trust for `--kube-url`.
    #[arg(long, requires = "kube_url")]
    pub kube_ca: Option<PathBuf>,
    /// `timeoutSeconds` of each watch request.
    #[arg(long, default_value_t = 300)]
    pub watch_timeout_seconds: u64,
    /// Relist and sweep at least this often, in seconds.
    #[arg(long, default_value_t = 600)]
    pub resync_seconds: u64,
    /// Longest wait between retries, in seconds.
    #[arg(long, default_value_t = 30)]
    pub max_backoff_seconds: u64,
}

/// `pharos eval ...`
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The suite (YAML); default: the suite built into Pharos.
    #[arg(long)]
    pub suite: Option<PathBuf>,
    /// Only this scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Base URL of the OpenAI-compatible API (default: `assistant.llm.url` of the config).
    #[arg(long)]
    pub llm_url: Option<String>,
    /// The model (default: `assistant.llm.model`).
    #[arg(long)]
    pub model: Option<String>,
    /// Environment variable holding the API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Seconds to wait for a model's first byte (a whole call may take twice as long).
    #[arg(long, default_value_t = 60)]
    pub timeout_seconds: u64,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// `pharos backup ...` (with the global `--data-dir`, `--database-url`, `--config`).
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The archive to write (`tar` + gzip); must not exist yet.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Leave the metrics store out (the config store alone can be backed up while Pharos runs).
    #[arg(long)]
    pub no_tsdb: bool,
}

/// `pharos restore ...` (with the global `--data-dir`, `--database-url`, `--config`).
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The archive written by `pharos backup`.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Restore only the config store, not the metrics in the archive.
    #[arg(long)]
    pub no_tsdb: bool,
}

/// `pharos tsdb ...`
#[derive(Debug, Subcommand)]
pub enum TsdbCommand {
    /// Backfill an OpenMetrics file (as `promtool tsdb create-blocks-from openmetrics`) into the
    /// store in the data dir; run it while the server is stopped.
    Import {
        /// OpenMetrics text file ending with `# EOF`; timestamps in seconds.
        file: PathBuf,
    },
}

/// `pharos demo ...`
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Write the simulator's samples for a time range as an OpenMetrics file (ending with
    /// `# EOF`) for `promtool tsdb create-blocks-from openmetrics` or `pharos tsdb import`:
    /// the series and values the demo writes into the store, one tick every `--step` from
    /// `--start` until before `--end`.
    Export(DemoExportArgs),
    /// Print the demo dashboard (the Perses `Dashboard` resource the demo creates) as JSON.
    Dashboard,
}

/// `pharos demo export ...`
#[derive(Debug, clap::Args)]
pub struct DemoExportArgs {
    /// First tick, in seconds since 1970 (UTC).
    #[arg(long)]
    pub start: i64,
    /// End of the range, in seconds since 1970; exclusive (the last tick is before it).
    #[arg(long)]
    pub end: i64,
    /// Start the simulation here (seconds since 1970, at most `--start`, a whole number of
    /// steps before it) and write only the ticks from `--start` on: the same samples as an
    /// export from this time, cut at `--start`. Consecutive ranges exported with the same
    /// `--simulate-from` join into one continuous history (counters do not restart).
    #[arg(long)]
    pub simulate_from: Option<i64>,
    /// Seconds between ticks (the demo's interval is 15).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub step: u64,
    /// The file to write (replaced if it exists); standard output when omitted or `-`.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
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
    /// Directory of the embedded metrics store (default: `<data-dir>/tsdb`).
    #[arg(long, env = "PHAROS_TSDB_PATH", global = true)]
    pub tsdb_path: Option<PathBuf>,
    /// How long the metrics store keeps data, e.g. `15d` (the default) or `90d`.
    #[arg(long, env = "PHAROS_TSDB_RETENTION", global = true)]
    pub tsdb_retention: Option<String>,
    /// Size limit of the metrics store on disk, e.g. `50GB`; the oldest blocks go first.
    #[arg(long, env = "PHAROS_TSDB_MAX_BYTES", global = true)]
    pub tsdb_max_bytes: Option<String>,
    /// Do not run the built-in AI-platform simulator (it runs by default on a fresh data dir).
    #[arg(long, env = "PHAROS_NO_DEMO", global = true)]
    pub no_demo: bool,
    /// How callers log in: `native` (users with passwords, the default) or `disabled` (no
    /// login at all; local development only).
    #[arg(long, env = "PHAROS_AUTH", global = true, value_enum)]
    pub auth: Option<AuthArg>,
    /// Password of the first administrator (`admin`), used only when the config store has no
    /// users yet; without it one is generated into `<data-dir>/admin-password`.
    #[arg(
        long,
        env = "PHAROS_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Redis for rate-limit counters shared by every replica (`redis://host:port/db`).
    #[arg(long, env = "PHAROS_REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,
}

/// `--auth` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Users with passwords in the config store (and the configured OIDC/OAuth providers).
    Native,
    /// Tokens and permissions checked by the Kubernetes API server (OpenShift).
    Kubernetes,
    /// No login (local development only).
    Disabled,
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
