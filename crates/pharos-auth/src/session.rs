//! Session tokens: compact JWTs signed with HMAC-SHA512, in the shape Perses issues (claims `sub`,
//! `exp`, `nbf`, `pkd`, `pid`; the refresh key is the access key with `-refresh` appended), so
//! `percli` and the Perses UI handle them unchanged.
//!
//! Verification is strict: the header must say exactly `HS512`, so `alg: none` and
//! algorithm-confusion tokens are refused before any signature work, and the signature is
//! compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

type HmacSha512 = Hmac<Sha512>;

/// Shortest signing key accepted, in bytes (HMAC-SHA512 is only as strong as its key).
pub const MIN_KEY_BYTES: usize = 32;

/// Largest token accepted; a real one is a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `{"alg":"HS512","typ":"JWT"}` header, encoded once.
const HEADER: &str = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9";

/// Why a token was refused. The server answers all of them with the same 401; the variants
/// exist for the audit log and the tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts, or larger than [`MAX_TOKEN_BYTES`].
    #[error("the token is not a compact JWT")]
    Malformed,
    /// The header names another algorithm (including `none`).
    #[error("the token's algorithm is not HS512")]
    WrongAlgorithm,
    /// The signature does not match.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The claims are not what a Pharos session carries.
    #[error("the token's claims are invalid: {0}")]
    BadClaims(String),
    /// The signing key is shorter than [`MIN_KEY_BYTES`].
    #[error("the signing key must have at least {MIN_KEY_BYTES} bytes")]
    WeakKey,
}

/// Which of the two tokens of a session; each has its own key, so one can never be used as
/// the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived, sent with every request.
    Access,
    /// Longer-lived, only accepted by the refresh route.
    Refresh,
}

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch.
    pub nbf: i64,
    /// Provider kind: `native`, `oidc`, `oauth` or `kubernetes`.
    #[serde(default)]
    pub pkd: String,
    /// Provider slug (empty for native).
    #[serde(default)]
    pub pid: String,
    /// Session id: shared by an access token and the refresh token it came with, so logout can
    /// revoke the whole session.
    #[serde(default)]
    pub sid: String,
    /// The groups the login provider named (fixed for the session; used for ownership).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grp: Vec<String>,
}

/// The two signing keys of a deployment.
#[derive(Clone)]
pub struct SessionKeys {
    access: Vec<u8>,
    refresh: Vec<u8>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<secret>)")
    }
}

