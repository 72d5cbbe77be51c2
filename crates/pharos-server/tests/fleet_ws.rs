//! `GET /ws`: the fleet's events over a WebSocket on a real socket — subscribe with a filter,
//! receive the registry's events as they happen, bad messages answered without closing, and the
//! handshake refused without a login, without the `Cluster` scope and from another site's page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fleet_support;

use std::time::Duration;

use axum::http::StatusCode;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves the app with the binary's own accept loop (connection limits, timeouts and HTTP
/// upgrades as in production), not `axum::serve`.
async fn serve(app: &common::TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.app.clone();
    let settings = pharos_server::config::HttpSettings::default();
    tokio::spawn(async move {
        pharos_server::serve::serve(listener, router, &settings, std::future::pending()).await
    });
    format!("ws://{addr}/ws")
}

async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Socket, StatusCode> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("{other}"),
    }
}

/// The next JSON message, skipping heartbeats; `None` after `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] != "heartbeat" {
                return Some(value);
            }
        }
    }
}

/// The next answer to a client message (events that arrive meanwhile are skipped).
async fn reply(socket: &mut Socket) -> Value {
    loop {
        let value = next(socket, Duration::from_secs(5))
            .await
            .expect("an answer");
        if !value["type"].as_str().unwrap().starts_with("CLUSTER_") {
            return value;
        }
    }
}

async fn send(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn subscribers_get_the_events_they_asked_for_and_strangers_are_refused() {
    let app = common::TestApp::new(common::Backend::Sqlite, fleet_support::fast_settings())
        .await
        .unwrap();
    let url = serve(&app).await;
    let bearer = format!("Bearer {}", app.admin_token);
    let mut socket = connect(&url, &[("authorization", &bearer)]).await.unwrap();

    send(
        &mut socket,
        json!({"action": "subscribe", "topics": ["clusters"], "filters": {"cluster": ["edge-7"]}}),
    )
    .await;
    let subscribed = next(&mut socket, Duration::from_secs(5)).await.unwrap();
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["topics"], json!(["clusters"]));

    // A cluster the filter leaves out, then the one it names.
    let closed = fleet_support::closed_port().await;
    fleet_support::register(&app, fleet_support::cluster("hub-1", "hub", &closed)).await;
    fleet_support::register(&app, fleet_support::cluster("edge-7", "edge", &closed)).await;
    let event = next(&mut socket, Duration::from_secs(5)).await.unwrap();
    assert_eq!(event["type"], "CLUSTER_REGISTERED", "{event}");
    assert_eq!(
        event["cluster"], "edge-7",
        "the filter keeps hub-1 out: {event}"
    );

    // A bad message is answered, and the connection goes on.
    send(
        &mut socket,
        json!({"action": "subscribe", "topics": ["gpus"]}),
    )
    .await;
    let error = reply(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert!(
        error["message"].as_str().unwrap().contains("known topics"),
        "{error}"
    );
    socket.send(Message::Text("{oops".into())).await.unwrap();
    assert_eq!(reply(&mut socket).await["type"], "error");
    send(&mut socket, json!({"action": "ping"})).await;
    assert_eq!(reply(&mut socket).await["type"], "pong");

    // After unsubscribing nothing more comes.
    send(
        &mut socket,
        json!({"action": "unsubscribe", "topics": ["clusters"]}),
    )
    .await;
    assert_eq!(reply(&mut socket).await["topics"], json!([]));
    let deleted = app.delete("/api/v1/clusters/edge-7").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(next(&mut socket, Duration::from_millis(500)).await, None);

    // No login, no Cluster scope, another site's page: refused before the upgrade.
    assert_eq!(
        connect(&url, &[]).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let stranger = format!("Bearer {}", app.user("mallory").await);
    assert_eq!(
        connect(&url, &[("authorization", &stranger)]).await.err(),
        Some(StatusCode::FORBIDDEN)
    );
    assert_eq!(
        connect(
            &url,
            &[
                ("authorization", &bearer),
                ("origin", "https://evil.example")
            ]
        )
        .await
        .err(),
        Some(StatusCode::FORBIDDEN)
    );
}
