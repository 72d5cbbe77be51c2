//! The registry's data: what a client sends to register a cluster ([`ClusterInput`]), what is
//! stored ([`ClusterRecord`]), what is answered ([`ClusterView`]) and the health and capability
//! types. Validation lives here, with messages that say what to send instead.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::FleetError;

/// Where a cluster sits in the fleet; it sets how often and how patiently it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterType {
    /// The management cluster (checked most often).
    Hub,
    /// A workload cluster managed by the hub.
    Spoke,
    /// A cluster at the edge.
    Edge,
    /// A small cluster far out (slow links: checked least often).
    FarEdge,
}

impl ClusterType {
    /// Every type, in the order of the health-check table.
    pub const ALL: [ClusterType; 4] = [Self::Hub, Self::Spoke, Self::Edge, Self::FarEdge];

    /// The wire name (`hub`, `spoke`, `edge`, `far_edge`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Spoke => "spoke",
            Self::Edge => "edge",
            Self::FarEdge => "far_edge",
        }
    }
}

impl fmt::Display for ClusterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClusterType {
    type Err = FleetError;

    fn from_str(text: &str) -> Result<Self, FleetError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                FleetError::Invalid(format!(
                    "type \"{text}\" is not a cluster type: use hub, spoke, edge or far_edge"
                ))
            })
    }
}

/// The health of a cluster as the last check saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not checked yet (just registered, or this replica has just started).
    Unknown,
    /// `/-/ready` and a query both answered well and in time.
    Healthy,
    /// It answers, but slowly or with failing queries.
    Degraded,
    /// No answer, an answer that is not Prometheus', or no answer in time.
    Unreachable,
}

impl HealthState {
    /// Every state.
    pub const ALL: [HealthState; 4] = [
        Self::Unknown,
        Self::Healthy,
        Self::Degraded,
        Self::Unreachable,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unreachable => "unreachable",
        }
    }
}

impl FromStr for HealthState {
    type Err = FleetError;

    fn from_str(text: &str) -> Result<Self, FleetError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                FleetError::Invalid(format!(
                    "status \"{text}\" is not a health state: use unknown, healthy, degraded or unreachable"
                ))
            })
    }
}

/// The current health of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The state.
    pub state: HealthState,
    /// Why (the failing step and its error, or what was slow).
    pub reason: String,
    /// When the last check ended; `None` before the first.
    pub checked_at: Option<DateTime<Utc>>,
    /// How long the last check took.
    pub latency_ms: Option<u64>,
}

impl ClusterStatus {
    /// The status of a cluster nobody has checked yet.
    pub fn unknown() -> Self {
        Self {
            state: HealthState::Unknown,
            reason: "not checked yet".to_owned(),
            checked_at: None,
            latency_ms: None,
        }
    }
}

/// One change of state, kept in the status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusTransition {
    /// The state before.
    pub from: HealthState,
    /// The state after.
    pub to: HealthState,
    /// Why it changed.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// How long the check that saw the change took.
    pub latency_ms: Option<u64>,
}

/// The Prometheus API of a cluster, as discovery found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrometheusCapability {
    /// `/api/v1/status/buildinfo` answered.
    pub reachable: bool,
    /// The version it reported (Thanos and others may not report one).
    pub version: Option<String>,
}

/// What a cluster can answer, found on registration and refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The Prometheus API.
    pub prometheus: PrometheusCapability,
    /// NVIDIA DCGM exporter series are present (`count(DCGM_FI_DEV_GPU_UTIL) > 0`).
    pub dcgm: bool,
    /// How many GPUs report `DCGM_FI_DEV_GPU_UTIL` (`None` without DCGM).
    pub gpu_count: Option<u64>,
    /// The cluster's Alertmanager answers `/api/v2/status`.
    pub alertmanager: bool,
    /// kube-state-metrics series are present (`count(kube_pod_info) > 0`).
    pub kube_state_metrics: bool,
    /// When discovery last ran; `None` before the first run.
    pub discovered_at: Option<DateTime<Utc>>,
}

