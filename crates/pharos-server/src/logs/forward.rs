//! Sending the bucket gauges on (`logs.forward`): to a remote-write receiver as one
//! remote-write 1.0 request per publish, and to a Pushgateway as one group per service
//! (`/metrics/job/<job>/service@base64/<service>`, replaced with the newest value of each of its
//! series). Best effort: a failed send is logged and counted in
//! `pharos_logs_forward_errors_total{target}`, and the next publish sends newer values; nothing
//! is queued, so the embedded store stays the complete copy.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};
use pharos_logs::MetricSample;

use crate::config::LogsForwardSettings;

/// Sends published samples to the configured targets.
#[derive(Debug, Clone)]
pub struct Forwarder {
    settings: LogsForwardSettings,
    client: reqwest::Client,
}

/// The sorted label set of a sample (remote-write wants labels sorted by name).
fn labels_of(sample: &MetricSample) -> Vec<(&'static str, String)> {
    let mut labels = vec![
        ("__name__", sample.name.to_owned()),
        ("service", sample.service.clone()),
        ("source", sample.source.clone()),
    ];
    if let Some(namespace) = &sample.namespace {
        labels.push(("namespace", namespace.clone()));
    }
    if let Some(le) = sample.le_ms {
        labels.push(("le_ms", le.to_string()));
    }
    labels.sort_by_key(|(name, _)| *name);
    labels
}

/// One time series per label set, samples in time order.
pub(crate) fn write_request(samples: &[MetricSample]) -> WriteRequest {
    let mut series: BTreeMap<Vec<(&'static str, String)>, Vec<Sample>> = BTreeMap::new();
    for sample in samples {
        series.entry(labels_of(sample)).or_default().push(Sample {
            value: sample.value,
            timestamp: sample.timestamp_ms,
        });
    }
    WriteRequest {
        timeseries: series
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|s| s.timestamp);
                TimeSeries {
                    labels: labels
                        .into_iter()
                        .map(|(name, value)| Label::new(name, value))
                        .collect(),
                    samples,
                    histograms: vec![],
                }
            })
            .collect(),
        metadata: vec![],
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text exposition of each service's newest values (no timestamps: the Pushgateway
/// refuses them), by service.
pub(crate) fn pushgateway_groups(samples: &[MetricSample]) -> BTreeMap<String, String> {
    // service → metric name → labels (without service) → (timestamp, value)
    type Families = BTreeMap<&'static str, BTreeMap<String, (i64, f64)>>;
    let mut services: BTreeMap<String, Families> = BTreeMap::new();
    for sample in samples {
        let mut labels = format!("source=\"{}\"", escape(&sample.source));
        if let Some(namespace) = &sample.namespace {
            let _ = write!(labels, ",namespace=\"{}\"", escape(namespace));
        }
        if let Some(le) = sample.le_ms {
            let _ = write!(labels, ",le_ms=\"{le}\"");
        }
        let newest = services
            .entry(sample.service.clone())
            .or_default()
            .entry(sample.name)
            .or_default()
            .entry(labels)
            .or_insert((i64::MIN, 0.0));
        if sample.timestamp_ms >= newest.0 {
            *newest = (sample.timestamp_ms, sample.value);
        }
    }
    services
        .into_iter()
        .map(|(service, families)| {
            let mut text = String::new();
            for (name, series) in families {
                let _ = writeln!(text, "# TYPE {name} gauge");
                for (labels, (_, value)) in series {
                    let _ = writeln!(text, "{name}{{{labels}}} {value}");
                }
            }
            (service, text)
        })
        .collect()
}

impl Forwarder {
    /// A forwarder for `settings`; `None` when nothing is configured.
    pub fn new(settings: &LogsForwardSettings, client: reqwest::Client) -> Option<Self> {
        settings.any().then(|| Self {
            settings: settings.clone(),
            client,
        })
    }

    /// Sends `samples` to every target; failures are logged and counted.
    pub async fn send(&self, samples: &[MetricSample]) {
        if samples.is_empty() {
            return;
        }
        if let Some(target) = &self.settings.remote_write
            && let Err(error) = self.remote_write(target, samples).await
        {
            failed("remote_write", &error);
        }
        if let Some(target) = &self.settings.pushgateway {
            for (service, text) in pushgateway_groups(samples) {
                if let Err(error) = self.push(target, &service, text).await {
                    failed("pushgateway", &error);
                }
            }
        }
    }

    async fn remote_write(
        &self,
        target: &crate::config::ForwardTarget,
        samples: &[MetricSample],
    ) -> Result<(), String> {
        let body = encode_write_request(&write_request(samples)).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(&target.url)
            .timeout(target.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .header(reqwest::header::CONTENT_ENCODING, "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body);
        if let Some(token) = &target.bearer_token {
            request = request.bearer_auth(token);
        }
        answered(request.send().await, &target.url).await
    }

    async fn push(
        &self,
        target: &crate::config::PushgatewayTarget,
        service: &str,
        text: String,
    ) -> Result<(), String> {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(service);
        let url = format!(
            "{}/metrics/job/{}/service@base64/{encoded}",
            target.url.trim_end_matches('/'),
            target.job
        );
        let request = self
            .client
            .put(&url)
            .timeout(target.timeout)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(text);
        answered(request.send().await, &url).await
    }
}

async fn answered(
    response: Result<reqwest::Response, reqwest::Error>,
    url: &str,
) -> Result<(), String> {
    let response = response.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(format!(
        "{url} answered {status}: {}",
        body.chars().take(300).collect::<String>()
    ))
}

fn failed(target: &'static str, error: &str) {
    metrics::counter!("pharos_logs_forward_errors_total", "target" => target).increment(1);
    tracing::warn!(target_kind = target, %error, "cannot forward latency buckets");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &'static str, le: Option<u32>, t: i64, value: f64) -> MetricSample {
        MetricSample {
            name,
            service: "a\"b".to_owned(),
            source: "nginx".to_owned(),
            namespace: Some("team".to_owned()),
            le_ms: le,
            timestamp_ms: t,
            value,
        }
    }

    #[test]
    fn series_are_sorted_labels_with_samples_in_time_order() {
        let samples = [
            sample("pharos_service_requests", None, 20, 2.0),
            sample("pharos_service_requests", None, 10, 1.0),
            sample("pharos_service_fast_requests", Some(300), 10, 1.0),
        ];
        let request = write_request(&samples);
        assert_eq!(request.timeseries.len(), 2);
        let requests = request
            .timeseries
            .iter()
            .find(|s| {
                s.labels
                    .iter()
                    .any(|l| l.value == "pharos_service_requests")
            })
            .unwrap();
        let names: Vec<&str> = requests.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "namespace", "service", "source"]);
        let stamps: Vec<i64> = requests.samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(stamps, [10, 20]);
    }

    #[test]
    fn pushgateway_groups_keep_the_newest_value_per_series_without_timestamps() {
        let samples = [
            sample("pharos_service_requests", None, 20, 2.0),
            sample("pharos_service_requests", None, 10, 1.0),
            sample("pharos_service_fast_requests", Some(300), 10, 1.0),
        ];
        let groups = pushgateway_groups(&samples);
        let text = &groups["a\"b"];
        assert!(
            text.contains("pharos_service_requests{source=\"nginx\",namespace=\"team\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("le_ms=\"300\"} 1\n"), "{text}");
        assert_eq!(text.matches("# TYPE").count(), 2, "{text}");
    }
}
