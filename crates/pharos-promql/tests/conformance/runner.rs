//! Executes a promqltest script against the engine (README §5), including the
//! step-invariance (`@`-pinning) and range-mode cross-checks of §4.3.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use pharos_promql::{Engine, LabelMatcher, Labels, MatchKind, MemorySource, QueryValue};
use promql_parser::label::MatchOp;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{AtModifier, Expr, VectorSelector, parse};

use super::compare::{
    check_annotations, check_failure, check_value, check_vector, expects_failure,
};
use super::script::{Command, Eval, EvalKind, Expectation, Slot, parse_script};

/// Outcome of one file.
#[derive(Debug, Default)]
pub struct FileReport {
    pub passed: usize,
    pub failed: usize,
    /// Skipped evals by reason.
    pub skipped: BTreeMap<String, usize>,
    /// `line: query: problem` for every failed eval.
    pub failures: Vec<String>,
    /// `(line, query)` of every failed eval (line 0: the script did not parse).
    pub failed_evals: Vec<(usize, String)>,
    /// `line: query: reason` for every skipped eval.
    pub skips: Vec<String>,
}

impl FileReport {
    pub fn total(&self) -> usize {
        self.passed + self.failed
    }
}

/// Files whose whole subject is a feature we do not implement.
fn file_skip_reason(file: &str) -> Option<&'static str> {
    match file {
        "start_timestamps.test" => Some("start timestamps"),
        "type_and_unit.test" => Some("type-and-unit labels"),
        _ => None,
    }
}

/// Functions whose result depends on the evaluation time itself, excluded from the
/// `@`-pinning re-runs.
const TIME_DEPENDENT: &[&str] = &[
    "time",
    "timestamp",
    "predict_linear",
    "start",
    "end",
    "range",
    "step",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
];

struct State {
    store: MemorySource,
    /// Label sets of native-histogram series (loaded or synthesised), which we skip.
    native: Vec<Labels>,
    start_timestamps: bool,
}

pub fn run_file(file: &str, text: &str, engine: &Engine) -> FileReport {
    let mut report = FileReport::default();
    let cmds = match parse_script(text) {
        Ok(c) => c,
        Err(e) => {
            report.failed += 1;
            report.failures.push(format!("script error: {e}"));
            report.failed_evals.push((0, "<script>".to_owned()));
            return report;
        }
    };
    let mut st = State {
        store: MemorySource::new(),
        native: Vec::new(),
        start_timestamps: false,
    };
    for cmd in cmds {
        match cmd {
            Command::Clear => {
                st.store.clear();
                st.native.clear();
                st.start_timestamps = false;
            }
            Command::Load {
                step,
                with_nhcb,
                series,
                start_timestamps,
            } => {
                st.start_timestamps |= start_timestamps;
                for s in series {
                    if s.has_histogram {
                        st.native.push(s.labels.clone());
                        continue;
                    }
                    if with_nhcb && let Some(base) = nhcb_family(&s.labels) {
                        st.native.push(base);
                    }
                    for (i, slot) in s.slots.iter().enumerate() {
                        if let Slot::Value(v) = slot {
                            st.store.add_sample(s.labels.clone(), i as i64 * step, *v);
                        }
                    }
                }
            }
            Command::Eval(e) => {
                let reason = file_skip_reason(file)
                    .map(str::to_string)
                    .or_else(|| skip_reason(&e, &st));
                match reason {
                    Some(r) => {
                        report
                            .skips
                            .push(format!("{file}:{}: {}: {r}", e.line, e.query));
                        *report.skipped.entry(r).or_default() += 1;
                    }
                    None => match run_eval(&e, &st, engine) {
                        Ok(()) => report.passed += 1,
                        Err(msg) => {
                            report.failed += 1;
                            report.failed_evals.push((e.line, e.query.clone()));
                            report
                                .failures
                                .push(format!("{file}:{}: {}: {msg}", e.line, e.query));
                        }
                    },
                }
            }
        }
    }
    report
}

