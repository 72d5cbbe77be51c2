//! `GET /ws`: the fleet's event bus over a WebSocket, for clients that subscribe and unsubscribe
//! on one connection. Authentication is the API's (bearer token or the session cookies; reading
//! needs the `Cluster` scope, checked before the upgrade so a refusal is an HTTP status). A browser
//! page of another origin is refused (403) unless listed in `security.cors.allowed_origins`: the
//! cookies would otherwise let any site read the events.
//!
//! Client → server (text frames, JSON): `{"action": "subscribe", "topics": ["clusters"],
//! "filters"?: {"cluster": ["prod-eu-1"], "<label or data field>": ["value", …]}}`,
//! `{"action": "unsubscribe", "topics": [...]}`, `{"action": "ping"}`.
//! Server → client: `{"type": "subscribed", "topics", "filters"}`, every matching event as on the
//! bus (`{"type": "CLUSTER_STATUS_CHANGED", "cluster", "at", "data"}`), `{"type": "heartbeat",
//! "at"}` every `fleet.event_heartbeat`, `{"type": "lagged", "missed"}` when events were dropped
//! for a slow reader, `{"type": "pong"}`, and `{"type": "error", "message"}` for a bad message
//! (the connection stays open). A client that stops reading is disconnected once a send has waited
//! [`SEND_TIMEOUT`]: the bus never queues more than its bounded capacity for anyone.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use axum::{
    extract::{
        State,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, header},
    response::Response,
};
use futures::{SinkExt as _, StreamExt as _};
use pharos_fleet::{FleetEvent, Received, Subscription, Topic};
use serde::Deserialize;
use serde_json::{Value, json};

use super::CallerAccess;
use crate::{
    error::{ApiError, ApiResult},
    identity::Caller,
    state::AppState,
};

/// How long one send may wait for a client that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Read and write buffer of one connection (larger messages still pass, in several reads).
const SOCKET_BUFFER: usize = 4 * 1024;
/// Filter keys and values per subscription.
const MAX_FILTER_KEYS: usize = 16;
const MAX_FILTER_VALUES: usize = 100;

pub(super) async fn socket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    check_origin(&headers, &state.settings.security.cors)?;
    // Checks the permission now; the connection starts with no topic.
    let subscription = state.fleet.subscribe(&CallerAccess(&caller), Vec::new())?;
    let heartbeat = state.settings.fleet.event_heartbeat;
    // Small buffers: a subscriber sends a few short messages and receives events of a few hundred
    // bytes; tungstenite's 128 KiB defaults cost ~130 KiB of RSS per connection (bench/fleet.sh).
    Ok(upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, caller, subscription, heartbeat)))
}

/// Refuses a browser page of another origin (the `Origin` header names it; other clients send none).
fn check_origin(headers: &HeaderMap, cors: &crate::config::CorsSettings) -> ApiResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let same = url::Url::parse(origin).is_ok_and(|url| {
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        url.host_str()
            .is_some_and(|h| format!("{h}{port}").eq_ignore_ascii_case(host))
    });
    if same || cors.allows(origin) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "WebSocket from origin {origin:?} refused: only this server's own pages and security.cors.allowed_origins may connect"
    )))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
enum ClientMessage {
    Subscribe {
        topics: Vec<String>,
        #[serde(default)]
        filters: BTreeMap<String, Vec<String>>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    Ping,
}

/// What one connection wants: its topics and, per key, the values an event must have.
#[derive(Debug, Default)]
struct Wanted {
    topics: BTreeSet<&'static str>,
    filters: BTreeMap<String, BTreeSet<String>>,
}

impl Wanted {
    fn topics(&self) -> Vec<Topic> {
        Topic::ALL
            .into_iter()
            .filter(|t| self.topics.contains(t.as_str()))
            .collect()
    }

    /// `cluster` is the event's cluster; any other key is a field of its data or a label in
    /// `data.labels` (alerts: `severity`, `namespace`, …).
    fn admits(&self, event: &FleetEvent) -> bool {
        self.filters.iter().all(|(key, values)| {
            let found = if key == "cluster" {
                Some(event.cluster.as_str())
            } else {
                event
                    .data
                    .get(key)
                    .or_else(|| event.data.pointer(&format!("/labels/{key}")))
                    .and_then(Value::as_str)
            };
            found.is_some_and(|v| values.contains(v))
        })
    }
}

fn topics_named(names: &[String]) -> Result<Vec<&'static str>, String> {
    names
        .iter()
        .map(|name| {
            Topic::parse(name).map(Topic::as_str).ok_or_else(|| {
                format!(
                    "unknown topic {name:?}: known topics are {}",
                    Topic::ALL.map(Topic::as_str).join(", ")
                )
            })
        })
        .collect()
}

