//! Access logs of the simulated model servers, for latency SLOs from logs (issue 13): six
//! services, the three request/response models (`embeddings`, `reranker`, `fraud-detector`)
//! in the two production clusters. `prod-eu-1` exposes them through an Istio ingress gateway
//! (Envoy's default access-log format, source `sim-envoy`), `prod-us-1` through ingress-nginx
//! (`combined` + `$request_time`, source `sim-nginx`).
//!
//! Latency is log-normal per service (P95 about 120–200 ms, a little higher at the busy hours
//! of the cluster's day); status is mostly 200, 2 % 4xx, 0.5 % 5xx. The simulator's incidents
//! reach the logs: a latency spike on the model in that cluster makes its requests five to six
//! times slower (bucket P95 far above 300 ms), an error burst answers a quarter of them 5xx.
//!
//! * [`AccessLogs`] writes the live lines, request by request (about 1–2 per second per
//!   service), and [`loki_push_bodies`] packs them as Promtail would push them;
//! * [`AccessLogHistory`] gives past 5-minute buckets directly as the gauges the log intake
//!   would have written (`pharos_logs::final_bucket_samples` over latencies drawn from the
//!   same distribution), so a fresh start has a week of P95 without parsing millions of lines.

mod format;
mod history;
mod traffic;

use pharos_logs::{Entry, Format, PushRequest, SourceSettings, Stream, Timestamp};

use crate::incidents::Incident;
use crate::rng::Rng;

pub use history::AccessLogHistory;
use traffic::Profile;

/// The source of the nginx-fronted services (`?source=` and the metrics' `source` label).
pub const SIM_NGINX_SOURCE: &str = "sim-nginx";
/// The source of the Envoy-fronted services.
pub const SIM_ENVOY_SOURCE: &str = "sim-envoy";

/// One service whose access logs the simulator writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoLogService {
    /// The `service` label (and the stream label of the pushed lines).
    pub service: &'static str,
    /// The `source` label: [`SIM_NGINX_SOURCE`] or [`SIM_ENVOY_SOURCE`].
    pub source: &'static str,
    /// The format of the source's lines.
    pub format: Format,
    /// The Kubernetes namespace the model server runs in.
    pub namespace: &'static str,
    /// The cluster it runs in.
    pub cluster: &'static str,
    /// The InferenceService (model) behind it.
    pub model: &'static str,
    profile: Profile,
}

const fn service(
    service: &'static str,
    envoy: bool,
    cluster: &'static str,
    model: &'static str,
    profile: Profile,
) -> DemoLogService {
    DemoLogService {
        service,
        source: if envoy {
            SIM_ENVOY_SOURCE
        } else {
            SIM_NGINX_SOURCE
        },
        format: if envoy { Format::Envoy } else { Format::Nginx },
        namespace: crate::fleet::SERVING_NAMESPACE,
        cluster,
        model,
        profile,
    }
}

const fn profile(median_ms: f64, sigma: f64, peak_rps: f64) -> Profile {
    Profile {
        median_ms,
        sigma,
        peak_rps,
    }
}

/// The demo's services, half behind Envoy and half behind nginx. Normal P95 (median ·
/// e^(1.645 σ), ±8 % over the day): 150, 165, 121, 147, 170 and 124 ms.
pub const DEMO_LOG_SERVICES: &[DemoLogService] = &[
    service(
        "embeddings-eu",
        true,
        "prod-eu-1",
        "embeddings",
        profile(61.0, 0.55, 2.0),
    ),
    service(
        "reranker-eu",
        true,
        "prod-eu-1",
        "reranker",
        profile(88.0, 0.38, 1.4),
    ),
    service(
        "fraud-detector-eu",
        true,
        "prod-eu-1",
        "fraud-detector",
        profile(45.0, 0.6, 1.8),
    ),
    service(
        "embeddings-us",
        false,
        "prod-us-1",
        "embeddings",
        profile(55.0, 0.6, 2.0),
    ),
    service(
        "reranker-us",
        false,
        "prod-us-1",
        "reranker",
        profile(91.0, 0.38, 1.2),
    ),
    service(
        "fraud-detector-us",
        false,
        "prod-us-1",
        "fraud-detector",
        profile(50.0, 0.55, 1.6),
    ),
];

/// The log sources the demo's lines need in the intake: `sim-nginx` (nginx) and `sim-envoy`
/// (Envoy), the service named by the `service` stream label.
pub fn demo_log_sources() -> Vec<SourceSettings> {
    [
        (SIM_NGINX_SOURCE, Format::Nginx),
        (SIM_ENVOY_SOURCE, Format::Envoy),
    ]
    .into_iter()
    .map(|(name, format)| SourceSettings {
        format,
        ..SourceSettings::named(name)
    })
    .collect()
}

