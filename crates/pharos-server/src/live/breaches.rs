//! Breach annotations: a chart whose query selects a service's P95
//! (`pharos_service_latency_p95_ms{service="X"}`, as the "Service latency" dashboard does) gets
//! the service's threshold and its breach buckets as one more overlay, drawn like an alert rule's
//! (dashed threshold line, red bands, a chip). The buckets and the permission come from the SLO
//! layer: a caller who may not read the service gets no overlay.

use serde_json::{Value, json};

use crate::{identity::Caller, services::CallerViewer, state::AppState};

const P95_METRIC: &str = "pharos_service_latency_p95_ms";

/// The service a query's P95 selector names with `service="…"`, if any.
pub(super) fn service_of(query: &str) -> Option<String> {
    let at = query.find(P95_METRIC)? + P95_METRIC.len();
    let matchers = query[at..].strip_prefix('{')?;
    let matchers = &matchers[..matchers.find('}')?];
    matchers.split(',').find_map(|matcher| {
        let value = matcher.trim().strip_prefix("service")?.trim_start();
        let value = value.strip_prefix('=')?.trim_start();
        // `=~` and `!=` are not one service.
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        (!value.is_empty() && !value.contains('\\')).then(|| value.to_owned())
    })
}

/// The overlay for `service` over `[start, end)`, or `None` when the caller may not read it or
/// its buckets cannot be read.
pub(super) async fn overlay(
    state: &AppState,
    caller: &Caller,
    panel: &str,
    index: usize,
    service: &str,
    start: i64,
    end: i64,
) -> Option<Value> {
    let range = pharos_slo::LatencyRange::covering(start, end);
    let latency = state
        .slo
        .latency(&CallerViewer(caller), service, range)
        .await
        .ok()?;
    let step = range.step_ms;
    let mut intervals: Vec<Value> = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    for bucket in latency.buckets.iter().filter(|b| b.breach) {
        let begin = bucket.start.timestamp_millis();
        run = match run {
            Some((first, last)) if begin == last => Some((first, begin + step)),
            Some((first, last)) => {
                intervals.push(json!({"state": "firing", "start": first, "end": last}));
                Some((begin, begin + step))
            }
            None => Some((begin, begin + step)),
        };
    }
    let current = run.is_some_and(|(_, last)| last >= end - 2 * step);
    if let Some((first, last)) = run {
        intervals.push(json!({"state": "firing", "start": first, "end": last}));
    }
    Some(json!({
        "panel": panel,
        "index": index,
        "rule": format!("P95 over {} ms", latency.threshold_ms),
        "group": "latency SLO",
        "op": ">",
        "threshold": latency.threshold_ms,
        "for_seconds": 0,
        "state": if current { "firing" } else { "inactive" },
        "intervals": intervals,
        "labels": {"service": service},
        "annotations": {"summary": format!("breaches of the P95 threshold of {service}")},
        "error": null,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_equality_matcher_on_the_p95_names_a_service() {
        let q = r#"max by (service) (last_over_time(pharos_service_latency_p95_ms{service="checkout"}[5m]))"#;
        assert_eq!(service_of(q).as_deref(), Some("checkout"));
        let q = r#"pharos_service_latency_p95_ms{source="nginx", service = "a-b"}"#;
        assert_eq!(service_of(q).as_deref(), Some("a-b"));
        for q in [
            r#"pharos_service_latency_p95_ms{service=~"a|b"}"#,
            r#"pharos_service_latency_p95_ms{service!="a"}"#,
            r#"pharos_service_latency_p50_ms{service="a"}"#,
            r#"pharos_service_latency_p95_ms"#,
            r#"pharos_service_latency_p95_ms{service=""}"#,
        ] {
            assert_eq!(service_of(q), None, "{q}");
        }
    }
}
