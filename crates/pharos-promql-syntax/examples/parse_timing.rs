//! Parse time of the worst inputs the budget accepts and of the reported hostile ones; the
//! numbers in docs/decisions/0007-promql-syntax-budget.md come from
//! `cargo run --release -p pharos-promql-syntax --example parse_timing`.

use std::time::{Duration, Instant};

fn balanced(levels: u32, leaf: &str, op: &str) -> String {
    if levels == 0 {
        leaf.into()
    } else {
        let inner = balanced(levels - 1, leaf, op);
        format!("({inner}{op}{inner})")
    }
}

fn main() {
    let limits = pharos_promql_syntax::SyntaxLimits::default();
    let groups = vec![format!("({})", vec!["up"; 231].join(" + ")); 17].join(" + ");
    let shapes: Vec<(&str, String)> = vec![
        ("reported: 1+ x2000", vec!["1"; 2000].join("+")),
        (
            "reported: sum( x1500 closed",
            format!("{}up{}", "sum(".repeat(1500), ")".repeat(1500)),
        ),
        ("reported: up or x1500", vec!["up"; 1500].join(" or ")),
        ("reported: 100k (", "(".repeat(100_000)),
        ("reported: 1+ x50000", vec!["1"; 50_000].join("+")),
        ("chain 1+ x4096", vec!["1"; 4097].join("+")),
        ("or chain x4096", vec!["up"; 4097].join(" or ")),
        (
            "sum( x4096",
            format!("{}up{}", "sum(".repeat(4096), ")".repeat(4096)),
        ),
        ("unary x4096", format!("{}up", "-".repeat(4096))),
        ("accepted: chain 1+ x256", vec!["1"; 257].join("+")),
        (
            "accepted: sum( x256",
            format!("{}up{}", "sum(".repeat(256), ")".repeat(256)),
        ),
        ("accepted: 17 groups of 230 +", groups),
        (
            "accepted: 17 groups of 230 1+",
            vec![format!("({})", vec!["1"; 231].join(" + ")); 17].join(" + "),
        ),
        (
            "accepted: 17 groups of 230 1>bool",
            vec![format!("({})", vec!["1"; 231].join(" > bool ")); 17].join(" > bool "),
        ),
        (
            "accepted: 6-class mix x40",
            vec!["a ^ b * c + d == e and f or g"; 40].join(" or "),
        ),
        ("accepted: balanced 2^11 up +", balanced(11, "up", " + ")),
        ("accepted: balanced 2^11 1 +", balanced(11, "1", " + ")),
        (
            "accepted: 3 sums around balanced 2^11",
            format!("sum(sum(sum({})))", balanced(11, "up", "+")),
        ),
        (
            "accepted: 200 sums around label_join",
            format!(
                "{}label_join(up, \"a\", \",\"{}){}",
                "sum(".repeat(200),
                ", \"b\"".repeat(480),
                ")".repeat(200)
            ),
        ),
        (
            "refused: 256 sums around label_join 12k",
            format!(
                "{}label_join(up, \"a\", \",\"{}){}",
                "sum(".repeat(256),
                ", \"b\"".repeat(12000),
                ")".repeat(256)
            ),
        ),
        (
            "accepted: label_join 16k args",
            format!("label_join(up, \"a\", \",\"{})", ", \"b\"".repeat(10800)),
        ),
        (
            "accepted: 4000 matchers",
            format!("up{{{}}}", vec!["a=\"bcdefghijkl\""; 4000].join(",")),
        ),
        (
            "accepted: balanced or 2^10 selectors",
            balanced(10, "up{job=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", " or "),
        ),
    ];
    for (name, q) in shapes {
        // The best of five runs: the least disturbed by other work on the machine.
        let mut best = Duration::MAX;
        let mut outcome = Ok("accepted");
        for _ in 0..5 {
            let t = Instant::now();
            let r = pharos_promql_syntax::parse(&q, &limits);
            best = best.min(t.elapsed());
            outcome = r.map(|_| "accepted").map_err(|e| e.reason());
        }
        println!("{name:42} len={:6} {best:>10.2?} {outcome:?}", q.len());
    }
}
