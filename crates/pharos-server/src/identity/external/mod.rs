//! External login providers (`security.providers.oidc` / `oauth`): their endpoints (from the
//! OIDC discovery document or the config), their signing keys (JWKS, refetched when a token
//! names a key we have not seen: the provider rotated), the code-for-token exchange, and who a
//! provider says a user is. The browser flow's routes are in [`flow`].

mod flow;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pharos_auth::external::{self, Expectations, ExternalTokenError, Jwks};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::RwLock;

pub use flow::routes;

use crate::{
    config::{OAuthProvider, OidcProvider, ProviderSettings},
    error::{ApiError, ApiResult},
};

/// Largest answer read from a provider.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// A provider's JWKS is refetched for an unknown key id at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(1);
/// Tolerated clock skew between Pharos and a provider.
const LEEWAY_SECS: i64 = 60;

/// `oidc` or `oauth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect.
    Oidc,
    /// OAuth 2.0 with a user-info endpoint.
    OAuth,
}

impl ProviderKind {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::OAuth => "oauth",
        }
    }
}

/// Who a provider says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The provider's issuer (OIDC) or authorization URL (OAuth).
    pub issuer: String,
    /// The provider's stable id of the user.
    pub subject: String,
    /// The Pharos user name.
    pub login: String,
    /// E-mail, when shared.
    pub email: Option<String>,
    /// Display name, when shared.
    pub display_name: Option<String>,
    /// The groups the provider put the user in (for service ownership).
    pub groups: Vec<String>,
}

/// The most groups kept from a provider's answer.
pub const MAX_GROUPS: usize = 64;

/// The endpoints of a provider.
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    #[serde(default)]
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    jwks_uri: String,
}

#[derive(Default)]
struct KeyCache {
    jwks: Option<Arc<Jwks>>,
    fetched: Option<Instant>,
}

/// One configured provider.
pub struct Provider {
    kind: ProviderKind,
    slug: String,
    client_id: String,
    client_secret: String,
    redirect_uri: Option<String>,
    scopes: Vec<String>,
    pkce: bool,
    url_params: Vec<(String, String)>,
    login_field: Option<String>,
    /// The claim (OIDC) or user-info field (OAuth) with the user's groups.
    groups_field: String,
    /// OIDC: the configured issuer and where its discovery document is.
    issuer: String,
    discovery_url: Option<String>,
    /// OAuth: fixed; OIDC: discovered once.
    endpoints: RwLock<Option<Arc<Endpoints>>>,
    keys: RwLock<KeyCache>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Provider({}/{})", self.kind.as_str(), self.slug)
    }
}

