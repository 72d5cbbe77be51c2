//! Source positions of AST nodes, for annotation messages such as `... (1:15)`.
//!
//! promql-parser does not record positions, so this module re-tokenises the query and
//! walks the AST in step with the tokens (the AST's in-order traversal visits tokens in
//! source order). It is best effort: if the walk gets out of step, the remaining nodes
//! simply have no position.

use std::collections::HashMap;

use promql_parser::parser::{Expr, LabelModifier};

/// Start offsets of expression nodes, keyed by node address.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    starts: HashMap<usize, usize>,
    line_starts: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Word,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
}

impl Positions {
    /// No positions (for ASTs without query text).
    pub fn none() -> Self {
        Self::default()
    }

    pub fn compute(query: &str, expr: &Expr) -> Self {
        let mut p = Positions {
            starts: HashMap::new(),
            line_starts: std::iter::once(0)
                .chain(query.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        };
        let toks = tokenize(query);
        let mut w = Walker {
            toks: &toks,
            i: 0,
            out: &mut p.starts,
        };
        // A failed walk leaves the positions found so far.
        let _ = w.expr(expr);
        p
    }

    /// ` (line:col)` for a node, or an empty string when unknown.
    pub fn suffix(&self, expr: &Expr) -> String {
        match self.starts.get(&node_key(expr)) {
            Some(&off) => {
                let line = self.line_starts.partition_point(|&s| s <= off);
                let col = off - self.line_starts[line - 1] + 1;
                format!(" ({line}:{col})")
            }
            None => String::new(),
        }
    }
}

fn node_key(e: &Expr) -> usize {
    e as *const Expr as usize
}

fn tokenize(q: &str) -> Vec<Tok<'_>> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let kind = if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' && c != b'`' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            // Numbers and durations: digits, letters, dots, and an exponent sign.
            i += 1;
            while i < b.len() {
                let d = b[i];
                let exp_sign = (d == b'+' || d == b'-')
                    && matches!(b[i - 1], b'e' | b'E')
                    && !q[start..i].starts_with("0x");
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Number
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            Kind::Word
        } else {
            let two = q.get(i..i + 2).unwrap_or("");
            i += if ["==", "!=", "<=", ">=", "=~", "!~"].contains(&two) {
                2
            } else {
                1
            };
            // Keep multi-byte characters whole.
            while !q.is_char_boundary(i) {
                i += 1;
            }
            Kind::Punct
        };
        out.push(Tok {
            kind,
            text: &q[start..i],
            start,
        });
    }
    out
}

struct Walker<'t, 'a> {
    toks: &'t [Tok<'a>],
    i: usize,
    out: &'t mut HashMap<usize, usize>,
}

type Step = Option<()>;

impl Walker<'_, '_> {
    fn peek(&self) -> Option<Tok<'_>> {
        self.toks.get(self.i).copied()
    }

    fn is(&self, text: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.text.eq_ignore_ascii_case(text))
    }

    fn eat(&mut self, text: &str) -> Step {
        if self.is(text) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn next(&mut self) -> Step {
        (self.i < self.toks.len()).then(|| self.i += 1)
    }

    /// Skips a balanced bracketed group starting at the current opening token.
    fn skip_group(&mut self, open: &str, close: &str) -> Step {
        self.eat(open)?;
        let mut depth = 1;
        while depth > 0 {
            let t = self.peek()?;
            if t.text == open {
                depth += 1;
            } else if t.text == close {
                depth -= 1;
            }
            self.i += 1;
        }
        Some(())
    }

    fn record(&mut self, e: &Expr, start: usize) {
        self.out.insert(node_key(e), start);
    }

    fn expr(&mut self, e: &Expr) -> Step {
        // A dropped unary plus leaves a `+` token without a node.
        while self.is("+") && !matches!(e, Expr::NumberLiteral(_)) {
            self.i += 1;
        }
        let start = self.peek()?.start;
        match e {
            Expr::NumberLiteral(_) => {
                while self.is("+") || self.is("-") {
                    self.i += 1;
                }
                self.next()?;
            }
            Expr::StringLiteral(_) => {
                if self.peek()?.kind != Kind::Str {
                    return None;
                }
                self.next()?;
            }
            Expr::Paren(p) => {
                self.eat("(")?;
                self.expr(&p.expr)?;
                self.eat(")")?;
            }
            Expr::Unary(u) => {
                self.eat("-")?;
                self.expr(&u.expr)?;
            }
            Expr::Binary(b) => {
                self.expr(&b.lhs)?;
                self.record(e, start);
                self.next()?; // operator
                self.bin_modifiers()?;
                self.expr(&b.rhs)?;
            }
            Expr::VectorSelector(_) => {
                self.selector_body()?;
                self.modifiers();
            }
            Expr::MatrixSelector(_) => {
                self.selector_body()?;
                self.skip_group("[", "]")?;
                self.modifiers();
            }
            Expr::Subquery(s) => {
                self.expr(&s.expr)?;
                self.record(e, start);
                self.skip_group("[", "]")?;
                self.modifiers();
            }
            Expr::Call(c) => {
                self.next()?; // function name
                self.eat("(")?;
                for (n, a) in c.args.args.iter().enumerate() {
                    if n > 0 {
                        self.eat(",")?;
                    }
                    self.expr(a)?;
                }
                self.eat(")")?;
            }
            Expr::Aggregate(a) => {
                self.next()?; // operator
                let modifier_first = self.is("by") || self.is("without");
                if modifier_first {
                    self.next()?;
                    self.skip_group("(", ")")?;
                }
                self.eat("(")?;
                if let Some(p) = &a.param {
                    self.expr(p)?;
                    self.eat(",")?;
                }
                self.expr(&a.expr)?;
                self.eat(")")?;
                if !modifier_first && a.modifier.as_ref().is_some_and(has_tokens) {
                    self.next()?;
                    self.skip_group("(", ")")?;
                }
            }
            Expr::Extension(_) => return None,
        }
        self.record(e, start);
        Some(())
    }

    /// Metric name and/or `{...}` matchers.
    fn selector_body(&mut self) -> Step {
        if self.peek()?.kind == Kind::Word {
            self.next()?;
        }
        if self.is("{") {
            self.skip_group("{", "}")?;
        }
        Some(())
    }

    /// Any sequence of `offset <dur>` and `@ <time>` modifiers.
    fn modifiers(&mut self) {
        loop {
            if self.eat("offset").is_some() {
                while self.is("-") || self.is("+") {
                    self.i += 1;
                }
                self.i += 1;
            } else if self.eat("@").is_some() {
                while self.is("-") || self.is("+") {
                    self.i += 1;
                }
                let fn_form = self.is("start") || self.is("end");
                self.i += 1;
                if fn_form && self.is("(") {
                    let _ = self.skip_group("(", ")");
                }
            } else {
                return;
            }
        }
    }

    /// `bool`, `on(...)`/`ignoring(...)`, `group_left/right(...)`, `fill*(...)`.
    fn bin_modifiers(&mut self) -> Step {
        let _ = self.eat("bool");
        if self.eat("on").is_some() || self.eat("ignoring").is_some() {
            self.skip_group("(", ")")?;
            if (self.eat("group_left").is_some() || self.eat("group_right").is_some())
                && self.is("(")
            {
                self.skip_group("(", ")")?;
            }
        }
        while self.eat("fill").is_some()
            || self.eat("fill_left").is_some()
            || self.eat("fill_right").is_some()
        {
            self.skip_group("(", ")")?;
        }
        Some(())
    }
}

