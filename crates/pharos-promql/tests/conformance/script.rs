//! Parsing of promqltest scripts (`*.test`) into commands, as specified in
//! `shared/reference/promqltest/README.md`.

use pharos_promql::{Labels, stale_nan};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, parse};

/// One value slot of a series line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// A float sample (possibly the staleness marker).
    Value(f64),
    /// `_`: no sample here.
    Missing,
}

/// A `<series> <values...>` line.
#[derive(Debug, Clone)]
pub struct SeriesLine {
    pub labels: Labels,
    pub slots: Vec<Slot>,
    /// The line holds native-histogram values (`{{...}}`), which we do not support.
    pub has_histogram: bool,
}

#[derive(Debug, Clone)]
pub enum Expectation {
    Fail {
        msg: Option<String>,
        regex: Option<String>,
    },
    Annotation {
        warn: bool,
        msg: Option<String>,
        regex: Option<String>,
    },
    NoAnnotation {
        warn: bool,
    },
    Ordered,
    RangeVector {
        start: i64,
        step: i64,
    },
    String(String),
    Scalar(f64),
}

#[derive(Debug, Clone)]
pub enum EvalKind {
    Instant { at: i64 },
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Debug, Clone)]
pub struct Eval {
    pub line: usize,
    pub kind: EvalKind,
    pub query: String,
    pub expectations: Vec<Expectation>,
    pub series: Vec<SeriesLine>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Load {
        step: i64,
        with_nhcb: bool,
        series: Vec<SeriesLine>,
        start_timestamps: bool,
    },
    Clear,
    Eval(Box<Eval>),
}

/// Splits a script into commands; errors name the offending line.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        let head = &lines[start];
        let word = head.split_whitespace().next().unwrap_or("").to_lowercase();
        // `clear` is a one-line command; `load` and `eval` take lines up to a blank one.
        let mut end = i + 1;
        while word != "clear" && end < lines.len() && !lines[end].is_empty() {
            end += 1;
        }
        let body = &lines[start + 1..end];
        let cmd = if word == "clear" {
            Command::Clear
        } else if word.starts_with("load") {
            parse_load(head, body).map_err(|e| format!("line {}: {e}", start + 1))?
        } else if word.starts_with("eval") {
            Command::Eval(Box::new(
                parse_eval(start + 1, head, body)
                    .map_err(|e| format!("line {}: {e}", start + 1))?,
            ))
        } else {
            return Err(format!("line {}: unknown command {word:?}", start + 1));
        };
        cmds.push(cmd);
        i = end;
    }
    Ok(cmds)
}

fn parse_load(head: &str, body: &[String]) -> Result<Command, String> {
    let mut parts = head.split_whitespace();
    let word = parts.next().unwrap_or("");
    let step = parse_duration(parts.next().ok_or("load without step")?)?;
    let mut series = Vec::new();
    let mut start_timestamps = false;
    for l in body {
        let (desc, rest) = split_series(l)?;
        if desc.ends_with("@st") {
            start_timestamps = true;
            continue;
        }
        series.push(series_line(desc, rest)?);
    }
    Ok(Command::Load {
        step,
        with_nhcb: word.eq_ignore_ascii_case("load_with_nhcb"),
        series,
        start_timestamps,
    })
}

