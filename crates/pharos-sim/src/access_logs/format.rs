//! Access-log lines as the real proxies write them: nginx `combined` followed by
//! `$request_time` (seconds, millisecond resolution), and Envoy's default text format
//! (`%DURATION%` in ms), which Istio's ingress gateway also writes in this shape.

use chrono::DateTime;

use crate::rng::Rng;

use super::{DemoLogService, traffic::Request};

/// Clients calling the models.
const USER_AGENTS: [&str; 4] = [
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "kserve-client/0.15.2",
    "grpc-gateway/2.22 (reranker-pipeline)",
];

/// The request path of a model's predictions: KServe's v1 protocol for the Python model
/// server, the Open Inference Protocol (v2) for Triton.
fn path(service: &DemoLogService) -> String {
    if service.model == "embeddings" {
        format!("/v2/models/{}/infer", service.model)
    } else {
        format!("/v1/models/{}:predict", service.model)
    }
}

/// Response bytes: small JSON answers, embeddings a few KiB.
fn bytes_sent(service: &DemoLogService, request: Request, rng: &mut Rng) -> i64 {
    match request.status {
        200 if service.model == "embeddings" => rng.between(3_000, 6_200),
        200 => rng.between(180, 1_400),
        _ => rng.between(40, 160),
    }
}

/// A client address inside the cluster network.
fn client_ip(rng: &mut Rng) -> String {
    format!(
        "10.{}.{}.{}",
        rng.between(40, 47),
        rng.between(0, 255),
        rng.between(2, 254)
    )
}

/// An nginx `combined` line with `$request_time` appended.
pub(crate) fn nginx(
    service: &DemoLogService,
    t_ms: i64,
    request: Request,
    rng: &mut Rng,
) -> String {
    let time = DateTime::from_timestamp_millis(t_ms)
        .map(|t| t.format("%d/%b/%Y:%H:%M:%S +0000").to_string())
        .unwrap_or_default();
    let agent = USER_AGENTS[(rng.next_u64() % USER_AGENTS.len() as u64) as usize];
    format!(
        "{ip} - - [{time}] \"POST {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\" {seconds:.3}",
        ip = client_ip(rng),
        path = path(service),
        status = request.status,
        bytes = bytes_sent(service, request, rng),
        seconds = request.latency_ms / 1000.0,
    )
}

/// An Envoy default-format line.
pub(crate) fn envoy(
    service: &DemoLogService,
    t_ms: i64,
    request: Request,
    rng: &mut Rng,
) -> String {
    let time = DateTime::from_timestamp_millis(t_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let agent = USER_AGENTS[(rng.next_u64() % USER_AGENTS.len() as u64) as usize];
    let duration = request.latency_ms as i64;
    // A 503 without an upstream answer: "UF" (upstream connection failure), no service time.
    let (flags, upstream_time, upstream_host) = if request.status == 503 {
        ("UF", "-".to_owned(), "-".to_owned())
    } else {
        (
            "-",
            (duration - rng.between(0, 2)).max(0).to_string(),
            format!("10.100.{}.{}:8080", rng.between(0, 63), rng.between(2, 254)),
        )
    };
    let request_id = format!(
        "{}-{}-{}-{}-{}",
        rng.hex(8),
        rng.hex(4),
        rng.hex(4),
        rng.hex(4),
        rng.hex(12)
    );
    format!(
        "[{time}] \"POST {path} HTTP/1.1\" {status} {flags} {received} {sent} {duration} {upstream_time} \"{xff}\" \"{agent}\" \"{request_id}\" \"{model}.{namespace}.svc.cluster.local\" \"{upstream_host}\"",
        path = path(service),
        status = request.status,
        received = rng.between(120, 2_400),
        sent = bytes_sent(service, request, rng),
        xff = client_ip(rng),
        model = service.model,
        namespace = service.namespace,
    )
}
