//! The standalone experience: the built-in AI-platform simulator, the `demo` project with its
//! dashboard, and the simulated clusters in the fleet registry (as clusters of the embedded
//! store), so a fresh `cargo run --release` shows a moving fleet within a minute.

use std::{path::Path, sync::Arc, time::Duration};

use pharos_logs::{BodyKind, LogIntake};
use pharos_model::Kind;
use pharos_server::AppState;
use pharos_sim::{DEMO_DASHBOARD_NAME, DEMO_PROJECT, SimOptions};
use pharos_tsdb::Db;
use serde_json::json;
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

/// Marker file: the simulator runs in data dirs that were fresh when it was first enabled.
const DEMO_MARKER: &str = "demo-enabled";

/// How often the simulator appends a tick (matches a typical scrape interval).
const SIM_INTERVAL: Duration = Duration::from_secs(15);

/// Decides whether the simulator runs: on a fresh data dir unless `--no-demo`, and on later
/// starts of a data dir where it ran before (unless `--no-demo`).
pub fn demo_enabled(data_dir: &Path, data_dir_was_fresh: bool, no_demo: bool) -> bool {
    let marker = data_dir.join(DEMO_MARKER);
    if no_demo {
        return false;
    }
    if data_dir_was_fresh
        && let Err(err) = std::fs::write(
            &marker,
            "the simulator runs here; start with --no-demo to stop it\n",
        )
    {
        tracing::warn!(%err, "cannot write the demo marker; the simulator runs this time only");
        return true;
    }
    marker.exists()
}

/// Starts the simulator (backfills recent history, then appends every 15 s) until `stop`.
/// The returned receiver fires once the history is written. With `log_intake`, the demo
/// services' access logs too: a week of latency buckets in the history, then every tick's
/// lines pushed into the intake as Loki push requests (the path `/loki/api/v1/push` takes).
pub fn spawn_simulator(
    db: Arc<Db>,
    mut stop: watch::Receiver<bool>,
    log_intake: Option<Arc<LogIntake>>,
) -> (JoinHandle<()>, oneshot::Receiver<()>) {
    let (history_written, history_ready) = oneshot::channel();
    let access_logs = log_intake.map(|intake| -> pharos_sim::AccessLogSink {
        Box::new(move |lines| push_access_logs(&intake, &lines))
    });
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        pharos_sim::run_with_access_logs(
            db,
            SimOptions::default(),
            SIM_INTERVAL,
            shutdown,
            Some(history_written),
            access_logs,
        )
        .await;
    });
    (task, history_ready)
}

/// One tick's access-log lines into the intake, one Loki push per source, counted in the
/// intake's self-monitoring like any push. Refused lines are logged (they should not happen).
fn push_access_logs(intake: &LogIntake, lines: &[pharos_sim::AccessLogLine]) {
    let now = chrono::Utc::now().timestamp_millis();
    for (source, body) in pharos_sim::loki_push_bodies(lines) {
        match intake.push(BodyKind::LokiProtobuf, &body, None, Some(source), now) {
            Ok(report) => {
                metrics::counter!("pharos_logs_lines_total", "source" => source)
                    .increment(report.accepted);
                if report.rejected_total() > 0 {
                    tracing::warn!(source, report = %report.describe(), "the log intake refused simulated access-log lines");
                }
            }
            Err(error) => {
                tracing::warn!(source, %error, "the log intake refused simulated access logs")
            }
        }
    }
}

/// Creates the `demo` project and its dashboard if they are missing (never overwrites a
/// user's changes). Failures are logged: the server works without them.
pub async fn seed_demo_resources(state: &AppState) {
    let project = json!({
        "kind": "Project",
        "metadata": {"name": DEMO_PROJECT},
        "spec": {"display": {"name": "Demo", "description": "The built-in AI-platform simulator"}}
    });
    if let Err(err) = create_if_missing(state, Kind::Project, None, DEMO_PROJECT, project).await {
        tracing::warn!(%err, "cannot create the demo project");
        return;
    }
    let dashboard = pharos_sim::demo_dashboard();
    match create_if_missing(
        state,
        Kind::Dashboard,
        Some(DEMO_PROJECT),
        DEMO_DASHBOARD_NAME,
        dashboard,
    )
    .await
    {
        Ok(true) => tracing::info!(
            project = DEMO_PROJECT,
            dashboard = DEMO_DASHBOARD_NAME,
            "demo dashboard created"
        ),
        Ok(false) => {}
        Err(err) => tracing::warn!(%err, "cannot create the demo dashboard"),
    }
}

pub(crate) async fn create_if_missing(
    state: &AppState,
    kind: Kind,
    project: Option<&str>,
    name: &str,
    document: serde_json::Value,
) -> Result<bool, pharos_server::error::ApiError> {
    if state
        .resources
        .load_raw(kind, project, name)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    match state
        .resources
        .create(
            &pharos_server::identity::Caller::system(),
            kind,
            project,
            document,
        )
        .await
    {
        Ok(_) => Ok(true),
        // Another replica won the race: fine.
        Err(pharos_server::error::ApiError::AlreadyExists) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Lets the demo register clusters (it acts for the server, not for a user).
struct DemoSeeder;

impl pharos_fleet::Access for DemoSeeder {
    fn check(&self, _: pharos_fleet::FleetAction) -> Result<(), String> {
        Ok(())
    }
}

/// Type, region and environment of the simulated cluster at `index`.
fn demo_cluster_role(index: usize, name: &str) -> (&'static str, String, &'static str) {
    let cluster_type = match index {
        0 => "hub",
        1 => "spoke",
        _ => "edge",
    };
    let region = name.split('-').nth(1).unwrap_or("lab").to_owned();
    let env = if name.starts_with("prod") {
        "prod"
    } else {
        "dev"
    };
    (cluster_type, region, env)
}

/// Registers every simulated cluster as a cluster of the embedded store
/// (`embedded:cluster=<name>`) unless one of that name exists, then refreshes it so its
/// health and GPUs show at once. Failures are logged: the server works without them.
pub async fn seed_demo_clusters(state: &AppState) {
    for (index, name) in pharos_sim::cluster_names(&SimOptions::default())
        .into_iter()
        .enumerate()
    {
        let (cluster_type, region, env) = demo_cluster_role(index, &name);
        let input = json!({
            "name": name, "type": cluster_type, "region": region,
            "prometheus_url": format!("embedded:cluster={name}"),
            "labels": {"env": env, "source": "simulator"},
        });
        let input = match serde_json::from_value::<pharos_fleet::ClusterInput>(input) {
            Ok(input) => input,
            Err(err) => {
                tracing::warn!(%err, cluster = %name, "demo cluster input");
                continue;
            }
        };
        match state.fleet.register(&DemoSeeder, input).await {
            Ok(_) => tracing::info!(cluster = %name, "demo cluster registered"),
            Err(pharos_fleet::FleetError::AlreadyExists(_)) => continue,
            Err(err) => {
                tracing::warn!(%err, cluster = %name, "cannot register the demo cluster");
                continue;
            }
        }
        if let Err(err) = state.fleet.refresh(&DemoSeeder, &name).await {
            tracing::warn!(%err, cluster = %name, "cannot refresh the demo cluster");
        }
    }
}