fn parse_eval(line: usize, head: &str, body: &[String]) -> Result<Eval, String> {
    let (word, rest) = head.split_once(char::is_whitespace).ok_or("empty eval")?;
    let word = word.to_lowercase();
    let mut expectations = Vec::new();
    match word.as_str() {
        "eval" => {}
        "eval_fail" => expectations.push(Expectation::Fail {
            msg: None,
            regex: None,
        }),
        "eval_warn" => expectations.push(Expectation::Annotation {
            warn: true,
            msg: None,
            regex: None,
        }),
        "eval_info" => expectations.push(Expectation::Annotation {
            warn: false,
            msg: None,
            regex: None,
        }),
        "eval_ordered" => expectations.push(Expectation::Ordered),
        other => return Err(format!("unknown eval form {other:?}")),
    }
    let rest = rest.trim();
    let (kind, query) = if let Some(r) = rest.strip_prefix("instant") {
        let r = r
            .trim_start()
            .strip_prefix("at")
            .ok_or("expected 'at'")?
            .trim_start();
        let (t, q) = r
            .split_once(char::is_whitespace)
            .ok_or("missing expression")?;
        (
            EvalKind::Instant {
                at: parse_duration(t)?,
            },
            q.trim(),
        )
    } else if let Some(r) = rest.strip_prefix("range") {
        let w: Vec<&str> = r.trim_start().splitn(7, char::is_whitespace).collect();
        if w.len() < 7 || w[0] != "from" || w[2] != "to" || w[4] != "step" {
            return Err("expected 'range from <t> to <t> step <d> <expr>'".into());
        }
        let (start, end, step) = (
            parse_duration(w[1])?,
            parse_duration(w[3])?,
            parse_duration(w[5])?,
        );
        if end < start {
            return Err("range end before start".into());
        }
        (EvalKind::Range { start, end, step }, w[6].trim())
    } else {
        return Err("expected 'instant' or 'range'".into());
    };
    let mut series = Vec::new();
    for l in body {
        if let Some(e) = parse_expect_line(l)? {
            expectations.push(e);
            continue;
        }
        if let Some(msg) = l.strip_prefix("expected_fail_message ") {
            set_fail(&mut expectations, Some(msg.trim().to_string()), None);
            continue;
        }
        if let Some(re) = l.strip_prefix("expected_fail_regexp ") {
            set_fail(&mut expectations, None, Some(re.trim().to_string()));
            continue;
        }
        if let Ok(v) = parse_float(l) {
            expectations.push(Expectation::Scalar(v));
            continue;
        }
        let (desc, rest) = split_series(l)?;
        series.push(series_line(desc, rest)?);
    }
    Ok(Eval {
        line,
        kind,
        query: query.to_string(),
        expectations,
        series,
    })
}

fn set_fail(ex: &mut Vec<Expectation>, msg: Option<String>, regex: Option<String>) {
    ex.retain(|e| !matches!(e, Expectation::Fail { .. }));
    ex.push(Expectation::Fail { msg, regex });
}

fn parse_expect_line(l: &str) -> Result<Option<Expectation>, String> {
    let Some(r) = l.strip_prefix("expect ") else {
        return Ok(None);
    };
    let r = r.trim();
    let with_detail = |rest: &str| -> (Option<String>, Option<String>) {
        let rest = rest.trim();
        if let Some(m) = rest.strip_prefix("msg:") {
            (Some(m.trim().to_string()), None)
        } else if let Some(m) = rest.strip_prefix("regex:") {
            (None, Some(m.trim().to_string()))
        } else {
            (None, None)
        }
    };
    let e = if let Some(rest) = r.strip_prefix("fail") {
        let (msg, regex) = with_detail(rest);
        Expectation::Fail { msg, regex }
    } else if let Some(rest) = r.strip_prefix("warn") {
        let (msg, regex) = with_detail(rest);
        Expectation::Annotation {
            warn: true,
            msg,
            regex,
        }
    } else if let Some(rest) = r.strip_prefix("info") {
        let (msg, regex) = with_detail(rest);
        Expectation::Annotation {
            warn: false,
            msg,
            regex,
        }
    } else if r == "no_warn" {
        Expectation::NoAnnotation { warn: true }
    } else if r == "no_info" {
        Expectation::NoAnnotation { warn: false }
    } else if r == "ordered" {
        Expectation::Ordered
    } else if let Some(rest) = r.strip_prefix("range vector") {
        let w: Vec<&str> = rest.split_whitespace().collect();
        if w.len() != 6 || w[0] != "from" || w[2] != "to" || w[4] != "step" {
            return Err(format!("bad range vector expectation {l:?}"));
        }
        // The end is implied by the number of expected values.
        parse_duration(w[3])?;
        Expectation::RangeVector {
            start: parse_duration(w[1])?,
            step: parse_duration(w[5])?,
        }
    } else if let Some(rest) = r.strip_prefix("string") {
        Expectation::String(unquote(rest.trim())?)
    } else {
        return Err(format!("unknown expectation {l:?}"));
    };
    Ok(Some(e))
}

fn unquote(s: &str) -> Result<String, String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        return Ok(s[1..s.len() - 1].to_string());
    }
    match parse(s) {
        Ok(Expr::StringLiteral(l)) => Ok(l.val),
        _ => Err(format!("bad string literal {s:?}")),
    }
}

