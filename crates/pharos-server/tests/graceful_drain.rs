//! Graceful shutdown with open streams: the event stream (`/api/v1/events`) ends with an
//! `event: reconnect` carrying an SSE `retry:`, the WebSocket (`/ws`) with a 1012 "service
//! restart" close frame, and the server's accept loop then finishes instead of waiting for
//! endless responses until the pod is killed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::time::Duration;

use futures::StreamExt as _;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

#[tokio::test]
async fn open_streams_get_a_reconnect_hint_and_the_server_stops() {
    let app = common::TestApp::new(common::Backend::Sqlite, fleet_support::fast_settings())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let drain = app.state.drain.clone();
    let router = app.app.clone();
    let server = tokio::spawn(async move {
        let settings = pharos_server::config::HttpSettings::default();
        let stop = async move {
            let _ = stop_rx.await;
            drain.start();
        };
        pharos_server::serve::serve(listener, router, &settings, stop).await
    });
    let bearer = format!("Bearer {}", app.admin_token);

    // An event stream, read until its hello.
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/events"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("event: hello") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("the hello in time")
            .expect("more of the stream")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }

    // A WebSocket.
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", bearer.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();

    let _ = stop_tx.send(());

    // The stream says goodbye and ends.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        let mut rest = String::new();
        while let Some(chunk) = body.next().await {
            rest.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        rest
    })
    .await
    .expect("the event stream ends after the drain starts");
    assert!(rest.contains("event: reconnect"), "{rest}");
    let retry: u64 = rest
        .lines()
        .find_map(|line| line.strip_prefix("retry:"))
        .expect("an SSE retry field")
        .trim()
        .parse()
        .unwrap();
    assert!((500..=3_000).contains(&retry), "retry {retry} ms");
    assert!(rest.contains("reconnect_after_ms"), "{rest}");

    // The WebSocket is closed with "service restart".
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame in time")
    .expect("a close code");
    assert_eq!(u16::from(close.code), 1012);
    assert!(close.reason.contains("reconnect_after_ms"), "{close:?}");

    // Nothing keeps the server waiting any more.
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop: {stopped:?}"
    );
}
