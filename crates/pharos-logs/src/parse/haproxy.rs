//! HAProxy `option httplog`: `... client:port [accept date] frontend backend/server
//! TR/Tw/Tc/Tr/Ta status bytes ...`, usually behind a syslog prefix. `Ta` (total active time,
//! ms; `+` prefixed with `option logasap`, `-1` when the request did not complete) is the latency.

use super::clf::{Token, haproxy_time, tokens};
use super::{Parsed, Reject, TimeUnit, latency_of, status_of};

pub(super) fn parse(line: &str) -> Result<Parsed, Reject> {
    let tokens = tokens(line).ok_or(Reject::UnknownFormat)?;
    // The timers are the one token of five `/`-separated integers; the accept date is the
    // bracketed token before it, the status the word after it.
    let timers_at = tokens
        .iter()
        .position(|t| t.word().is_some_and(is_timers))
        .ok_or(Reject::UnknownFormat)?;
    let date = tokens[..timers_at].iter().rev().find_map(|t| match t {
        Token::Bracketed(d) => Some(*d),
        _ => None,
    });
    let (Some(date), Some(timers)) = (date, tokens[timers_at].word()) else {
        return Err(Reject::UnknownFormat);
    };
    let status = tokens
        .get(timers_at + 1)
        .and_then(|t| t.word())
        .and_then(status_of);
    let ta = timers.rsplit('/').next().unwrap_or_default();
    let ta = ta.strip_prefix('+').unwrap_or(ta);
    if ta.starts_with('-') {
        return Err(Reject::NoLatency);
    }
    let timestamp = haproxy_time(date).ok_or(Reject::BadTimestamp)?;
    Ok(Parsed {
        timestamp_ms: Some(timestamp),
        latency_ms: latency_of(ta, TimeUnit::Milliseconds)?,
        status,
    })
}

fn is_timers(word: &str) -> bool {
    let parts: Vec<&str> = word.split('/').collect();
    parts.len() == 5
        && parts.iter().all(|p| {
            let p = p.strip_prefix('+').unwrap_or(p);
            let p = p.strip_prefix('-').unwrap_or(p);
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        })
}
