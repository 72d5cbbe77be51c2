//! OpenTelemetry traces over OTLP/HTTP (protobuf), off unless an endpoint is configured
//! (decision 0030, docs/user/tracing.md).
//!
//! The `tracing` spans of the server (HTTP requests, PromQL evaluation, datasource proxy, fleet
//! fan-out, rule groups, log intake, LLM calls) become OpenTelemetry spans through
//! `tracing-opentelemetry`, batched on the tokio runtime and sent to `<endpoint>/v1/traces`.
//! With no endpoint nothing of this is built: no exporter, no layer, and the global
//! propagator stays the no-op one, so outgoing requests carry no `traceparent`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::{Resource, runtime};
use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::{Layer, Registry};

/// The longest the exit waits for the last spans to reach the collector.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// The OTLP/HTTP path of traces under a base endpoint.
const TRACES_PATH: &str = "/v1/traces";

/// `tracing:` section of the config file. The standard `OTEL_*` variables win over it.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Base URL of an OTLP/HTTP receiver (`http://collector:4318`); spans go to
    /// `<url>/v1/traces`. Absent: tracing is off.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Share of new traces recorded (0.0 to 1.0); a request that arrives with a
    /// `traceparent` follows its caller's decision.
    pub sample_ratio: f64,
    /// Extra headers sent with every export (an API key of a hosted backend, a tenant id).
    pub headers: BTreeMap<String, String>,
}

impl std::fmt::Debug for TracingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are often API keys (`pharos config` prints this): names only.
        let headers: BTreeMap<&str, &str> = self
            .headers
            .keys()
            .map(|name| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("TracingConfig")
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("service_name", &self.service_name)
            .field("sample_ratio", &self.sample_ratio)
            .field("headers", &headers)
            .finish()
    }
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "pharos".to_owned(),
            sample_ratio: 1.0,
            headers: BTreeMap::new(),
        }
    }
}

/// What the exporter is built from, after the environment was applied (not `Debug`: the
/// headers may hold keys).
#[derive(Clone, PartialEq)]
pub struct Resolved {
    /// Full URL spans are POSTed to.
    pub traces_url: String,
    /// `service.name`.
    pub service_name: String,
    /// Clamped to 0.0..=1.0.
    pub sample_ratio: f64,
    /// Headers from the file (`OTEL_EXPORTER_OTLP_HEADERS` is added by the exporter itself).
    pub headers: HashMap<String, String>,
}

/// Applies the environment (`env` reads a variable) over `config`; `None` when tracing is off.
/// Precedence as everywhere in Pharos: environment over file over default. A signal-specific
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as is; a base endpoint (the file's, or
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) gets `/v1/traces` appended, as the OTLP specification says.
pub fn resolve(config: &TracingConfig, env: impl Fn(&str) -> Option<String>) -> Option<Resolved> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let traces_url = match env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        Some(url) => url.trim().to_owned(),
        None => {
            let base = env("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| {
                config
                    .otlp_endpoint
                    .clone()
                    .filter(|url| !url.trim().is_empty())
            })?;
            with_traces_path(base.trim())
        }
    };
    let service_name = env("OTEL_SERVICE_NAME")
        .or_else(|| Some(config.service_name.clone()).filter(|name| !name.trim().is_empty()))
        .unwrap_or_else(|| "pharos".to_owned());
    let sample_ratio = if config.sample_ratio.is_finite() {
        config.sample_ratio.clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some(Resolved {
        traces_url,
        service_name,
        sample_ratio,
        headers: config.headers.clone().into_iter().collect(),
    })
}