/// Splits `name{labels} values...` into the series descriptor and the values.
fn split_series(l: &str) -> Result<(&str, &str), String> {
    let b = l.as_bytes();
    let mut i = 0;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'{' {
        i += 1;
    }
    if i < b.len() && b[i] == b'{' {
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(q) if c == b'\\' => {
                    let _ = q;
                    i += 1;
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' || c == b'`' => quote = Some(c),
                None if c == b'}' => {
                    i += 1;
                    break;
                }
                None => {}
            }
            i += 1;
        }
    }
    // Start-timestamp lines put `@st` right after the descriptor.
    if l[i..].starts_with("@st") {
        i += 3;
    }
    Ok((&l[..i], l[i..].trim()))
}

fn series_line(desc: &str, values: &str) -> Result<SeriesLine, String> {
    let labels = parse_labels(desc)?;
    let tokens = value_tokens(values);
    let has_histogram = tokens.iter().any(|t| t.contains("{{"));
    let mut slots = Vec::new();
    if !has_histogram {
        for t in &tokens {
            expand(t, &mut slots)?;
        }
    }
    Ok(SeriesLine {
        labels,
        slots,
        has_histogram,
    })
}

/// Parses a series descriptor with the PromQL parser (all matchers are `=`).
pub fn parse_labels(desc: &str) -> Result<Labels, String> {
    if desc == "{}" {
        return Ok(Labels::empty());
    }
    let e = parse(desc).map_err(|e| format!("bad series {desc:?}: {e}"))?;
    let Expr::VectorSelector(vs) = e else {
        return Err(format!("bad series {desc:?}"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(n) = vs.name {
        pairs.push(("__name__".into(), n));
    }
    for m in vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(format!("series {desc:?} must only use '='"));
        }
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Splits values on whitespace, keeping `{{ ... }}` histogram literals whole.
fn value_tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Expands one value token (`7`, `1+2x3`, `_x4`, `stale`, ...) into slots.
fn expand(t: &str, out: &mut Vec<Slot>) -> Result<(), String> {
    if t == "_" {
        out.push(Slot::Missing);
        return Ok(());
    }
    if t == "stale" {
        out.push(Slot::Value(stale_nan()));
        return Ok(());
    }
    if let Ok(v) = parse_value(t) {
        out.push(Slot::Value(v));
        return Ok(());
    }
    let (base, times) = t
        .rsplit_once('x')
        .ok_or_else(|| format!("bad value {t:?}"))?;
    let n: usize = times
        .parse()
        .map_err(|_| format!("bad repeat count in {t:?}"))?;
    if base == "_" {
        out.extend(std::iter::repeat_n(Slot::Missing, n));
        return Ok(());
    }
    if base == "stale" {
        out.extend(std::iter::repeat_n(Slot::Value(stale_nan()), n + 1));
        return Ok(());
    }
    if let Ok(v) = parse_value(base) {
        out.extend(std::iter::repeat_n(Slot::Value(v), n + 1));
        return Ok(());
    }
    // a+b or a-b: the operator is the first sign after position 0 not in an exponent.
    let bytes = base.as_bytes();
    let op_at = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'))
        .ok_or_else(|| format!("bad value {t:?}"))?;
    let a = parse_value(&base[..op_at])?;
    let mut b = parse_value(&base[op_at + 1..])?;
    if bytes[op_at] == b'-' {
        b = -b;
    }
    // Repeated addition, as the reference harness does, so float rounding matches.
    let mut v = a;
    out.push(Slot::Value(v));
    for _ in 0..n {
        v += b;
        out.push(Slot::Value(v));
    }
    Ok(())
}

/// A float in a series value list: like [`parse_float`] but without hex, because `0x5`
/// there means "0 repeated 5 more times".
fn parse_value(s: &str) -> Result<f64, String> {
    if s.contains(['x', 'X']) && !s.eq_ignore_ascii_case("infinity") {
        return Err(format!("not a plain value: {s:?}"));
    }
    parse_float(s)
}

/// Parses a float as Go's `strconv.ParseFloat` (plus hex integers and `Inf`/`NaN`).
pub fn parse_float(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16)
            .map(|v| v as f64)
            .map_err(|e| e.to_string())?
    } else if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        body.parse::<f64>().map_err(|e| format!("{s:?}: {e}"))?
    } else {
        return Err(format!("not a number: {s:?}"));
    };
    Ok(if neg { -v } else { v })
}

/// Parses `1h30m`, `500ms`, `0`, `-5m`; a bare number means seconds. Returns ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if let Ok(secs) = body.parse::<f64>() {
        let ms = (secs * 1000.0).round() as i64;
        return Ok(if neg { -ms } else { ms });
    }
    let mut total: i64 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mult = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(format!("bad duration unit in {s:?}")),
        };
        total += n * mult;
    }
    Ok(if neg { -total } else { total })
}