/// One access-log line of a demo service.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogLine {
    /// The service (an entry of [`DEMO_LOG_SERVICES`]).
    pub service: &'static DemoLogService,
    /// When the request happened (Unix ms).
    pub timestamp_ms: i64,
    /// The line, without a newline.
    pub line: String,
    /// The latency the line carries (ms).
    pub latency_ms: f64,
    /// The status the line carries.
    pub status: u16,
}

/// The line for one request to `service` at `t_ms`, drawn from `rng`.
fn line(
    service: &'static DemoLogService,
    t_ms: i64,
    incidents: &[Incident],
    rng: &mut Rng,
) -> AccessLogLine {
    let request = traffic::draw(service, t_ms, incidents, rng);
    let line = match service.format {
        Format::Envoy => format::envoy(service, t_ms, request, rng),
        _ => format::nginx(service, t_ms, request, rng),
    };
    AccessLogLine {
        service,
        timestamp_ms: t_ms,
        line,
        latency_ms: request.latency_ms,
        status: request.status,
    }
}

/// Requests per second of `service` at `t_ms` (a third of the peak at night).
fn rate(service: &DemoLogService, t_ms: i64) -> f64 {
    service.profile.peak_rps * (0.35 + 0.65 * traffic::load(service, t_ms))
}

/// The live access logs: each service's requests arrive as a Poisson process.
#[derive(Debug, Clone)]
pub struct AccessLogs {
    /// Per service: the time of its next request and its random stream.
    next: Vec<(i64, Rng)>,
}

impl AccessLogs {
    /// Logs whose first requests come right after `from_ms`.
    pub fn new(seed: u64, from_ms: i64) -> Self {
        let next = DEMO_LOG_SERVICES
            .iter()
            .enumerate()
            .map(|(index, service)| {
                let mut rng = Rng::derive(seed ^ from_ms as u64, 500 + index as u64);
                let first = from_ms + gap_ms(service, from_ms, &mut rng);
                (first, rng)
            })
            .collect();
        Self { next }
    }

    /// Every request before `to_ms` not written yet, in time order per service; `incidents`
    /// are the simulator's ([`crate::Simulator::incidents`]).
    pub fn lines_until(&mut self, to_ms: i64, incidents: &[Incident]) -> Vec<AccessLogLine> {
        let mut out = Vec::new();
        for (service, (next, rng)) in DEMO_LOG_SERVICES.iter().zip(self.next.iter_mut()) {
            while *next < to_ms {
                out.push(line(service, *next, incidents, rng));
                *next += gap_ms(service, *next, rng);
            }
        }
        out
    }
}

/// Time to the next request (exponential, ≥ 1 ms).
fn gap_ms(service: &DemoLogService, t_ms: i64, rng: &mut Rng) -> i64 {
    let mean_ms = 1000.0 / rate(service, t_ms);
    ((-(1.0 - rng.unit()).ln() * mean_ms) as i64).max(1)
}

/// The lines packed as Loki push requests (protobuf, snappy), one per source, as Promtail
/// ships them: a stream per service with labels `service`, `namespace`, `cluster` and `job`.
/// Returns (source, body) pairs for `LogIntake::push(BodyKind::LokiProtobuf, ...)` or
/// `POST /loki/api/v1/push?source=...`.
pub fn loki_push_bodies(lines: &[AccessLogLine]) -> Vec<(&'static str, Vec<u8>)> {
    let mut bodies = Vec::new();
    for source in [SIM_NGINX_SOURCE, SIM_ENVOY_SOURCE] {
        let streams: Vec<Stream> = DEMO_LOG_SERVICES
            .iter()
            .filter(|s| s.source == source)
            .filter_map(|service| {
                let entries: Vec<Entry> = lines
                    .iter()
                    .filter(|l| l.service.service == service.service)
                    .map(|l| Entry {
                        timestamp: Some(Timestamp {
                            seconds: l.timestamp_ms.div_euclid(1000),
                            nanos: i32::try_from(l.timestamp_ms.rem_euclid(1000) * 1_000_000)
                                .unwrap_or(0),
                        }),
                        line: l.line.clone(),
                        ..Entry::default()
                    })
                    .collect();
                let job = if source == SIM_ENVOY_SOURCE {
                    "istio-ingressgateway"
                } else {
                    "ingress-nginx"
                };
                (!entries.is_empty()).then(|| Stream {
                    labels: format!(
                        "{{service=\"{}\", namespace=\"{}\", cluster=\"{}\", job=\"{job}\"}}",
                        service.service, service.namespace, service.cluster
                    ),
                    entries,
                    hash: 0,
                })
            })
            .collect();
        if !streams.is_empty() {
            let request = PushRequest {
                streams,
                format: String::new(),
            };
            bodies.push((source, pharos_logs::encode_push_request(&request)));
        }
    }
    bodies
}

#[cfg(test)]
mod tests;
