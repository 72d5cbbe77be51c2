//! nginx access logs: `combined` (or `main`, with `"$http_x_forwarded_for"`) followed by
//! `$request_time` (and optionally `$upstream_response_time`), and ingress-nginx's default
//! `upstreaminfo`. `$request_time` (seconds, ms resolution) is the latency: it is what the
//! client waited, where `$upstream_response_time` leaves out nginx's own time and is `-` when no
//! upstream was reached.

use super::clf::{Token, clf_head};
use super::{Parsed, Reject, TimeUnit, latency_of};

pub(super) fn parse(line: &str) -> Result<Parsed, Reject> {
    let head = clf_head(line).ok_or(Reject::UnknownFormat)?;
    // `"$http_referer" "$http_user_agent"` close `combined`; anything else is not nginx's.
    let rest = match head.rest.as_slice() {
        [Token::Quoted(_), Token::Quoted(_), rest @ ..] => rest,
        _ => return Err(Reject::UnknownFormat),
    };
    let timestamp = head.timestamp.map_err(|()| Reject::BadTimestamp)?;
    // `main` adds a quoted X-Forwarded-For: skip quoted fields before the timings.
    let words: Vec<&Token<'_>> = rest
        .iter()
        .skip_while(|t| matches!(t, Token::Quoted(_)))
        .collect();
    let request_time = match words.as_slice() {
        [] => return Err(Reject::NoLatency),
        // upstreaminfo: `$request_length $request_time [$proxy_upstream_name] ...`
        [Token::Word(_), Token::Word(time), Token::Bracketed(_), ..] => *time,
        [Token::Word(time), ..] => *time,
        _ => return Err(Reject::NoLatency),
    };
    if request_time == "-" {
        return Err(Reject::NoLatency);
    }
    Ok(Parsed {
        timestamp_ms: Some(timestamp),
        latency_ms: latency_of(request_time, TimeUnit::Seconds)?,
        status: head.status,
    })
}
