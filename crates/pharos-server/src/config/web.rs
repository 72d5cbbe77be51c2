//! `security.cors` and `security.hsts`: what browsers on other origins may call, and whether
//! browsers are told to use HTTPS only.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `security.cors`: off (no CORS headers, so browsers refuse cross-origin calls) unless
/// origins are listed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins (`https://portal.example.com`) whose pages may call the API with a bearer
    /// token. Cookies are never sent cross-origin.
    pub allowed_origins: Vec<String>,
}

impl CorsSettings {
    /// Whether `origin` (an `Origin` header's value) is listed.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }

    /// Checks that every origin is `scheme://host[:port]` and none is `*`.
    pub fn validate(&self) -> Result<(), String> {
        for origin in &self.allowed_origins {
            let parsed = url::Url::parse(origin).map_err(|e| {
                format!("security.cors.allowed_origins: {origin:?} is not an origin: {e}")
            })?;
            let bare = parsed.path() == "/" && parsed.query().is_none() && !origin.ends_with('/');
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() || !bare {
                return Err(format!(
                    "security.cors.allowed_origins: {origin:?} must be scheme://host[:port], like https://portal.example.com"
                ));
            }
        }
        Ok(())
    }
}

/// `security.hsts`: `Strict-Transport-Security` on every answer, for deployments behind TLS.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HstsSettings {
    /// Send the header (default: when `security.cookie.secure` is on, i.e. behind TLS).
    pub enabled: Option<bool>,
    /// `max-age`.
    #[serde(with = "duration_text")]
    pub max_age: Duration,
    /// `includeSubDomains`.
    pub include_subdomains: bool,
}

impl Default for HstsSettings {
    fn default() -> Self {
        Self {
            enabled: None,
            max_age: Duration::from_secs(365 * 86_400),
            include_subdomains: false,
        }
    }
}
