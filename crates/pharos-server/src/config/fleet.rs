//! `fleet:`: how the cluster registry checks its clusters (interval and timeout per cluster
//! type), how much it keeps and reads, and the event bus size. See docs/user/fleet.md.

use std::time::Duration;

use pharos_fleet::{CheckTiming, FleetOptions};
use serde::{Deserialize, Serialize};

use super::duration_text;

/// `fleet.<type>`: one cluster type's health-check timing.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CheckTimingSettings {
    /// Time between two checks of one cluster.
    #[serde(with = "duration_text")]
    pub interval: Duration,
    /// Longest one check (or discovery) may take.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
}

impl CheckTimingSettings {
    const fn secs(interval: u64, timeout: u64) -> Self {
        Self {
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(timeout),
        }
    }

    fn timing(self) -> CheckTiming {
        CheckTiming {
            interval: self.interval,
            timeout: self.timeout,
        }
    }
}

/// `fleet`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSettings {
    /// Run the background health checker (the binary starts it; checks by refresh always run).
    pub health_checks: bool,
    /// Hub clusters: every 15 s, 5 s timeout.
    pub hub: CheckTimingSettings,
    /// Spoke clusters: every 30 s, 10 s timeout.
    pub spoke: CheckTimingSettings,
    /// Edge clusters: every 60 s, 15 s timeout.
    pub edge: CheckTimingSettings,
    /// Far-edge clusters: every 120 s, 30 s timeout.
    pub far_edge: CheckTimingSettings,
    /// Status transitions kept per cluster (`GET /api/v1/clusters/{id}/status`).
    pub status_history: usize,
    /// Largest answer read from a cluster during a check or discovery, in bytes.
    pub max_answer_bytes: usize,
    /// Events kept for the slowest subscriber of `/api/v1/events` before it loses the oldest.
    pub event_buffer: usize,
    /// Health checks running at once.
    pub max_concurrent_checks: usize,
    /// Comment line sent on idle event streams to keep proxies from closing them.
    #[serde(with = "duration_text")]
    pub event_heartbeat: Duration,
    /// How often `GPU_UPDATE` events are published while anyone subscribes (`0s`: never).
    #[serde(with = "duration_text")]
    pub gpu_update_interval: Duration,
    /// `fleet.alerts`: the Alertmanager webhook intake.
    pub alerts: FleetAlertsSettings,
}

/// `fleet.alerts`.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FleetAlertsSettings {
    /// When set, `POST /api/v1/alerts/webhook` needs `Authorization: Bearer <this>`
    /// (Alertmanager's `http_config.authorization.credentials`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::redact"
    )]
    pub webhook_token: Option<String>,
    /// Alerts kept in memory; past that the alert resolved longest ago is dropped first.
    pub max_alerts: usize,
    /// Alerts one delivery may carry (set `max_alerts` on the Alertmanager receiver to match).
    pub max_alerts_per_webhook: usize,
    /// Largest webhook body, in bytes.
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for FleetAlertsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetAlertsSettings")
            .field(
                "webhook_token",
                &self.webhook_token.as_ref().map(|_| "<redacted>"),
            )
            .field("max_alerts", &self.max_alerts)
            .field("max_alerts_per_webhook", &self.max_alerts_per_webhook)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl Default for FleetAlertsSettings {
    fn default() -> Self {
        Self {
            webhook_token: None,
            max_alerts: 10_000,
            max_alerts_per_webhook: 1_000,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Default for FleetSettings {
    fn default() -> Self {
        Self {
            health_checks: true,
            hub: CheckTimingSettings::secs(15, 5),
            spoke: CheckTimingSettings::secs(30, 10),
            edge: CheckTimingSettings::secs(60, 15),
            far_edge: CheckTimingSettings::secs(120, 30),
            status_history: 50,
            max_answer_bytes: 1024 * 1024,
            event_buffer: 1024,
            max_concurrent_checks: 32,
            event_heartbeat: Duration::from_secs(30),
            gpu_update_interval: Duration::from_secs(30),
            alerts: FleetAlertsSettings::default(),
        }
    }
}

impl FleetSettings {
    /// The fleet service's options.
    pub fn options(&self) -> FleetOptions {
        FleetOptions {
            hub: self.hub.timing(),
            spoke: self.spoke.timing(),
            edge: self.edge.timing(),
            far_edge: self.far_edge.timing(),
            history: self.status_history.max(1),
            max_answer_bytes: self.max_answer_bytes.max(1024),
            event_capacity: self.event_buffer.max(1),
            max_concurrent_checks: self.max_concurrent_checks.max(1),
            max_alerts: self.alerts.max_alerts.max(1),
            max_alerts_per_webhook: self.alerts.max_alerts_per_webhook.max(1),
        }
    }

    /// Timeouts must be positive and no longer than the interval.
    pub fn validate(&self) -> Result<(), String> {
        for (name, timing) in [
            ("hub", self.hub),
            ("spoke", self.spoke),
            ("edge", self.edge),
            ("far_edge", self.far_edge),
        ] {
            if timing.timeout.is_zero() || timing.interval < timing.timeout {
                return Err(format!(
                    "fleet.{name}: the timeout must be positive and at most the interval"
                ));
            }
        }
        Ok(())
    }
}
