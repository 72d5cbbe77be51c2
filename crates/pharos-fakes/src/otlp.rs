//! A fake OTLP/HTTP trace receiver (an OpenTelemetry Collector's `otlp` receiver, traces only):
//! `POST /v1/traces` with an `ExportTraceServiceRequest` as protobuf
//! (`application/x-protobuf`) or as OTLP JSON (`application/json`: ids as hex strings, enums as
//! numbers), answered `200` with an empty `ExportTraceServiceResponse` in the request's
//! encoding. Anything else is answered as the collector does: `415` for another content type,
//! `400` for a body that does not decode, `405` for another method.
//!
//! Every span received is kept, flattened, for assertions: name, kind, ids (hex, as W3C
//! `traceparent` writes them), attributes and its resource's attributes (values as text).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use prost::Message as _;

/// One span as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The span's name.
    pub name: String,
    /// `SpanKind` as its number (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; empty for a root span.
    pub parent_span_id: String,
    /// `Status.code` (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// The span's attributes, values as text (ints in decimal, arrays and maps as JSON).
    pub attributes: BTreeMap<String, String>,
    /// The attributes of the span's resource (`service.name`, ...).
    pub resource: BTreeMap<String, String>,
    /// The name of the instrumentation scope.
    pub scope: String,
}

impl ReceivedSpan {
    /// The attribute `key`, if present.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct Inner {
    spans: Vec<ReceivedSpan>,
    /// The `Content-Type` of every export request, in order.
    content_types: Vec<String>,
    /// Every request's headers named in `recorded_headers`, in order.
    headers: Vec<BTreeMap<String, String>>,
}

/// A running receiver.
#[derive(Clone, Debug)]
pub struct OtlpReceiver {
    inner: Arc<Mutex<Inner>>,
    base_url: String,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl OtlpReceiver {
    /// Starts a receiver on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let (listener, base_url) = crate::listen().await?;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/v1/traces", post(export))
            .with_state(Arc::clone(&inner));
        crate::spawn(listener, router);
        Ok(Self { inner, base_url })
    }

    /// `http://127.0.0.1:PORT`: the base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        lock(&self.inner).spans.clone()
    }

    /// How many export requests arrived (decodable or not).
    pub fn requests(&self) -> usize {
        lock(&self.inner).content_types.len()
    }

    /// The `Content-Type` of every export request.
    pub fn content_types(&self) -> Vec<String> {
        lock(&self.inner).content_types.clone()
    }

    /// The headers of every export request (names lower case; the exporter's own headers,
    /// such as an API key from `OTEL_EXPORTER_OTLP_HEADERS`, show here).
    pub fn request_headers(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.inner).headers.clone()
    }
}

/// `POST /v1/traces`.
async fn export(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut inner = lock(&inner);
        inner.content_types.push(content_type.clone());
        inner.headers.push(
            headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
        );
    }
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = match media.as_str() {
        "application/x-protobuf" => false,
        "application/json" => true,
        other => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content type {other:?}"),
            )
                .into_response();
        }
    };
    let request = match decode(&body, json) {
        Ok(request) => request,
        Err(error) => return (StatusCode::BAD_REQUEST, error).into_response(),
    };
    lock(&inner).spans.extend(flatten(&request));
    let response = ExportTraceServiceResponse::default();
    if json {
        (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response()
    }
}

/// The request in `body`, protobuf or OTLP JSON.
pub fn decode(body: &[u8], json: bool) -> Result<ExportTraceServiceRequest, String> {
    if json {
        serde_json::from_slice(body).map_err(|e| format!("not an OTLP JSON trace export: {e}"))
    } else {
        ExportTraceServiceRequest::decode(body)
            .map_err(|e| format!("not an ExportTraceServiceRequest: {e}"))
    }
}

/// Every span of `request` with its resource's attributes.
pub fn flatten(request: &ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &scope_spans.spans {
                spans.push(ReceivedSpan {
                    name: span.name.clone(),
                    kind: span.kind,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    status_code: span.status.as_ref().map_or(0, |s| s.code),
                    attributes: attributes(&span.attributes),
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    spans
}

fn attributes(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(text).unwrap_or_default(),
            )
        })
        .collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex::encode(b),
        Some(other) => serde_json::to_string(&AnyValue {
            value: Some(other.clone()),
        })
        .unwrap_or_default(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.to_owned())),
            }),
            ..KeyValue::default()
        }
    }

    fn request() -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", "pharos")],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "GET /api/v1/query".to_owned(),
                        kind: 2,
                        trace_id: vec![0xab; 16],
                        span_id: vec![0x01; 8],
                        attributes: vec![
                            string("http.route", "/api/v1/query"),
                            KeyValue {
                                key: "http.response.status_code".to_owned(),
                                value: Some(AnyValue {
                                    value: Some(Value::IntValue(200)),
                                }),
                                ..KeyValue::default()
                            },
                        ],
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn protobuf_and_json_bodies_give_the_same_spans() {
        let request = request();
        let from_protobuf = flatten(&decode(&request.encode_to_vec(), false).unwrap());
        let from_json = flatten(&decode(&serde_json::to_vec(&request).unwrap(), true).unwrap());
        assert_eq!(from_protobuf, from_json);
        let span = &from_protobuf[0];
        assert_eq!(span.trace_id, "ab".repeat(16));
        assert_eq!(span.span_id, "0101010101010101");
        assert_eq!(span.parent_span_id, "");
        assert_eq!(span.attribute("http.response.status_code"), Some("200"));
        assert_eq!(span.resource["service.name"], "pharos");
    }

    #[test]
    fn otlp_json_writes_ids_as_hex() {
        let body = serde_json::to_value(request()).unwrap();
        let span = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], "ab".repeat(16));
        assert!(decode(b"{not json", true).is_err());
        assert!(decode(&[0xff, 0xff, 0xff], false).is_err());
    }
}
