//! Failure drills of the scaled topology (issue 16): two `pharos serve` replicas on one
//! PostgreSQL and one Redis, all real processes on loopback, started together on an empty
//! database (the migrations' advisory lock lets both start). Each drill breaks one thing and
//! prints its figures (`cargo test -p pharos --test failure_drills -- --nocapture`):
//!
//! * kill -9 of one replica in the middle of writes: every acknowledged write is there, and the
//!   other replica answers every request meanwhile;
//! * PostgreSQL restarted: requests fail fast with 503 and `Retry-After` (no 500, nothing
//!   hanging), `/ready` says so, and both replicas recover without a restart;
//! * Redis stopped: logins, reads and writes go on with the in-process fallbacks, and
//!   `/metrics` counts the Redis errors;
//! * 500 ms added to every PostgreSQL round trip for a minute (`PHAROS_DRILL_LATENCY_SECS`):
//!   the p50/p99 of dashboard reads, with no errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod drills;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use drills::{Latencies, LatencyProxy, Postgres, Redis, adopt_replica, spawn_replica};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::Pharos;

/// Two replicas and what they share.
struct Drill {
    dir: tempfile::TempDir,
    postgres: Postgres,
    redis: Redis,
    proxy: LatencyProxy,
    replicas: Vec<Pharos>,
}