/// Whether a grouping modifier appears in the text (`by ()` may be omitted by the
/// parser's representation, but it is always written when present).
fn has_tokens(m: &LabelModifier) -> bool {
    matches!(m, LabelModifier::Include(_) | LabelModifier::Exclude(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn pos_of(query: &str, pick: impl Fn(&Expr) -> &Expr) -> String {
        let e = parse(query).unwrap();
        let p = Positions::compute(query, &e);
        p.suffix(pick(&e))
    }

    /// Every node of the expression, depth first.
    fn nodes(e: &Expr) -> Vec<&Expr> {
        let mut out = vec![e];
        match e {
            Expr::Aggregate(a) => {
                out.extend(a.param.iter().flat_map(|p| nodes(p)));
                out.extend(nodes(&a.expr));
            }
            Expr::Unary(u) => out.extend(nodes(&u.expr)),
            Expr::Paren(p) => out.extend(nodes(&p.expr)),
            Expr::Binary(b) => {
                out.extend(nodes(&b.lhs));
                out.extend(nodes(&b.rhs));
            }
            Expr::Subquery(s) => out.extend(nodes(&s.expr)),
            Expr::Call(c) => out.extend(c.args.args.iter().flat_map(|a| nodes(a))),
            _ => {}
        }
        out
    }

    #[test]
    fn every_node_of_complex_queries_gets_a_position() {
        for q in [
            r#"sum by (job) (rate(http_requests_total{job=~"a|b",path!="/x\"y"}[5m] offset -1m)) / on(job) group_left(team) max without (i) (team_info)"#,
            "topk(3, x) or bottomk by (a) (2, y @ start()) unless z @ 100",
            "max_over_time((rate(x[1m]) * 2)[30m:1m] @ end() offset 5m)",
            "-(1 + -2) ^ 2 % 3 atan2 4 > bool 1e3",
            r#"sum(x) by (a) + count_values("v", y) - quantile(0.9, z)"#,
            "a + ignoring(b) group_right c * fill(0) d",
            r#"label_replace(up, 'dst', `$1`, "src", "(.*)") # trailing comment"#,
            r#"{__name__="up", job="api"} == 0x1F"#,
            "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))[10m:] offset 1h",
        ] {
            let e = parse(q).unwrap_or_else(|err| panic!("{q}: {err}"));
            let p = Positions::compute(q, &e);
            for n in nodes(&e) {
                assert!(!p.suffix(n).is_empty(), "no position for {n} in {q}");
            }
        }
    }

    #[test]
    fn positions_count_lines_and_columns() {
        let q = "sum(\n  rate(x[5m])\n)";
        let got = pos_of(q, |e| match e {
            Expr::Aggregate(a) => &a.expr,
            _ => e,
        });
        assert_eq!(got, " (2:3)");
    }

    #[test]
    fn call_arguments_have_positions() {
        let q = "sum(sort(series))";
        let got = pos_of(q, |e| match e {
            Expr::Aggregate(a) => &a.expr,
            _ => e,
        });
        assert_eq!(got, " (1:5)");
    }

    #[test]
    fn nested_arguments_after_commas() {
        let q = "histogram_quantile(0.5, rate(x_bucket{a=\"b\"}[5m]))";
        let got = pos_of(q, |e| match e {
            Expr::Call(c) => &c.args.args[1],
            _ => e,
        });
        assert_eq!(got, " (1:25)");
    }

    #[test]
    fn aggregation_parameter_after_modifier() {
        let q = "count(limit_ratio by (a) (1.1, x) and x)";
        let e = parse(q).unwrap();
        let p = Positions::compute(q, &e);
        let Expr::Aggregate(count) = &e else { panic!() };
        let Expr::Binary(b) = count.expr.as_ref() else {
            panic!()
        };
        let Expr::Aggregate(lr) = b.lhs.as_ref() else {
            panic!()
        };
        assert_eq!(p.suffix(lr.param.as_deref().unwrap()), " (1:27)");
    }
}
