//! Opaque bearer secrets (API tokens for automation, dashboard share links): 256 random bits
//! behind a readable prefix, shown to their owner once and stored only as a SHA-256 digest, so
//! a leaked database does not leak usable tokens. Each secret also has a short public id that
//! lists, audit entries and revocation use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Random bytes in a secret (256 bits; the share-link floor is 128).
const SECRET_BYTES: usize = 32;

/// Random bytes in a public id (72 bits: unique enough to name, useless to guess a secret).
const ID_BYTES: usize = 9;

/// A freshly made secret: give `secret` to the user once, keep `id` and `digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSecret {
    /// Public identifier (12 URL-safe characters).
    pub id: String,
    /// The bearer value: `<prefix>_<43 URL-safe characters>`.
    pub secret: String,
    /// Hex SHA-256 of `secret`, the only form that is stored.
    pub digest: String,
}

/// Makes a new secret with `prefix` (e.g. `pht` for API tokens, `phs` for share links), so a
/// token found in a log or a repository says what it is.
pub fn issue(prefix: &str) -> IssuedSecret {
    let mut rng = rand::rng();
    let mut secret = [0_u8; SECRET_BYTES];
    rng.fill_bytes(&mut secret);
    let mut id = [0_u8; ID_BYTES];
    rng.fill_bytes(&mut id);
    let secret = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    IssuedSecret {
        id: URL_SAFE_NO_PAD.encode(id),
        digest: digest(&secret),
        secret,
    }
}

/// The stored form of a presented secret: look rows up by it.
pub fn digest(secret: &str) -> String {
    hex_encode(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` is the one behind `stored_digest`, compared in constant time (for callers
/// that fetched the row by id rather than by digest).
pub fn matches(secret: &str, stored_digest: &str) -> bool {
    digest(secret)
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

/// Whether `text` has the shape of a secret with `prefix`; lets the server refuse garbage
/// before touching the database or a rate-limit bucket keyed by it.
pub fn looks_like(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| {
            body.len() == 43
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_secrets_are_prefixed_unique_and_match_their_digest() {
        let a = issue("phs");
        let b = issue("phs");
        assert!(a.secret.starts_with("phs_"));
        assert!(looks_like("phs", &a.secret), "{}", a.secret);
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 12);
        assert_eq!(a.digest, digest(&a.secret));
        assert!(matches(&a.secret, &a.digest));
        assert!(!matches(&b.secret, &a.digest));
        // The digest does not contain the secret.
        assert!(!a.digest.contains(&a.secret[4..]));
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn shape_check() {
        let token = issue("pht").secret;
        assert!(looks_like("pht", &token));
        assert!(!looks_like("phs", &token));
        assert!(!looks_like("pht", "pht_short"));
        assert!(!looks_like("pht", &format!("{token}x")));
        assert!(!looks_like("pht", &token.replace('_', "/")));
    }
}
