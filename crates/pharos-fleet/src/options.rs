//! Tunables of the fleet ([`FleetOptions`]) and the filters of the cluster list ([`ListFilter`]).

use std::time::Duration;

use crate::error::FleetError;
use crate::model::{ClusterType, ClusterView, HealthState};

/// How often and how patiently one type of cluster is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTiming {
    /// Time between two checks.
    pub interval: Duration,
    /// Longest a check (and discovery) may take.
    pub timeout: Duration,
}

impl CheckTiming {
    const fn secs(interval: u64, timeout: u64) -> Self {
        Self {
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(timeout),
        }
    }
}

/// The fleet's tunables.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetOptions {
    /// Hub clusters (default every 15 s, 5 s timeout).
    pub hub: CheckTiming,
    /// Spoke clusters (30 s, 10 s).
    pub spoke: CheckTiming,
    /// Edge clusters (60 s, 15 s).
    pub edge: CheckTiming,
    /// Far-edge clusters (120 s, 30 s).
    pub far_edge: CheckTiming,
    /// Status transitions kept per cluster.
    pub history: usize,
    /// Largest answer read from a cluster during checks and discovery.
    pub max_answer_bytes: usize,
    /// Events kept for the slowest subscriber before it loses the oldest.
    pub event_capacity: usize,
    /// Checks running at once, over all clusters.
    pub max_concurrent_checks: usize,
    /// Alerts kept from Alertmanager webhooks (the resolved longest ago are dropped first).
    pub max_alerts: usize,
    /// Alerts one webhook delivery may carry.
    pub max_alerts_per_webhook: usize,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            hub: CheckTiming::secs(15, 5),
            spoke: CheckTiming::secs(30, 10),
            edge: CheckTiming::secs(60, 15),
            far_edge: CheckTiming::secs(120, 30),
            history: 50,
            max_answer_bytes: 1024 * 1024,
            event_capacity: 1024,
            max_concurrent_checks: 32,
            max_alerts: 10_000,
            max_alerts_per_webhook: 1_000,
        }
    }
}

impl FleetOptions {
    /// The timing of `cluster_type`.
    pub fn timing(&self, cluster_type: ClusterType) -> CheckTiming {
        match cluster_type {
            ClusterType::Hub => self.hub,
            ClusterType::Spoke => self.spoke,
            ClusterType::Edge => self.edge,
            ClusterType::FarEdge => self.far_edge,
        }
    }

    /// How often the checker looks for due clusters: a quarter of the shortest interval,
    /// between 50 ms and 1 s.
    pub fn tick(&self) -> Duration {
        ClusterType::ALL
            .iter()
            .map(|t| self.timing(*t).interval / 4)
            .min()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }
}

/// Filters and page of `GET /api/v1/clusters`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListFilter {
    /// Only this type.
    pub cluster_type: Option<ClusterType>,
    /// Only clusters in this state.
    pub state: Option<HealthState>,
    /// Only this region.
    pub region: Option<String>,
    /// Only clusters with all these labels.
    pub labels: Vec<(String, String)>,
    /// Page size (1..=1000, default 100).
    pub limit: usize,
    /// Clusters skipped before the page.
    pub offset: usize,
}

/// Default and largest page.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 1000;

impl Default for ListFilter {
    fn default() -> Self {
        Self {
            cluster_type: None,
            state: None,
            region: None,
            labels: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl ListFilter {
    /// Reads `type`, `status`, `region`, `label` (`k=v`, repeatable), `limit`, `offset`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FleetError> {
        let mut filter = Self::default();
        for (key, value) in pairs {
            match key {
                "type" => filter.cluster_type = Some(value.parse()?),
                "status" => filter.state = Some(value.parse()?),
                "region" => filter.region = Some(value.to_owned()),
                "label" => {
                    let (k, v) = value.split_once('=').ok_or_else(|| {
                        FleetError::Invalid(format!(
                            "label \"{value}\" is not a filter: use label=key=value"
                        ))
                    })?;
                    filter.labels.push((k.to_owned(), v.to_owned()));
                }
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            FleetError::Invalid(format!(
                                "limit \"{value}\" must be a number from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                "offset" => {
                    filter.offset = value.parse().map_err(|_| {
                        FleetError::Invalid(format!("offset \"{value}\" must be a number from 0"))
                    })?;
                }
                other => {
                    return Err(FleetError::Invalid(format!(
                        "unknown filter \"{other}\": use type, status, region, label, limit or offset"
                    )));
                }
            }
        }
        Ok(filter)
    }

    /// Whether `view` passes the filters.
    pub fn matches(&self, view: &ClusterView) -> bool {
        self.cluster_type
            .is_none_or(|t| view.spec.cluster_type == t)
            && self.state.is_none_or(|s| view.status.state == s)
            && self
                .region
                .as_ref()
                .is_none_or(|r| view.spec.region.as_ref() == Some(r))
            && self
                .labels
                .iter()
                .all(|(k, v)| view.spec.labels.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filters_parse_with_messages() {
        let filter = ListFilter::from_pairs([
            ("type", "edge"),
            ("label", "env=prod"),
            ("limit", "5"),
            ("offset", "10"),
        ])
        .unwrap();
        assert_eq!(filter.cluster_type, Some(ClusterType::Edge));
        assert_eq!(filter.labels, vec![("env".into(), "prod".into())]);
        assert_eq!((filter.limit, filter.offset), (5, 10));
        for (bad, says) in [
            (("limit", "0"), "from 1"),
            (("label", "env"), "label=key=value"),
            (("status", "sad"), "healthy"),
            (("colour", "x"), "unknown filter"),
        ] {
            let error = ListFilter::from_pairs([bad]).unwrap_err().to_string();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_tick_follows_the_shortest_interval() {
        assert_eq!(FleetOptions::default().tick(), Duration::from_secs(1));
        let fast = FleetOptions {
            hub: CheckTiming {
                interval: Duration::from_millis(100),
                timeout: Duration::from_millis(50),
            },
            ..FleetOptions::default()
        };
        assert_eq!(fast.tick(), Duration::from_millis(50));
    }
}
