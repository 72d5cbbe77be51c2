//! The scrape manager of the embedded store: the jobs from `scrape_configs` plus one that
//! scrapes Pharos's own `/metrics`, so self-monitoring is queryable out of the box.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use pharos_scrape::{ScrapeConfig, ScrapeManager};
use pharos_tsdb::Db;
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

/// Name of the job that scrapes Pharos itself.
pub const SELF_JOB: &str = "pharos";

/// Validates the configured jobs, adds the self-scrape job (unless the user defined one with
/// that name) and scrapes until `stop`. Scraping starts once `start_after` fires (or is
/// dropped): the demo's history and the Loki backfills are written first however long they
/// take, since the store refuses samples an hour behind the "now" samples scraping writes.
pub fn spawn(
    db: Arc<Db>,
    mut configs: Vec<ScrapeConfig>,
    own_address: SocketAddr,
    start_after: Option<oneshot::Receiver<()>>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    if !configs.iter().any(|c| c.job_name == SELF_JOB) {
        let target = pharos_server::prom_api::local_url(own_address);
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        configs.push(ScrapeConfig::new(SELF_JOB, [target]).with_interval(Duration::from_secs(15)));
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let manager = ScrapeManager::new(db, configs, client)
        .map_err(|e| anyhow::anyhow!("scrape_configs: {e}"))?;
    Ok(tokio::spawn(async move {
        if let Some(start_after) = start_after {
            tokio::select! {
                _ = start_after => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
        }
        manager
            .run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await;
    }))
}
