//! The guards of share links: IP restrictions (CIDR lists) and the per-client budget of
//! token checks, so a link's secret cannot be guessed by asking many times.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use ipnet::IpNet;

use crate::error::ApiError;

/// Parses `ip_restrictions`: CIDRs (`10.0.0.0/8`) or single addresses.
pub fn parse_cidrs(texts: &[String]) -> Result<Vec<IpNet>, ApiError> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let text = text.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "ip_restrictions[{index}]: {text:?} is not a CIDR like 10.0.0.0/8 or an address"
                    ))
                })
        })
        .collect()
}

/// Whether `client` is inside one of `allowed` (an empty list allows everyone).
pub fn client_allowed(allowed: &[IpNet], client: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    // IPv4 clients may arrive as IPv4-mapped IPv6 addresses on a dual-stack listener.
    let Ok(ip) = client.parse::<IpAddr>() else {
        return false;
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    allowed.iter().any(|net| net.contains(&ip))
}

/// A fixed-window counter per key: at most `limit` events per `window`.
#[derive(Debug)]
pub struct RateWindow {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Keys tracked before stale ones are dropped.
const MAX_KEYS: usize = 100_000;

impl RateWindow {
    /// `limit` events per `window` and key.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::default(),
        }
    }

    /// Counts one event for `key`; `Err(seconds to wait)` when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut counts) = self.counts.lock() else {
            return Ok(());
        };
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let wait = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_addresses_are_checked() {
        let nets = parse_cidrs(&["10.0.0.0/8".to_owned(), "192.168.1.7".to_owned()]).unwrap();
        assert!(client_allowed(&nets, "10.1.2.3"));
        assert!(client_allowed(&nets, "192.168.1.7"));
        assert!(client_allowed(&nets, "::ffff:10.0.0.1"));
        assert!(!client_allowed(&nets, "192.168.1.8"));
        assert!(!client_allowed(&nets, "unknown"));
        assert!(client_allowed(&[], "unknown"));
        let bad = parse_cidrs(&["10.0.0.0/33".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("ip_restrictions[0]"), "{bad}");
    }

    #[test]
    fn the_window_counts_per_key() {
        let window = RateWindow::new(2, Duration::from_secs(60));
        assert!(window.hit("a").is_ok());
        assert!(window.hit("a").is_ok());
        assert!(window.hit("a").unwrap_err() >= 1);
        assert!(window.hit("b").is_ok());
    }
}
