//! The browser side of an external login (OAuth 2.0 authorization code with PKCE, RFC 7636):
//! the random `state`, `nonce` and code verifier of one attempt, kept between the redirect to
//! the provider and its callback in a cookie that only this server can have written (HMAC).
//!
//! The cookie carries the verifier, so it must never be readable by another site: the server
//! sets it HttpOnly with a short lifetime, and [`FlowState::open`] refuses a tampered, expired
//! or foreign value before anything in it is trusted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// How long a login attempt may take at the provider.
pub const FLOW_LIFETIME_SECS: i64 = 600;

/// Largest sealed value accepted (a cookie is at most 4 KiB anyway).
const MAX_SEALED_BYTES: usize = 4096;

/// One login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    /// `oidc/<slug>` or `oauth/<slug>`: the provider the attempt started with.
    pub provider: String,
    /// The `state` parameter (CSRF protection of the callback).
    pub state: String,
    /// The OIDC `nonce` (binds the ID token to this attempt).
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// Where to go after the login (a path of this site).
    pub return_to: String,
    /// Expiry, seconds since the epoch.
    pub expires: i64,
}

/// Why a sealed flow state was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlowError {
    /// Not written by this server, or changed since.
    #[error("the login attempt's cookie is invalid")]
    Tampered,
    /// Older than [`FLOW_LIFETIME_SECS`].
    #[error("the login attempt took too long; start again")]
    Expired,
}

fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

impl FlowState {
    /// A new attempt for `provider` returning to `return_to`, valid from `now`.
    pub fn new(provider: &str, return_to: &str, now: i64) -> Self {
        Self {
            provider: provider.to_owned(),
            state: random_text(24),
            nonce: random_text(24),
            // 32 bytes give the 43-character verifier RFC 7636 asks for at least.
            verifier: random_text(32),
            return_to: return_to.to_owned(),
            expires: now + FLOW_LIFETIME_SECS,
        }
    }

    /// The S256 code challenge of the verifier.
    pub fn code_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    /// The cookie value: the state as JSON, base64url, then its HMAC-SHA256 under `key`.
    pub fn seal(&self, key: &[u8; 32]) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(mac(key, body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// Reads a value made by [`FlowState::seal`] with the same `key`, if unchanged and not
    /// expired at `now`.
    pub fn open(sealed: &str, key: &[u8; 32], now: i64) -> Result<Self, FlowError> {
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(FlowError::Tampered);
        }
        let (body, tag) = sealed.split_once('.').ok_or(FlowError::Tampered)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| FlowError::Tampered)?;
        if !bool::from(mac(key, body.as_bytes()).ct_eq(tag.as_slice())) {
            return Err(FlowError::Tampered);
        }
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| FlowError::Tampered)?;
        let flow: Self = serde_json::from_slice(&json).map_err(|_| FlowError::Tampered)?;
        if flow.expires <= now {
            return Err(FlowError::Expired);
        }
        Ok(flow)
    }

    /// Whether the callback's `state` is this attempt's (constant time).
    pub fn state_matches(&self, presented: &str) -> bool {
        self.state.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

fn mac(key: &[u8; 32], message: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_sealed_flow_opens_with_its_key_only() {
        let flow = FlowState::new("oidc/corp", "/projects/a", 1000);
        assert_eq!(flow.verifier.len(), 43);
        let sealed = flow.seal(&KEY);
        assert_eq!(FlowState::open(&sealed, &KEY, 1001), Ok(flow.clone()));
        assert_eq!(
            FlowState::open(&sealed, &[8; 32], 1001),
            Err(FlowError::Tampered)
        );
        assert_eq!(
            FlowState::open(&sealed, &KEY, 1000 + FLOW_LIFETIME_SECS),
            Err(FlowError::Expired)
        );
        // Changing the body (another return path) breaks the tag.
        let mut forged = flow;
        forged.return_to = "https://evil.example".to_owned();
        let forged_body = forged.seal(&[9; 32]);
        let (body, _) = forged_body.split_once('.').unwrap_or_default();
        let (_, tag) = sealed.split_once('.').unwrap_or_default();
        assert_eq!(
            FlowState::open(&format!("{body}.{tag}"), &KEY, 1001),
            Err(FlowError::Tampered)
        );
        assert_eq!(
            FlowState::open("garbage", &KEY, 1001),
            Err(FlowError::Tampered)
        );
    }

    #[test]
    fn the_challenge_is_the_rfc_7636_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let flow = FlowState {
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
            ..FlowState::new("oidc/x", "/", 0)
        };
        assert_eq!(
            flow.code_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(flow.state_matches(&flow.state.clone()));
        assert!(!flow.state_matches("other"));
    }
}
