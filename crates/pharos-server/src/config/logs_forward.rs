//! `logs.forward`: where the bucket gauges go besides the embedded store — a Prometheus (or
//! Thanos receive, Mimir, VictoriaMetrics) by remote-write, and a Pushgateway as seed 004 did.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_text;

/// `logs.forward`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogsForwardSettings {
    /// Remote-write 1.0 receiver, e.g. `http://prometheus:9090/api/v1/write`.
    pub remote_write: Option<ForwardTarget>,
    /// Pushgateway base URL, e.g. `http://pushgateway:9091`; each service is its own group
    /// (`/metrics/job/<job>/service/<service>`).
    pub pushgateway: Option<PushgatewayTarget>,
}

/// A remote-write receiver.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForwardTarget {
    /// The receiver's URL.
    pub url: String,
    /// `Authorization: Bearer`.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// How long one send may take.
    #[serde(default = "default_timeout", with = "duration_text")]
    pub timeout: Duration,
}

/// A Pushgateway.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PushgatewayTarget {
    /// Its base URL.
    pub url: String,
    /// The `job` of the groups.
    #[serde(default = "default_job")]
    pub job: String,
    /// How long one push may take.
    #[serde(default = "default_timeout", with = "duration_text")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_job() -> String {
    "pharos-logs".to_owned()
}

fn http_url(at: &str, url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{at} {url:?} is not a URL: {e}"))?;
    if matches!(parsed.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(format!("{at} {url:?} must be http:// or https://"))
    }
}

impl LogsForwardSettings {
    /// URLs usable, the job a valid label value.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(target) = &self.remote_write {
            http_url("logs.forward.remote_write.url", &target.url)?;
        }
        if let Some(target) = &self.pushgateway {
            http_url("logs.forward.pushgateway.url", &target.url)?;
            let job_ok = !target.job.is_empty()
                && target
                    .job
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !job_ok {
                return Err(format!(
                    "logs.forward.pushgateway.job {:?} must be letters, digits, '-', '_' or '.'",
                    target.job
                ));
            }
        }
        Ok(())
    }

    /// Whether anything is configured.
    pub fn any(&self) -> bool {
        self.remote_write.is_some() || self.pushgateway.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_targets_name_the_setting() {
        let settings: LogsForwardSettings = serde_saphyr::from_str(
            "remote_write: {url: 'ftp://x'}\npushgateway: {url: 'http://pgw:9091'}\n",
        )
        .unwrap();
        let error = settings.validate().unwrap_err();
        assert!(
            error.starts_with("logs.forward.remote_write.url"),
            "{error}"
        );
        let settings: LogsForwardSettings =
            serde_saphyr::from_str("pushgateway: {url: 'http://pgw:9091', job: 'a b'}\n").unwrap();
        let error = settings.validate().unwrap_err();
        assert!(error.contains("logs.forward.pushgateway.job"), "{error}");
        let fine: LogsForwardSettings = serde_saphyr::from_str(
            "remote_write: {url: 'http://prom:9090/api/v1/write', timeout: 5s}\n",
        )
        .unwrap();
        assert!(fine.validate().is_ok() && fine.any());
        assert_eq!(fine.remote_write.unwrap().timeout, Duration::from_secs(5));
    }
}