impl Drill {
    /// `None` (and a note) when the machine lacks PostgreSQL or Redis and may.
    async fn start() -> Option<Self> {
        if let Some(why) = drills::missing_programs() {
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let postgres = Postgres::start(dir.path());
        let redis = Redis::start();
        let proxy = LatencyProxy::start(postgres.address()).await;
        let database_url = format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port);
        // Both at once on an empty database: the second must wait for the first's migrations.
        let started = Instant::now();
        let children: Vec<_> = ["replica-a", "replica-b"]
            .iter()
            .map(|name| spawn_replica(dir.path(), name, &database_url, &redis.url()))
            .collect();
        let mut replicas = Vec::new();
        for (name, child) in ["replica-a", "replica-b"].iter().zip(children) {
            replicas.push(adopt_replica(dir.path(), name, child).await);
        }
        eprintln!(
            "drill: two replicas started together on an empty database, both ready in {:?}",
            started.elapsed()
        );
        let drill = Self {
            dir,
            postgres,
            redis,
            proxy,
            replicas,
        };
        let (status, body) = drill
            .post(
                0,
                "/api/v1/projects",
                &json!({"kind": "Project", "metadata": {"name": "drill"}, "spec": {}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Some(drill)
    }

    async fn post(&self, replica: usize, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.replicas[replica]
            .client()
            .post(self.replicas[replica].url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The dashboard `kept` that the read drills fetch, through the first replica.
    async fn create_kept_dashboard(&self) {
        let (status, body) = self
            .post(
                0,
                "/api/v1/projects/drill/dashboards",
                &dashboard("kept", "Kept"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Base URL and bearer header of each replica, for tasks that outlive a borrow.
    fn endpoints(&self) -> Vec<(String, String)> {
        self.replicas
            .iter()
            .map(|r| (r.base_url(), format!("Bearer {}", r.token())))
            .collect()
    }
}

fn dashboard(name: &str, title: &str) -> Value {
    json!({"kind": "Dashboard",
           "metadata": {"name": name, "project": "drill"},
           "spec": {"display": {"name": title}, "duration": "1h", "panels": {}, "layouts": []}})
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_replica_loses_no_acknowledged_write_and_the_other_keeps_serving() {
    let Some(mut drill) = Drill::start().await else {
        return;
    };
    let endpoints = drill.endpoints();
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    // One writer per replica, each creating dashboards as fast as they are acknowledged.
    let writers: Vec<_> = endpoints
        .iter()
        .cloned()
        .enumerate()
        .map(|(replica, (base, auth))| {
            let (stop, killed) = (Arc::clone(&stop), Arc::clone(&killed));
            tokio::spawn(async move {
                let client = client();
                let mut outcomes = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("r{replica}-{n}");
                    let after_kill = killed.load(Ordering::Relaxed);
                    let sent = client
                        .post(format!("{base}/api/v1/projects/drill/dashboards"))
                        .header("authorization", &auth)
                        .json(&dashboard(&name, &format!("title {name}")))
                        .send()
                        .await;
                    let status = sent.as_ref().ok().map(reqwest::Response::status);
                    outcomes.push((name, status, after_kill));
                    n += 1;
                    if status.is_none() {
                        // The replica is gone; no need to hammer a closed port.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                outcomes
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    drill.replicas[0].kill();
    killed.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.push(writer.await.unwrap());
    }

    let acknowledged: Vec<&String> = outcomes
        .iter()
        .flatten()
        .filter(|(_, status, _)| *status == Some(StatusCode::OK))
        .map(|(name, _, _)| name)
        .collect();
    let survivor_after_kill: Vec<_> = outcomes[1].iter().filter(|(_, _, after)| *after).collect();
    let survivor_failures: Vec<_> = survivor_after_kill
        .iter()
        .filter(|(_, status, _)| *status != Some(StatusCode::OK))
        .collect();
    // Every acknowledged dashboard, read back from the survivor.
    let (base, auth) = &endpoints[1];
    let reader = client();
    let mut lost = Vec::new();
    for name in &acknowledged {
        let response = reader
            .get(format!("{base}/api/v1/projects/drill/dashboards/{name}"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        let ok = response.status() == StatusCode::OK;
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !ok || body["spec"]["display"]["name"] != format!("title {name}") {
            lost.push((*name).clone());
        }
    }
    eprintln!(
        "drill kill -9: {} writes acknowledged ({} by the killed replica before it died), {} lost; \
         the survivor answered {} of {} requests after the kill",
        acknowledged.len(),
        outcomes[0]
            .iter()
            .filter(|(_, s, _)| *s == Some(StatusCode::OK))
            .count(),
        lost.len(),
        survivor_after_kill.len() - survivor_failures.len(),
        survivor_after_kill.len()
    );
    assert!(
        outcomes[0]
            .iter()
            .any(|(_, s, _)| *s == Some(StatusCode::OK)),
        "the killed replica acknowledged nothing before the kill: the drill tested nothing"
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged but lost, e.g. {:?}",
        lost.len(),
        lost.iter().take(10).collect::<Vec<_>>()
    );
    assert!(
        !survivor_after_kill.is_empty() && survivor_failures.is_empty(),
        "the survivor failed {} requests after the kill, e.g. {:?}",
        survivor_failures.len(),
        survivor_failures.iter().take(10).collect::<Vec<_>>()
    );
}

/// GETs one dashboard from each replica in turn for `span`; statuses with latencies.
async fn read_for(
    endpoints: &[(String, String)],
    span: Duration,
) -> Vec<(Option<StatusCode>, Option<String>, Duration)> {
    let client = client();
    let until = Instant::now() + span;
    let mut seen = Vec::new();
    let mut turn = 0;
    while Instant::now() < until {
        let (base, auth) = &endpoints[turn % endpoints.len()];
        turn += 1;
        let started = Instant::now();
        let response = client
            .get(format!("{base}/api/v1/projects/drill/dashboards/kept"))
            .header("authorization", auth)
            .send()
            .await;
        let took = started.elapsed();
        let retry_after = response.as_ref().ok().and_then(|r| {
            r.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        seen.push((response.ok().map(|r| r.status()), retry_after, took));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_gives_fast_503s_and_both_replicas_recover_by_themselves() {
    let Some(drill) = Drill::start().await else {
        return;
    };
    drill.create_kept_dashboard().await;
    let endpoints = drill.endpoints();

    drill.postgres.stop_server();
    let down = read_for(&endpoints, Duration::from_secs(8)).await;
    let ready = client()
        .get(format!("{}/ready", endpoints[1].0))
        .send()
        .await
        .unwrap()
        .status();
    let restarted = Instant::now();
    drill.postgres.start_server();
    // Back by themselves: poll both replicas until each answers 200.
    let mut recovered = [None, None];
    let deadline = Instant::now() + Duration::from_secs(30);
    while recovered.iter().any(Option::is_none) && Instant::now() < deadline {
        for (i, (base, auth)) in endpoints.iter().enumerate() {
            if recovered[i].is_none() {
                let status = client()
                    .get(format!("{base}/api/v1/projects/drill/dashboards/kept"))
                    .header("authorization", auth)
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status());
                if status == Some(StatusCode::OK) {
                    recovered[i] = Some(restarted.elapsed());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut latencies = Latencies::default();
    for (_, _, took) in &down {
        latencies.record(*took);
    }
    let unavailable = down
        .iter()
        .filter(|(s, _, _)| *s == Some(StatusCode::SERVICE_UNAVAILABLE))
        .count();
    eprintln!(
        "drill PostgreSQL restart: {} requests while it was down: {unavailable} answered 503, \
         others {:?}; slowest answer {:.0} ms, p50 {:.0} ms; /ready {ready}; recovered {:?} after \
         the restart",
        down.len(),
        down.iter()
            .filter(|(s, _, _)| *s != Some(StatusCode::SERVICE_UNAVAILABLE))
            .map(|(s, _, _)| *s)
            .collect::<std::collections::BTreeSet<_>>(),
        latencies.max(),
        latencies.quantile(0.5),
        recovered
    );
    // Requests whose connection was already checked out may still finish; nothing else but
    // a 503 with Retry-After, and never a 500 or a hang.
    let sample: Vec<_> = down.iter().take(10).collect();
    assert!(
        unavailable > 0,
        "no request saw the outage; first answers: {sample:?}"
    );
    for (status, retry_after, took) in &down {
        assert!(
            matches!(
                *status,
                Some(StatusCode::SERVICE_UNAVAILABLE | StatusCode::OK)
            ),
            "{status:?} while PostgreSQL was down"
        );
        if *status == Some(StatusCode::SERVICE_UNAVAILABLE) {
            assert!(retry_after.is_some(), "a 503 without Retry-After");
        }
        assert!(
            *took < Duration::from_secs(5),
            "a request took {took:?} while PostgreSQL was down: it should fail fast"
        );
    }
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE, "/ready while down");
    assert!(
        recovered.iter().all(Option::is_some),
        "not recovered within 30 s of the restart: {recovered:?}"
    );
}

/// A counter's value in `/metrics` text (0 when absent).
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_both_replicas_keep_serving_on_their_own_and_say_so() {
    let Some(mut drill) = Drill::start().await else {
        return;
    };
    drill.redis.stop_server();
    let endpoints = drill.endpoints();
    let client = client();
    let mut latencies = Latencies::default();
    let mut failures = Vec::new();
    for round in 0..10 {
        for (i, (base, auth)) in endpoints.iter().enumerate() {
            let started = Instant::now();
            // A login (its guard counts attempts in Redis), a write and a read.
            let login = client
                .post(format!("{base}/api/auth/providers/native/login"))
                .json(&json!({"login": support::ADMIN_LOGIN, "password": support::ADMIN_PASSWORD}))
                .send()
                .await
                .unwrap()
                .status();
            let name = format!("no-redis-{i}-{round}");
            let write = client
                .post(format!("{base}/api/v1/projects/drill/dashboards"))
                .header("authorization", auth)
                .json(&dashboard(&name, "Without Redis"))
                .send()
                .await
                .unwrap()
                .status();
            let read = client
                .get(format!("{base}/api/v1/projects/drill/dashboards/{name}"))
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .status();
            latencies.record(started.elapsed());
            for (what, status) in [("login", login), ("write", write), ("read", read)] {
                if status != StatusCode::OK {
                    failures.push((i, what, status));
                }
            }
        }
    }
    let mut redis_errors = Vec::new();
    for (base, _) in &endpoints {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        redis_errors.push(counter(&text, "pharos_rate_limit_redis_errors_total"));
    }
    eprintln!(
        "drill Redis stopped: 20 rounds of login + write + read, {} failed; per round p50 {:.0} ms, \
         max {:.0} ms; pharos_rate_limit_redis_errors_total per replica {redis_errors:?}",
        failures.len(),
        latencies.quantile(0.5),
        latencies.max()
    );
    assert!(failures.is_empty(), "failed without Redis: {failures:?}");
    assert!(
        redis_errors.iter().all(|n| *n > 0.0),
        "a replica does not report losing Redis: {redis_errors:?}"
    );

    // Redis back: the replicas use it again (no restart needed) and keep answering.
    drill.redis.start_server();
    let (base, auth) = &endpoints[0];
    let status = client
        .get(format!("{base}/api/v1/projects/drill/dashboards"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_500_ms_on_every_postgres_round_trip_dashboard_reads_stay_correct() {
    let Some(drill) = Drill::start().await else {
        return;
    };
    drill.create_kept_dashboard().await;
    let span = Duration::from_secs(
        std::env::var("PHAROS_DRILL_LATENCY_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let endpoints = Arc::new(drill.endpoints());
    drill.proxy.set_latency(Duration::from_millis(500));
    // Four users reading dashboards at once, spread over both replicas.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let endpoints = Arc::clone(&endpoints);
            tokio::spawn(async move { read_for(&endpoints, span).await })
        })
        .collect();
    let mut seen = Vec::new();
    for reader in readers {
        seen.extend(reader.await.unwrap());
    }
    drill.proxy.set_latency(Duration::ZERO);

    let mut latencies = Latencies::default();
    for (_, _, took) in &seen {
        latencies.record(*took);
    }
    let errors: Vec<_> = seen
        .iter()
        .filter(|(s, _, _)| *s != Some(StatusCode::OK))
        .map(|(s, _, _)| *s)
        .collect();
    eprintln!(
        "drill PostgreSQL +500 ms for {span:?}: {} dashboard GETs by 4 readers, {} errors; \
         p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        seen.len(),
        errors.len(),
        latencies.quantile(0.5),
        latencies.quantile(0.9),
        latencies.quantile(0.99),
        latencies.max()
    );
    assert!(
        seen.len() >= 8,
        "too few requests to say anything: {}",
        seen.len()
    );
    assert!(
        errors.is_empty(),
        "{} errors under latency, e.g. {:?}",
        errors.len(),
        errors.iter().take(10).collect::<Vec<_>>()
    );
    // Each request needs a few round trips, each 500 ms slower; far beyond that means requests
    // queue behind each other.
    assert!(
        latencies.quantile(0.99) >= 500.0,
        "the latency was not injected: p99 {:.0} ms",
        latencies.quantile(0.99)
    );
    let _ = &drill.dir;
}
