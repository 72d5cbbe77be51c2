//! Envoy's default access log and Istio's (Envoy text format, Istio ≥ 1.9):
//! `[START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS ... BYTES_RECEIVED BYTES_SENT DURATION
//! UPSTREAM_SERVICE_TIME ...`. Istio puts response-code details, termination details and a
//! quoted transport failure reason between the flags and the byte counts, so the duration is
//! found as the third of the first three consecutive integers after the flags.

use super::clf::{Token, rfc3339_time, tokens};
use super::{Parsed, Reject, TimeUnit, latency_of, status_of};

pub(super) fn parse(line: &str) -> Result<Parsed, Reject> {
    let tokens = tokens(line).ok_or(Reject::UnknownFormat)?;
    let (time, code, after) = match tokens.as_slice() {
        [
            Token::Bracketed(time),
            Token::Quoted(_),
            Token::Word(code),
            Token::Word(_flags),
            after @ ..,
        ] if time.contains('T') => (*time, *code, after),
        _ => return Err(Reject::UnknownFormat),
    };
    let status = status_of(code).ok_or(Reject::UnknownFormat)?;
    let is_int = |t: &Token<'_>| {
        t.word()
            .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
    };
    let duration = after
        .windows(3)
        .find(|w| w.iter().all(is_int))
        .and_then(|w| w[2].word());
    // A `-` duration (unset) leaves no third integer: the line has no latency.
    let duration = duration.ok_or(Reject::NoLatency)?;
    let timestamp = rfc3339_time(time).ok_or(Reject::BadTimestamp)?;
    Ok(Parsed {
        timestamp_ms: Some(timestamp),
        latency_ms: latency_of(duration, TimeUnit::Milliseconds)?,
        status: Some(status),
    })
}
