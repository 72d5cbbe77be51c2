//! A linear pre-parse estimate of the two things that make promql-parser slow, so hostile
//! text is refused before the parser spends quadratic time on it:
//!
//! - **Nesting.** The parser's type check walks the left spine of every binary operator again
//!   (and both sides of scalar ones), so an operator chain costs time quadratic in its depth.
//!   The scan runs an operator-precedence pass over the tokens with PromQL's precedences and
//!   computes the height of the tree the parser will build, as a *lower bound*: it never
//!   exceeds the real AST depth, so refusing above [`MAX_NESTING_DEPTH`] here only refuses
//!   what the post-parse check would refuse anyway.
//! - **Aggregation weight.** The parser builds every aggregation (`sum`, `topk`, ...) by
//!   cloning its argument, so nested aggregations copy their contents once per level. The
//!   weight counts every token once per aggregation body around it, an *upper bound* on that
//!   copying.

use crate::depth::MAX_NESTING_DEPTH;

/// Most tokens-times-enclosing-aggregations a query may carry (see the module docs). A
/// 64 KiB query under four nested aggregations stays below it; 256 nested `sum(`s around
/// a 1 000-argument `label_join` do not.
pub const MAX_AGGREGATION_WEIGHT: usize = 200_000;

/// What the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Lower bound of the AST depth (root = 0).
    pub depth: usize,
    /// Tokens counted once per enclosing aggregation body.
    pub aggregation_weight: usize,
}

const AGGREGATORS: [&str; 14] = [
    "avg",
    "bottomk",
    "count",
    "count_values",
    "group",
    "limit_ratio",
    "limitk",
    "max",
    "min",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
];

/// Keywords followed by a parenthesised label or value list that holds no expression.
const LIST_KEYWORDS: [&str; 9] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "fill",
    "fill_left",
    "fill_right",
];

/// List keywords that are metric names when no list follows.
const FILL_KEYWORDS: [&str; 3] = ["fill", "fill_left", "fill_right"];

/// Precedence of the multiplication level, which unary minus shares (`SUB expr %prec MUL`).
const UNARY_PRECEDENCE: u8 = 5;

#[derive(Debug, Clone, Copy)]
struct Operand {
    height: usize,
    /// A number literal: unary minus folds into it instead of adding a level.
    number: bool,
}

const LEAF: Operand = Operand {
    height: 0,
    number: false,
};

#[derive(Debug, Clone, Copy)]
enum Operator {
    Binary { precedence: u8 },
    UnaryMinus,
}

impl Operator {
    fn precedence(self) -> u8 {
        match self {
            Self::Binary { precedence } => precedence,
            Self::UnaryMinus => UNARY_PRECEDENCE,
        }
    }
}

/// One bracket level: `( ... )`, a call's or aggregation's arguments, or the whole query.
#[derive(Debug, Default)]
struct Level {
    operands: Vec<Operand>,
    operators: Vec<Operator>,
    /// The last token was an operand, so `+`/`-` are binary and a `(` belongs to it.
    after_operand: bool,
    /// The last operand was an aggregator name, so a following `(` opens its body.
    after_aggregator: bool,
    /// Highest finished argument (between commas) so far.
    highest_item: Option<usize>,
    /// This level is an aggregation body.
    aggregation: bool,
}

impl Level {
    fn push_operand(&mut self, operand: Operand) {
        if self.after_operand {
            // Juxtaposed operands (`sum by (x) (...)`, `rate(...)`): one node, not two.
            let top = self.operands.last_mut();
            if let Some(top) = top {
                top.height = top.height.max(operand.height);
                top.number = false;
            }
        } else {
            self.operands.push(operand);
        }
        self.after_operand = true;
        self.after_aggregator = false;
    }

    fn push_operator(&mut self, operator: Operator) {
        if let Operator::Binary { precedence } = operator {
            // Left-associative operators reduce equal precedence first; `^` is
            // right-associative.
            let right_assoc = precedence == 6;
            while let Some(&top) = self.operators.last() {
                let reduce = top.precedence() > precedence
                    || (top.precedence() == precedence && !right_assoc);
                if !reduce {
                    break;
                }
                self.reduce_one();
            }
        }
        self.operators.push(operator);
        self.after_operand = false;
        self.after_aggregator = false;
    }

    fn reduce_one(&mut self) {
        let Some(operator) = self.operators.pop() else {
            return;
        };
        let right = self.operands.pop().unwrap_or(LEAF);
        let combined = match operator {
            Operator::UnaryMinus if right.number => right,
            Operator::UnaryMinus => Operand {
                height: right.height + 1,
                number: false,
            },
            Operator::Binary { .. } => {
                let left = self.operands.pop().unwrap_or(LEAF);
                Operand {
                    height: left.height.max(right.height) + 1,
                    number: false,
                }
            }
        };
        self.operands.push(combined);
    }

