//! The listener against raw TCP clients: each timer, the cap, and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::{
    Router,
    extract::Request,
    routing::{get, post},
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::serve;
use crate::config::HttpSettings;
use crate::extract::read_limited;

/// Longest any test waits for the server to do something.
const PATIENCE: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(settings: HttpSettings) -> Self {
        let router = Router::new()
            .route("/fast", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    "done"
                }),
            )
            .route(
                "/echo",
                post(|request: Request| async move {
                    read_limited(request, 1024)
                        .await
                        .map(|body| format!("{} bytes", body.len()))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, router, &settings, async {
                let _ = stopped.await;
            })
            .await
        });
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }
}

fn settings() -> HttpSettings {
    HttpSettings {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(1),
        max_connections: 100,
    }
}

/// Everything the server sends until it closes the connection, and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the server closes the connection");
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

/// Reads one response with a `content-length` (the tests' answers are short).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed before a full response");
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn a_request_head_that_dribbles_in_is_cut_off_after_the_header_timeout() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (received, took) = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "closed after {took:?}"
    );
}

#[tokio::test]
async fn a_keep_alive_connection_idles_for_the_idle_timeout_not_the_header_timeout() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // The header timeout (300 ms) has passed long before the idle timeout (1 s) closes it.
    let (_, took) = read_until_closed(&mut stream).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "closed after {took:?}"
    );
}

#[tokio::test]
async fn a_connection_that_never_sends_anything_is_closed_after_the_idle_timeout() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    let (received, took) = read_until_closed(&mut stream).await;
    assert!(received.is_empty());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "closed after {took:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_naming_the_limit() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let started = Instant::now();
    let (response, _) = read_until_closed(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("http.body_read_timeout"), "{response}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_any_of_it_arrives() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 52428800\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (response, _) = read_until_closed(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_arrives_in_time_is_read() {
    let server = Server::start(settings()).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("5 bytes"), "{response}");
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let server = Server::start(HttpSettings {
        idle_timeout: Duration::from_secs(30),
        max_connections: 2,
        ..settings()
    })
    .await;
    let mut oldest = server.connect().await;
    let _younger = server.connect().await;
    // Let the server register both before the third arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newcomer = server.connect().await;
    newcomer
        .write_all(b"GET /fast HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut newcomer).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, took) = read_until_closed(&mut oldest).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn when_every_connection_is_busy_a_newcomer_gets_503_naming_the_limit() {
    let server = Server::start(HttpSettings {
        max_connections: 1,
        ..settings()
    })
    .await;
    let mut busy = server.connect().await;
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newcomer = server.connect().await;
    let (refused, _) = read_until_closed(&mut newcomer).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(refused.contains("(http.max_connections"), "{refused}");
    let finished = read_response(&mut busy).await;
    assert!(finished.ends_with("done"), "{finished}");
}

#[tokio::test]
async fn shutdown_lets_the_request_in_progress_finish_and_closes_idle_connections() {
    let mut server = Server::start(settings()).await;
    let mut idle = server.connect().await;
    let mut busy = server.connect().await;
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop.take().unwrap().send(()).unwrap();
    let (_, took) = read_until_closed(&mut idle).await;
    assert!(took < Duration::from_millis(300), "{took:?}");
    let (finished, _) = read_until_closed(&mut busy).await;
    assert!(finished.starts_with("HTTP/1.1 200"), "{finished}");
    assert!(finished.ends_with("done"), "{finished}");
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[test]
fn accept_back_off_doubles_to_a_second_and_resets() {
    let mut backoff = super::AcceptBackoff::default();
    let pauses: Vec<_> = (0..9).map(|_| backoff.next_pause().as_millis()).collect();
    assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    backoff.reset();
    assert_eq!(backoff.next_pause(), Duration::from_millis(10));
}
