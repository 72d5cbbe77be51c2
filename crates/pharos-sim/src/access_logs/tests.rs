#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use pharos_logs::{
    BUCKET_MS, BodyKind, IntakeSettings, JsonFields, LogIntake, bucket_start, final_bucket_samples,
    parse_line,
};

use super::*;
use crate::incidents::IncidentKind;
use crate::options::SimOptions;

/// 2026-01-05 00:00 UTC, a bucket start.
const T0: i64 = 1_767_571_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn incident(kind: IncidentKind, service: &DemoLogService, start: i64, end: i64) -> Incident {
    let model_label = if service.model == "embeddings" {
        "model"
    } else {
        "model_name"
    };
    Incident {
        kind,
        start_ms: start,
        end_ms: end,
        labels: [
            ("cluster", service.cluster),
            ("namespace", service.namespace),
            (model_label, service.model),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect(),
        description: String::new(),
    }
}

fn p95(lines: &[AccessLogLine]) -> f64 {
    let latencies: Vec<f64> = lines.iter().map(|l| l.latency_ms).collect();
    let service = lines[0].service;
    final_bucket_samples(
        service.source,
        service.service,
        Some(service.namespace),
        0,
        &latencies,
        0,
    )
    .iter()
    .find(|s| s.name == "pharos_service_latency_p95_ms")
    .unwrap()
    .value
}

#[test]
fn the_demo_services_are_usable_names_half_behind_each_proxy() {
    assert!((4..=6).contains(&DEMO_LOG_SERVICES.len()));
    for service in DEMO_LOG_SERVICES {
        // The longest normal request (the top of the cut tail at the busiest hour) stays
        // under the demo's 300 ms threshold.
        let p = service.profile;
        let longest = p.median_ms * 1.08 * (p.sigma * traffic::MAX_Z).exp();
        assert!(longest < 290.0, "{}: {longest}", service.service);
        assert!(
            service
                .service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}",
            service.service
        );
        let expected = if service.source == SIM_ENVOY_SOURCE {
            Format::Envoy
        } else {
            Format::Nginx
        };
        assert_eq!(service.format, expected);
        assert_eq!(service.namespace, "ml-serving");
    }
    let envoy = DEMO_LOG_SERVICES
        .iter()
        .filter(|s| s.source == SIM_ENVOY_SOURCE)
        .count();
    assert_eq!(envoy * 2, DEMO_LOG_SERVICES.len());
    let sources = demo_log_sources();
    assert_eq!(sources.len(), 2);
    assert!(sources.iter().all(|s| {
        DEMO_LOG_SERVICES
            .iter()
            .any(|d| d.source == s.name && d.format == s.format)
    }));
}

#[test]
fn every_line_parses_in_its_format_with_its_latency_and_status() {
    // An error burst on one service, so 5xx lines (Envoy's `UF` 503s too) are among them.
    let envoy = DEMO_LOG_SERVICES
        .iter()
        .find(|s| s.source == SIM_ENVOY_SOURCE)
        .unwrap();
    let burst = incident(IncidentKind::ErrorBurst, envoy, T0, T0 + HOUR);
    let mut logs = AccessLogs::new(42, T0);
    let lines = logs.lines_until(T0 + HOUR, &[burst]);
    let mut statuses = BTreeMap::new();
    for line in &lines {
        let parsed = parse_line(&line.line, line.service.format, &JsonFields::default())
            .unwrap_or_else(|e| panic!("{e}: {}", line.line));
        assert!(
            (parsed.latency_ms - line.latency_ms).abs() < 1e-6,
            "{} vs {}",
            parsed.latency_ms,
            line.line
        );
        assert_eq!(parsed.status, Some(line.status), "{}", line.line);
        let precision = if line.service.format == Format::Nginx {
            1_000
        } else {
            1
        };
        assert_eq!(
            parsed.timestamp_ms,
            Some(line.timestamp_ms - line.timestamp_ms.rem_euclid(precision))
        );
        *statuses.entry(line.status / 100).or_insert(0) += 1;
    }
    for service in DEMO_LOG_SERVICES {
        let n = lines.iter().filter(|l| l.service == service).count();
        // 1–2 requests per second: enough for a bucket's P95.
        assert!((1_000..=8_000).contains(&n), "{}: {n}", service.service);
    }
    assert!(statuses[&2] > statuses[&4] && statuses[&4] > 0 && statuses[&5] > 0);
    let envoy_503 = lines
        .iter()
        .find(|l| l.status == 503 && l.service.format == Format::Envoy)
        .unwrap();
    assert!(envoy_503.line.contains(" 503 UF "), "{}", envoy_503.line);
}

