//! IP restrictions of share links (CIDR lists).

use std::net::IpAddr;

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
}
