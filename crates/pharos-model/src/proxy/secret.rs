//! Typed Secret spec, so the proxy can build `Authorization` headers.
//!
//! `Debug` output masks every credential, so a secret logged by mistake does not leak.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Placeholder shown instead of a credential.
const MASK: &str = "<secret>";

fn masked(value: &str) -> &'static str {
    if value.is_empty() { "" } else { MASK }
}

/// The spec of a Secret / GlobalSecret (validate it with `decode_resource` first).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSpec {
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// A raw `Authorization: <type> <credentials>` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<SecretAuthorization>,
    /// OAuth 2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuth>,
    /// TLS settings for the upstream connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

impl SecretSpec {
    /// The `Authorization` header value these credentials produce, if any:
    /// `Basic base64(username:password)` for basicAuth, `<type> <credentials>` (type
    /// `Bearer` by default) for authorization.
    ///
    /// Returns `None` for OAuth (needs a token exchange) and for credentials kept in
    /// files (`passwordFile`, `credentialsFile`), which this crate does not read.
    pub fn authorization_header(&self) -> Option<String> {
        if let Some(basic) = &self.basic_auth {
            if basic.password.is_empty() && !basic.password_file.is_empty() {
                return None;
            }
            let token = STANDARD.encode(format!("{}:{}", basic.username, basic.password));
            return Some(format!("Basic {token}"));
        }
        if let Some(authorization) = &self.authorization {
            if authorization.credentials.is_empty() {
                return None;
            }
            let scheme = match authorization.auth_type.trim() {
                "" => "Bearer",
                other => other,
            };
            return Some(format!("{scheme} {}", authorization.credentials));
        }
        None
    }
}

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSpec")
            .field("basic_auth", &self.basic_auth)
            .field("authorization", &self.authorization)
            .field("oauth", &self.oauth)
            .field("tls_config", &self.tls_config)
            .finish()
    }
}

/// `basicAuth`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password, inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// A file holding the password (Go Perses spells it `password_file`).
    #[serde(
        default,
        alias = "password_file",
        skip_serializing_if = "String::is_empty"
    )]
    pub password_file: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &masked(&self.password))
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// `authorization`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAuthorization {
    /// The scheme, `Bearer` when empty.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub auth_type: String,
    /// The credentials, inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials: String,
    /// A file holding the credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

impl fmt::Debug for SecretAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretAuthorization")
            .field("auth_type", &self.auth_type)
            .field("credentials", &masked(&self.credentials))
            .field("credentials_file", &self.credentials_file)
            .finish()
    }
}

/// `oauth` (client credentials flow).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth {
    /// The application's client id.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The application's secret, inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret: String,
    /// A file holding the application's secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    /// The token endpoint.
    #[serde(rename = "tokenURL")]
    pub token_url: String,
    /// Requested scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Extra parameters for the token request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, Vec<String>>,
    /// How the client credentials are sent (0 = auto-detect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_style: Option<i64>,
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth")
            .field("client_id", &self.client_id)
            .field("client_secret", &masked(&self.client_secret))
            .field("client_secret_file", &self.client_secret_file)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .field("endpoint_params", &self.endpoint_params)
            .field("auth_style", &self.auth_style)
            .finish()
    }
}

/// `tlsConfig`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    /// CA certificate (PEM text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate (PEM text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client key (PEM text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// CA certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Client key file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Server name for certificate verification.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Lowest TLS version (`TLS10` ... `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Highest TLS version (`TLS10` ... `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_version: String,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca", &masked(&self.ca))
            .field("cert", &masked(&self.cert))
            .field("key", &masked(&self.key))
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> SecretSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn basic_auth_becomes_a_basic_header() {
        let spec = parse(json!({"basicAuth": {"username": "u", "password": "p"}}));
        // base64("u:p") = dTpw
        assert_eq!(spec.authorization_header().as_deref(), Some("Basic dTpw"));
    }

    #[test]
    fn authorization_defaults_to_bearer_and_keeps_custom_types() {
        let bearer = parse(json!({"authorization": {"credentials": "tok"}}));
        assert_eq!(bearer.authorization_header().as_deref(), Some("Bearer tok"));
        let custom = parse(json!({"authorization": {"type": "Token", "credentials": "abc"}}));
        assert_eq!(custom.authorization_header().as_deref(), Some("Token abc"));
    }

    #[test]
    fn no_header_for_oauth_tls_only_or_file_credentials() {
        let oauth = parse(
            json!({"oauth": {"clientID": "id", "clientSecret": "s", "tokenURL": "https://idp/token"}}),
        );
        assert_eq!(oauth.authorization_header(), None);
        let tls = parse(json!({"tlsConfig": {"insecureSkipVerify": true}}));
        assert_eq!(tls.authorization_header(), None);
        let file = parse(json!({"basicAuth": {"username": "u", "password_file": "/run/pw"}}));
        assert_eq!(
            file.basic_auth.as_ref().map(|b| b.password_file.as_str()),
            Some("/run/pw")
        );
        assert_eq!(file.authorization_header(), None);
    }

    #[test]
    fn debug_output_masks_credentials() {
        let spec = parse(
            json!({"basicAuth": {"username": "alice", "password": "hunter2"}, "tlsConfig": {"key": "PRIVATE"}}),
        );
        let text = format!("{spec:?}");
        assert!(text.contains("alice"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("PRIVATE"), "{text}");
        assert!(text.contains("<secret>"), "{text}");
    }
}
