//! The `local` global datasource: the embedded store, reached through the server's own
//! Prometheus API, so dashboards and the tenant-enforcing proxy use it like any Prometheus.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use pharos_model::Kind;
use serde_json::{Value, json};

use crate::identity::Caller;
use crate::{
    error::{ApiError, ApiResult},
    extract::IfMatch,
    resources::{ListParams, ResourceService},
};

/// Name of the global datasource for the embedded store.
pub const LOCAL_DATASOURCE: &str = "local";
const PROMETHEUS_PLUGIN: &str = "PrometheusDatasource";
const URL_POINTER: &str = "/spec/plugin/spec/proxy/spec/url";
/// The resolution the embedded store is declared to have. Perses never asks a Prometheus
/// datasource for a step finer than its `scrapeInterval` (1 minute when unset), and a chart's
/// newest point can lag by up to one step: 15 s (the simulator's tick and a typical scrape
/// interval) keeps live charts within the seed's 15 s freshness.
const SCRAPE_INTERVAL: &str = "15s";

/// What [`ensure_local_datasource`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalDatasourceOutcome {
    /// Created; `default` tells whether it became the default Prometheus datasource.
    Created {
        /// Whether it is the global default.
        default: bool,
    },
    /// Existed with another loopback port; its URL was updated.
    UrlUpdated {
        /// The URL before.
        previous: String,
    },
    /// Existed and already pointed at this server.
    Unchanged,
    /// Exists but points somewhere else (a user changed it): left alone.
    LeftAsConfigured,
}

/// The URL the server reaches itself at: the listen address, with a wildcard address
/// replaced by the loopback address of the same family.
pub fn local_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

/// Makes sure the `local` global datasource exists and points at `listen`. A new one becomes
/// the default Prometheus datasource unless another global one already is. An existing one
/// keeps every setting a user made; only a loopback URL with an old port is corrected.
pub async fn ensure_local_datasource(
    state: &crate::AppState,
    listen: SocketAddr,
) -> ApiResult<LocalDatasourceOutcome> {
    let url = local_url(listen);
    // The proxy's requests to this server carry the internal credential (see `identity`).
    state.identity.set_local_origin(url.clone());
    let resources = &state.resources;
    match resources
        .get(
            &Caller::system(),
            Kind::GlobalDatasource,
            None,
            LOCAL_DATASOURCE,
        )
        .await
    {
        Ok(existing) => update_url(resources, existing.document, &url).await,
        Err(ApiError::NotFound) => {
            let default = !other_default_exists(resources).await?;
            match resources
                .create(
                    &Caller::system(),
                    Kind::GlobalDatasource,
                    None,
                    document(&url, default),
                )
                .await
            {
                Ok(_) => Ok(LocalDatasourceOutcome::Created { default }),
                // Another replica created it meanwhile: same result.
                Err(ApiError::AlreadyExists) => Ok(LocalDatasourceOutcome::Unchanged),
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

async fn update_url(
    resources: &ResourceService,
    mut document: Value,
    url: &str,
) -> ApiResult<LocalDatasourceOutcome> {
    let current = document
        .pointer(URL_POINTER)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let plugin = document
        .pointer("/spec/plugin/kind")
        .and_then(Value::as_str);
    let Some(current) = current.filter(|_| plugin == Some(PROMETHEUS_PLUGIN)) else {
        return Ok(LocalDatasourceOutcome::LeftAsConfigured);
    };
    if current == url {
        return Ok(LocalDatasourceOutcome::Unchanged);
    }
    if !is_loopback_url(&current) {
        return Ok(LocalDatasourceOutcome::LeftAsConfigured);
    }
    if let Some(slot) = document.pointer_mut(URL_POINTER) {
        *slot = Value::from(url);
    }
    resources
        .update(
            &Caller::system(),
            Kind::GlobalDatasource,
            None,
            LOCAL_DATASOURCE,
            document,
            IfMatch::Any,
        )
        .await?;
    Ok(LocalDatasourceOutcome::UrlUpdated { previous: current })
}

async fn other_default_exists(resources: &ResourceService) -> ApiResult<bool> {
    let params = ListParams {
        kind: Some(PROMETHEUS_PLUGIN.to_owned()),
        default: Some(true),
        ..ListParams::default()
    };
    let listed = resources
        .list(&Caller::system(), Kind::GlobalDatasource, None, &params)
        .await?;
    Ok(!listed.is_empty())
}

fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    })
}

fn document(url: &str, default: bool) -> Value {
    json!({
        "kind": "GlobalDatasource",
        "metadata": {"name": LOCAL_DATASOURCE},
        "spec": {
            "default": default,
            "display": {
                "name": "Pharos (embedded)",
                "description": "The metrics store built into Pharos: remote-write, scrapes and the simulator land here."
            },
            "plugin": {
                "kind": PROMETHEUS_PLUGIN,
                "spec": {
                    "proxy": {"kind": "HTTPProxy", "spec": {"url": url}},
                    "scrapeInterval": SCRAPE_INTERVAL
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_become_loopback() {
        let url = |addr: &str| local_url(addr.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:9090"), "http://[::1]:9090");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80");
    }

    #[test]
    fn only_loopback_urls_count_as_ours() {
        assert!(is_loopback_url("http://127.0.0.1:8080"));
        assert!(is_loopback_url("http://localhost:1"));
        assert!(is_loopback_url("http://[::1]:1"));
        assert!(!is_loopback_url("http://prometheus:9090"));
        assert!(!is_loopback_url("not a url"));
    }
}