/// The native histogram `load_with_nhcb` synthesises from a `_bucket` series.
fn nhcb_family(l: &Labels) -> Option<Labels> {
    let name = l.metric_name()?;
    let base = name
        .strip_suffix("_bucket")
        .or_else(|| name.strip_suffix("_count"))
        .or_else(|| name.strip_suffix("_sum"))?;
    Some(l.filter(|n| n != "le").with("__name__", base))
}

fn skip_reason(e: &Eval, st: &State) -> Option<String> {
    if st.start_timestamps {
        return Some("start timestamps".into());
    }
    let expr = match parse(&e.query) {
        Ok(x) => x,
        Err(_) if expects_failure(e) && !has_fail_detail(e) => return None,
        Err(_) if expects_failure(e) => {
            return Some("parse error text differs from Prometheus' parser".into());
        }
        Err(_) => return Some("syntax promql-parser cannot parse".into()),
    };
    if has_byte_escape(&e.query) {
        return Some("promql-parser decodes \\xNN byte escapes as characters".into());
    }
    if calls(&expr, &["info"]) {
        return Some("info() function".into());
    }
    if e.series.iter().any(|s| s.has_histogram) {
        return Some("native histograms".into());
    }
    if !st.native.is_empty() && selects_any(&expr, &st.native) {
        return Some("native histograms".into());
    }
    None
}

/// `\xNN` escapes of non-ASCII bytes: Go keeps the (invalid UTF-8) byte, promql-parser
/// turns it into a valid character, so validity checks cannot fire.
fn has_byte_escape(q: &str) -> bool {
    let b = q.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'\\' && w[1] == b'x' && matches!(w[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

fn has_fail_detail(e: &Eval) -> bool {
    e.expectations
        .iter()
        .any(|x| matches!(x, Expectation::Fail { msg, regex } if msg.is_some() || regex.is_some()))
}

fn run_eval(e: &Eval, st: &State, engine: &Engine) -> Result<(), String> {
    let result = match e.kind {
        EvalKind::Instant { at } => engine.instant(&st.store, &e.query, at),
        EvalKind::Range { start, end, step } => engine.range(&st.store, &e.query, start, end, step),
    };
    let result = match result {
        Err(err) => {
            if std::env::var("PROMQLTEST_SHOW_ERRORS").is_ok() {
                println!("    ERROR line {}: {}: {err}", e.line, e.query);
            }
            return check_failure(e, &err.to_string());
        }
        Ok(r) => r,
    };
    if expects_failure(e) {
        return Err(format!("expected an error, got {:?}", result.value));
    }
    check_value(e, &result.value)?;
    check_annotations(e, &result)?;
    if let EvalKind::Instant { at } = e.kind {
        let expr = parse(&e.query).map_err(|err| err.to_string())?;
        at_pinning_check(e, &expr, at, st, engine)?;
        range_mode_check(e, &expr, at, st, engine)?;
    }
    Ok(())
}

/// Re-runs the query with every outermost selector and subquery pinned to the eval
/// time with `@`, at several other evaluation times; results must not change.
fn at_pinning_check(
    e: &Eval,
    expr: &Expr,
    at: i64,
    st: &State,
    engine: &Engine,
) -> Result<(), String> {
    if calls(expr, TIME_DEPENDENT) {
        return Ok(());
    }
    let mut pinned = expr.clone();
    let when = AtModifier::At(UNIX_EPOCH + Duration::from_millis(at.max(0) as u64));
    pin(&mut pinned, &when);
    let times: Vec<i64> = if at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * at, 0, at / 5, at, 10 * at]
    };
    for t in times {
        let r = engine
            .instant_ast(&st.store, &pinned, t)
            .map_err(|err| format!("@-pinned run at {t}ms failed: {err}"))?;
        check_value(e, &r.value).map_err(|m| format!("@-pinned run at {t}ms ({pinned}): {m}"))?;
    }
    Ok(())
}

fn pin(e: &mut Expr, at: &AtModifier) {
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => vs.at = Some(at.clone()),
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => ms.vs.at = Some(at.clone()),
        Expr::Subquery(sq) if sq.at.is_none() => sq.at = Some(at.clone()),
        Expr::Aggregate(a) => {
            pin(&mut a.expr, at);
            if let Some(p) = &mut a.param {
                pin(p, at);
            }
        }
        Expr::Unary(u) => pin(&mut u.expr, at),
        Expr::Paren(p) => pin(&mut p.expr, at),
        Expr::Binary(b) => {
            pin(&mut b.lhs, at);
            pin(&mut b.rhs, at);
        }
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| pin(a, at)),
        _ => {}
    }
}

