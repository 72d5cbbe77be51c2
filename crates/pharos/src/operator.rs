//! `pharos operator`: the dashboard operator (`pharos-operator`) wired to flags and signals.
//! It talks to Pharos only over HTTP, so it opens no data dir and no store.

use std::time::Duration;

use anyhow::Context as _;
use pharos_operator::{KubeClient, PharosClient, Timing};

use crate::cli::{OperatorArgs, Settings};

/// Runs until SIGINT/SIGTERM; an error when Pharos refuses the token or the Kubernetes
/// configuration is unusable.
pub async fn run(settings: &Settings, args: &OperatorArgs) -> anyhow::Result<()> {
    // Kept until the end: dropping it flushes exported spans.
    let _logging = crate::init_logging(settings);
    let kube = match &args.kube_url {
        Some(url) => {
            let ca = match &args.kube_ca {
                Some(path) => Some(
                    std::fs::read(path).with_context(|| format!("--kube-ca {}", path.display()))?,
                ),
                None => None,
            };
            KubeClient::new(
                url,
                args.kube_token.as_deref().unwrap_or_default(),
                ca.as_deref(),
            )?
        }
        None => KubeClient::in_cluster()?,
    };
    let pharos = PharosClient::new(&args.pharos_url, &args.pharos_token)?;
    let timing = Timing {
        watch_timeout: Duration::from_secs(args.watch_timeout_seconds.max(1)),
        resync: Duration::from_secs(args.resync_seconds.max(1)),
        max_backoff: Duration::from_secs(args.max_backoff_seconds.max(1)),
        ..Timing::default()
    };
    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        let _ = stop_sender.send(true);
    });
    pharos_operator::run(kube, pharos, pharos_operator::default_types(), timing, stop)
        .await
        .context("operator")
}