    /// Ends the current argument (at a comma or the closing bracket).
    fn finish_item(&mut self) {
        while !self.operators.is_empty() {
            self.reduce_one();
        }
        if let Some(highest) = self.operands.drain(..).map(|o| o.height).max() {
            self.highest_item = Some(self.highest_item.map_or(highest, |h| h.max(highest)));
        }
        self.after_operand = false;
        self.after_aggregator = false;
    }

    /// Height of the node this bracket level becomes (paren, call or aggregation).
    fn close(mut self) -> usize {
        self.finish_item();
        self.highest_item.map_or(0, |h| h + 1)
    }
}

/// Scans `query` once. Text inside strings, comments, `{...}` and `[...]` never nests.
pub(crate) fn scan(query: &str) -> Shape {
    Scanner::new(query).run()
}

struct Scanner<'q> {
    text: &'q [u8],
    at: usize,
    levels: Vec<Level>,
    open_aggregations: usize,
    shape: Shape,
    /// After `offset` or `@`: the next sign and atom belong to the modifier.
    in_modifier: bool,
}

impl<'q> Scanner<'q> {
    fn new(query: &'q str) -> Self {
        Self {
            text: query.as_bytes(),
            at: 0,
            levels: vec![Level::default()],
            open_aggregations: 0,
            shape: Shape {
                depth: 0,
                aggregation_weight: 0,
            },
            in_modifier: false,
        }
    }

    fn level(&mut self) -> &mut Level {
        if self.levels.is_empty() {
            self.levels.push(Level::default());
        }
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn count_token(&mut self) {
        self.shape.aggregation_weight = self
            .shape
            .aggregation_weight
            .saturating_add(self.open_aggregations);
    }

    fn run(mut self) -> Shape {
        while let Some(byte) = self.peek() {
            if byte.is_ascii_whitespace() {
                self.at += 1;
                continue;
            }
            if byte == b'#' {
                self.skip_comment();
                continue;
            }
            self.count_token();
            self.token(byte);
            if self.shape.depth > MAX_NESTING_DEPTH {
                break;
            }
        }
        // Unclosed brackets (a parse error anyway) close at the end.
        while self.levels.len() > 1 {
            self.close_level();
        }
        let root = self.levels.pop().map_or(0, Level::close);
        // `close` adds a level for the brackets, which the root does not have.
        self.shape.depth = self.shape.depth.max(root.saturating_sub(1));
        self.shape
    }

    fn token(&mut self, byte: u8) {
        match byte {
            b'"' | b'\'' | b'`' => {
                self.skip_string(byte);
                self.operand(LEAF);
            }
            b'{' => {
                self.at += 1;
                self.skip_until(b'}');
                self.operand(LEAF);
            }
            b'[' => {
                self.at += 1;
                let subquery = self.skip_until(b']');
                // `x[5m:1m]` wraps `x` in a subquery node; `x[5m]` replaces it by a leaf.
                if subquery && let Some(top) = self.level().operands.last_mut() {
                    top.height += 1;
                    top.number = false;
                }
            }
            b'(' => {
                self.at += 1;
                self.open_level();
            }
            b')' => {
                self.at += 1;
                if self.levels.len() > 1 {
                    self.close_level();
                }
            }
            b',' => {
                self.at += 1;
                self.level().finish_item();
            }
            b'@' => {
                self.at += 1;
                self.in_modifier = true;
            }
            b'0'..=b'9' | b'.' => {
                self.skip_number();
                self.operand(Operand {
                    height: 0,
                    number: true,
                });
            }
            b if b.is_ascii_alphabetic() || b == b'_' || b == b':' => self.word(),
            _ => self.symbol(byte),
        }
    }

    /// An atom in operand position, unless a modifier (`offset 5m`, `@ 100`) consumes it.
    fn operand(&mut self, operand: Operand) {
        if self.in_modifier {
            self.in_modifier = false;
            return;
        }
        self.level().push_operand(operand);
    }

    fn word(&mut self) {
        let start = self.at;
        while let Some(b) = self.peek() {
            if !(b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                break;
            }
            self.at += 1;
        }
        let word = &self.text[start..self.at];
        let before_paren = self.next_significant() == Some(b'(');
        if self.in_modifier {
            // `@ start()`, `@ end()`.
            self.in_modifier = false;
            if before_paren {
                self.skip_list();
            }
            return;
        }
        // Keywords are case-insensitive, as in the parser's lexer.
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword.as_bytes());
        let is_any = |keywords: &[&str]| keywords.iter().any(|k| is(k));
        if is("or") {
            self.binary(1);
        } else if is_any(&["and", "unless"]) {
            self.binary(2);
        } else if is("atan2") {
            self.binary(5);
        } else if is("offset") {
            self.in_modifier = true;
        } else if is_any(&["inf", "nan"]) {
            self.operand(Operand {
                height: 0,
                number: true,
            });
        } else if is_any(&LIST_KEYWORDS) && (before_paren || !is_any(&FILL_KEYWORDS)) {
            if before_paren {
                self.skip_list();
            }
        } else if !is("bool") {
            // `fill` without a list is a metric name.
            let aggregator = is_any(&AGGREGATORS);
            self.operand(LEAF);
            self.level().after_aggregator = aggregator;
        }
    }