impl Capabilities {
    /// Whether `other` differs in anything but the time of discovery.
    pub fn differs_from(&self, other: &Capabilities) -> bool {
        (
            &self.prometheus,
            self.dcgm,
            self.gpu_count,
            self.alertmanager,
            self.kube_state_metrics,
        ) != (
            &other.prometheus,
            other.dcgm,
            other.gpu_count,
            other.alertmanager,
            other.kube_state_metrics,
        )
    }
}

/// The body of `POST /api/v1/clusters` and `PUT /api/v1/clusters/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterInput {
    /// The id (a DNS label); optional on PUT, where it must match the path.
    #[serde(default)]
    pub name: Option<String>,
    /// `hub`, `spoke`, `edge` or `far_edge`.
    #[serde(rename = "type")]
    pub cluster_type: Option<String>,
    /// Base URL of the cluster's Prometheus-compatible API (Prometheus, Thanos Query...).
    pub prometheus_url: Option<String>,
    /// Base URL of the cluster's Alertmanager.
    #[serde(default)]
    pub alertmanager_url: Option<String>,
    /// Free labels (for filters and, later, cluster selectors).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Region, free text.
    #[serde(default)]
    pub region: Option<String>,
}

/// The editable fields of a cluster, validated; the spec of the stored `Cluster` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// The type.
    #[serde(rename = "type")]
    pub cluster_type: ClusterType,
    /// Base URL of the Prometheus API (http or https, absolute).
    pub prometheus_url: String,
    /// Base URL of the Alertmanager.
    #[serde(default)]
    pub alertmanager_url: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
}

/// A cluster as stored: its spec plus the capabilities last discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// The id.
    pub name: String,
    /// Editable fields.
    pub spec: ClusterSpec,
    /// Last discovery's result.
    pub capabilities: Capabilities,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// When last written.
    pub updated_at: DateTime<Utc>,
}

/// Which credentials a cluster has, without the secret parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialsSummary {
    /// `bearer`, `basic` or `mtls`; absent when none are configured.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether any are configured.
    pub configured: bool,
}

/// A cluster as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterView {
    /// The id.
    pub name: String,
    /// The editable fields, flattened.
    #[serde(flatten)]
    pub spec: ClusterSpec,
    /// Current health.
    pub status: ClusterStatus,
    /// What it can answer.
    pub capabilities: Capabilities,
    /// Which credentials are configured (never the secrets).
    pub credentials: CredentialsSummary,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// Longest name, label key, region.
const MAX_NAME: usize = 63;
const MAX_LABELS: usize = 64;
const MAX_LABEL_VALUE: usize = 253;
const MAX_URL: usize = 2048;

/// Checks a cluster id: 1 to 63 lowercase letters, digits and `-`, starting and ending with a
/// letter or digit.
pub fn validate_name(name: &str) -> Result<(), FleetError> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if fine {
        Ok(())
    } else {
        Err(FleetError::Invalid(format!(
            "name \"{}\" is not a valid cluster id: use 1 to 63 lowercase letters, digits and '-', \
             starting and ending with a letter or digit",
            name.chars().take(80).collect::<String>()
        )))
    }
}

