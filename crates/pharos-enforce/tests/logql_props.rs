//! Property tests for the LogQL rewrite: for generated and mutated queries, either the query
//! is refused or every stream selector of the result carries the tenant matcher. The oracle
//! below reads the result with its own character-level scanner of Loki's lexical rules, so a
//! bug in the rewriter's tokenizer does not hide itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharos_enforce::{ConflictMode, TenantPolicy, enforce_logql};
use proptest::prelude::*;

const ENFORCED: &str = r#"namespace="team-a""#;

fn policy() -> TenantPolicy {
    TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace).unwrap()
}

/// The matcher texts of every stream selector in `query`, by Loki's lexical rules: strings in
/// three quote styles, `#`, `//` and `/* */` comments and raw `[...]` ranges are skipped, and
/// every other `{` opens a selector. `None` when the query does not scan.
fn selectors(query: &str) -> Option<Vec<Vec<String>>> {
    let chars: Vec<char> = query.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' => i = skip_quoted(&chars, i)?,
            '`' => i = i + 1 + chars[i + 1..].iter().position(|&c| c == '`')? + 1,
            '#' => i = skip_line(&chars, i),
            '/' if chars.get(i + 1) == Some(&'/') => i = skip_line(&chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => i = skip_block_comment(&chars, i)?,
            '[' => i = i + 1 + chars[i + 1..].iter().position(|&c| c == ']')? + 1,
            '{' => {
                let (end, matchers) = read_selector(&chars, i)?;
                found.push(matchers);
                i = end;
            }
            _ => i += 1,
        }
    }
    Some(found)
}

fn skip_line(chars: &[char], from: usize) -> usize {
    chars[from..]
        .iter()
        .position(|&c| c == '\n')
        .map_or(chars.len(), |p| from + p)
}

fn skip_block_comment(chars: &[char], from: usize) -> Option<usize> {
    let mut j = from + 2;
    while j + 1 < chars.len() {
        if chars[j] == '*' && chars[j + 1] == '/' {
            return Some(j + 2);
        }
        j += 1;
    }
    None
}

fn skip_quoted(chars: &[char], start: usize) -> Option<usize> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '\n' => return None,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Splits a selector's inside on top-level commas (with comments removed, as Loki skips them).
fn read_selector(chars: &[char], open: usize) -> Option<(usize, Vec<String>)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' => {
                let end = skip_quoted(chars, i)?;
                current.extend(&chars[i..end]);
                i = end;
            }
            '`' => {
                let end = i + 1 + chars[i + 1..].iter().position(|&c| c == '`')? + 1;
                current.extend(&chars[i..end]);
                i = end;
            }
            '#' => i = skip_line(chars, i),
            '/' if chars.get(i + 1) == Some(&'/') => i = skip_line(chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => i = skip_block_comment(chars, i)?,
            ',' => {
                parts.push(std::mem::take(&mut current).split_whitespace().collect());
                i += 1;
            }
            '}' => {
                parts.push(current.split_whitespace().collect());
                return Some((i + 1, parts));
            }
            c => {
                current.push(c);
                i += 1;
            }
        }
    }
    None
}

/// Every selector holds the enforced matcher once and no other matcher on the label.
fn all_enforced(query: &str) -> Result<(), String> {
    let selectors = selectors(query).ok_or_else(|| format!("does not scan: {query}"))?;
    for matchers in selectors {
        let enforced = matchers.iter().filter(|m| *m == ENFORCED).count();
        let on_label = matchers
            .iter()
            .filter(|m| m.split(['=', '!', '~']).next() == Some("namespace") && *m != ENFORCED)
            .count();
        if enforced != 1 || on_label != 0 {
            return Err(format!("selector {matchers:?} in {query}"));
        }
    }
    Ok(())
}

fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("}".to_owned()),
            Just("{".to_owned()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("'".to_owned()),
            Just("`".to_owned()),
            Just("#".to_owned()),
            Just("/*".to_owned()),
            Just("namespace=\\\"team-b\\\"".to_owned()),
            "[a-z ]{0,4}",
        ],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

/// A double-quoted string literal holding tricky text (already escaped for `"`).
fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky_text().prop_map(|t| format!("\"{t}\"")),
        "[a-z{}\"'#/* ]{0,8}".prop_map(|t| format!("`{}`", t.replace('`', ""))),
    ]
}