    fn symbol(&mut self, byte: u8) {
        self.at += 1;
        let second = self.peek();
        let precedence = match (byte, second) {
            (b'+' | b'-', _) => {
                if self.in_modifier {
                    // The sign of `offset -5m` or `@ -100`.
                    return;
                }
                if !self.level().after_operand {
                    if byte == b'-' {
                        self.level().push_operator(Operator::UnaryMinus);
                    }
                    return;
                }
                4
            }
            (b'*' | b'/' | b'%', _) => 5,
            (b'^', _) => 6,
            (b'=' | b'!', Some(b'=')) | (b'<' | b'>', Some(b'=')) => {
                self.at += 1;
                3
            }
            (b'<' | b'>', _) => 3,
            _ => return,
        };
        self.binary(precedence);
    }

    fn binary(&mut self, precedence: u8) {
        let level = self.level();
        if level.after_operand {
            level.push_operator(Operator::Binary { precedence });
        }
    }

    fn open_level(&mut self) {
        let parent = self.level();
        let aggregation = parent.after_operand && parent.after_aggregator;
        if aggregation {
            self.open_aggregations += 1;
        }
        self.levels.push(Level {
            aggregation,
            ..Level::default()
        });
    }

    fn close_level(&mut self) {
        let Some(level) = self.levels.pop() else {
            return;
        };
        if level.aggregation {
            self.open_aggregations = self.open_aggregations.saturating_sub(1);
        }
        let height = level.close();
        self.shape.depth = self.shape.depth.max(height);
        self.level().push_operand(Operand {
            height,
            number: false,
        });
    }

    fn next_significant(&self) -> Option<u8> {
        self.text[self.at..]
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace())
    }

    /// Skips a parenthesised list that holds no expression (`by (a, b)`, `start()`); the
    /// next significant byte is its `(`.
    fn skip_list(&mut self) {
        while let Some(b) = self.peek() {
            self.at += 1;
            if b == b'(' {
                break;
            }
        }
        self.skip_until(b')');
    }

    /// Skips to just past `close` (the opening bracket is already consumed), over strings and
    /// comments; counts the tokens inside for the weight. Returns whether a `:` appeared
    /// (which makes `[...]` a subquery).
    fn skip_until(&mut self, close: u8) -> bool {
        let mut colon = false;
        while let Some(b) = self.peek() {
            match b {
                b'#' => self.skip_comment(),
                b'"' | b'\'' | b'`' => {
                    self.count_token();
                    self.skip_string(b);
                }
                b',' | b'=' => {
                    self.count_token();
                    self.at += 1;
                }
                b':' => {
                    colon = true;
                    self.at += 1;
                }
                _ if b == close => {
                    self.at += 1;
                    return colon;
                }
                _ => self.at += 1,
            }
        }
        colon
    }

    fn skip_string(&mut self, quote: u8) {
        self.at += 1;
        while let Some(b) = self.peek() {
            self.at += 1;
            if b == b'\\' {
                self.at += 1;
            } else if b == quote {
                return;
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(b) = self.peek() {
            self.at += 1;
            if b == b'\n' || b == b'\r' {
                return;
            }
        }
    }

    /// Numbers and durations: digits, letters, dots, underscores, and an exponent sign
    /// (`1e-3`, but not in `0x1e-3`, which is `0x1e - 3`).
    fn skip_number(&mut self) {
        let start = self.at;
        self.at += 1;
        while let Some(b) = self.peek() {
            let exponent_sign = matches!(b, b'+' | b'-')
                && matches!(self.text[self.at - 1], b'e' | b'E')
                && !self.text[start..].starts_with(b"0x")
                && !self.text[start..].starts_with(b"0X");
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || exponent_sign {
                self.at += 1;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