#[test]
fn the_push_bodies_are_taken_whole_by_an_intake_with_the_demo_sources() {
    let now = chrono::Utc::now().timestamp_millis();
    let from = now - 4 * 60_000;
    let lines = AccessLogs::new(7, from).lines_until(now, &[]);
    let intake = LogIntake::new(IntakeSettings {
        sources: demo_log_sources(),
        ..IntakeSettings::default()
    });
    let bodies = loki_push_bodies(&lines);
    assert_eq!(bodies.len(), 2);
    let mut accepted = 0;
    for (source, body) in bodies {
        let report = intake
            .push(
                BodyKind::LokiProtobuf,
                &body,
                Some("snappy"),
                Some(source),
                now,
            )
            .unwrap();
        assert_eq!(report.rejected_total(), 0, "{}", report.describe());
        accepted += report.accepted;
    }
    assert_eq!(accepted, lines.len() as u64);
    assert_eq!(intake.in_memory().0, DEMO_LOG_SERVICES.len());
}

#[test]
fn a_latency_spike_lifts_the_bucket_p95_over_300_ms_and_normal_buckets_stay_below() {
    for (index, service) in DEMO_LOG_SERVICES.iter().enumerate() {
        // Busy and quiet hours of both clusters' days.
        for hour in [0, 6, 12, 15, 18, 21] {
            let start = T0 + hour * HOUR;
            let spike = incident(
                IncidentKind::LatencySpike,
                service,
                start + BUCKET_MS,
                start + 2 * BUCKET_MS,
            );
            let mut logs = AccessLogs::new(index as u64 + 1, start);
            let lines = logs.lines_until(start + 2 * BUCKET_MS, &[spike]);
            let (normal, spiked): (Vec<_>, Vec<_>) = lines
                .into_iter()
                .filter(|l| l.service == service)
                .partition(|l| l.timestamp_ms < start + BUCKET_MS);
            let (normal, spiked) = (p95(&normal), p95(&spiked));
            assert!(
                (90.0..300.0).contains(&normal),
                "{} at {hour}h: {normal}",
                service.service
            );
            assert!(spiked > 450.0, "{} at {hour}h: {spiked}", service.service);
        }
    }
}

#[test]
fn a_week_of_history_has_every_bucket_and_a_breach_in_the_last_day() {
    let options = SimOptions::default();
    let now = T0 + 7 * DAY + 123_456;
    let from = now - 7 * DAY;
    let started = std::time::Instant::now();
    let history = AccessLogHistory::plan(&options, from, now - 6 * HOUR, now);
    let all: Vec<_> = history
        .bucket_starts()
        .map(|s| history.bucket_samples(s))
        .collect();
    let elapsed = started.elapsed();
    assert_eq!(all.len(), 2_015);
    assert_eq!(history.end_ms(), bucket_start(now));
    let mut buckets: BTreeMap<&str, usize> = BTreeMap::new();
    let mut breaches_last_day = Vec::new();
    let mut normal_max: f64 = 0.0;
    for start in history.bucket_starts() {
        assert_eq!(start % BUCKET_MS, 0);
        let samples = history.bucket_samples(start);
        if start % (24 * HOUR) == 0 {
            assert_eq!(samples, history.bucket_samples(start), "deterministic");
        }
        for service in DEMO_LOG_SERVICES {
            let value = |name: &str| {
                samples
                    .iter()
                    .find(|s| s.service == service.service && s.name == name)
                    .map(|s| {
                        assert_eq!(s.timestamp_ms, start + BUCKET_MS - 1_000);
                        assert_eq!(s.source, service.source);
                        s.value
                    })
                    .unwrap()
            };
            *buckets.entry(service.service).or_default() += 1;
            let count = value("pharos_service_requests");
            assert!((60.0..=150.0).contains(&count), "{count}");
            let p95 = value("pharos_service_latency_p95_ms");
            let hit = (start..start + BUCKET_MS).step_by(10_000).any(|t| {
                let hits = traffic::hits(service, t, history.incidents());
                hits.spike
            });
            if hit {
                if p95 > 300.0 && start >= now - DAY {
                    breaches_last_day.push((service.service, start));
                }
            } else {
                if p95 > 260.0 {
                    eprintln!("high normal: {} {start} {p95} n={count}", service.service);
                }
                normal_max = normal_max.max(p95);
            }
        }
    }
    assert!(normal_max < 300.0, "a normal bucket's P95 is {normal_max}");
    for service in DEMO_LOG_SERVICES {
        assert!(buckets[service.service] >= 2_000, "{buckets:?}");
    }
    assert!(
        !breaches_last_day.is_empty(),
        "no breach in the last 24 h; incidents: {:#?}",
        history.incidents()
    );
    eprintln!(
        "history of {} buckets × {} services in {:?}; breaches in the last day: {breaches_last_day:?}",
        buckets[DEMO_LOG_SERVICES[0].service],
        DEMO_LOG_SERVICES.len(),
        elapsed
    );
}
