//! `GET /api/v1/events?topics=clusters`: the event bus as Server-Sent Events. The stream opens
//! with `event: hello` (`{"topics": [...]}`); every bus event follows as an unnamed message whose
//! data is the event (`{"type", "cluster", "at", "data"}`); a client that reads too slowly gets
//! `event: lagged` (`{"missed": n}`) instead of the events it lost. An idle stream carries a
//! `: heartbeat` comment every `fleet.event_heartbeat` (30 s).

use std::convert::Infallible;

use axum::{
    extract::{RawQuery, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use pharos_fleet::{Received, Topic};
use serde_json::json;

use super::CallerAccess;
use crate::{
    error::{ApiError, ApiResult},
    identity::Caller,
    state::AppState,
};

fn topics_of(raw: Option<&str>) -> ApiResult<Vec<Topic>> {
    let mut topics = Vec::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key != "topics" {
            return Err(ApiError::bad_request(format!(
                "unknown parameter \"{key}\": the events stream takes topics=clusters"
            )));
        }
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let topic = Topic::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown topic \"{name}\": known topics are {}",
                    Topic::ALL.map(Topic::as_str).join(", ")
                ))
            })?;
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
    }
    if topics.is_empty() {
        topics = Topic::ALL.to_vec();
    }
    Ok(topics)
}

pub(super) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let topics = topics_of(raw.as_deref())?;
    let subscription = state
        .fleet
        .subscribe(&CallerAccess(&caller), topics.clone())?;
    let hello = Event::default()
        .event("hello")
        .data(json!({"topics": topics}).to_string());
    let events = futures::stream::unfold(subscription, |mut subscription| async move {
        let event = match subscription.next().await {
            Received::Event(event) => {
                Event::default().data(serde_json::to_string(&*event).unwrap_or_default())
            }
            Received::Lagged(missed) => Event::default()
                .event("lagged")
                .data(json!({"missed": missed}).to_string()),
            Received::Closed => return None,
        };
        Some((Ok::<_, Infallible>(event), subscription))
    });
    let all = futures::StreamExt::chain(
        futures::stream::once(async move { Ok::<_, Infallible>(hello) }),
        events,
    );
    Ok(Sse::new(state.drain.event_stream(all))
        .keep_alive(
            KeepAlive::new()
                .interval(state.settings.fleet.event_heartbeat)
                .text("heartbeat"),
        )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_default_to_all_and_unknown_ones_are_refused() {
        assert_eq!(topics_of(None).ok(), Some(Topic::ALL.to_vec()));
        assert_eq!(
            topics_of(Some("topics=clusters,clusters")).ok(),
            Some(vec![Topic::Clusters])
        );
        let error = topics_of(Some("topics=gossip"))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("known topics are clusters, alerts"),
            "{error}"
        );
    }
}
