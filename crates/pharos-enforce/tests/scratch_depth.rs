use pharos_enforce::*;
fn run(kind: &str, n: usize) {
    let p = TenantPolicy::new("namespace", vec!["a".into()], ConflictMode::Replace).unwrap();
    let e = Enforcer::new(10);
    let q = match kind {
        "parens" => format!("{}x{}", "(".repeat(n), ")".repeat(n)),
        "plus" => vec!["x"; n].join(" + "),
        "pow" => vec!["x"; n].join(" ^ "),
        "neg" => format!("{}x", "-".repeat(n)),
        _ => format!("{}x{}", "abs(".repeat(n), ")".repeat(n)),
    };
    let r = e.enforce_query(&p, &q);
    println!("{kind} {n}: {:?}", r.map(|s| s.len()));
}
#[test] fn parens() { run("parens", std::env::var("N").unwrap().parse().unwrap()) }
#[test] fn plus() { run("plus", std::env::var("N").unwrap().parse().unwrap()) }
#[test] fn pow() { run("pow", std::env::var("N").unwrap().parse().unwrap()) }
#[test] fn neg() { run("neg", std::env::var("N").unwrap().parse().unwrap()) }
#[test] fn call() { run("call", std::env::var("N").unwrap().parse().unwrap()) }
