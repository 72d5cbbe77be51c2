use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};

use super::*;

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://idp.example.test/realms/pharos";
const CLIENT: &str = "pharos";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A provider's signing key, as the fake provider of the integration tests would hold it.
struct RsaSigner {
    kid: String,
    key: RsaKeyPair,
}

impl RsaSigner {
    fn new(kid: &str) -> Self {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|e| panic!("{e}"));
        Self {
            kid: kid.to_owned(),
            key,
        }
    }

    fn jwk(&self) -> Jwk {
        let components = PublicKeyComponents::<Vec<u8>>::from(self.key.public_key());
        Jwk {
            kty: "RSA".to_owned(),
            kid: Some(self.kid.clone()),
            alg: Some("RS256".to_owned()),
            key_use: Some("sig".to_owned()),
            n: Some(b64(&components.n)),
            e: Some(b64(&components.e)),
            ..Jwk::default()
        }
    }

    fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        format!("{input}.{}", b64(sig))
    }

    fn token(&self, claims: &serde_json::Value) -> String {
        self.sign(
            &serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }
}

fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": CLIENT, "sub": "u-123", "exp": NOW + 300, "nbf": NOW - 10,
        "email": "ana@example.test", "preferred_username": "ana"
    })
}

fn expect() -> Expectations {
    Expectations {
        issuer: ISSUER.to_owned(),
        audience: CLIENT.to_owned(),
        leeway_secs: 30,
    }
}

#[test]
fn a_provider_token_verifies_and_yields_its_claims() {
    let signer = RsaSigner::new("k1");
    let jwks = Jwks {
        keys: vec![signer.jwk()],
    };
    let claims = verify(&signer.token(&claims()), &jwks, &expect(), NOW);
    let claims = claims.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claims.sub, "u-123");
    assert_eq!(claims.preferred_username.as_deref(), Some("ana"));
}

#[test]
fn issuer_audience_and_time_are_enforced() {
    let signer = RsaSigner::new("k1");
    let jwks = Jwks {
        keys: vec![signer.jwk()],
    };
    let with = |patch: serde_json::Value| {
        let mut c = claims();
        if let (Some(target), Some(patch)) = (c.as_object_mut(), patch.as_object()) {
            target.extend(patch.clone());
        }
        verify(&signer.token(&c), &jwks, &expect(), NOW)
    };
    assert_eq!(
        with(serde_json::json!({"iss": "https://evil.test"})),
        Err(ExternalTokenError::WrongIssuer(
            "https://evil.test".to_owned()
        ))
    );
    assert_eq!(
        with(serde_json::json!({"aud": "another-client"})),
        Err(ExternalTokenError::WrongAudience)
    );
    assert!(with(serde_json::json!({"aud": ["another", CLIENT]})).is_ok());
    assert_eq!(
        with(serde_json::json!({"exp": NOW - 31})),
        Err(ExternalTokenError::Expired)
    );
    // Within the leeway a just-expired token still passes (clock skew).
    assert!(with(serde_json::json!({"exp": NOW - 5})).is_ok());
    assert_eq!(
        with(serde_json::json!({"nbf": NOW + 120})),
        Err(ExternalTokenError::NotYetValid)
    );
}

#[test]
fn none_and_hmac_confusion_are_refused_before_any_key_is_used() {
    let signer = RsaSigner::new("k1");
    let jwk = signer.jwk();
    let jwks = Jwks {
        keys: vec![jwk.clone()],
    };
    let payload = b64(claims().to_string());
    let none = format!("{}.{payload}.", b64(r#"{"alg":"none"}"#));
    assert_eq!(
        verify(&none, &jwks, &expect(), NOW),
        Err(ExternalTokenError::RefusedAlgorithm("none".to_owned()))
    );
    // HS256 "signed" with the public modulus as the secret: the confusion attack.
    let header = b64(r#"{"alg":"HS256","kid":"k1"}"#);
    let forged = format!("{header}.{payload}.{}", jwk.n.unwrap_or_default());
    assert_eq!(
        verify(&forged, &jwks, &expect(), NOW),
        Err(ExternalTokenError::RefusedAlgorithm("HS256".to_owned()))
    );
}

#[test]
fn tampered_claims_fail_the_signature() {
    let signer = RsaSigner::new("k1");
    let jwks = Jwks {
        keys: vec![signer.jwk()],
    };
    let token = signer.token(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = serde_json::json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(forged.to_string()), parts[2]);
    assert_eq!(
        verify(&tampered, &jwks, &expect(), NOW),
        Err(ExternalTokenError::BadSignature)
    );
}

#[test]
fn key_rotation_reports_the_unknown_key_until_the_set_is_refetched() {
    let old = RsaSigner::new("2026-11");
    let new = RsaSigner::new("2026-12");
    let token = new.token(&claims());
    let stale = Jwks {
        keys: vec![old.jwk()],
    };
    assert_eq!(
        verify(&token, &stale, &expect(), NOW),
        Err(ExternalTokenError::UnknownKey("2026-12".to_owned()))
    );
    let refreshed = Jwks {
        keys: vec![old.jwk(), new.jwk()],
    };
    assert!(verify(&token, &refreshed, &expect(), NOW).is_ok());
    // A token signed by the old key does not verify with the new key's id.
    let wrong_kid = old.sign(
        &serde_json::json!({"alg": "RS256", "kid": "2026-12"}),
        &claims(),
    );
    assert_eq!(
        verify(&wrong_kid, &refreshed, &expect(), NOW),
        Err(ExternalTokenError::BadSignature)
    );
}

#[test]
fn keys_are_only_used_for_their_declared_algorithm_and_use() {
    let signer = RsaSigner::new("k1");
    let mut jwk = signer.jwk();
    jwk.alg = Some("RS384".to_owned());
    let jwks = Jwks { keys: vec![jwk] };
    assert_eq!(
        verify(&signer.token(&claims()), &jwks, &expect(), NOW),
        Err(ExternalTokenError::KeyMismatch("k1".to_owned()))
    );
    let mut encryption_key = signer.jwk();
    encryption_key.key_use = Some("enc".to_owned());
    let jwks = Jwks {
        keys: vec![encryption_key],
    };
    assert_eq!(
        verify(&signer.token(&claims()), &jwks, &expect(), NOW),
        Err(ExternalTokenError::UnknownKey("k1".to_owned()))
    );
}

#[test]
fn es256_tokens_verify_with_ec_keys() {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .unwrap_or_else(|e| panic!("{e}"));
    let point = key.public_key().as_ref().to_vec();
    let jwk = Jwk {
        kty: "EC".to_owned(),
        kid: Some("ec1".to_owned()),
        crv: Some("P-256".to_owned()),
        x: Some(b64(&point[1..33])),
        y: Some(b64(&point[33..65])),
        ..Jwk::default()
    };
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"ES256","kid":"ec1"}"#),
        b64(claims().to_string())
    );
    let sig = key
        .sign(&rng, input.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let token = format!("{input}.{}", b64(sig.as_ref()));
    let jwks = Jwks { keys: vec![jwk] };
    assert!(verify(&token, &jwks, &expect(), NOW).is_ok());
}

#[test]
fn jwks_documents_parse_with_unknown_members() -> Result<(), serde_json::Error> {
    let jwks: Jwks = serde_json::from_str(
        r#"{"keys":[{"kty":"RSA","kid":"a","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB","x5c":["MIIB"],"x5t":"abc"}]}"#,
    )?;
    assert_eq!(jwks.keys[0].kid.as_deref(), Some("a"));
    Ok(())
}