/// Runs the instant query as a range query around the eval time and compares the
/// sample at exactly that time.
fn range_mode_check(
    e: &Eval,
    expr: &Expr,
    at: i64,
    st: &State,
    engine: &Engine,
) -> Result<(), String> {
    let excluded = e.expectations.iter().any(|x| {
        matches!(
            x,
            Expectation::Ordered | Expectation::RangeVector { .. } | Expectation::String(_)
        )
    });
    if excluded
        || calls(expr, &["start", "end", "range", "step"])
        || !matches!(expr.value_type(), ValueType::Vector | ValueType::Scalar)
    {
        return Ok(());
    }
    let r = engine
        .range(&st.store, &e.query, at - 60_000, at + 60_000, 60_000)
        .map_err(|err| format!("range-mode run failed: {err}"))?;
    let QueryValue::Matrix(m) = &r.value else {
        return Err("range-mode run did not return a matrix".into());
    };
    let at_t: Vec<(Labels, f64)> = m
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.0 == at)
                .map(|p| (s.metric.clone(), p.1))
        })
        .collect();
    if let Some(Expectation::Scalar(want)) = e
        .expectations
        .iter()
        .find(|x| matches!(x, Expectation::Scalar(_)))
    {
        return match at_t.as_slice() {
            [(_, v)] if super::compare::float_eq(*want, *v) => Ok(()),
            other => Err(format!("range-mode: expected scalar {want}, got {other:?}")),
        };
    }
    check_vector(&e.series, &at_t, false).map_err(|m| format!("range-mode: {m}"))
}

/// Whether the expression calls any of the named functions.
fn calls(e: &Expr, names: &[&str]) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let Expr::Call(c) = x
            && names.contains(&c.func.name)
        {
            found = true;
        }
        if let Expr::VectorSelector(vs) = x
            && matches!(vs.at, Some(AtModifier::Start | AtModifier::End))
            && (names.contains(&"start") || names.contains(&"end"))
        {
            found = true;
        }
    });
    found
}

fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, f)),
        Expr::MatrixSelector(ms) => f(&Expr::VectorSelector(ms.vs.clone())),
        _ => {}
    }
}

/// Whether any selector of the expression matches one of the given label sets.
fn selects_any(e: &Expr, series: &[Labels]) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let Expr::VectorSelector(vs) = x
            && series.iter().any(|l| selector_matches(vs, l))
        {
            found = true;
        }
    });
    found
}

fn selector_matches(vs: &VectorSelector, l: &Labels) -> bool {
    if let Some(n) = &vs.name
        && l.metric_name() != Some(n.as_str())
    {
        return false;
    }
    let groups: Vec<&Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![&vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers.iter().collect()
    };
    groups.iter().any(|g| {
        g.iter().all(|m| {
            let kind = match m.op {
                MatchOp::Equal => MatchKind::Equal,
                MatchOp::NotEqual => MatchKind::NotEqual,
                MatchOp::Re(_) => MatchKind::Regex,
                MatchOp::NotRe(_) => MatchKind::NotRegex,
            };
            LabelMatcher::new(kind, &m.name, &m.value).is_ok_and(|lm| lm.matches_labels(l))
        })
    })
}
