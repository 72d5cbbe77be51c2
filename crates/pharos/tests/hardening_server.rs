//! The real binary against slow, idle, crowding and storming clients (issue 7, items 4 and 5):
//! every case is answered with a clear 4xx/503 or closed within its configured bound, the
//! refusals are counted in `/metrics`, health probes stay fast, and the process stays up.
//! Short limits come from a config file so each test runs in seconds. Requests to routes that
//! need a login carry the harness's bearer token, so they reach the limit under test; probes of
//! anonymous routes (`/health`, `/live`, `/metrics`) stay anonymous.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use support::{
    ADMIN_PASSWORD, OwnedSample, Pharos, clean_command, free_port, remote_write, write_body,
};

/// Longest a test waits for the server to do something it should do in about a second.
const PATIENCE: Duration = Duration::from_secs(10);

/// Writes `yaml` as the config file in `dir`.
fn config_file(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("pharos.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn start(dir: &Path, yaml: &str) -> Pharos {
    let config = config_file(dir, yaml);
    Pharos::start_with(
        dir,
        free_port(),
        &["--no-demo", "--config", config.to_str().unwrap()],
    )
    .await
}

/// Everything the server sends until it closes the connection, and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the server closes the connection in time");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

async fn metrics_text(pharos: &Pharos) -> String {
    reqwest::get(pharos.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of `pharos_refusals_total{reason="..."}`, 0 when absent.
fn refusals(metrics: &str, reason: &str) -> f64 {
    let prefix = format!("pharos_refusals_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

fn assert_alive(pharos: &mut Pharos) {
    assert!(
        pharos.child.try_wait().unwrap().is_none(),
        "pharos exited: {}",
        pharos.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_in_pieces_is_cut_off_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = start(
        dir.path(),
        "http: {header_read_timeout: 1s, idle_timeout: 30s}\n",
    )
    .await;
    let mut stream = TcpStream::connect(("127.0.0.1", pharos.port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let (received, took) = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "closed after {took:?} (header_read_timeout 1s)"
    );
    assert_eq!(
        refusals(&metrics_text(&pharos).await, "header_read_timeout"),
        1.0
    );
    assert_alive(&mut pharos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = start(
        dir.path(),
        "http: {header_read_timeout: 500ms, idle_timeout: 2s}\n",
    )
    .await;
    let mut stream = TcpStream::connect(("127.0.0.1", pharos.port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /live HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Kept open past the header timeout (the connection is idle, not sending a head), then
    // closed at the idle timeout.
    let (_, took) = read_until_closed(&mut stream).await;
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_millis(3500),
        "closed after {took:?} (idle_timeout 2s)"
    );
    assert_alive(&mut pharos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_and_oversized_bodies_are_answered_within_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = start(dir.path(), "http: {body_read_timeout: 1s}\n").await;
    // Every route below needs a login: the token gets the request past authentication to
    // the body it is about.
    let auth = pharos.auth_header();
    let send = |request: String| {
        let port = pharos.port;
        async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            read_until_closed(&mut stream).await
        }
    };

    // Half a JSON body, then nothing.
    let (answer, took) = send(format!(
        "POST /api/v1/projects HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"kind\":\"Project\","
    ))
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("1s (http.body_read_timeout)"), "{answer}");
    assert!(took < Duration::from_millis(2500), "{took:?}");

    // Half a remote-write body.
    let (answer, took) = send(format!(
        "POST /api/v1/write HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/x-protobuf\r\n\
         content-encoding: snappy\r\ncontent-length: 1000\r\n\r\nabc"
    ))
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_millis(2500), "{took:?}");

    // 50 MiB announced, nothing sent: refused at once, naming the limit.
    let json = "content-type: application/json";
    let protobuf = "content-type: application/x-protobuf\r\ncontent-encoding: snappy";
    for (path, headers) in [
        ("/api/v1/projects", json),
        ("/api/v1/write", protobuf),
        ("/proxy/globaldatasources/local/api/v1/query", json),
    ] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\n{auth}{headers}\r\ncontent-length: 52428800\r\n\r\n"
        );
        let mut stream = TcpStream::connect(("127.0.0.1", pharos.port))
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let (answer, took) = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("the limit is"), "{path}: {answer}");
        assert!(took < Duration::from_millis(500), "{path}: {took:?}");
    }

    let metrics = metrics_text(&pharos).await;
    assert_eq!(refusals(&metrics, "body_read_timeout"), 2.0, "{metrics}");
    // Remote-write names its own limit (the compressed body bound follows from it).
    assert_eq!(refusals(&metrics, "body_too_large"), 2.0, "{metrics}");
    assert_eq!(
        refusals(&metrics, "remote_write_body_too_large"),
        1.0,
        "{metrics}"
    );
    assert_alive(&mut pharos);
}

/// Opens `count` connections that never send anything; the server may close some of them.
async fn crowd(port: u16, count: usize) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    idle
}

/// `/health` answers 200 within `PATIENCE`.
async fn health_answers(pharos: &Pharos) -> Duration {
    let client = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let started = Instant::now();
    let response = client.get(pharos.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    started.elapsed()
}

/// Starts the binary as `prlimit --nofile=SOFT:HARD pharos ...`, like a service manager with
/// a low limit would (clean environment plus the harness's admin password; the harness logs
/// in).
async fn start_with_open_files_limit(dir: &Path, limit: u64) -> Pharos {
    let log = dir.join("pharos-prlimit.log");
    let addr_file = dir.join("pharos-prlimit.addr");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = clean_command("prlimit")
        .env("PHAROS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .arg(format!("--nofile={limit}:{limit}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_pharos"))
        .args(["--listen", "127.0.0.1:0"])
        .arg("--addr-file")
        .arg(&addr_file)
        .arg("--data-dir")
        .arg(dir)
        .args(["--log-level", "info", "--log-format", "json", "--no-demo"])
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    Pharos::adopt(child, log, &addr_file).await
}

/// The test itself holds 1,100 sockets: make sure its own limit allows that.
fn raise_own_open_files_limit() {
    let limit = pharos_server::serve::raise_open_files_limit().unwrap();
    assert!(
        limit.soft >= 2048,
        "this test needs 2,048 open files: {limit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_idle_connections_under_a_512_file_limit_leave_health_answering() {
    raise_own_open_files_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = start_with_open_files_limit(dir.path(), 512).await;
    assert!(
        pharos.log_text().contains(r#""max_connections":384"#),
        "the cap fits under the limit: {}",
        pharos.log_text()
    );
    let _idle = crowd(pharos.port, 1100).await;
    let took = health_answers(&pharos).await;
    assert!(took < Duration::from_secs(2), "/health took {took:?}");
    assert!(!pharos.log_text().contains("Too many open files"));
    assert_alive(&mut pharos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_descriptors_closes_idle_connections_instead_of_locking_everyone_out() {
    raise_own_open_files_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start_with(dir.path(), free_port(), &["--no-demo"]).await;
    // Lowered behind the server's back (the cap was computed for a larger limit), so it meets
    // EMFILE on accept.
    let status = Command::new("prlimit")
        .args(["--pid", &pharos.child.id().to_string(), "--nofile=512:512"])
        .status()
        .unwrap();
    assert!(status.success());
    let _idle = crowd(pharos.port, 1100).await;
    let took = health_answers(&pharos).await;
    assert!(took < Duration::from_secs(5), "/health took {took:?}");
    assert!(pharos.log_text().contains("cannot accept connections"));
    assert_alive(&mut pharos);
}

/// `series` series of `gauge_storm`, one sample every 10 s over the 50 minutes before
/// `end_ms` (the store refuses samples more than an hour behind its newest, which the
/// self-scrape keeps at "now").
async fn populate(pharos: &Pharos, series: usize, end_ms: i64) {
    let client = pharos.client();
    for s in 0..series {
        let samples: Vec<OwnedSample> = (0..300)
            .map(|i| {
                (
                    vec![
                        ("__name__", "gauge_storm".to_owned()),
                        ("instance", format!("i{s}")),
                    ],
                    end_ms - 3_000_000 + i * 10_000,
                    i as f64,
                )
            })
            .collect();
        let status =
            remote_write(&client, &pharos.url("/api/v1/write"), write_body(&samples)).await;
        assert_eq!(status, Some(204));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_storm_is_refused_with_retry_after_while_health_stays_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = start(
        dir.path(),
        "query: {max_concurrent: 2, queue_timeout: 2s, max_subquery_steps: 10000000}\n",
    )
    .await;
    let end_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    populate(&pharos, 50, end_ms).await;

    let client = pharos
        .client_builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // Heavy enough (a 1 s subquery at every 1 s step: 6.5 million inner steps over 50 series,
    // hundreds of milliseconds each) that 200 of them cannot all pass two slots within the 2 s
    // queue timeout on any machine; a plain range query was fast enough on an idle machine to
    // let every one through.
    let query_url = format!(
        "{}?query=count_over_time(gauge_storm[30m:1s])&start={}&end={}&step=1",
        pharos.url("/api/v1/query_range"),
        (end_ms - 3_600_000) / 1000,
        end_ms / 1000
    );
    let storm: Vec<_> = (0..200)
        .map(|_| {
            let (client, url) = (client.clone(), query_url.clone());
            tokio::spawn(async move {
                let response = client.get(url).send().await.unwrap();
                let retry_after = response.headers().get("retry-after").cloned();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                (status, retry_after, body)
            })
        })
        .collect();

    // Probe health while the storm runs.
    let probe = reqwest::Client::new();
    let mut health = Vec::new();
    while !storm.iter().all(tokio::task::JoinHandle::is_finished) && health.len() < 400 {
        let started = Instant::now();
        let response = probe.get(pharos.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        health.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (mut ok, mut refused) = (0, 0);
    for outcome in storm {
        let (status, retry_after, body) = outcome.await.unwrap();
        match status {
            200 => ok += 1,
            503 => {
                refused += 1;
                assert_eq!(retry_after.unwrap(), "2", "{body}");
                assert!(body.contains("\"errorType\":\"unavailable\""), "{body}");
                assert!(body.contains("query.max_concurrent"), "{body}");
            }
            other => panic!("status {other}: {body}"),
        }
    }
    assert!(ok >= 2 && refused >= 1, "{ok} answered, {refused} refused");

    health.sort();
    eprintln!(
        "storm: {ok} answered, {refused} refused; /health over {} probes: p50 {:?}, p99 {:?}, max {:?}",
        health.len(),
        health[health.len() / 2],
        health[health.len() * 99 / 100],
        health[health.len() - 1]
    );
    assert!(health.len() >= 20, "{} probes", health.len());
    let p99 = health[health.len() * 99 / 100];
    assert!(
        p99 < Duration::from_millis(300),
        "/health p99 {p99:?} over {} probes during the storm",
        health.len()
    );
    let metrics = metrics_text(&pharos).await;
    assert_eq!(
        refusals(&metrics, "query_queue_timeout"),
        f64::from(refused),
        "{metrics}"
    );
    assert_alive(&mut pharos);
}
