//! Cluster credentials: a bearer token, basic auth or mTLS material. Parsed strictly (a wrong
//! shape says what to send), stored encrypted as the `ClusterCredentials` kind, never answered,
//! and turned into what an outbound request needs ([`Connection`]).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FleetError;

/// What to send, shown in every shape error.
const SHAPES: &str = "send {\"type\": \"bearer\", \"token\": \"...\"}, \
     {\"type\": \"basic\", \"username\": \"...\", \"password\": \"...\"} or \
     {\"type\": \"mtls\", \"cert_pem\": \"-----BEGIN CERTIFICATE-----...\", \"key_pem\": \"-----BEGIN PRIVATE KEY-----...\", \"ca_pem\": \"...\" (optional)}";

/// Largest token, password or PEM bundle.
const MAX_SECRET: usize = 64 * 1024;

/// Credentials of one cluster. `Debug` never prints the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// User name (no ':').
        username: String,
        /// Password.
        password: String,
    },
    /// A client certificate and key, optionally the CA that signed the cluster's certificate.
    Mtls {
        /// Client certificate chain, PEM.
        cert_pem: String,
        /// Client private key, PEM.
        key_pem: String,
        /// CA bundle to trust for the cluster, PEM.
        #[serde(default)]
        ca_pem: Option<String>,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.kind())
    }
}

impl Credentials {
    /// `bearer`, `basic` or `mtls`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bearer { .. } => "bearer",
            Self::Basic { .. } => "basic",
            Self::Mtls { .. } => "mtls",
        }
    }

    /// Reads and checks a request body; the error names the problem and the accepted shapes.
    pub fn parse(body: &Value) -> Result<Self, FleetError> {
        let bad = |why: String| FleetError::Invalid(format!("{why}; {SHAPES}"));
        let Some(kind) = body.get("type").and_then(Value::as_str) else {
            return Err(bad("credentials need a \"type\"".to_owned()));
        };
        if !matches!(kind, "bearer" | "basic" | "mtls") {
            return Err(bad(format!("credentials type \"{kind}\" is not known")));
        }
        let credentials: Credentials = serde_json::from_value(body.clone())
            .map_err(|e| bad(format!("{kind} credentials are malformed ({e})")))?;
        credentials.check().map_err(bad)?;
        Ok(credentials)
    }

    fn check(&self) -> Result<(), String> {
        let header_safe = |field: &str, value: &str| {
            if value.is_empty() {
                Err(format!("{field} must not be empty"))
            } else if value.len() > MAX_SECRET {
                Err(format!("{field} is longer than 64 KiB"))
            } else if value.chars().any(char::is_control) {
                Err(format!("{field} must not contain control characters"))
            } else {
                Ok(())
            }
        };
        match self {
            Self::Bearer { token } => header_safe("token", token),
            Self::Basic { username, password } => {
                header_safe("username", username)?;
                if username.contains(':') {
                    return Err("username must not contain ':'".to_owned());
                }
                header_safe("password", password)
            }
            Self::Mtls {
                cert_pem,
                key_pem,
                ca_pem,
            } => {
                let total = cert_pem.len() + key_pem.len() + ca_pem.as_ref().map_or(0, String::len);
                if total > MAX_SECRET {
                    return Err("the PEM material is longer than 64 KiB".to_owned());
                }
                let identity = format!("{cert_pem}\n{key_pem}");
                reqwest::Identity::from_pem(identity.as_bytes()).map_err(|e| {
                    format!("cert_pem and key_pem are not a PEM certificate and its key ({e})")
                })?;
                if let Some(ca) = ca_pem {
                    reqwest::Certificate::from_pem_bundle(ca.as_bytes())
                        .ok()
                        .filter(|certs| !certs.is_empty())
                        .ok_or_else(|| "ca_pem holds no PEM certificate".to_owned())?;
                }
                Ok(())
            }
        }
    }

    /// The headers every request to the cluster carries.
    pub fn headers(&self) -> Vec<(String, String)> {
        match self {
            Self::Bearer { token } => vec![("authorization".to_owned(), format!("Bearer {token}"))],
            Self::Basic { username, password } => {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                vec![("authorization".to_owned(), format!("Basic {encoded}"))]
            }
            Self::Mtls { .. } => Vec::new(),
        }
    }

    /// A client presenting the mTLS identity (`None` for header credentials).
    pub fn tls_client(&self, connect_timeout: Duration) -> Result<Option<reqwest::Client>, String> {
        let Self::Mtls {
            cert_pem,
            key_pem,
            ca_pem,
        } = self
        else {
            return Ok(None);
        };
        let identity = reqwest::Identity::from_pem(format!("{cert_pem}\n{key_pem}").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .identity(identity);
        if let Some(ca) = ca_pem {
            for certificate in
                reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| e.to_string())?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder.build().map(Some).map_err(|e| e.to_string())
    }
}

/// How to reach one cluster: its URLs, a client (with the mTLS identity when it has one) and the
/// headers with its credentials. The health checker uses it; so will the federated fan-out.
#[derive(Clone)]
pub struct Connection {
    /// The cluster's id.
    pub cluster: String,
    /// Base URL of its Prometheus API.
    pub prometheus: url::Url,
    /// Base URL of its Alertmanager.
    pub alertmanager: Option<url::Url>,
    /// The client to send with.
    pub client: reqwest::Client,
    /// Headers to add to every request (credentials).
    pub headers: Vec<(String, String)>,
    /// Set for a cluster in the embedded store: asked in process, not over HTTP.
    pub embedded: Option<crate::embedded::EmbeddedScope>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers carry credentials: never printed.
        write!(f, "Connection({} at {})", self.cluster, self.prometheus)
    }
}

impl Connection {
    /// The cluster's Prometheus API as a query backend with `timeout` per request.
    pub fn prometheus_backend(&self, timeout: Duration) -> pharos_query::PrometheusHttp {
        pharos_query::PrometheusHttp::new(
            self.client.clone(),
            self.prometheus.clone(),
            self.headers.clone(),
            timeout,
            format!("cluster {}", self.cluster),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_are_checked_and_errors_say_what_to_send() {
        let bearer = Credentials::parse(&json!({"type": "bearer", "token": "t0k"})).unwrap();
        assert_eq!(bearer.headers()[0].1, "Bearer t0k");
        let basic = Credentials::parse(&json!({"type": "basic", "username": "u", "password": "p"}))
            .unwrap();
        assert_eq!(basic.headers()[0].1, "Basic dTpw");
        for bad in [
            json!({"token": "x"}),
            json!({"type": "kerberos"}),
            json!({"type": "bearer"}),
            json!({"type": "bearer", "token": ""}),
            json!({"type": "bearer", "token": "a\r\nX-Evil: 1"}),
            json!({"type": "basic", "username": "a:b", "password": "p"}),
            json!({"type": "mtls", "cert_pem": "nope", "key_pem": "nope"}),
        ] {
            let error = Credentials::parse(&bad).unwrap_err().to_string();
            assert!(error.contains("\"type\": \"bearer\""), "{bad}: {error}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let bearer = Credentials::Bearer {
            token: "s3cret".into(),
        };
        assert!(!format!("{bearer:?}").contains("s3cret"));
    }
}
