//! Property tests for the exposition parsers, which face every scrape target and backfill file:
//! arbitrary and damaged input never panics and fails with a located, readable error, and
//! generated valid expositions parse back to what was written.

#![allow(clippy::unwrap_used)]

use pharos_scrape::exposition::{self, Format, LineParser};
use proptest::prelude::*;

const PROMETHEUS_METRICS: &str = include_str!("fixtures/prometheus-2.42-metrics.txt");
const BACKFILL_SAMPLE: &str = include_str!("fixtures/backfill-sample.om");

const FORMATS: [Format; 2] = [Format::PrometheusText, Format::OpenMetrics];

/// Parses `body` in both formats and checks the outcome is sane either way.
fn parse_sanely(body: &str) -> Result<(), TestCaseError> {
    let lines = body.lines().count();
    for format in FORMATS {
        match exposition::parse(format, body) {
            Ok(parsed) => {
                prop_assert!(parsed.samples.len() <= lines);
                for sample in &parsed.samples {
                    prop_assert!(pharos_tsdb::is_valid_metric_name(&sample.name));
                    for (name, _) in &sample.labels {
                        prop_assert!(pharos_tsdb::is_valid_label_name(name), "{:?}", name);
                    }
                }
            }
            Err(error) => {
                prop_assert!(
                    (1..=lines + 1).contains(&error.line),
                    "line {} of {}",
                    error.line,
                    lines
                );
                let message = error.to_string();
                let located = format!("line {}: ", error.line);
                prop_assert!(message.starts_with(&located), "{}", message);
                // An error quotes at most the offending line (escaped), never the whole body.
                let longest_line = body.lines().map(str::len).max().unwrap_or(0);
                prop_assert!(message.len() <= longest_line * 10 + 200, "{}", message);
            }
        }
    }
    Ok(())
}

/// Characters that matter to the grammar, plus some that should not.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            '{', '}', '=', '"', ',', '\\', ' ', '\t', '\n', '\r', '#', '.', '-', '+', 'e', 'E',
            'n', '_', ':', '0', '9', 'a', 'Z', '\u{0}', 'é', '∞', '\u{feff}',
        ]),
        any::<char>(),
    ]
}

/// Edits a text at character boundaries: insert, delete, replace or truncate.
fn damage(text: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(position, kind, c) in edits {
        if chars.is_empty() {
            chars.push(c);
            continue;
        }
        let at = position % chars.len();
        match kind % 4 {
            0 => chars.insert(at, c),
            1 => {
                chars.remove(at);
            }
            2 => chars[at] = c,
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), tricky_char()), 1..8)
}

/// A label value with the characters that need escaping.
fn label_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\\'),
            Just('"'),
            Just('\n'),
            Just(' '),
            Just('}'),
            any::<char>()
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type GeneratedSample = (String, Vec<(String, String)>, f64, Option<i64>);

fn generated_sample() -> impl Strategy<Value = GeneratedSample> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,15}",
        prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value(), 0..5),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            Just(0.0)
        ],
        prop::option::of(-4_000_000_000_000i64..4_000_000_000_000),
    )
        .prop_map(|(name, labels, value, timestamp)| {
            let labels = labels
                .into_iter()
                .filter(|(n, _)| n != "__name__")
                .collect();
            (name, labels, value, timestamp)
        })
}

/// One sample line as a target writes it (`ts_ms` in the format's unit).
fn render(format: Format, (name, labels, value, timestamp): &GeneratedSample) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    let mut line = format!("{name}{{{}}} {value:?}", pairs.join(","));
    if let Some(ms) = timestamp {
        match format {
            Format::PrometheusText => line.push_str(&format!(" {ms}")),
            Format::OpenMetrics => {
                let sign = if *ms < 0 { "-" } else { "" };
                let abs = ms.unsigned_abs();
                line.push_str(&format!(" {sign}{}.{:03}", abs / 1000, abs % 1000));
            }
        }
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text at all: no panic, a located error or a sane result.
    #[test]
    fn arbitrary_text_never_panics(body in prop::collection::vec(tricky_char(), 0..400)) {
        parse_sanely(&body.into_iter().collect::<String>())?;
    }

    /// Real expositions, damaged: no panic, a located error or a sane result.
    #[test]
    fn damaged_real_expositions_never_panic(
        edits in edits(),
        start in 0usize..PROMETHEUS_METRICS.len(),
    ) {
        // A window of the large fixture keeps each case fast.
        let window: String = PROMETHEUS_METRICS.chars().skip(start % 50_000).take(3000).collect();
        parse_sanely(&damage(&window, &edits))?;
        parse_sanely(&damage(BACKFILL_SAMPLE, &edits))?;
    }

    /// Very long lines and label values are handled without trouble.
    #[test]
    fn long_lines_are_parsed_or_refused(length in 0usize..200_000, quote in any::<bool>()) {
        let value = "v".repeat(length);
        let line = if quote {
            format!("m{{x=\"{value}\"}} 1\n")
        } else {
            format!("m{{x=\"{value} 1\n")
        };
        let parsed = exposition::parse(Format::PrometheusText, &line);
        prop_assert_eq!(parsed.is_ok(), quote);
        if let Err(error) = parsed {
            prop_assert!(error.to_string().len() < 200, "the value is not echoed");
        }
    }

    /// What a well-behaved target writes parses back exactly, in both formats and whether
    /// parsed whole or line by line.
    #[test]
    fn generated_expositions_round_trip(samples in prop::collection::vec(generated_sample(), 0..12)) {
        for format in FORMATS {
            let mut body: String = samples.iter().map(|s| render(format, s) + "\n").collect();
            if format == Format::OpenMetrics {
                body.push_str("# EOF\n");
            }
            let parsed = exposition::parse(format, &body)
                .map_err(|e| TestCaseError::fail(format!("{e} in {body:?}")))?;
            prop_assert_eq!(parsed.samples.len(), samples.len());
            for (got, (name, labels, value, timestamp)) in parsed.samples.iter().zip(&samples) {
                prop_assert_eq!(&got.name, name);
                prop_assert_eq!(&got.labels, labels);
                prop_assert_eq!(got.value.to_bits(), value.to_bits());
                prop_assert_eq!(got.timestamp_ms, *timestamp);
            }
            let mut streaming = LineParser::new(format);
            let mut streamed = 0;
            for line in body.lines() {
                if let Some(exposition::Entry::Sample(_)) = streaming.parse_line(line).unwrap() {
                    streamed += 1;
                }
            }
            streaming.finish().unwrap();
            prop_assert_eq!(streamed, samples.len());
        }
    }
}