impl Provider {
    fn oidc(settings: &OidcProvider) -> Self {
        let discovery_url = settings.discovery_url.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/openid-configuration",
                settings.issuer.trim_end_matches('/')
            )
        });
        Self {
            kind: ProviderKind::Oidc,
            slug: settings.slug_id.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_uri: settings.redirect_uri.clone(),
            scopes: settings.scopes.clone(),
            pkce: !settings.disable_pkce,
            url_params: settings.url_params.clone().into_iter().collect(),
            login_field: settings.login_claim.clone(),
            groups_field: settings
                .groups_claim
                .clone()
                .unwrap_or_else(|| "groups".to_owned()),
            discovery_url: Some(discovery_url),
            issuer: settings.issuer.clone(),
            endpoints: RwLock::default(),
            keys: RwLock::default(),
        }
    }

    fn oauth(settings: &OAuthProvider) -> Self {
        let endpoints = Endpoints {
            issuer: settings.auth_url.clone(),
            authorization_endpoint: settings.auth_url.clone(),
            token_endpoint: settings.token_url.clone(),
            userinfo_endpoint: Some(settings.user_infos_url.clone()),
            jwks_uri: String::new(),
        };
        Self {
            kind: ProviderKind::OAuth,
            slug: settings.slug_id.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_uri: settings.redirect_uri.clone(),
            scopes: settings.scopes.clone(),
            pkce: true,
            url_params: Vec::new(),
            login_field: settings.custom_login_property.clone(),
            groups_field: "groups".to_owned(),
            issuer: settings.auth_url.clone(),
            discovery_url: None,
            endpoints: RwLock::new(Some(Arc::new(endpoints))),
            keys: RwLock::default(),
        }
    }

    /// `(kind, slug)` for the session's `pkd` and `pid` claims.
    pub fn origin(&self) -> (&'static str, &str) {
        (self.kind.as_str(), &self.slug)
    }

    /// `oidc/<slug>`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.slug)
    }

    async fn endpoints(&self, client: &reqwest::Client) -> ApiResult<Arc<Endpoints>> {
        if let Some(endpoints) = self.endpoints.read().await.as_ref() {
            return Ok(Arc::clone(endpoints));
        }
        let url = self.discovery_url.clone().unwrap_or_default();
        let document: Endpoints = serde_json::from_value(fetch_json(client.get(&url)).await?)
            .map_err(|e| upstream(format!("the discovery document {url} is incomplete: {e}")))?;
        if document.issuer.trim_end_matches('/') != self.issuer.trim_end_matches('/') {
            return Err(upstream(format!(
                "the discovery document names issuer {:?}, the config {:?}",
                document.issuer, self.issuer
            )));
        }
        let document = Arc::new(document);
        *self.endpoints.write().await = Some(Arc::clone(&document));
        Ok(document)
    }

    async fn jwks(&self, client: &reqwest::Client, refetch: bool) -> ApiResult<Arc<Jwks>> {
        {
            let cache = self.keys.read().await;
            let recent = cache
                .fetched
                .is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL);
            if let Some(jwks) = &cache.jwks
                && (!refetch || recent)
            {
                return Ok(Arc::clone(jwks));
            }
        }
        let endpoints = self.endpoints(client).await?;
        let jwks: Jwks = serde_json::from_value(fetch_json(client.get(&endpoints.jwks_uri)).await?)
            .map_err(|e| upstream(format!("the provider's key set is invalid: {e}")))?;
        let jwks = Arc::new(jwks);
        let mut cache = self.keys.write().await;
        cache.jwks = Some(Arc::clone(&jwks));
        cache.fetched = Some(Instant::now());
        Ok(jwks)
    }

    /// Verifies a JWT signed by this provider (an ID token, or a bearer access token meant
    /// for Pharos), refetching the keys once when it names an unknown one.
    async fn verify(
        &self,
        client: &reqwest::Client,
        token: &str,
    ) -> ApiResult<external::ExternalClaims> {
        let expect = Expectations {
            issuer: self.issuer.clone(),
            audience: self.client_id.clone(),
            leeway_secs: LEEWAY_SECS,
        };
        let now = chrono::Utc::now().timestamp();
        let refused = |e: ExternalTokenError| {
            ApiError::Unauthorized(format!("{e} (provider {})", self.label()))
        };
        let jwks = self.jwks(client, false).await?;
        match external::verify(token, &jwks, &expect, now) {
            Err(ExternalTokenError::UnknownKey(_)) => {
                let jwks = self.jwks(client, true).await?;
                external::verify(token, &jwks, &expect, now).map_err(refused)
            }
            other => other.map_err(refused),
        }
    }

    /// The groups a provider's claims name: a list of strings (or one string), at most
    /// [`MAX_GROUPS`] of at most 256 bytes each (they travel in every access token).
    pub(super) fn groups_from(&self, claims: &Value) -> Vec<String> {
        let as_text = |v: &Value| v.as_str().map(str::trim).map(str::to_owned);
        let groups: Vec<String> = match claims.get(&self.groups_field) {
            Some(Value::Array(values)) => values.iter().filter_map(as_text).collect(),
            Some(value) => as_text(value).into_iter().collect(),
            None => Vec::new(),
        };
        groups
            .into_iter()
            .filter(|g| !g.is_empty() && g.len() <= 256)
            .take(MAX_GROUPS)
            .collect()
    }

    /// The Pharos user name from a provider's claims.
    fn login_from(&self, claims: &Value) -> Option<String> {
        let defaults: &[&str] = match self.kind {
            ProviderKind::Oidc => &["preferred_username", "email", "sub"],
            ProviderKind::OAuth => &["login", "username", "preferred_username", "email"],
        };
        let field = self.login_field.as_deref();
        field
            .into_iter()
            .chain(defaults.iter().copied())
            .find_map(|name| claims.get(name).and_then(Value::as_str))
            .map(|login| login.trim().to_lowercase())
            .filter(|login| !login.is_empty())
    }
}

fn upstream(message: String) -> ApiError {
    ApiError::BadGateway(format!("login provider: {message}"))
}