/// `base` with `/v1/traces` appended (once: a base already ending in it is kept).
fn with_traces_path(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

/// Flushes the batched spans when dropped (at the end of `serve`, on every path out of it).
#[derive(Debug, Default)]
pub struct TracingGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        // The SDK's shutdown blocks until the batch task on the runtime has exported; that task
        // needs a worker, so this one steps aside (block_in_place) and the wait is bounded: an
        // unreachable collector must not hold up the exit.
        let flush = move || {
            let (done, finished) = std::sync::mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name("otlp-shutdown".to_owned())
                .spawn(move || {
                    let _ = done.send(provider.shutdown());
                });
            match spawned {
                Ok(_) => finished
                    .recv_timeout(SHUTDOWN_TIMEOUT)
                    .map_err(|_| "timed out".to_owned())
                    .and_then(|outcome| outcome.map_err(|e| e.to_string())),
                Err(e) => Err(e.to_string()),
            }
        };
        let multi_thread = tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
        let outcome = if multi_thread {
            tokio::task::block_in_place(flush)
        } else {
            flush()
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "the last spans may not have reached the OTLP endpoint");
        }
    }
}

/// The OpenTelemetry layer for the subscriber, or why it could not be built (the server runs
/// on without traces then). Must run inside the tokio runtime: the batch task is spawned on it.
pub fn layer(
    resolved: &Resolved,
) -> Result<(Box<dyn Layer<Registry> + Send + Sync>, TracingGuard), String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(resolved.traces_url.clone())
        .with_headers(resolved.headers.clone())
        .build()
        .map_err(|e| {
            format!(
                "cannot build the OTLP exporter for {}: {e}",
                resolved.traces_url
            )
        })?;
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
    let resource = Resource::builder()
        .with_service_name(resolved.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            resolved.sample_ratio,
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("pharos");
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    // Spans at INFO and above, whatever the log level says; the exporter's own diagnostics
    // never become spans (they would feed back into the export).
    let filter = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("opentelemetry_http", LevelFilter::OFF);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter)
        .boxed();
    Ok((
        layer,
        TracingGuard {
            provider: Some(provider),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| pairs.get(name).cloned()
    }

    #[test]
    fn header_values_are_not_printed() {
        let config = TracingConfig {
            headers: BTreeMap::from([("x-api-key".to_owned(), "s3cret".to_owned())]),
            ..TracingConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(
            printed.contains("x-api-key") && !printed.contains("s3cret"),
            "{printed}"
        );
    }

    #[test]
    fn off_without_an_endpoint() {
        assert!(resolve(&TracingConfig::default(), env_of(&[])).is_none());
        let blank = TracingConfig {
            otlp_endpoint: Some(" ".to_owned()),
            ..TracingConfig::default()
        };
        assert!(resolve(&blank, env_of(&[])).is_none());
    }

    #[test]
    fn file_endpoint_gets_the_traces_path_once() {
        let config = TracingConfig {
            otlp_endpoint: Some("http://collector:4318/".to_owned()),
            ..TracingConfig::default()
        };
        let resolved = resolve(&config, env_of(&[])).unwrap_or_else(|| panic!("on"));
        assert_eq!(resolved.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(resolved.service_name, "pharos");
        assert!((resolved.sample_ratio - 1.0).abs() < f64::EPSILON);
        assert_eq!(with_traces_path("http://c/v1/traces"), "http://c/v1/traces");
    }

    #[test]
    fn environment_wins_over_the_file() {
        let config = TracingConfig {
            otlp_endpoint: Some("http://file:4318".to_owned()),
            service_name: "from-file".to_owned(),
            sample_ratio: 7.0,
            ..TracingConfig::default()
        };
        let base = resolve(
            &config,
            env_of(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
                ("OTEL_SERVICE_NAME", "from-env"),
            ]),
        )
        .unwrap_or_else(|| panic!("on"));
        assert_eq!(base.traces_url, "http://env:4318/v1/traces");
        assert_eq!(base.service_name, "from-env");
        assert!((base.sample_ratio - 1.0).abs() < f64::EPSILON, "clamped");
        let signal = resolve(
            &config,
            env_of(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:9999/custom",
                ),
            ]),
        )
        .unwrap_or_else(|| panic!("on"));
        assert_eq!(signal.traces_url, "http://traces:9999/custom");
        assert!(resolve(&config, env_of(&[("OTEL_SDK_DISABLED", "true")])).is_none());
    }
}