/// Checks a base URL: absolute http(s) with a host, no user info, query or fragment.
pub fn validate_url(field: &str, text: &str) -> Result<url::Url, FleetError> {
    let bad = |why: &str| {
        FleetError::Invalid(format!(
            "{field} \"{}\" {why}: send an absolute http:// or https:// URL such as \
             http://prometheus.example:9090",
            text.chars().take(120).collect::<String>()
        ))
    };
    if text.len() > MAX_URL {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("is not http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FleetError::Invalid(format!(
            "{field} must not carry credentials: send them to POST /api/v1/clusters/{{id}}/credentials"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a query or fragment"));
    }
    Ok(url)
}

fn validate_labels(labels: &BTreeMap<String, String>) -> Result<(), FleetError> {
    if labels.len() > MAX_LABELS {
        return Err(FleetError::Invalid(format!(
            "labels: at most {MAX_LABELS} labels"
        )));
    }
    for (key, value) in labels {
        let key_fine = !key.is_empty()
            && key.len() <= MAX_NAME
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
        if !key_fine {
            return Err(FleetError::Invalid(format!(
                "label key \"{}\" is not valid: 1 to 63 letters, digits, '_', '-', '.' or '/'",
                key.chars().take(80).collect::<String>()
            )));
        }
        if value.len() > MAX_LABEL_VALUE || value.chars().any(char::is_control) {
            return Err(FleetError::Invalid(format!(
                "label \"{key}\": the value must be at most {MAX_LABEL_VALUE} bytes without control characters"
            )));
        }
    }
    Ok(())
}

impl ClusterInput {
    /// Validates the body into the id and the spec. `path_name` is the id in the path (PUT).
    pub fn into_spec(self, path_name: Option<&str>) -> Result<(String, ClusterSpec), FleetError> {
        let name = match (self.name, path_name) {
            (Some(body), Some(path)) if body != path => {
                return Err(FleetError::Invalid(format!(
                    "the body names cluster \"{body}\" but the path names \"{path}\": a cluster cannot be renamed"
                )));
            }
            (_, Some(path)) => path.to_owned(),
            (Some(body), None) => body,
            (None, None) => return Err(FleetError::Invalid("name is required".to_owned())),
        };
        validate_name(&name)?;
        let cluster_type: ClusterType = self
            .cluster_type
            .ok_or_else(|| {
                FleetError::Invalid(
                    "type is required: one of hub, spoke, edge, far_edge".to_owned(),
                )
            })?
            .parse()?;
        let prometheus_url = self
            .prometheus_url
            .ok_or_else(|| FleetError::Invalid("prometheus_url is required".to_owned()))?;
        match crate::embedded::parse_location(&prometheus_url) {
            Some(location) => {
                location?;
            }
            None => {
                validate_url("prometheus_url", &prometheus_url)?;
            }
        }
        let alertmanager_url = self.alertmanager_url.filter(|u| !u.is_empty());
        if let Some(url) = &alertmanager_url {
            validate_url("alertmanager_url", url)?;
        }
        validate_labels(&self.labels)?;
        let region = self.region.filter(|r| !r.is_empty());
        if let Some(region) = &region
            && (region.len() > MAX_NAME || region.chars().any(char::is_control))
        {
            return Err(FleetError::Invalid(
                "region must be at most 63 bytes without control characters".to_owned(),
            ));
        }
        Ok((
            name,
            ClusterSpec {
                cluster_type,
                prometheus_url,
                alertmanager_url,
                labels: self.labels,
                region,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(json: serde_json::Value) -> ClusterInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn names_are_dns_labels() {
        for good in ["a", "hub-1", "x".repeat(63).as_str()] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Hub", "-a", "a-", "a_b", "a.b", "x".repeat(64).as_str()] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(validate_url("u", "http://p:9090").is_ok());
        assert!(validate_url("u", "https://thanos.example/prometheus").is_ok());
        for bad in [
            "p:9090",
            "ftp://p",
            "/relative",
            "http://user:pw@p",
            "http://p?x=1",
        ] {
            assert!(validate_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn input_validation_says_what_is_wrong() {
        let ok = input(serde_json::json!({"name": "hub", "type": "far_edge",
            "prometheus_url": "http://p:9090", "labels": {"env": "prod"}}))
        .into_spec(None)
        .unwrap();
        assert_eq!(ok.1.cluster_type, ClusterType::FarEdge);
        let bad_type = input(serde_json::json!({"name": "hub", "type": "moon",
            "prometheus_url": "http://p:9090"}))
        .into_spec(None)
        .unwrap_err();
        assert!(
            bad_type
                .to_string()
                .contains("hub, spoke, edge or far_edge")
        );
        let renamed = input(serde_json::json!({"name": "a", "type": "hub",
            "prometheus_url": "http://p:9090"}))
        .into_spec(Some("b"))
        .unwrap_err();
        assert!(renamed.to_string().contains("cannot be renamed"));
    }

    #[test]
    fn capability_changes_ignore_the_discovery_time() {
        let a = Capabilities {
            discovered_at: Some(Utc::now()),
            ..Capabilities::default()
        };
        let mut b = Capabilities::default();
        assert!(!a.differs_from(&b));
        b.dcgm = true;
        assert!(a.differs_from(&b));
    }
}
