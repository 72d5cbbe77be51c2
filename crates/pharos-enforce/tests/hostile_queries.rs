//! Generated hostile PromQL through the enforcer, as a tenant-restricted proxy route sees it:
//! every input gets an answer on a worker-sized stack in bounded time, and every accepted
//! rewrite stays within the nesting limit (the enforcer itself verifies the tenant matcher on
//! each selector of the printed text).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pharos_enforce::{ConflictMode, EnforceError, Enforcer, TenantPolicy};
use pharos_promql_syntax::{MAX_NESTING_DEPTH, check_depth};
use proptest::prelude::*;
use proptest::sample::select;

/// The stack a tokio worker gets by default.
const WORKER_STACK: usize = 2 * 1024 * 1024;

const TOKENS: &[&str] = &[
    "up",
    "x{a=\"b\"}",
    "{namespace=\"team-b\"}",
    "1",
    "\"s\"",
    "(",
    ")",
    "[5m]",
    "[1h:1m]",
    "{",
    "}",
    ",",
    " + ",
    "-",
    " * ",
    " ^ ",
    " == bool ",
    " and ",
    " or ",
    " unless ",
    "sum(",
    "sum by (a) (",
    "rate(",
    "topk(3, ",
    "max_over_time(",
    "label_join(",
    " on (c) group_left ",
    " offset 5m",
    " @ 100",
    "# comment\n",
];

/// Token runs that repeat up to thousands of times, so deep and long inputs are common.
fn hostile_query() -> impl Strategy<Value = String> {
    proptest::collection::vec((select(TOKENS), 1usize..=8, 0u8..8), 1..40).prop_map(|runs| {
        runs.into_iter()
            .map(|(token, count, long)| {
                let count = if long == 0 { count * 500 } else { count };
                token.repeat(count)
            })
            .collect()
    })
}

fn enforce_on_worker_stack(query: String) -> (String, Result<String, EnforceError>) {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let policy =
                TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace)
                    .unwrap();
            let outcome = Enforcer::new(0)
                .enforce_query(&policy, &query)
                .map(|q| q.to_string());
            (query, outcome)
        })
        .unwrap()
        .join()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_queries_get_an_answer_and_accepted_ones_stay_safe(query in hostile_query()) {
        let started = Instant::now();
        let (query, outcome) = enforce_on_worker_stack(query);
        // Generous for a debug build on a busy machine; quadratic parsing takes minutes.
        prop_assert!(started.elapsed() < Duration::from_secs(5), "{:?} for {:.80}", started.elapsed(), query);
        if let Ok(rewritten) = outcome {
            let expr = promql_parser::parser::parse(&rewritten).unwrap();
            prop_assert!(check_depth(&expr).is_ok(), "deeper than {}: {:.80}", MAX_NESTING_DEPTH, query);
        }
    }
}
