//! Scraping a REAL Prometheus' own `/metrics` (started by `scripts/peers.sh`). Needs
//! `PHAROS_TEST_PROMETHEUS_URL`; fails instead of skipping when `PHAROS_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pharos_scrape::{Health, ScrapeConfig, ScrapeManager};
use pharos_tsdb::{Db, MatchOp, Matcher, Options, is_stale_nan};

fn prometheus_address() -> Option<String> {
    match std::env::var("PHAROS_TEST_PROMETHEUS_URL") {
        Ok(url) if !url.is_empty() => {
            let address = url.trim_start_matches("http://").trim_end_matches('/');
            Some(address.to_owned())
        }
        _ => {
            assert!(
                std::env::var("PHAROS_REQUIRE_PEERS").as_deref() != Ok("1"),
                "PHAROS_REQUIRE_PEERS=1 but PHAROS_TEST_PROMETHEUS_URL is not set: start the peers with scripts/peers.sh"
            );
            eprintln!("PHAROS_TEST_PROMETHEUS_URL not set: real-Prometheus test skipped");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_of_a_real_prometheus_is_stored() {
    let Some(address) = prometheus_address() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let job =
        ScrapeConfig::new("prometheus", [address.clone()]).with_interval(Duration::from_secs(2));
    let manager = ScrapeManager::new(Arc::clone(&db), vec![job], reqwest::Client::new()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(manager.clone().run(async move {
        let _ = stopped.await;
    }));
    let up_series = |db: &Db| {
        db.querier(0, i64::MAX)
            .select(&[Matcher::equal("__name__", "up")])
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while up_series(&db).first().is_none_or(|s| s.samples.len() < 3) {
        assert!(Instant::now() < deadline, "no three scrapes within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    task.await.unwrap();

    let health = &manager.targets()[0];
    assert_eq!(health.health, Health::Up, "{:?}", health.last_error);
    let up = up_series(&db);
    assert!(up[0].samples.iter().all(|s| s.v == 1.0));

    // At the last scrape's timestamp, the store holds exactly as many scraped series as
    // scrape_samples_scraped says: every line of the real exposition was parsed and stored.
    let last = up[0].samples.last().unwrap().t;
    let scraped = db
        .querier(last, last)
        .select(&[Matcher::equal("__name__", "scrape_samples_scraped")])
        .unwrap()[0]
        .samples[0]
        .v;
    assert!(
        scraped > 100.0,
        "Prometheus exposes hundreds of samples, got {scraped}"
    );
    let report: HashSet<&str> = ["up", "scrape_duration_seconds", "scrape_samples_scraped"].into();
    let stored = db
        .querier(last, last)
        .select(&[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()])
        .unwrap()
        .into_iter()
        .filter(|s| !report.contains(s.labels.metric_name().unwrap()))
        .filter(|s| s.samples.iter().any(|x| x.t == last && !is_stale_nan(x.v)))
        .inspect(|s| {
            assert_eq!(s.labels.get("job"), Some("prometheus"));
            assert_eq!(s.labels.get("instance"), Some(address.as_str()));
        })
        .count();
    assert_eq!(stored as f64, scraped);
    let metadata = manager.metadata();
    assert!(
        metadata
            .iter()
            .any(|m| m.family == "prometheus_http_requests_total"
                && m.metric_type == pharos_scrape::MetricType::Counter)
    );
}
