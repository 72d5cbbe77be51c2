//! Parser table tests for both formats, plus real expositions: Prometheus 2.42's own
//! `/metrics` and the OpenMetrics backfill sample `promtool` accepts.

#![allow(clippy::unwrap_used)]

use pharos_scrape::exposition::{self, Exposition, Format, MetricType, ParsedSample};

const PROMETHEUS_METRICS: &str = include_str!("fixtures/prometheus-2.42-metrics.txt");
const BACKFILL_SAMPLE: &str = include_str!("fixtures/backfill-sample.om");

fn only_sample(format: Format, body: &str) -> ParsedSample {
    let parsed = exposition::parse(format, body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
    assert_eq!(parsed.samples.len(), 1, "{body:?}");
    parsed.samples.into_iter().next().unwrap()
}

fn labels(sample: &ParsedSample) -> Vec<(&str, &str)> {
    sample
        .labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// (input, name, labels, value, timestamp)
type SampleCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], f64, Option<i64>);

#[test]
fn text_format_sample_lines() {
    let cases: &[SampleCase] = &[
        ("up 1", "up", &[], 1.0, None),
        (
            "up 1 1700000000000",
            "up",
            &[],
            1.0,
            Some(1_700_000_000_000),
        ),
        ("  up\t\t1  \t", "up", &[], 1.0, None),
        ("a{} 2", "a", &[], 2.0, None),
        (
            r#"a{x="1",y="2"} 3"#,
            "a",
            &[("x", "1"), ("y", "2")],
            3.0,
            None,
        ),
        (r#"a{x="1",} 3"#, "a", &[("x", "1")], 3.0, None),
        (
            r#"a{ x = "1" , y="2" } 3"#,
            "a",
            &[("x", "1"), ("y", "2")],
            3.0,
            None,
        ),
        (
            r#"a{path="C:\\dir",msg="say \"hi\"\nbye"} 1"#,
            "a",
            &[("path", "C:\\dir"), ("msg", "say \"hi\"\nbye")],
            1.0,
            None,
        ),
        (
            r#"a{x="ünïcødé {} ,="} 1"#,
            "a",
            &[("x", "ünïcødé {} ,=")],
            1.0,
            None,
        ),
        (r#"a{x="keep \q"} 1"#, "a", &[("x", "keep \\q")], 1.0, None),
        ("ns:rule_total 1e3", "ns:rule_total", &[], 1000.0, None),
        ("a -1.5e-3", "a", &[], -0.0015, None),
        ("a +Inf", "a", &[], f64::INFINITY, None),
        ("a -Inf", "a", &[], f64::NEG_INFINITY, None),
        ("a 5 -1000", "a", &[], 5.0, Some(-1000)),
        (
            r#"h_bucket{le="+Inf"} 7"#,
            "h_bucket",
            &[("le", "+Inf")],
            7.0,
            None,
        ),
    ];
    for (input, name, expected_labels, value, timestamp) in cases {
        let sample = only_sample(Format::PrometheusText, input);
        assert_eq!(sample.name, *name, "{input}");
        assert_eq!(labels(&sample), *expected_labels, "{input}");
        assert_eq!(sample.value, *value, "{input}");
        assert_eq!(sample.timestamp_ms, *timestamp, "{input}");
    }
    let nan = only_sample(Format::PrometheusText, "a NaN");
    assert!(nan.value.is_nan());
}

#[test]
fn text_format_errors_name_the_problem_and_line() {
    let cases = [
        ("1abc 1", "invalid metric name \"1abc\""),
        ("a-b 1", "invalid metric name \"a-b\""),
        ("a", "missing sample value"),
        ("a{x=\"1\"}", "missing sample value"),
        ("a{x=\"1\"} one", "invalid sample value \"one\""),
        ("a{1x=\"1\"} 1", "invalid label name \"1x\""),
        ("a{x=\"1\"", "unterminated label set"),
        ("a{x=\"1} 1", "unterminated value of label \"x\""),
        ("a{x 1", "expected '=' after label name \"x\""),
        ("a{x=1} 1", "must be a double-quoted string"),
        ("a{x=\"1\" y=\"2\"} 1", "expected ',' or '}'"),
        ("a{x=\"1\",x=\"2\"} 1", "duplicate label \"x\""),
        ("a 1 1.5", "integer milliseconds"),
        ("a 1 2 3", "unexpected text \"3\""),
        (
            "# TYPE a gaugehistogram",
            "unknown metric type \"gaugehistogram\"",
        ),
        ("# HELP", "invalid # HELP line"),
    ];
    for (input, expected) in cases {
        let body = format!("# comment\n{input}\n");
        let error = exposition::parse(Format::PrometheusText, &body).unwrap_err();
        assert_eq!(error.line, 2, "{input}");
        let message = error.to_string();
        assert!(message.starts_with("line 2: "), "{message}");
        assert!(message.contains(expected), "{input}: {message}");
    }
}

#[test]
fn text_format_metadata_and_comments() {
    let body = "\
# A free comment\n\
# HELP http_requests_total Requests \\\\ handled.\\nSecond line.\n\
# TYPE http_requests_total counter\n\
\n\
http_requests_total{code=\"200\"} 10\n\
# TYPE legacy untyped\n\
legacy 1\n";
    let parsed = exposition::parse(Format::PrometheusText, body).unwrap();
    assert_eq!(parsed.samples.len(), 2);
    let requests = &parsed.metadata[0];
    assert_eq!(requests.family, "http_requests_total");
    assert_eq!(requests.metric_type, MetricType::Counter);
    assert_eq!(requests.help, "Requests \\ handled.\nSecond line.");
    assert_eq!(parsed.metadata[1].metric_type, MetricType::Unknown);
    assert_eq!(parsed.metadata[1].metric_type.as_str(), "unknown");
}

#[test]
fn openmetrics_samples_timestamps_and_exemplars() {
    let cases: &[(&str, f64, Option<i64>)] = &[
        ("a_total 1", 1.0, None),
        ("a_total 1 1704067200", 1.0, Some(1_704_067_200_000)),
        ("a_total 1 1704067200.25", 1.0, Some(1_704_067_200_250)),
        (r#"a_total 3 # {trace_id="abc"} 1.0"#, 3.0, None),
        (
            r#"a_total 3 1704067200 # {trace_id="abc"} 1.0 1704067199.5"#,
            3.0,
            Some(1_704_067_200_000),
        ),
    ];
    for (line, value, timestamp) in cases {
        let body = format!("# TYPE a counter\n{line}\n# EOF\n");
        let sample = only_sample(Format::OpenMetrics, &body);
        assert_eq!(sample.name, "a_total");
        assert_eq!(sample.value, *value, "{line}");
        assert_eq!(sample.timestamp_ms, *timestamp, "{line}");
    }
}

#[test]
fn openmetrics_rules_are_enforced() {
    let cases = [
        ("a 1\n", 2, "missing # EOF"),
        ("a 1\n# EOF\nb 2\n", 3, "content after # EOF"),
        ("a 1\n\n# EOF\n", 2, "empty line"),
        ("# just a comment\n# EOF\n", 1, "unknown comment"),
        ("#TYPE a gauge\n# EOF\n", 1, "unknown comment"),
        ("a 1 1704067200000x\n# EOF\n", 1, "seconds since 1970"),
        (
            "# TYPE a untyped\n# EOF\n",
            1,
            "unknown metric type \"untyped\"",
        ),
    ];
    for (body, line, expected) in cases {
        let error = exposition::parse(Format::OpenMetrics, body).unwrap_err();
        assert_eq!(error.line, line, "{body:?}");
        assert!(error.to_string().contains(expected), "{body:?}: {error}");
    }
    // A trailing newline after # EOF is not an extra line; CRLF line ends are tolerated.
    assert!(exposition::parse(Format::OpenMetrics, "a 1\r\n# EOF\r\n").is_ok());
    assert!(exposition::parse(Format::OpenMetrics, "# EOF").is_ok());
}

#[test]
fn openmetrics_metadata_includes_units_and_all_types() {
    let body = "\
# HELP mem_bytes Resident \\\"memory\\\".\n\
# TYPE mem_bytes gauge\n\
# UNIT mem_bytes bytes\n\
mem_bytes 1\n\
# TYPE build info\n\
build_info{version=\"1\"} 1\n\
# TYPE state stateset\n\
# TYPE queue gaugehistogram\n\
# EOF\n";
    let parsed = exposition::parse(Format::OpenMetrics, body).unwrap();
    let mem = &parsed.metadata[0];
    assert_eq!(
        (mem.help.as_str(), mem.metric_type, mem.unit.as_str()),
        ("Resident \"memory\".", MetricType::Gauge, "bytes")
    );
    let types: Vec<MetricType> = parsed.metadata.iter().map(|m| m.metric_type).collect();
    assert_eq!(
        types,
        [
            MetricType::Gauge,
            MetricType::Info,
            MetricType::StateSet,
            MetricType::GaugeHistogram
        ]
    );
}

#[test]
fn content_type_selects_the_parser() {
    assert_eq!(
        Format::from_content_type(Some(
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type(Some("text/plain; version=0.0.4; charset=utf-8")),
        Format::PrometheusText
    );
    assert_eq!(Format::from_content_type(None), Format::PrometheusText);
}

/// Lines that are neither comments nor blank: one sample each.
fn sample_lines(body: &str) -> usize {
    body.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

fn value(parsed: &Exposition, name: &str, label: (&str, &str)) -> f64 {
    parsed
        .samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels
                    .iter()
                    .any(|(n, v)| (n.as_str(), v.as_str()) == label)
        })
        .unwrap_or_else(|| panic!("{name}{label:?} missing"))
        .value
}

#[test]
fn real_prometheus_exposition_parses_completely() {
    let parsed = exposition::parse(Format::PrometheusText, PROMETHEUS_METRICS).unwrap();
    assert_eq!(parsed.samples.len(), sample_lines(PROMETHEUS_METRICS));
    for sample in &parsed.samples {
        sample.to_labels().unwrap();
    }
    let help_lines = PROMETHEUS_METRICS
        .lines()
        .filter(|l| l.starts_with("# HELP "))
        .count();
    assert_eq!(parsed.metadata.len(), help_lines);
    let requests = parsed
        .metadata
        .iter()
        .find(|m| m.family == "prometheus_http_requests_total")
        .unwrap();
    assert_eq!(requests.metric_type, MetricType::Counter);
    assert!(!requests.help.is_empty());

    // A classic histogram comes out as ordinary series: cumulative buckets, +Inf = _count.
    let family = "prometheus_http_request_duration_seconds";
    let handler = ("handler", "/metrics");
    let mut buckets: Vec<(f64, f64)> = parsed
        .samples
        .iter()
        .filter(|s| {
            s.name == format!("{family}_bucket")
                && s.labels.contains(&("handler".into(), "/metrics".into()))
        })
        .map(|s| {
            let le = &s.labels.iter().find(|(n, _)| n == "le").unwrap().1;
            (le.parse::<f64>().unwrap(), s.value)
        })
        .collect();
    assert!(buckets.len() > 3);
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative buckets"
    );
    assert_eq!(buckets.last().unwrap().0, f64::INFINITY);
    assert_eq!(
        buckets.last().unwrap().1,
        value(&parsed, &format!("{family}_count"), handler)
    );

    // A summary: quantile series plus _sum and _count.
    assert!(parsed.samples.iter().any(
        |s| s.name == "go_gc_duration_seconds" && s.labels.iter().any(|(n, _)| n == "quantile")
    ));
    assert!(
        parsed
            .samples
            .iter()
            .any(|s| s.name == "go_gc_duration_seconds_sum")
    );
}

#[test]
fn backfill_sample_parses_with_millisecond_timestamps() {
    let parsed = exposition::parse(Format::OpenMetrics, BACKFILL_SAMPLE).unwrap();
    assert_eq!(parsed.samples.len(), sample_lines(BACKFILL_SAMPLE));
    for (sample, line) in parsed
        .samples
        .iter()
        .zip(BACKFILL_SAMPLE.lines().filter(|l| !l.starts_with('#')))
    {
        let seconds: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(sample.timestamp_ms, Some(seconds * 1000), "{line}");
    }
    let memory = parsed
        .metadata
        .iter()
        .find(|m| m.family == "app_memory_bytes")
        .unwrap();
    assert_eq!(memory.unit, "bytes");
    let histogram = parsed
        .metadata
        .iter()
        .find(|m| m.family == "app_request_duration_seconds")
        .unwrap();
    assert_eq!(histogram.metric_type, MetricType::Histogram);
}

#[test]
fn line_parser_streams_and_reports_missing_eof_at_the_end() {
    let mut parser = exposition::LineParser::new(Format::OpenMetrics);
    assert!(parser.parse_line("# TYPE a gauge").unwrap().is_some());
    assert!(matches!(
        parser.parse_line("a 1 1").unwrap(),
        Some(exposition::Entry::Sample(_))
    ));
    let error = parser.finish().unwrap_err();
    assert_eq!(error.line, 3);
    parser.parse_line("# EOF").unwrap();
    assert!(parser.finish().is_ok());
}
