//! The server span of every HTTP request, for the OpenTelemetry export (decision 0030,
//! docs/user/tracing.md): named `METHOD route`, with the method, the route template, the status
//! and the request id (recorded by the identity layer once it has one). A request carrying a
//! W3C `traceparent` makes its span a child of the caller's trace.
//!
//! No path, query or header values are recorded: share links carry their secret in the path,
//! and route templates keep the attributes low-cardinality. With tracing off these are plain
//! `tracing` spans that only the log filter sees.

use std::time::Duration;

use axum::extract::MatchedPath;
use tower_http::trace::{DefaultOnResponse, MakeSpan, OnResponse};
use tracing::{Span, field::Empty};

/// The field the request id is recorded in (see [`record_request_id`]).
pub const REQUEST_ID_FIELD: &str = "request_id";

/// [`MakeSpan`] of the server span.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerSpan;

impl<B> MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> Span {
        let method = request.method().as_str();
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        // Unmatched requests (the UI's fallback, 404s) share one name: their paths are
        // unbounded.
        let name = match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = route.unwrap_or_default(),
            http.response.status_code = Empty,
            request_id = Empty,
        );
        pharos_query::trace_context::join_caller(&span, request.headers());
        span
    }
}

/// [`OnResponse`] that records the status on the span (5xx marks it failed), then logs as
/// tower-http does by default.
#[derive(Clone, Debug, Default)]
pub struct RecordStatus(DefaultOnResponse);

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &http::Response<B>, latency: Duration, span: &Span) {
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        self.0.on_response(response, latency, span);
    }
}

/// Records `id` on the current request's server span (the identity layer assigns it).
pub fn record_request_id(id: &str) {
    Span::current().record(REQUEST_ID_FIELD, id);
}
