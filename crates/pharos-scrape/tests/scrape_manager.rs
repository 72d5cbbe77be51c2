//! The scrape manager against real HTTP targets (an axum server in the test): `up` and the
//! other report series, sample counts, staleness markers when a series disappears and when the
//! target goes away, failures (HTTP error, bad OpenMetrics, timeout) in the target health.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use pharos_scrape::{Health, ScrapeConfig, ScrapeManager};
use pharos_tsdb::{Db, Matcher, Options, Sample, is_stale_nan};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Scrape interval of the test jobs; the timeout equals it. A whole second, so that a loaded
/// machine answering a loopback scrape late still answers within the timeout.
const INTERVAL: Duration = Duration::from_secs(1);

/// No pooled connections: a stopped test server must look stopped to the next scrape.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn serve(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).into_future().await.unwrap();
    });
    (address, server)
}

fn samples(db: &Db, name: &str) -> Vec<(pharos_tsdb::Labels, Vec<Sample>)> {
    db.querier(0, i64::MAX)
        .select(&[Matcher::equal("__name__", name)])
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Running {
    manager: ScrapeManager,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

fn start(db: &Arc<Db>, configs: Vec<ScrapeConfig>) -> Running {
    let manager = ScrapeManager::new(Arc::clone(db), configs, client()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(manager.clone().run(async move {
        let _ = stopped.await;
    }));
    Running {
        manager,
        stop,
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_report_up_and_mark_vanished_series_stale() {
    let body = Arc::new(Mutex::new(String::from(
        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\n# TYPE b counter\nb_total{job=\"exporter\"} 7\n",
    )));
    let app =
        Router::new()
            .route(
                "/metrics",
                get(|State(body): State<Arc<Mutex<String>>>| async move {
                    body.lock().unwrap().clone()
                }),
            )
            .with_state(Arc::clone(&body));
    let (address, server) = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let job = ScrapeConfig::new("app", [address.clone()]).with_interval(INTERVAL);
    let running = start(&db, vec![job]);

    wait_until("three successful scrapes", || {
        samples(&db, "up")
            .first()
            .is_some_and(|(_, s)| s.len() >= 3)
    })
    .await;
    let health = &running.manager.targets()[0];
    assert_eq!(health.health, Health::Up);
    assert_eq!(health.scrape_url, format!("http://{address}/metrics"));
    assert_eq!(health.last_samples_scraped, 3);
    assert_eq!(health.last_error, None);
    assert!(health.last_scrape_ms.is_some());

    // Series carry the target labels; a clashing scraped `job` is kept as exported_job.
    let counter = samples(&db, "b_total");
    assert_eq!(counter.len(), 1);
    assert_eq!(counter[0].0.get("job"), Some("app"));
    assert_eq!(counter[0].0.get("exported_job"), Some("exporter"));
    assert_eq!(counter[0].0.get("instance"), Some(address.as_str()));

    // The series `a{x="2"}` disappears: it gets one stale marker, a{x="1"} goes on.
    *body.lock().unwrap() = "a{x=\"1\"} 1\n".into();
    wait_until("a{x=\"2\"} is marked stale", || {
        samples(&db, "a").iter().any(|(labels, s)| {
            labels.get("x") == Some("2") && s.last().is_some_and(|last| is_stale_nan(last.v))
        })
    })
    .await;
    wait_until("a scrape with one sample", || {
        samples(&db, "scrape_samples_scraped")[0]
            .1
            .last()
            .is_some_and(|s| s.v == 1.0)
    })
    .await;

    // The target goes away: up turns 0, every series it exposed is marked stale.
    server.abort();
    let _ = server.await;
    wait_until("the target is reported down", || {
        running.manager.targets()[0].health == Health::Down
    })
    .await;
    wait_until("up is 0", || {
        samples(&db, "up")[0].1.last().is_some_and(|s| s.v == 0.0)
    })
    .await;
    let health = &running.manager.targets()[0];
    let error = health.last_error.clone().unwrap();
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert_eq!(health.last_samples_scraped, 0);
    for name in ["a", "b_total"] {
        for (labels, series) in samples(&db, name) {
            let stale = series.iter().filter(|s| is_stale_nan(s.v)).count();
            assert_eq!(stale, 1, "{labels} gets exactly one stale marker");
            assert!(
                is_stale_nan(series.last().unwrap().v),
                "{labels} ends stale"
            );
        }
    }

    running.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running.task)
        .await
        .expect("run returns after shutdown")
        .unwrap();

    // Report series: one sample per scrape, timestamps on the target's schedule.
    let up = samples(&db, "up");
    let (labels, up) = &up[0];
    assert_eq!(labels.get("job"), Some("app"));
    let durations = samples(&db, "scrape_duration_seconds");
    assert_eq!(durations[0].1.len(), up.len());
    assert!(durations[0].1.iter().all(|s| s.v >= 0.0 && s.v < 5.0));
    // Scrapes that start within the tolerance get the scheduled time, so consecutive samples
    // are exactly one interval apart; a start a loaded machine delayed beyond it keeps its own
    // time, so only some pairs are required to be exact (timestamps of unsnapped starts
    // would practically never differ by exactly 1000 ms).
    let interval_ms = i64::try_from(INTERVAL.as_millis()).unwrap();
    let exact = up
        .windows(2)
        .filter(|w| w[1].t - w[0].t == interval_ms)
        .count();
    assert!(
        exact >= 1,
        "timestamps should sit on the schedule: {:?}",
        up.iter().map(|s| s.t).collect::<Vec<_>>()
    );
    assert!(up.windows(2).all(|w| w[0].t < w[1].t));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_show_in_health_and_openmetrics_is_negotiated() {
    let app = Router::new()
        .route(
            "/om",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    "# TYPE jobs counter\njobs_total 5 # {trace_id=\"x\"} 1\n# EOF\n",
                )
            }),
        )
        .route(
            "/truncated",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0",
                    )],
                    "jobs_total 5\n",
                )
            }),
        )
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late 1\n"
            }),
        );
    let (address, _server) = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let job = |name: &str, path: &str| {
        // Timeout = interval = 1 s: far beyond a loopback answer, far below `/slow`'s 60 s.
        let mut config = ScrapeConfig::new(name, [address.clone()]).with_interval(INTERVAL);
        config.metrics_path = path.into();
        config
    };
    let running = start(
        &db,
        vec![
            job("om", "/om"),
            job("truncated", "/truncated"),
            job("error", "/error"),
            job("slow", "/slow"),
        ],
    );
    wait_until("every target scraped", || {
        running
            .manager
            .targets()
            .iter()
            .all(|t| t.health != Health::Unknown)
    })
    .await;
    let targets = running.manager.targets();
    let by_job = |job: &str| targets.iter().find(|t| t.job == job).unwrap();
    assert_eq!(by_job("om").health, Health::Up);
    assert_eq!(by_job("om").last_samples_scraped, 1);
    let expectations = [
        ("truncated", "missing # EOF"),
        ("error", "HTTP status 500"),
        ("slow", "timed out"),
    ];
    for (job, message) in expectations {
        let target = by_job(job);
        assert_eq!(target.health, Health::Down, "{job}");
        let error = target.last_error.clone().unwrap_or_default();
        assert!(error.contains(message), "{job}: {error}");
    }
    let metadata = running.manager.metadata();
    assert!(metadata.iter().any(|m| m.family == "jobs"));

    running.stop.send(()).unwrap();
    running.task.await.unwrap();
    let jobs = samples(&db, "jobs_total");
    assert_eq!(
        jobs.len(),
        1,
        "only the valid OpenMetrics target stored jobs_total"
    );
    assert_eq!(jobs[0].0.get("job"), Some("om"));
    assert!(jobs[0].1.iter().all(|s| s.v == 5.0));
    let ups = samples(&db, "up");
    assert_eq!(ups.len(), 4, "every target has an up series");
    for (labels, series) in ups {
        let expected = if labels.get("job") == Some("om") {
            1.0
        } else {
            0.0
        };
        assert!(series.iter().all(|s| s.v == expected), "{labels}");
    }
}

#[test]
fn invalid_configs_are_rejected_before_scraping() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let duplicate = vec![
        ScrapeConfig::new("a", ["x:1"]),
        ScrapeConfig::new("a", ["y:1"]),
    ];
    let error = ScrapeManager::new(Arc::clone(&db), duplicate, client()).unwrap_err();
    assert!(error.to_string().contains("more than one scrape config"));
    let mut slow = ScrapeConfig::new("b", ["x:1"]);
    slow.scrape_timeout = Duration::from_secs(120);
    assert!(ScrapeManager::new(db, vec![slow], client()).is_err());
}
