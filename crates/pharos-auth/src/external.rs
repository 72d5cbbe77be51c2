//! Bearer JWTs issued by an external OpenID Connect provider, checked against the provider's
//! published keys (JWKS): signature, issuer, audience and validity window.
//!
//! Only asymmetric algorithms are accepted (RS256/384/512, PS256/384/512, ES256/384). An `HS*`
//! token would be checked with a *public* key as the HMAC secret — the classic algorithm
//! confusion — and `none` has no signature at all; both are refused before any key is looked at.
//! A key that declares its own `alg` is only used for that algorithm. Fetching and caching the
//! JWKS is the caller's job: [`ExternalTokenError::UnknownKey`] tells it to refetch once (the
//! provider rotated its keys).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Largest token accepted.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why an external token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExternalTokenError {
    /// Not a compact JWS.
    #[error("the token is not a compact JWT")]
    Malformed,
    /// `none`, an HMAC algorithm, or one we do not support.
    #[error(
        "the token's algorithm \"{0}\" is not accepted (use RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384)"
    )]
    RefusedAlgorithm(String),
    /// No key in the JWKS has the token's `kid` (refetch the JWKS once, then give up).
    #[error("no key with id \"{0}\" in the provider's key set")]
    UnknownKey(String),
    /// The key exists but is for another algorithm or key type.
    #[error("the provider's key \"{0}\" cannot verify this token's algorithm")]
    KeyMismatch(String),
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by \"{0}\", not by the configured issuer")]
    WrongIssuer(String),
    /// `aud` does not contain the configured client id.
    #[error("the token is not meant for this client (audience)")]
    WrongAudience,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The claims cannot be read.
    #[error("the token's claims are invalid: {0}")]
    BadClaims(String),
}

