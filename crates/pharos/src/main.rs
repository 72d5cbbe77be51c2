//! The `pharos` binary: parses flags and config, sets up logging, opens the config store and
//! the embedded metrics store, and serves the API until SIGINT/SIGTERM.

mod backup;
mod cli;
mod demo;
mod demo_templates;
mod eval;
mod fleet_demo;
mod import;
mod logs;
mod loki_pull;
mod operator;
mod rules;
mod scraping;
mod slo;
mod tracing_setup;
mod tsdb;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use pharos_query::LocalMetrics;
use pharos_server::{AppState, prom_api, router, spawn_housekeeping};
use pharos_store::{SecretKeySource, Store, StoreConfig};
use tracing_subscriber::{EnvFilter, Layer as _, Registry, fmt, prelude::*};

use cli::{Cli, Command, DemoCommand, LogFormat, Settings, TsdbCommand};

/// mimalloc instead of glibc's malloc (decision 0032): ingestion and queries allocate many small,
/// short-lived buffers, where glibc's malloc/free/consolidation took ~45 % of remote-write CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli::load(&cli.global)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings, cli.addr_file.as_deref()).await,
        Command::Config => {
            println!("{settings:#?}");
            Ok(())
        }
        Command::Backup(args) => backup::backup(&settings, &args).await,
        Command::Restore(args) => backup::restore(&settings, &args).await,
        Command::Tsdb {
            command: TsdbCommand::Import { file },
        } => import::run(&settings, &file).await,
        Command::Demo {
            command: DemoCommand::Export(args),
        } => demo::export(&args).await,
        Command::Demo {
            command: DemoCommand::Dashboard,
        } => demo::print_dashboard(),
        Command::Operator(args) => operator::run(&settings, &args).await,
        Command::Eval(args) => {
            if eval::run(&settings, &args).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}

/// Logs to stdout, and spans to an OTLP endpoint when one is configured (`tracing:` section,
/// `OTEL_EXPORTER_OTLP_*`). Keep the guard until the end: dropping it sends the last spans.
fn init_logging(settings: &Settings) -> tracing_setup::TracingGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log_level));
    // Each layer has its own filter: the log level does not decide which spans are exported.
    let mut layers: Vec<Box<dyn tracing_subscriber::Layer<Registry> + Send + Sync>> =
        vec![match settings.log_format {
            LogFormat::Json => fmt::layer().json().with_filter(filter).boxed(),
            LogFormat::Text => fmt::layer().with_filter(filter).boxed(),
        }];
    let resolved = tracing_setup::resolve(&settings.tracing, |name| std::env::var(name).ok());
    let (guard, failure) = match resolved.as_ref().map(tracing_setup::layer) {
        Some(Ok((layer, guard))) => {
            layers.push(layer);
            (guard, None)
        }
        Some(Err(error)) => (tracing_setup::TracingGuard::default(), Some(error)),
        None => (tracing_setup::TracingGuard::default(), None),
    };
    tracing_subscriber::registry().with(layers).init();
    match (resolved, failure) {
        (Some(resolved), None) => tracing::info!(
            endpoint = %resolved.traces_url,
            service_name = %resolved.service_name,
            sample_ratio = resolved.sample_ratio,
            "exporting traces over OTLP/HTTP"
        ),
        (_, Some(error)) => tracing::warn!(%error, "traces are not exported"),
        (None, None) => {}
    }
    guard
}

