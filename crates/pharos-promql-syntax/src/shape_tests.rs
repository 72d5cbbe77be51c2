use super::*;
use crate::depth::nesting_depth;
use proptest::prelude::*;
use proptest::sample::select;

fn true_depth(query: &str) -> Option<usize> {
    promql_parser::parser::parse(query)
        .ok()
        .map(|expr| nesting_depth(&expr))
}

#[track_caller]
fn assert_exact(query: &str) {
    assert_eq!(Some(scan(query).depth), true_depth(query), "{query}");
}

#[test]
fn matches_the_parser_on_everyday_queries() {
    for query in [
        "up",
        "-1",
        "- - 1",
        "-up",
        "-(1)",
        "1 + 2 * 3",
        "1 * 2 + 3",
        "2 ^ 3 ^ 4",
        "-2 ^ 2",
        "-a * b",
        "-a ^ b",
        "a * -b ^ c",
        "a ^ -b * c",
        "a or b and c == d + e * f ^ g",
        "a ^ b * c + d == e and f or g",
        "sum(rate(http_requests_total{job=\"api\"}[5m]))",
        "sum by (job) (rate(x[5m])) / on(job) group_left sum(y)",
        "sum(x) by (a) > bool 3",
        "topk(5, sum without (instance) (x))",
        "count_values(\"v\", up)",
        "max_over_time((up + 1)[1h:1m] offset -5m)",
        "x @ start() + y @ -100 + z offset 1h30m",
        "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
        "a * on(b) group_left(c) d",
        "a + fill(0) b",
        "fill + 1",
        "1e-3 + 0x1e-3 + Inf - NaN",
        "up{a=\"}(\"} # a comment with ((\n + 1",
        "time() - vector(1)",
    ] {
        assert_exact(query);
    }
}

#[test]
fn counts_aggregation_bodies_around_each_token() {
    assert_eq!(scan("rate(x[5m])").aggregation_weight, 0);
    // Inside one aggregation body: `x` and the closing `)`.
    assert_eq!(scan("sum(x)").aggregation_weight, 2);
    // The inner `sum (` and final `)` once, `x )` twice.
    assert_eq!(scan("sum(sum(x))").aggregation_weight, 7);
    assert_eq!(scan("sum by (a, b) (x)").aggregation_weight, 2);
    let heavy = format!(
        "{}label_join(up, \"a\", \",\"{}){}",
        "sum(".repeat(256),
        ", \"b\"".repeat(1_000),
        ")".repeat(256)
    );
    assert!(scan(&heavy).aggregation_weight > MAX_AGGREGATION_WEIGHT);
}

#[test]
fn long_chains_are_caught_before_parsing() {
    let chain = vec!["up"; 300].join(" or ");
    assert!(scan(&chain).depth > MAX_NESTING_DEPTH);
    // Chains hidden in nested parentheses add up.
    let nested = format!("{}up{}", "(".repeat(64), " + up)".repeat(64));
    assert_eq!(scan(&nested).depth, 128);
}

const TOKENS: &[&str] = &[
    "up",
    "x{a=\"b\"}",
    "{a=~\"(\"}",
    "1",
    "-1",
    "1e-3",
    "0x1e",
    "Inf",
    "\"s\"",
    "(",
    ")",
    "[5m]",
    "[1h:1m]",
    "+",
    "-",
    "*",
    "/",
    "^",
    "%",
    "==",
    "!=",
    ">",
    "<=",
    " bool ",
    " and ",
    " or ",
    " unless ",
    " atan2 ",
    "sum",
    "sum(",
    "rate(",
    "topk(",
    "count_values(",
    "max_over_time(",
    "label_join(",
    " by (a) ",
    " without (b) ",
    " on (c) ",
    " ignoring (d) ",
    " group_left ",
    " group_right (e) ",
    " fill(0) ",
    " offset 5m",
    " offset -1h",
    " @ 100",
    " @ -5",
    " @ start()",
    " @ end()",
    ", ",
    "# c\n",
    " ",
];

/// Valid PromQL built from the grammar's pieces, nested a few levels.
fn valid_query() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("up".to_string()),
        Just("x{a=\"b\"}".to_string()),
        Just("1".to_string()),
        Just("-2.5e-1".to_string()),
        Just("Inf".to_string()),
        Just("time()".to_string()),
    ];
    leaf.prop_recursive(6, 64, 3, |inner| {
        let operator = select(
            &[
                " + ",
                " - ",
                " * ",
                " / ",
                " % ",
                " ^ ",
                " atan2 ",
                " == bool ",
                " > bool ",
                " and ",
                " or ",
                " unless ",
                " + on(a) ",
                " * ignoring(b) group_left(c) ",
            ][..],
        );
        let aggregator = select(&["sum", "max", "count", "group", "stddev"][..]);
        prop_oneof![
            (inner.clone(), operator, inner.clone()).prop_map(|(l, o, r)| format!("{l}{o}{r}")),
            inner.clone().prop_map(|e| format!("-{e}")),
            inner.clone().prop_map(|e| format!("+{e}")),
            inner.clone().prop_map(|e| format!("({e})")),
            (aggregator.clone(), inner.clone()).prop_map(|(a, e)| format!("{a}({e})")),
            (aggregator, inner.clone()).prop_map(|(a, e)| format!("{a} by (job) ({e})")),
            inner.clone().prop_map(|e| format!("topk(2, {e})")),
            inner.clone().prop_map(|e| format!("abs({e})")),
            inner.clone().prop_map(|e| format!("clamp({e}, 0, 1)")),
            inner
                .clone()
                .prop_map(|e| format!("max_over_time(({e})[1h:1m])")),
            inner
                .clone()
                .prop_map(|e| format!("rate(({e})[5m:] offset -5m)")),
            inner.prop_map(|e| format!("vector(scalar({e}))")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// On queries the parser accepts, the estimate is exact (so it refuses nothing the
    /// post-parse check would accept, and misses nothing either).
    #[test]
    fn equals_the_parsed_depth_on_valid_queries(query in valid_query()) {
        if let Some(depth) = true_depth(&query) {
            prop_assert_eq!(scan(&query).depth, depth, "{}", query);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// The estimate never exceeds what the parser builds, so it never refuses a query
    /// the post-parse check would accept.
    #[test]
    fn never_exceeds_the_parsed_depth(
        tokens in proptest::collection::vec(select(TOKENS), 1..40)
    ) {
        let query: String = tokens.concat();
        if let Some(depth) = true_depth(&query) {
            prop_assert!(scan(&query).depth <= depth, "{} > {} for {}", scan(&query).depth, depth, query);
        }
    }
}
