//! The external identity settings under `security:`: OpenID Connect and OAuth 2.0 providers
//! (Perses' provider fields) and the Kubernetes API server that checks tokens and access in
//! `auth: kubernetes`.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use super::{duration_text, redact_text};

/// `security.providers`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    /// Logins with a password stored in Pharos (`auth: native` only).
    pub enable_native: bool,
    /// OpenID Connect providers.
    pub oidc: Vec<OidcProvider>,
    /// Plain OAuth 2.0 providers (a user-info endpoint names the user).
    pub oauth: Vec<OAuthProvider>,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            enable_native: true,
            oidc: Vec::new(),
            oauth: Vec::new(),
        }
    }
}

/// One OpenID Connect provider (Perses' `oidc` entry).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// The provider's id in URLs (`/api/auth/providers/oidc/{slug_id}/login`).
    pub slug_id: String,
    /// The label of its login button.
    pub name: String,
    /// The issuer URL; its `/.well-known/openid-configuration` names the endpoints.
    pub issuer: String,
    /// Where the discovery document is, when not under the issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    /// The client id registered at the provider (also the audience bearer tokens must name).
    pub client_id: String,
    /// The client secret (sent with HTTP Basic to the token endpoint).
    #[serde(default, serialize_with = "redact_text")]
    pub client_secret: String,
    /// The callback URL registered at the provider; by default built from the request's
    /// host: `<scheme>://<host>/api/auth/providers/oidc/<slug_id>/callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Scopes asked for.
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// Leave out PKCE (only for providers that reject it).
    #[serde(default)]
    pub disable_pkce: bool,
    /// Extra query parameters for the authorization request.
    #[serde(default)]
    pub url_params: BTreeMap<String, String>,
    /// The claim that gives the Pharos user name (default `preferred_username`, then
    /// `email`, then `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_claim: Option<String>,
    /// The claim listing the user's groups (default `groups`): owners named `group:<name>`
    /// of a service match them (docs/user/latency-slos.md). Groups never grant permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
}

fn default_oidc_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(str::to_owned).to_vec()
}

/// One OAuth 2.0 provider (Perses' `oauth` entry).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthProvider {
    /// The provider's id in URLs (`/api/auth/providers/oauth/{slug_id}/login`).
    pub slug_id: String,
    /// The label of its login button.
    pub name: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    #[serde(default, serialize_with = "redact_text")]
    pub client_secret: String,
    /// The authorization endpoint.
    pub auth_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The endpoint that tells who the access token belongs to.
    pub user_infos_url: String,
    /// The callback URL registered at the provider (default as for OIDC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Scopes asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The user-info field that names the user (default `login`, then `username`, then
    /// `preferred_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_login_property: Option<String>,
}

/// `security.kubernetes`: the API server `auth: kubernetes` asks. Defaults are those of a pod
/// (the service-account files and `KUBERNETES_SERVICE_HOST`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesSettings {
    /// The API server's URL; empty means `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`.
    pub api_server: String,
    /// PEM bundle the API server's certificate must chain to.
    pub ca_file: PathBuf,
    /// Pharos's own token for the reviews (re-read every minute: projected tokens rotate).
    pub token_file: PathBuf,
    /// Audiences a user's token must have (empty: the API server's own).
    pub audiences: Vec<String>,
    /// How long a review answer is reused.
    #[serde(with = "duration_text")]
    pub cache_ttl: Duration,
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        let account = PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount");
        Self {
            api_server: String::new(),
            ca_file: account.join("ca.crt"),
            token_file: account.join("token"),
            audiences: Vec::new(),
            cache_ttl: Duration::from_secs(30),
        }
    }
}

impl KubernetesSettings {
    /// The API server's URL (configured, else from the pod's environment).
    pub fn api_server_url(&self) -> Option<String> {
        if !self.api_server.is_empty() {
            return Some(self.api_server.trim_end_matches('/').to_owned());
        }
        let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".to_owned());
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        Some(format!("https://{host}:{port}"))
    }
}

impl ProviderSettings {
    /// Checks slugs (unique, usable in a URL) and URLs.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        let slugs = self
            .oidc
            .iter()
            .map(|p| ("oidc", &p.slug_id))
            .chain(self.oauth.iter().map(|p| ("oauth", &p.slug_id)));
        for (kind, slug) in slugs {
            if slug.is_empty()
                || !slug
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "security.providers.{kind}: slug_id {slug:?} must be letters, digits, '-' or '_'"
                ));
            }
            if !seen.insert((kind, slug.as_str())) {
                return Err(format!(
                    "security.providers.{kind}: slug_id {slug:?} is used twice"
                ));
            }
        }
        let urls =
            self.oidc
                .iter()
                .map(|p| ("issuer", &p.issuer))
                .chain(self.oauth.iter().flat_map(|p| {
                    [
                        ("auth_url", &p.auth_url),
                        ("token_url", &p.token_url),
                        ("user_infos_url", &p.user_infos_url),
                    ]
                }));
        for (field, url) in urls {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "security.providers: {field} {url:?} must be an http(s) URL"
                ));
            }
        }
        Ok(())
    }
}