fn matcher() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("namespace"), Just("app"), Just("job"), Just("_x")],
        prop_oneof![Just("="), Just("!="), Just("=~"), Just("!~")],
        string_literal(),
    )
        .prop_map(|(name, op, value)| format!("{name}{op}{value}"))
}

fn selector() -> impl Strategy<Value = String> {
    proptest::collection::vec(matcher(), 0..4).prop_map(|m| format!("{{{}}}", m.join(", ")))
}

fn pipeline_stage() -> impl Strategy<Value = String> {
    prop_oneof![
        string_literal().prop_map(|s| format!(" |= {s}")),
        string_literal().prop_map(|s| format!(" != {s}")),
        string_literal().prop_map(|s| format!(" |~ {s}")),
        Just(" | json".to_owned()),
        Just(" | logfmt".to_owned()),
        string_literal().prop_map(|s| format!(" | line_format {s}")),
        string_literal().prop_map(|s| format!(" | label_format x={s}")),
        Just(" | duration > 1.5s".to_owned()),
        tricky_text().prop_map(|t| format!(" # {}\n", t.replace('\n', ""))),
        tricky_text().prop_map(|t| format!(" /* {} */", t.replace("*/", ""))),
    ]
}

fn log_query() -> impl Strategy<Value = String> {
    (
        selector(),
        proptest::collection::vec(pipeline_stage(), 0..4),
    )
        .prop_map(|(s, stages)| format!("{s}{}", stages.concat()))
}

fn query() -> impl Strategy<Value = String> {
    let metric = (
        prop_oneof![Just("rate"), Just("count_over_time"), Just("bytes_rate")],
        log_query(),
        prop_oneof![Just("5m"), Just("1h30m")],
    )
        .prop_map(|(f, q, r)| format!("{f}({q} [{r}])"))
        .boxed();
    let aggregated = (metric.clone(), metric.clone())
        .prop_map(|(a, b)| format!("sum by (app) ({a}) / on(app) {b}"));
    prop_oneof![log_query(), metric, aggregated]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Well-formed queries are accepted, and every selector comes out enforced.
    #[test]
    fn generated_queries_are_enforced(query in query()) {
        let rewritten = enforce_logql(&policy(), &query, 1 << 16);
        let rewritten = rewritten.map_err(|e| TestCaseError::fail(format!("{query}: {e}")))?;
        all_enforced(&rewritten).map_err(TestCaseError::fail)?;
    }

    /// Mutated queries are refused or come out enforced; never an unfiltered selector.
    #[test]
    fn mutated_queries_are_enforced_or_refused(
        query in query(),
        insertions in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop_oneof![
                Just("{"), Just("}"), Just("\""), Just("'"), Just("`"), Just("#"),
                Just("\n"), Just("/*"), Just("*/"), Just("//"), Just("["), Just("]"),
                Just("\\"), Just(","), Just("namespace=\"team-b\""),
            ]),
            1..4,
        ),
    ) {
        let mut mutated = query;
        for (index, text) in insertions {
            let boundaries: Vec<usize> = (0..=mutated.len())
                .filter(|&i| mutated.is_char_boundary(i))
                .collect();
            let at = boundaries[index.index(boundaries.len())];
            mutated.insert_str(at, text);
        }
        if let Ok(rewritten) = enforce_logql(&policy(), &mutated, 1 << 16) {
            all_enforced(&rewritten).map_err(TestCaseError::fail)?;
        }
    }

    /// Arbitrary text never panics and never yields an unfiltered selector.
    #[test]
    fn arbitrary_text_is_enforced_or_refused(text in "[{}\"'`#/*\\[\\]a-z=!~,|() \n\\\\]{0,40}") {
        if let Ok(rewritten) = enforce_logql(&policy(), &text, 1 << 16) {
            all_enforced(&rewritten).map_err(TestCaseError::fail)?;
        }
    }
}

#[test]
fn the_oracle_sees_selectors_that_hide_from_naive_scans() {
    // Sanity check of the oracle itself: it must find the selector after a comment and not
    // the one inside a string.
    let found = selectors("{a=\"}\"} # {b=\"c\"}\n |= \"{d=\\\"e\\\"}\" {f=`}`}").unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(all_enforced("{a=\"b\"}").is_err());
    assert!(all_enforced(r#"{a="b", namespace="team-a"}"#).is_ok());
}
