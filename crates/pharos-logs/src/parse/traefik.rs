//! Traefik's `common` access log: CLF, then `"referer" "user agent" <request count>
//! "<router>" "<server URL>" <duration>ms`. The trailing `<n>ms` is the total duration.

use super::clf::{Token, clf_head};
use super::{Parsed, Reject, TimeUnit, latency_of};

pub(super) fn parse(line: &str) -> Result<Parsed, Reject> {
    let head = clf_head(line).ok_or(Reject::UnknownFormat)?;
    let duration = match head.rest.as_slice() {
        [
            Token::Quoted(_),
            Token::Quoted(_),
            Token::Word(count),
            _router,
            _server,
            Token::Word(duration),
        ] if count.bytes().all(|b| b.is_ascii_digit()) => duration.strip_suffix("ms"),
        _ => None,
    }
    .ok_or(Reject::UnknownFormat)?;
    let timestamp = head.timestamp.map_err(|()| Reject::BadTimestamp)?;
    Ok(Parsed {
        timestamp_ms: Some(timestamp),
        latency_ms: latency_of(duration, TimeUnit::Milliseconds)?,
        status: head.status,
    })
}