/// Applies one client message; the answer to send back.
fn apply(wanted: &mut Wanted, text: &str) -> Value {
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(e) => {
            return json!({"type": "error", "message": format!(
                "expected {{\"action\": \"subscribe\"|\"unsubscribe\"|\"ping\", \"topics\": [...], \"filters\"?: {{...}}}}: {e}"
            )});
        }
    };
    match message {
        ClientMessage::Ping => json!({"type": "pong"}),
        ClientMessage::Subscribe { topics, filters } => {
            let topics = match topics_named(&topics) {
                Ok(topics) => topics,
                Err(message) => return json!({"type": "error", "message": message}),
            };
            if filters.len() > MAX_FILTER_KEYS
                || filters.values().any(|v| v.len() > MAX_FILTER_VALUES)
            {
                return json!({"type": "error", "message": format!(
                    "at most {MAX_FILTER_KEYS} filter keys with {MAX_FILTER_VALUES} values each"
                )});
            }
            wanted.topics.extend(topics);
            wanted.filters = filters
                .into_iter()
                .map(|(key, values)| (key, values.into_iter().collect()))
                .collect();
            json!({"type": "subscribed", "topics": wanted.topics, "filters": wanted.filters})
        }
        ClientMessage::Unsubscribe { topics } => match topics_named(&topics) {
            Ok(topics) => {
                for topic in topics {
                    wanted.topics.remove(topic);
                }
                json!({"type": "subscribed", "topics": wanted.topics, "filters": wanted.filters})
            }
            Err(message) => json!({"type": "error", "message": message}),
        },
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    caller: Caller,
    mut subscription: Subscription,
    heartbeat: Duration,
) {
    let (mut sender, mut receiver) = socket.split();
    let mut wanted = Wanted::default();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let draining = state.drain.started();
    tokio::pin!(draining);
    loop {
        let outgoing = tokio::select! {
            () = &mut draining => {
                // Shutdown: say so with "service restart" and when to come back, then end.
                let delay = crate::drain::reconnect_delay();
                let close = Message::Close(Some(axum::extract::ws::CloseFrame {
                    code: crate::drain::WS_SERVICE_RESTART,
                    reason: crate::drain::reconnect_notice(delay).to_string().into(),
                }));
                let _ = tokio::time::timeout(SEND_TIMEOUT, sender.send(close)).await;
                break;
            }
            incoming = receiver.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let before = wanted.topics();
                    let answer = apply(&mut wanted, text.as_str());
                    if wanted.topics() != before {
                        match state.fleet.subscribe(&CallerAccess(&caller), wanted.topics()) {
                            Ok(renewed) => subscription = renewed,
                            Err(_) => break,
                        }
                    }
                    answer
                }
                Some(Ok(Message::Binary(_))) => {
                    json!({"type": "error", "message": "send JSON text frames"})
                }
                // Pings are answered by the library; pongs need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            received = subscription.next() => match received {
                Received::Event(event) if wanted.admits(&event) => {
                    serde_json::to_value(&*event).unwrap_or(Value::Null)
                }
                Received::Event(_) => continue,
                Received::Lagged(missed) => json!({"type": "lagged", "missed": missed}),
                Received::Closed => break,
            },
            _ = ticker.tick() => json!({"type": "heartbeat", "at": chrono::Utc::now()}),
        };
        let send = sender.send(Message::Text(outgoing.to_string().into()));
        match tokio::time::timeout(SEND_TIMEOUT, send).await {
            Ok(Ok(())) => {}
            // A client that does not read (or went away) is let go.
            Ok(Err(_)) | Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cluster: &str, data: Value) -> FleetEvent {
        serde_json::from_value(json!({"type": "CLUSTER_STATUS_CHANGED", "cluster": cluster,
            "at": "2026-12-06T00:00:00Z", "data": data}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn messages_change_the_topics_and_filters_or_say_what_is_wrong() {
        let mut wanted = Wanted::default();
        let answer = apply(
            &mut wanted,
            r#"{"action": "subscribe", "topics": ["clusters"], "filters": {"cluster": ["a"]}}"#,
        );
        assert_eq!(answer["type"], "subscribed");
        assert_eq!(wanted.topics(), vec![Topic::Clusters]);
        assert!(wanted.admits(&event("a", json!({}))));
        assert!(!wanted.admits(&event("b", json!({}))));
        let answer = apply(
            &mut wanted,
            r#"{"action": "subscribe", "topics": ["gpus"]}"#,
        );
        assert_eq!(answer["type"], "error");
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or_default()
                .contains("known topics")
        );
        assert_eq!(apply(&mut wanted, r#"{"action": "ping"}"#)["type"], "pong");
        assert_eq!(apply(&mut wanted, "not json")["type"], "error");
        apply(
            &mut wanted,
            r#"{"action": "unsubscribe", "topics": ["clusters"]}"#,
        );
        assert!(wanted.topics().is_empty());
    }

    #[test]
    fn filters_read_data_fields_and_labels() {
        let mut wanted = Wanted::default();
        apply(
            &mut wanted,
            r#"{"action": "subscribe", "topics": ["clusters"], "filters": {"severity": ["critical"]}}"#,
        );
        assert!(wanted.admits(&event("a", json!({"labels": {"severity": "critical"}}))));
        assert!(wanted.admits(&event("a", json!({"severity": "critical"}))));
        assert!(!wanted.admits(&event("a", json!({"labels": {"severity": "warning"}}))));
    }

    #[test]
    fn only_same_origin_pages_and_listed_origins_connect() {
        let headers = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(
                header::HOST,
                "pharos.example:8080"
                    .parse()
                    .unwrap_or_else(|_| unreachable!()),
            );
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap_or_else(|_| unreachable!()));
            }
            h
        };
        let none = crate::config::CorsSettings::default();
        assert!(check_origin(&headers(None), &none).is_ok());
        assert!(check_origin(&headers(Some("http://pharos.example:8080")), &none).is_ok());
        assert!(check_origin(&headers(Some("https://evil.example")), &none).is_err());
        let allowed = crate::config::CorsSettings {
            allowed_origins: vec!["https://grafana.example".to_owned()],
        };
        assert!(check_origin(&headers(Some("https://grafana.example")), &allowed).is_ok());
    }
}