impl SessionKeys {
    /// Derives both keys from the deployment secret as Perses does: the refresh key is the
    /// secret followed by `-refresh`.
    pub fn from_secret(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(TokenError::WeakKey);
        }
        let mut refresh = secret.to_vec();
        refresh.extend_from_slice(b"-refresh");
        Ok(Self {
            access: secret.to_vec(),
            refresh,
        })
    }

    fn key(&self, kind: TokenKind) -> &[u8] {
        match kind {
            TokenKind::Access => &self.access,
            TokenKind::Refresh => &self.refresh,
        }
    }

    /// Signs `claims` as a token of `kind`.
    pub fn issue(&self, kind: TokenKind, claims: &Claims) -> Result<String, TokenError> {
        let payload =
            serde_json::to_vec(claims).map_err(|e| TokenError::BadClaims(e.to_string()))?;
        let signing_input = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = self.mac(kind, &signing_input)?.finalize().into_bytes();
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// Checks a token of `kind` at `now` (seconds since the epoch) and returns its claims.
    pub fn verify(&self, kind: TokenKind, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        check_header(header)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input = &token[..header.len() + 1 + payload.len()];
        self.mac(kind, signing_input)?
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|e| TokenError::BadClaims(e.to_string()))?;
        if claims.sub.is_empty() {
            return Err(TokenError::BadClaims("sub is empty".to_owned()));
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    fn mac(&self, kind: TokenKind, signing_input: &str) -> Result<HmacSha512, TokenError> {
        let mut mac =
            HmacSha512::new_from_slice(self.key(kind)).map_err(|_| TokenError::WeakKey)?;
        mac.update(signing_input.as_bytes());
        Ok(mac)
    }
}

/// Accepts exactly `{"alg":"HS512"}` with an optional `"typ":"JWT"`; anything else — another
/// algorithm, `none`, a `kid`/`jku` pointing elsewhere — is refused.
fn check_header(encoded: &str) -> Result<(), TokenError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Header {
        alg: String,
        #[serde(default)]
        typ: Option<String>,
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| TokenError::Malformed)?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if header.alg != "HS512" {
        return Err(TokenError::WrongAlgorithm);
    }
    if header.typ.as_deref().is_some_and(|typ| typ != "JWT") {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn keys() -> SessionKeys {
        SessionKeys::from_secret(&[7_u8; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn claims() -> Claims {
        Claims {
            sub: "alice".to_owned(),
            exp: NOW + 900,
            nbf: NOW - 1,
            pkd: "native".to_owned(),
            pid: String::new(),
            sid: "s1".to_owned(),
            grp: Vec::new(),
        }
    }

    fn encode_json(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn round_trip() -> Result<(), TokenError> {
        let token = keys().issue(TokenKind::Access, &claims())?;
        assert!(token.starts_with(HEADER));
        assert_eq!(keys().verify(TokenKind::Access, &token, NOW)?, claims());
        Ok(())
    }

    #[test]
    fn the_header_constant_is_what_it_claims() {
        let decoded = URL_SAFE_NO_PAD.decode(HEADER).unwrap_or_default();
        assert_eq!(decoded, br#"{"alg":"HS512","typ":"JWT"}"#);
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() -> Result<(), TokenError> {
        let refresh = keys().issue(TokenKind::Refresh, &claims())?;
        assert_eq!(
            keys().verify(TokenKind::Access, &refresh, NOW),
            Err(TokenError::BadSignature)
        );
        assert!(keys().verify(TokenKind::Refresh, &refresh, NOW).is_ok());
        Ok(())
    }

    #[test]
    fn expiry_and_not_before() -> Result<(), TokenError> {
        let token = keys().issue(TokenKind::Access, &claims())?;
        assert_eq!(
            keys().verify(TokenKind::Access, &token, NOW + 900),
            Err(TokenError::Expired)
        );
        assert_eq!(
            keys().verify(TokenKind::Access, &token, NOW - 5),
            Err(TokenError::NotYetValid)
        );
        Ok(())
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() -> Result<(), TokenError> {
        let payload = encode_json(&serde_json::to_value(claims()).unwrap_or_default());
        for alg in ["none", "None", "HS256", "RS256", "ES256", "hs512"] {
            let header = encode_json(&serde_json::json!({"alg": alg, "typ": "JWT"}));
            for signature in ["", "AAAA"] {
                let token = format!("{header}.{payload}.{signature}");
                assert_eq!(
                    keys().verify(TokenKind::Access, &token, NOW),
                    Err(TokenError::WrongAlgorithm),
                    "{alg}"
                );
            }
        }
        // Extra header fields (a key URL, a key id) are not followed; the token is refused.
        let header = encode_json(&serde_json::json!({"alg": "HS512", "jku": "http://evil"}));
        let token = format!("{header}.{payload}.AAAA");
        assert_eq!(
            keys().verify(TokenKind::Access, &token, NOW),
            Err(TokenError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn tampered_payloads_and_foreign_keys_fail() -> Result<(), TokenError> {
        let token = keys().issue(TokenKind::Access, &claims())?;
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged.sub = "admin".to_owned();
        let forged_payload = encode_json(&serde_json::to_value(forged).unwrap_or_default());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            keys().verify(TokenKind::Access, &tampered, NOW),
            Err(TokenError::BadSignature)
        );
        let other = SessionKeys::from_secret(&[8_u8; 32])?;
        assert_eq!(
            other.verify(TokenKind::Access, &token, NOW),
            Err(TokenError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn malformed_tokens() {
        for token in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert!(
                matches!(
                    keys().verify(TokenKind::Access, token, NOW),
                    Err(TokenError::Malformed)
                ),
                "{token:.20}"
            );
        }
    }

    #[test]
    fn weak_keys_are_refused() {
        assert!(matches!(
            SessionKeys::from_secret(b"short"),
            Err(TokenError::WeakKey)
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// No input makes verification panic, and nothing random verifies.
        #[test]
        fn random_input_never_verifies(token in ".{0,400}") {
            proptest::prop_assert!(keys().verify(TokenKind::Access, &token, NOW).is_err());
        }
    }
}
