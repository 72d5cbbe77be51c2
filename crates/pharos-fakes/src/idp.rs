//! A fake OpenID Connect provider: what Keycloak, Dex or Entra ID serve for the
//! authorization-code flow, on 127.0.0.1.
//!
//! - `GET /.well-known/openid-configuration`: the discovery document;
//! - `GET /jwks`: the published RS256 keys ([`FakeIdp::rotate_key`] adds one and signs with it);
//! - `GET /authorize`: "logs in" [`FakeIdp::set_user`]'s user (no form: tests drive browsers
//!   and clients alike) and redirects to the client with `code` and `state`, or with `error`;
//! - `POST /token`: trades a code, once, for an ID token and an access token, checking the
//!   client (HTTP Basic or form), the redirect URI and the PKCE verifier (S256);
//! - `GET /userinfo`: the user's claims for an access token (with GitHub-style `login` and a
//!   numeric `id`, so the same fake serves as a plain OAuth 2.0 provider).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::{KeyPair, KeySize, PublicKeyComponents},
    signature::{self, KeyPair as _},
};
use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use rand::RngCore as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The user the provider logs in at `/authorize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    /// Stable subject id.
    pub subject: String,
    /// `preferred_username` (and `login` in user info).
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `groups` (left out of tokens when empty).
    pub groups: Vec<String>,
}

impl FakeUser {
    /// A user whose subject, mail and name derive from `username`.
    pub fn named(username: &str) -> Self {
        Self {
            subject: format!("sub-{username}-{}", username.len()),
            username: username.to_owned(),
            email: format!("{username}@example.test"),
            name: format!("{username} Example"),
            groups: Vec::new(),
        }
    }

    fn claims(&self) -> Value {
        let mut claims = json!({
            "sub": self.subject,
            "preferred_username": self.username,
            "email": self.email,
            "email_verified": true,
            "name": self.name,
        });
        if !self.groups.is_empty() {
            claims["groups"] = json!(self.groups);
        }
        claims
    }
}

struct SigningKey {
    kid: String,
    pair: KeyPair,
}

impl SigningKey {
    fn generate(kid: String) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .unwrap_or_else(|e| panic!("generating an RSA key: {e}"));
        Self { kid, pair }
    }

    fn jwk(&self) -> Value {
        let components = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&components.n),
            "e": URL_SAFE_NO_PAD.encode(&components.e),
        })
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap_or_else(|e| panic!("signing: {e}"));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// A code handed out by `/authorize`, waiting for `/token`.
struct PendingCode {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    nonce: Option<String>,
    user: FakeUser,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    user: Mutex<FakeUser>,
    /// Published keys; the last one signs.
    keys: Mutex<Vec<Arc<SigningKey>>>,
    codes: Mutex<HashMap<String, PendingCode>>,
    access_tokens: Mutex<HashMap<String, FakeUser>>,
    jwks_requests: AtomicUsize,
    token_requests: AtomicUsize,
    /// PKCE verifiers seen at `/token` (tests check the client sent one).
    verifiers: Mutex<Vec<String>>,
}

/// A running fake provider.
#[derive(Clone)]
pub struct FakeIdp {
    inner: Arc<Inner>,
}

fn random_text() -> String {
    let mut bytes = [0_u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

impl FakeIdp {
    /// Starts a provider that knows one client and logs in `alice` until told otherwise.
    pub async fn start(client_id: &str, client_secret: &str) -> std::io::Result<Self> {
        let (listener, issuer) = crate::listen().await?;
        let idp = Self {
            inner: Arc::new(Inner {
                issuer,
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                user: Mutex::new(FakeUser::named("alice")),
                keys: Mutex::new(vec![Arc::new(SigningKey::generate("key-1".to_owned()))]),
                codes: Mutex::default(),
                access_tokens: Mutex::default(),
                jwks_requests: AtomicUsize::new(0),
                token_requests: AtomicUsize::new(0),
                verifiers: Mutex::default(),
            }),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(idp.clone());
        crate::spawn(listener, router);
        Ok(idp)
    }

    /// The issuer URL (also the base of every endpoint).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The user the next `/authorize` logs in.
    pub fn set_user(&self, user: FakeUser) {
        *lock(&self.inner.user) = user;
    }

    /// Publishes a new key and signs with it from now on; `keep_old` leaves the previous
    /// keys published (a provider's rollover), else they disappear at once.
    pub fn rotate_key(&self, keep_old: bool) {
        let mut keys = lock(&self.inner.keys);
        let kid = format!("key-{}", keys.len() + 1 + usize::from(!keep_old) * 100);
        if !keep_old {
            keys.clear();
        }
        keys.push(Arc::new(SigningKey::generate(kid)));
    }

    fn signer(&self) -> Arc<SigningKey> {
        let keys = lock(&self.inner.keys);
        Arc::clone(
            keys.last()
                .unwrap_or_else(|| unreachable!("a key is always published")),
        )
    }

    /// An RS256 token with the current key and `claims` as given.
    pub fn sign(&self, claims: &Value) -> String {
        let key = self.signer();
        key.sign(
            &json!({"alg": "RS256", "typ": "JWT", "kid": key.kid}),
            claims,
        )
    }

    /// An RS256 token with a header of the test's choosing (to try `alg: none`, foreign
    /// `kid`s…), signed with the current key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.signer().sign(header, claims)
    }

    /// The claims of a valid token for `user`, audience the fake's client, valid 5 minutes.
    pub fn claims_for(&self, user: &FakeUser) -> Value {
        let mut claims = user.claims();
        let now = now();
        claims["iss"] = json!(self.inner.issuer);
        claims["aud"] = json!(self.inner.client_id);
        claims["iat"] = json!(now);
        claims["exp"] = json!(now + 300);
        claims
    }

    /// A valid bearer token for `user`.
    pub fn token_for(&self, user: &FakeUser) -> String {
        self.sign(&self.claims_for(user))
    }

    /// How often `/jwks` was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.inner.jwks_requests.load(Ordering::SeqCst)
    }

    /// How often `/token` was called.
    pub fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// The PKCE verifiers presented at `/token`.
    pub fn verifiers(&self) -> Vec<String> {
        lock(&self.inner.verifiers).clone()
    }
}

use crate::lock;

async fn discovery(State(idp): State<FakeIdp>) -> Json<Value> {
    let issuer = &idp.inner.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email"],
        "grant_types_supported": ["authorization_code"],
    }))
}

async fn jwks(State(idp): State<FakeIdp>) -> Json<Value> {
    idp.inner.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = lock(&idp.inner.keys).iter().map(|k| k.jwk()).collect();
    Json(json!({ "keys": keys }))
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(State(idp): State<FakeIdp>, Query(query): Query<AuthorizeQuery>) -> Response {
    // Without a known client and a redirect URI there is nowhere safe to send an error
    // (RFC 6749 §4.1.2.1): answer the browser directly.
    let (Some(client_id), Some(redirect_uri)) = (&query.client_id, &query.redirect_uri) else {
        return (
            StatusCode::BAD_REQUEST,
            "client_id and redirect_uri are required",
        )
            .into_response();
    };
    if *client_id != idp.inner.client_id || url::Url::parse(redirect_uri).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            "unknown client or invalid redirect_uri",
        )
            .into_response();
    }
    let back = |params: &[(&str, &str)]| {
        let mut target =
            url::Url::parse(redirect_uri).unwrap_or_else(|_| unreachable!("checked above"));
        {
            let mut pairs = target.query_pairs_mut();
            for (key, value) in params {
                pairs.append_pair(key, value);
            }
            if let Some(state) = &query.state {
                pairs.append_pair("state", state);
            }
        }
        Redirect::to(target.as_str()).into_response()
    };
    if query.response_type.as_deref() != Some("code") {
        return back(&[("error", "unsupported_response_type")]);
    }
    if !query
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid")
    {
        return back(&[
            ("error", "invalid_scope"),
            ("error_description", "openid is required"),
        ]);
    }
    if query.code_challenge.is_some() && query.code_challenge_method.as_deref() != Some("S256") {
        return back(&[
            ("error", "invalid_request"),
            ("error_description", "only S256 is supported"),
        ]);
    }
    let code = random_text();
    lock(&idp.inner.codes).insert(
        code.clone(),
        PendingCode {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge: query.code_challenge.clone(),
            nonce: query.nonce.clone(),
            user: lock(&idp.inner.user).clone(),
        },
    );
    back(&[("code", &code)])
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's id and secret: HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Some((unescape(id), unescape(secret)));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(
    State(idp): State<FakeIdp>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let inner = &idp.inner;
    inner.token_requests.fetch_add(1, Ordering::SeqCst);
    match client_credentials(&headers, &form) {
        Some((id, secret)) if id == inner.client_id && secret == inner.client_secret => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        }
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    // A code works once, whatever happens next.
    let Some(pending) = form
        .code
        .as_deref()
        .and_then(|code| lock(&inner.codes).remove(code))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if pending.client_id != inner.client_id
        || form.redirect_uri.as_deref() != Some(&pending.redirect_uri)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    if let Some(challenge) = &pending.challenge {
        let Some(verifier) = &form.code_verifier else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code_verifier is required",
            );
        };
        lock(&inner.verifiers).push(verifier.clone());
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "PKCE verification failed",
            );
        }
    }
    let mut claims = idp.claims_for(&pending.user);
    if let Some(nonce) = &pending.nonce {
        claims["nonce"] = json!(nonce);
    }
    let access = random_text();
    lock(&inner.access_tokens).insert(access.clone(), pending.user.clone());
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": idp.sign(&claims),
        "scope": "openid profile email",
    }))
    .into_response()
}

async fn userinfo(State(idp): State<FakeIdp>, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| lock(&idp.inner.access_tokens).get(token).cloned());
    let Some(user) = user else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let mut info = user.claims();
    info["login"] = json!(user.username);
    info["id"] = json!(user.subject.len() * 1000 + user.username.len());
    Json(info).into_response()
}
