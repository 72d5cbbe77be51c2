//! Generated hostile input against the budgeted parser: whatever the text, `parse` answers
//! (no panic, no stack overflow on a 2 MiB thread, no runaway time), and whatever it accepts is
//! within the nesting limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pharos_promql_syntax::{
    MAX_NESTING_DEPTH, MAX_STRUCTURE_TOKENS, SyntaxError, SyntaxLimits, check_depth, check_text,
    parse,
};
use proptest::prelude::*;
use proptest::sample::select;

/// The stack a tokio worker or blocking thread gets by default.
const WORKER_STACK: usize = 2 * 1024 * 1024;

/// Runs `f` on a thread with a worker's stack; a stack overflow aborts the test binary, which
/// fails the test as loudly as it would abort the server.
fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Parses on a worker stack and checks what every answer must satisfy.
fn parse_and_check(query: String) -> Result<(), SyntaxError> {
    on_worker_stack(move || {
        let limits = SyntaxLimits::default();
        let text_verdict = check_text(&query, &limits);
        let outcome = parse(&query, &limits);
        if let Err(error) = &text_verdict {
            assert_eq!(outcome.as_ref().err(), Some(error), "{query:.200}");
        }
        match outcome {
            Ok(expr) => {
                assert_eq!(check_depth(&expr), Ok(()), "{query:.200}");
                // Printing and dropping an accepted tree recurse once per level.
                let printed = expr.to_string();
                assert!(!printed.is_empty());
                drop(expr);
                Ok(())
            }
            Err(error) => Err(error),
        }
    })
}

/// Pieces of PromQL that nest, chain or just take up room.
const TOKENS: &[&str] = &[
    "up",
    "x{a=\"b\"}",
    "1",
    "0x1f",
    "\"s\"",
    "'(('",
    "`[[`",
    "(",
    ")",
    "[",
    "]",
    "[5m]",
    "[1h:1m]",
    "[1y:1ms]",
    "{",
    "}",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "==",
    "!=",
    ">",
    "<=",
    "=~",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "sum",
    "sum(",
    "rate(",
    "max_over_time(",
    "topk(",
    "by (a)",
    "without (b)",
    "on (c)",
    "group_left",
    "offset 5m",
    "offset -1h",
    "@ 100",
    "@ start()",
    "# comment\n",
    " ",
];

/// A random token sequence where any token may repeat many times in a row, so long runs of
/// brackets and operators are as likely as short mixed sequences.
fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec((select(TOKENS), 1usize..=12, 0u8..10), 1..60).prop_map(|runs| {
        let mut out = String::new();
        for (token, count, long) in runs {
            // One run in ten is long: hundreds to thousands of repetitions.
            let count = if long == 0 { count * 400 } else { count };
            for _ in 0..count {
                out.push_str(token);
            }
        }
        out
    })
}

/// Per shape: structure tokens and nesting levels each repetition adds (`max_over_time(..[5m:1m])`
/// is a call holding a subquery; `(1 + ..)` a paren holding a binary operator).
const SHAPE_COST: [(usize, usize); 8] = [
    (1, 1),
    (1, 1),
    (1, 1),
    (1, 1),
    (1, 1),
    (2, 2),
    (1, 1),
    (2, 2),
];

/// Well-formed shapes of a given nesting, the ones the issue reports as crashes.
fn shape(kind: u8, n: usize) -> String {
    match kind {
        0 => vec!["1"; n + 1].join("+"),
        1 => vec!["up"; n + 1].join(" or "),
        2 => format!("{}up{}", "sum(".repeat(n), ")".repeat(n)),
        3 => format!("{}up{}", "(".repeat(n), ")".repeat(n)),
        4 => format!("{}up", "-".repeat(n)),
        5 => format!("{}up{}", "max_over_time(".repeat(n), "[5m:1m])".repeat(n)),
        6 => vec!["2"; n + 1].join(" ^ "),
        _ => format!("{}1{}", "(1 + ".repeat(n), ")".repeat(n)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_token_sequences_never_crash(query in token_soup()) {
        let _ = parse_and_check(query);
    }

    #[test]
    fn arbitrary_text_never_crashes(query in "\\PC{0,400}") {
        let _ = parse_and_check(query);
    }

    #[test]
    fn shapes_are_accepted_exactly_up_to_the_limits(kind in 0u8..8, n in 1usize..6_000) {
        let (tokens_per_step, levels_per_step) = SHAPE_COST[usize::from(kind)];
        let query = shape(kind, n);
        let length = query.len();
        let max_length = SyntaxLimits::default().max_length;
        let expected = if length > max_length {
            Err(SyntaxError::TooLong { length, limit: max_length })
        } else if n * tokens_per_step > MAX_STRUCTURE_TOKENS {
            Err(SyntaxError::TooComplex { limit: MAX_STRUCTURE_TOKENS })
        } else if n * levels_per_step > MAX_NESTING_DEPTH {
            Err(SyntaxError::TooDeep { limit: MAX_NESTING_DEPTH })
        } else {
            Ok(())
        };
        prop_assert_eq!(parse_and_check(query), expected, "shape {} n={}", kind, n);
    }
}

#[test]
fn each_shape_at_the_nesting_limit_is_accepted_and_one_more_is_refused() {
    for (kind, (_, levels_per_step)) in (0u8..).zip(SHAPE_COST) {
        let at_limit = MAX_NESTING_DEPTH / levels_per_step;
        assert_eq!(
            parse_and_check(shape(kind, at_limit)),
            Ok(()),
            "shape {kind} at the limit"
        );
        assert_eq!(
            parse_and_check(shape(kind, at_limit + 1)),
            Err(SyntaxError::TooDeep {
                limit: MAX_NESTING_DEPTH
            }),
            "shape {kind} beyond the limit"
        );
    }
}

#[test]
fn the_reported_crashes_are_refused_quickly() {
    let reported = [
        vec!["1"; 2_000].join("+"),
        "sum(".repeat(1_500),
        format!("{}up{}", "sum(".repeat(1_500), ")".repeat(1_500)),
        vec!["up"; 1_500].join(" or "),
        "(".repeat(100_000),
        vec!["1"; 50_000].join("+"),
        "1".repeat(10_000_000),
    ];
    for query in reported {
        let started = Instant::now();
        let outcome = parse_and_check(query.clone());
        assert!(
            matches!(
                outcome,
                Err(SyntaxError::TooComplex { .. }
                    | SyntaxError::TooDeep { .. }
                    | SyntaxError::TooLong { .. }
                    | SyntaxError::Parse(_))
            ),
            "{outcome:?} for {query:.40}"
        );
        // Generous for a debug build on a shared machine; quadratic parsing of these inputs
        // takes minutes.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?} for {query:.40}",
            started.elapsed()
        );
    }
}