async fn fetch_json(request: reqwest::RequestBuilder) -> ApiResult<Value> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| upstream(format!("cannot reach it: {e}")))?;
    let status = response.status();
    let url = response.url().clone();
    let body = read_limited(response).await?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(upstream(format!(
            "{url} answered {status}: {}",
            text.chars().take(300).collect::<String>()
        )));
    }
    serde_json::from_slice(&body).map_err(|e| upstream(format!("{url} did not answer JSON: {e}")))
}

async fn read_limited(mut response: reqwest::Response) -> ApiResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| upstream(format!("reading its answer: {e}")))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(upstream("its answer is larger than 1 MiB".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Every configured provider, with the HTTP client that talks to them.
pub struct ExternalProviders {
    providers: Vec<Arc<Provider>>,
    client: reqwest::Client,
    /// Bearer tokens already mapped to a user: `(issuer, subject)` → user name, so a request
    /// does not write the user row again.
    synced: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for ExternalProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.providers).finish()
    }
}

/// Users remembered by [`ExternalProviders::synced`]; past it the map starts over.
const MAX_SYNCED: usize = 10_000;

impl ExternalProviders {
    /// The providers of `settings`.
    pub fn new(settings: &ProviderSettings) -> Self {
        let providers = settings
            .oidc
            .iter()
            .map(Provider::oidc)
            .chain(settings.oauth.iter().map(Provider::oauth))
            .map(Arc::new)
            .collect();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            providers,
            client,
            synced: Mutex::default(),
        }
    }

    /// The provider `kind`/`slug`.
    pub fn find(&self, kind: &str, slug: &str) -> Option<Arc<Provider>> {
        self.providers
            .iter()
            .find(|p| p.kind.as_str() == kind && p.slug == slug)
            .cloned()
    }

    /// The OIDC provider that issued `token`, judged by its (unverified) `iss`.
    pub fn issuer_of(&self, token: &str) -> Option<Arc<Provider>> {
        // Most deployments have no OIDC provider: no token needs decoding then.
        if !self.providers.iter().any(|p| p.kind == ProviderKind::Oidc) {
            return None;
        }
        let issuer = external::unverified_issuer(token)?;
        self.providers
            .iter()
            .find(|p| {
                p.kind == ProviderKind::Oidc
                    && p.issuer.trim_end_matches('/') == issuer.trim_end_matches('/')
            })
            .cloned()
    }

    /// Checks a bearer JWT of `provider` and says who it stands for.
    pub async fn identify_bearer(
        &self,
        provider: &Provider,
        token: &str,
    ) -> ApiResult<ExternalIdentity> {
        let claims = provider.verify(&self.client, token).await?;
        identity_from_claims(provider, &claims)
    }

    /// The user name a bearer identity was synced to before, if any.
    pub fn synced_user(&self, identity: &ExternalIdentity) -> Option<String> {
        let synced = self.synced.lock().ok()?;
        synced
            .get(&(identity.issuer.clone(), identity.subject.clone()))
            .cloned()
    }

    /// Remembers that `identity` is the user `login`.
    pub fn remember(&self, identity: &ExternalIdentity, login: &str) {
        if let Ok(mut synced) = self.synced.lock() {
            if synced.len() >= MAX_SYNCED {
                synced.clear();
            }
            synced.insert(
                (identity.issuer.clone(), identity.subject.clone()),
                login.to_owned(),
            );
        }
    }

    /// The client used for the providers.
    fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `{slug_id, name}` of each provider of `kind`, for `/api/config` and the login page.
    pub fn listed(settings: &ProviderSettings) -> Value {
        let brief = |slug: &str, name: &str| serde_json::json!({"slug_id": slug, "name": name});
        serde_json::json!({
            "oidc": settings.oidc.iter().map(|p| brief(&p.slug_id, &p.name)).collect::<Vec<_>>(),
            "oauth": settings.oauth.iter().map(|p| brief(&p.slug_id, &p.name)).collect::<Vec<_>>(),
        })
    }
}

fn identity_from_claims(
    provider: &Provider,
    claims: &external::ExternalClaims,
) -> ApiResult<ExternalIdentity> {
    let as_json = serde_json::to_value(claims).unwrap_or_default();
    let login = provider.login_from(&as_json).ok_or_else(|| {
        ApiError::Unauthorized(format!(
            "the provider {} named no user (no preferred_username, email or sub claim)",
            provider.label()
        ))
    })?;
    Ok(ExternalIdentity {
        issuer: claims.iss.clone(),
        subject: claims.sub.clone(),
        login,
        email: claims.email.clone(),
        display_name: claims.name.clone(),
        groups: provider.groups_from(&as_json),
    })
}
