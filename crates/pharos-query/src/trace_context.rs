//! W3C trace context across process boundaries (decision 0030): the `traceparent` /
//! `tracestate` headers of the current `tracing` span for requests Pharos sends upstream, and
//! the caller's context read from the headers of a request Pharos serves.
//!
//! Both go through OpenTelemetry's global propagator, which stays the no-op one unless the
//! binary turned tracing on (`tracing.otlp_endpoint`): then [`outgoing_headers`] is empty and
//! [`join_caller`] changes nothing, at the cost of one read lock.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Longest PromQL text recorded on a span: enough to recognise a query, bounded so a huge
/// generated query does not blow up every span batch.
pub const MAX_QUERY_ATTRIBUTE: usize = 512;

/// `text` cut to at most [`MAX_QUERY_ATTRIBUTE`] bytes on a character boundary, `…` marking a
/// cut.
pub fn bounded_query(text: &str) -> String {
    if text.len() <= MAX_QUERY_ATTRIBUTE {
        return text.to_owned();
    }
    let mut end = MAX_QUERY_ATTRIBUTE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The trace-context headers (name, value) carrying the current span to an upstream; empty
/// when tracing is off or the span is not recorded.
pub fn outgoing_headers() -> Vec<(String, String)> {
    let mut collected = Collected(Vec::new());
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut collected);
    });
    collected.0
}

/// Makes `span` a child of the trace context the caller sent in `headers` (`traceparent`), so
/// Pharos joins the caller's trace; without such a header nothing changes.
pub fn join_caller(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderReader(headers))
    });
    // Fails only when no OpenTelemetry layer is installed: then there is nothing to join.
    let _ = span.set_parent(context);
}

struct Collected(Vec<(String, String)>);

impl Injector for Collected {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

struct HeaderReader<'a>(&'a http::HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_are_cut_on_a_character_boundary() {
        assert_eq!(bounded_query("up"), "up");
        let long = "é".repeat(400);
        let cut = bounded_query(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= MAX_QUERY_ATTRIBUTE + '…'.len_utf8());
    }

    #[test]
    fn without_tracing_nothing_is_sent() {
        assert!(outgoing_headers().is_empty());
    }
}