async fn serve(settings: Settings, addr_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    // Dropped when `serve` returns, after everything else: the last spans go out then.
    let _tracing = init_logging(&settings);
    // Before anything opens files: connections, store blocks and the database share it.
    pharos_server::serve::raise_open_files_limit();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
    let secret_key = match &settings.encryption_key {
        Some(key) => SecretKeySource::Configured(key.clone()),
        None => SecretKeySource::KeyFile(settings.data_dir.join("secret.key")),
    };
    // The metrics store opens (blocks, WAL replay) on its own thread while the config store,
    // the HTTP clients and the identity service get ready: startup takes the longer of the two,
    // not their sum.
    let data_dir_was_fresh = !settings.tsdb.path.exists();
    let opening_tsdb = {
        let tsdb_settings = settings.tsdb.clone();
        tokio::spawn(async move { tsdb::open(&tsdb_settings).await })
    };
    let mut store_config = StoreConfig::new(settings.database_url.clone(), secret_key);
    store_config.max_connections = settings.server.database.max_connections;
    store_config.acquire_timeout = settings.server.database.acquire_timeout;
    store_config.options.trash_retention =
        chrono::TimeDelta::from_std(settings.server.trash.retention)
            .unwrap_or(chrono::TimeDelta::days(30));
    let store = Store::open(&store_config)
        .await
        .context("cannot open the config store")?;
    tracing::info!(backend = store.backend_name(), "config store ready");

    let demo = fleet_demo::demo_enabled(&settings.data_dir, data_dir_was_fresh, settings.no_demo);
    // A bad rule file stops the start here, with what to fix.
    let rule_groups = rules::load(&settings.server.rules, &settings.server.slo, demo)?;
    let http_settings = settings.server.http.clone();
    let state = AppState::new(store, settings.server).context("cannot build the HTTP client")?;
    match state
        .identity
        .bootstrap_admin(Some(&settings.data_dir))
        .await
    {
        Ok(Some(password)) => tracing::warn!(
            user = "admin",
            password = %password,
            file = %settings.data_dir.join("admin-password").display(),
            "created the first administrator; this password is shown once (also in the file, mode 0600): log in and change it"
        ),
        Ok(None) => {}
        Err(error) => anyhow::bail!("cannot create the first administrator: {error}"),
    }
    if !state.identity.enabled() {
        tracing::warn!(
            "authentication is DISABLED (--auth disabled): anyone who reaches this port may read and change everything"
        );
    }
    let db = opening_tsdb
        .await
        .context("the metrics store's open task failed")??;
    let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), settings.query));
    let state = state.with_metrics(Arc::clone(&metrics));
    let housekeeping = spawn_housekeeping(state.clone());
    // The fleet's background health checks (fleet.health_checks: false turns them off).
    let fleet_checks = state
        .settings
        .fleet
        .health_checks
        .then(|| state.fleet.spawn_health_checks());
    // GPU_UPDATE events while anyone listens (fleet.gpu_update_interval: 0s turns them off).
    let gpu_interval = state.settings.fleet.gpu_update_interval;
    let gpu_updates =
        (!gpu_interval.is_zero()).then(|| state.fleet.spawn_gpu_updates(gpu_interval));
    // One stop signal for every background task that writes to the metrics store.
    let (stop_maintenance, maintenance_stopped) = tokio::sync::watch::channel(false);
    let maintenance = tsdb::spawn_maintenance(Arc::clone(&db), maintenance_stopped.clone());

    let addr: SocketAddr = settings.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            settings.listen
        )
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    register_local_datasource(&state, bound).await;
    // Rule results are "now": they wait for the demo's history and the Loki backfills, as
    // scraping does.
    let (rules_ready_tx, rules_ready) =
        tokio::sync::watch::channel(!demo && !loki_pull::configured(&state));
    // Thresholds are "now" samples too: they wait with the rules.
    let slo_thresholds = slo::start(&state, rules_ready.clone(), maintenance_stopped.clone());
    let (state, rule_evaluation) = rules::start(
        state,
        rule_groups,
        metrics,
        bound,
        rules_ready.clone(),
        maintenance_stopped.clone(),
    );
    // Anomalies are looked for once the history is in place.
    let detector = pharos_server::assistant::spawn_detector(state.clone(), rules_ready.clone());
    // Before the simulator: it feeds the demo services' access logs into this intake.
    let log_intake = logs::start(&state, maintenance_stopped.clone(), demo, rules_ready);
    // Scraped samples are "now"; written before the simulated history, they would make the
    // store refuse that history as too old, so scraping waits for it.
    let (simulator, history_ready) = if demo {
        fleet_demo::seed_demo_resources(&state).await;
        slo::seed_demo(&state).await;
        tracing::info!("AI-platform simulator running (start with --no-demo to turn it off)");
        let (task, history_written) = fleet_demo::spawn_simulator(
            Arc::clone(&db),
            maintenance_stopped.clone(),
            log_intake.as_ref().map(|(intake, _)| Arc::clone(intake)),
        );
        // Once the history is there: scraping starts, and the templates are instantiated with
        // values found in it.
        let (history_ready_tx, history_ready) = tokio::sync::oneshot::channel();
        let (seed_state, data_dir) = (state.clone(), settings.data_dir.clone());
        tokio::spawn(async move {
            let _ = history_written.await;
            let _ = history_ready_tx.send(());
            demo_templates::seed(&seed_state, &data_dir).await;
            fleet_demo::seed_demo_clusters(&seed_state).await;
        });
        (Some(task), Some(history_ready))
    } else {
        (None, None)
    };
    // After the demo's history, before anything "now": the Loki backfills; then the gate opens.
    let (history_ready, loki_pull) = loki_pull::start(
        &state,
        log_intake.as_ref().map(|(intake, _)| Arc::clone(intake)),
        history_ready,
        rules_ready_tx,
        maintenance_stopped.clone(),
    );
    let scraper = scraping::spawn(
        Arc::clone(&db),
        settings.scrape_configs,
        bound,
        history_ready,
        maintenance_stopped.clone(),
    )?;
    // Streams and WebSockets end with a reconnect hint as soon as the stop signal arrives.
    let drain = state.drain.clone();
    let mut app = router(state);
    if let Some((intake, _)) = &log_intake {
        app = pharos_server::logs::attach(app, Arc::clone(intake));
    }
    tracing::info!(addr = %bound, "pharos listening (API docs at /api/docs)");
    if let Some(path) = addr_file {
        write_addr_file(path, bound)?;
    }
    // Connection limits and timeouts, TCP_NODELAY and graceful shutdown live in `serve`.
    let stop = async move {
        shutdown_signal().await;
        drain.start();
    };
    pharos_server::serve::serve(listener, app, &http_settings, stop)
        .await
        .context("server error")?;
    housekeeping.abort();
    // Awaiting the aborted task drops its copy of the state (and of the store).
    let _ = housekeeping.await;
    // The anomaly detector only reads: stopped like the fleet's tasks, it lets go of the store.
    for task in [fleet_checks, gpu_updates, detector].into_iter().flatten() {
        task.abort();
        let _ = task.await;
    }
    let _ = stop_maintenance.send(true);
    if let Some(loki_pull) = loki_pull {
        let _ = loki_pull.await;
    }
    // The last publish of the open buckets, before the store closes.
    if let Some((_, publisher)) = log_intake {
        let _ = publisher.await;
    }
    let _ = scraper.await;
    let _ = slo_thresholds.await;
    if let Some(rule_evaluation) = rule_evaluation {
        let _ = rule_evaluation.await;
    }
    if let Some(simulator) = simulator {
        let _ = simulator.await;
    }
    let _ = maintenance.await;
    tsdb::close(db).await;
    tracing::info!("pharos stopped");
    Ok(())
}

/// Writes `ADDR\n` to `path` atomically (temporary file, then rename): a reader polling for the
/// file never sees half an address.
fn write_addr_file(path: &std::path::Path, bound: SocketAddr) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, format!("{bound}\n"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write --addr-file {}", path.display()))
}

/// Points the `local` global datasource at this server; a failure is logged, not fatal (the
/// Prometheus API works without it).
async fn register_local_datasource(state: &AppState, listen: SocketAddr) {
    state.identity.set_local_origin(prom_api::local_url(listen));
    match prom_api::ensure_local_datasource(state, listen).await {
        Ok(outcome) => tracing::info!(
            ?outcome,
            url = %prom_api::local_url(listen),
            "global datasource \"local\" (embedded metrics store)"
        ),
        Err(error) => tracing::warn!(
            %error,
            "cannot register the global datasource \"local\"; dashboards must name another datasource"
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