/// A JSON Web Key Set (`jwks_uri` of the discovery document).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One public key of a [`Jwks`]. Unknown members are ignored, as RFC 7517 asks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA` or `EC`.
    pub kty: String,
    /// Key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// The one algorithm this key is for, when declared.
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig` or `enc`; `enc` keys are never used to verify.
    #[serde(default, rename = "use")]
    pub key_use: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default)]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve: `P-256` or `P-384`.
    #[serde(default)]
    pub crv: Option<String>,
    /// EC x coordinate (base64url).
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default)]
    pub y: Option<String>,
}

/// What a token must say to be accepted.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Exact `iss`.
    pub issuer: String,
    /// The client id that must be in `aud`.
    pub audience: String,
    /// Tolerated clock skew in seconds.
    pub leeway_secs: i64,
}

/// The claims Pharos uses from an external token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ExternalClaims {
    /// Subject (stable user id at the provider).
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Expiry.
    pub exp: i64,
    /// Not before.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// E-mail, when the provider shares it.
    #[serde(default)]
    pub email: Option<String>,
    /// The user name the provider suggests.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The nonce the login request sent (ID tokens of the authorization-code flow).
    #[serde(default)]
    pub nonce: Option<String>,
    /// Every other claim (a provider may name its users in a claim of its own).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    iss: Option<String>,
}

/// The `iss` claim of a compact JWT, *unverified*: only for choosing which provider's keys
/// [`verify`] should check it with. `None` for anything that is not a JWT with an issuer.
pub fn unverified_issuer(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    decode_json::<IssuerOnly>(payload).ok()?.iss
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct AudienceOnly {
    #[serde(default)]
    aud: Option<Audience>,
}

/// Verifies `token` with `jwks` and `expect` at `now` (seconds since the epoch).
pub fn verify(
    token: &str,
    jwks: &Jwks,
    expect: &Expectations,
    now: i64,
) -> Result<ExternalClaims, ExternalTokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ExternalTokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ExternalTokenError::Malformed);
    };
    let header: Header = decode_json(header_b64)?;
    let algorithm = Algorithm::parse(&header.alg)?;
    let key = select_key(jwks, header.kid.as_deref(), algorithm)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| ExternalTokenError::Malformed)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    algorithm.verify(key, signing_input.as_bytes(), &signature)?;

    let claims: ExternalClaims = decode_json(payload_b64)?;
    let audience: AudienceOnly = decode_json(payload_b64)?;
    if claims.iss != expect.issuer {
        return Err(ExternalTokenError::WrongIssuer(claims.iss));
    }
    let audience_ok = match audience.aud {
        Some(Audience::One(aud)) => aud == expect.audience,
        Some(Audience::Many(list)) => list.contains(&expect.audience),
        None => false,
    };
    if !audience_ok {
        return Err(ExternalTokenError::WrongAudience);
    }
    if claims.exp + expect.leeway_secs <= now {
        return Err(ExternalTokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf - expect.leeway_secs > now) {
        return Err(ExternalTokenError::NotYetValid);
    }
    if claims.sub.is_empty() {
        return Err(ExternalTokenError::BadClaims("sub is empty".to_owned()));
    }
    Ok(claims)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, ExternalTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ExternalTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|e| ExternalTokenError::BadClaims(e.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
}

impl Algorithm {
    fn parse(name: &str) -> Result<Self, ExternalTokenError> {
        Ok(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            other => return Err(ExternalTokenError::RefusedAlgorithm(other.to_owned())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
        }
    }

    fn key_type(self) -> &'static str {
        match self {
            Self::Es256 | Self::Es384 => "EC",
            _ => "RSA",
        }
    }

    fn verify(self, key: &Jwk, message: &[u8], sig: &[u8]) -> Result<(), ExternalTokenError> {
        let mismatch = || ExternalTokenError::KeyMismatch(key.kid.clone().unwrap_or_default());
        let ok = match self {
            Self::Es256 | Self::Es384 => {
                let (curve, params) = if self == Self::Es256 {
                    ("P-256", &signature::ECDSA_P256_SHA256_FIXED)
                } else {
                    ("P-384", &signature::ECDSA_P384_SHA384_FIXED)
                };
                if key.crv.as_deref() != Some(curve) {
                    return Err(mismatch());
                }
                let x = decode_member(key.x.as_deref()).ok_or_else(mismatch)?;
                let y = decode_member(key.y.as_deref()).ok_or_else(mismatch)?;
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(params, point)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => {
                let params: &'static signature::RsaParameters = match self {
                    Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    _ => &signature::RSA_PSS_2048_8192_SHA512,
                };
                let n = decode_member(key.n.as_deref()).ok_or_else(mismatch)?;
                let e = decode_member(key.e.as_deref()).ok_or_else(mismatch)?;
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, message, sig)
                    .is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ExternalTokenError::BadSignature)
        }
    }
}

fn decode_member(value: Option<&str>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value?).ok()
}

/// The key for `kid`, or the only signing key of the right type when the token names none.
fn select_key<'a>(
    jwks: &'a Jwks,
    kid: Option<&str>,
    algorithm: Algorithm,
) -> Result<&'a Jwk, ExternalTokenError> {
    let usable = |key: &&Jwk| key.key_use.as_deref().is_none_or(|u| u == "sig");
    let key = match kid {
        Some(kid) => jwks
            .keys
            .iter()
            .filter(usable)
            .find(|key| key.kid.as_deref() == Some(kid))
            .ok_or_else(|| ExternalTokenError::UnknownKey(kid.to_owned()))?,
        None => {
            let mut candidates = jwks
                .keys
                .iter()
                .filter(usable)
                .filter(|key| key.kty == algorithm.key_type());
            match (candidates.next(), candidates.next()) {
                (Some(key), None) => key,
                _ => return Err(ExternalTokenError::UnknownKey(String::new())),
            }
        }
    };
    let label = || key.kid.clone().unwrap_or_default();
    if key.kty != algorithm.key_type() {
        return Err(ExternalTokenError::KeyMismatch(label()));
    }
    if key
        .alg
        .as_deref()
        .is_some_and(|alg| alg != algorithm.name())
    {
        return Err(ExternalTokenError::KeyMismatch(label()));
    }
    Ok(key)
}

#[cfg(test)]
#[path = "external_tests.rs"]
mod tests;
