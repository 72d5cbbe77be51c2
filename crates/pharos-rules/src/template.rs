//! Label and annotation templates: a documented subset of Go's `text/template` as Prometheus
//! uses it. Supported inside `{{ }}` (with optional `{{-`/`-}}` trimming):
//!
//! * `$labels.name` / `.Labels.name`, `$externalLabels.name` / `.ExternalLabels.name`,
//!   `$value` / `.Value`, string literals (`"..."`) and numbers;
//! * the functions `humanize`, `humanizePercentage`, `humanizeDuration` and `printf "fmt" args`
//!   (verbs `%s %v %d %f %e %g %%` with optional width and precision), called as
//!   `func arg` or piped: `$value | humanize`, `$value | printf "%.2f"`.
//!
//! Anything else is refused when the rule file loads; rendering never fails (a value of the
//! wrong kind renders as Go would print the error, inline).

use std::collections::BTreeMap;

use crate::error::TemplateError;
use crate::format::{go_float, humanize, humanize_duration, humanize_percentage};

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Action(Vec<Command>),
}

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Operand(Operand),
    Call(Func, Vec<Operand>),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Label(String),
    ExternalLabel(String),
    Value,
    Text(String),
    Number(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Func {
    Humanize,
    HumanizePercentage,
    HumanizeDuration,
    Printf(crate::format::Printf),
}

/// What a template sees: the alert's labels, the external labels and the sample value.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `$labels`.
    pub labels: &'a BTreeMap<String, String>,
    /// `$externalLabels`.
    pub external_labels: &'a BTreeMap<String, String>,
    /// `$value`.
    pub value: f64,
}

/// A value during rendering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Num(f64),
}

impl Val {
    pub(crate) fn render(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(x) => go_float(*x),
        }
    }

    /// Numbers as Prometheus' humanize functions take them: numbers, or text that parses.
    pub(crate) fn number(&self) -> Result<f64, String> {
        match self {
            Val::Num(x) => Ok(*x),
            Val::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("{s:?} is not a number")),
        }
    }
}

impl Template {
    /// Text without actions, taken as written.
    pub fn literal(text: &str) -> Self {
        Self {
            pieces: vec![Piece::Text(text.to_owned())],
        }
    }

    /// Compiles `text`, refusing everything outside the supported subset.
    pub fn compile(text: &str) -> Result<Self, TemplateError> {
        let error = |message: String| TemplateError {
            text: text.to_owned(),
            message,
        };
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut pending_text = String::new();
        while let Some(open) = rest.find("{{") {
            pending_text.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| error("`{{` without `}}`".to_owned()))?;
            let mut inner = &after[..close];
            if let Some(stripped) = inner.strip_prefix("- ") {
                pending_text.truncate(pending_text.trim_end().len());
                inner = stripped;
            }
            let trim_after = inner.ends_with(" -");
            if trim_after {
                inner = &inner[..inner.len() - 2];
            }
            if !pending_text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut pending_text)));
            }
            pieces.push(Piece::Action(parse_action(inner).map_err(error)?));
            rest = &after[close + 2..];
            if trim_after {
                rest = rest.trim_start();
            }
        }
        pending_text.push_str(rest);
        if !pending_text.is_empty() {
            pieces.push(Piece::Text(pending_text));
        }
        Ok(Self { pieces })
    }

    /// Renders with `context`. Never fails: an error is written where the value would be.
    pub fn render(&self, context: &Context<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Action(pipeline) => match run(pipeline, context) {
                    Ok(value) => out.push_str(&value.render()),
                    Err(message) => {
                        out.push_str(&format!("<error expanding template: {message}>"));
                    }
                },
            }
        }
        out
    }
}

fn run(pipeline: &[Command], context: &Context<'_>) -> Result<Val, String> {
    let mut previous: Option<Val> = None;
    for command in pipeline {
        previous = Some(match command {
            Command::Operand(operand) => eval(operand, context),
            Command::Call(func, args) => {
                let mut values: Vec<Val> = args.iter().map(|a| eval(a, context)).collect();
                values.extend(previous.take());
                call(func, &values)?
            }
        });
    }
    previous.ok_or_else(|| "empty pipeline".to_owned())
}

fn eval(operand: &Operand, context: &Context<'_>) -> Val {
    match operand {
        // A missing label renders empty, as `$labels.x` does for a missing map key.
        Operand::Label(name) => Val::Str(context.labels.get(name).cloned().unwrap_or_default()),
        Operand::ExternalLabel(name) => Val::Str(
            context
                .external_labels
                .get(name)
                .cloned()
                .unwrap_or_default(),
        ),
        Operand::Value => Val::Num(context.value),
        Operand::Text(text) => Val::Str(text.clone()),
        Operand::Number(x) => Val::Num(*x),
    }
}

fn call(func: &Func, args: &[Val]) -> Result<Val, String> {
    let one = || match args {
        [value] => value.number(),
        _ => Err(format!("expected one argument, got {}", args.len())),
    };
    Ok(Val::Str(match func {
        Func::Humanize => humanize(one()?),
        Func::HumanizePercentage => humanize_percentage(one()?),
        Func::HumanizeDuration => humanize_duration(one()?),
        Func::Printf(format) => format.apply(args),
    }))
}

fn parse_action(inner: &str) -> Result<Vec<Command>, String> {
    let tokens = tokenize(inner)?;
    let mut pipeline = Vec::new();
    for (position, segment) in tokens.split(|t| *t == Token::Pipe).enumerate() {
        let piped = position > 0;
        pipeline.push(parse_command(segment, piped)?);
    }
    Ok(pipeline)
}

fn parse_command(tokens: &[Token], piped: bool) -> Result<Command, String> {
    let Some((first, rest)) = tokens.split_first() else {
        return Err("empty command (a stray `|`?)".to_owned());
    };
    let func = match first {
        Token::Ident(name) => match name.as_str() {
            "humanize" => Func::Humanize,
            "humanizePercentage" => Func::HumanizePercentage,
            "humanizeDuration" => Func::HumanizeDuration,
            "printf" => {
                let Some((Token::Operand(Operand::Text(format)), args)) = rest.split_first() else {
                    return Err("printf needs a format string first: printf \"%.2f\" $value".into());
                };
                let args = operands(args)?;
                let printf = crate::format::Printf::compile(format)?;
                let given = args.len() + usize::from(piped);
                if printf.arguments() != given {
                    return Err(format!(
                        "printf {format:?} needs {} argument(s), gets {given}",
                        printf.arguments()
                    ));
                }
                return Ok(Command::Call(Func::Printf(printf), args));
            }
            other => {
                return Err(format!(
                    "`{other}` is not supported (supported: $labels.x, .Labels.x, $value, .Value, \
                     $externalLabels.x, humanize, humanizePercentage, humanizeDuration, printf)"
                ));
            }
        },
        Token::Operand(operand) if !piped && rest.is_empty() => {
            return Ok(Command::Operand(operand.clone()));
        }
        Token::Operand(_) => return Err("a value cannot take arguments or be piped into".into()),
        Token::Pipe => return Err("empty command (a stray `|`?)".to_owned()),
    };
    let args = operands(rest)?;
    if args.len() + usize::from(piped) != 1 {
        return Err("humanize functions take exactly one argument".to_owned());
    }
    Ok(Command::Call(func, args))
}

fn operands(tokens: &[Token]) -> Result<Vec<Operand>, String> {
    tokens
        .iter()
        .map(|token| match token {
            Token::Operand(operand) => Ok(operand.clone()),
            Token::Ident(name) => Err(format!("`{name}` cannot be an argument here")),
            Token::Pipe => Err("unexpected `|`".to_owned()),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Operand(Operand),
    Ident(String),
    Pipe,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '|' {
            chars.next();
            tokens.push(Token::Pipe);
        } else if c == '"' {
            chars.next();
            let mut literal = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => literal.push('\n'),
                        Some('t') => literal.push('\t'),
                        Some(other @ ('"' | '\\')) => literal.push(other),
                        _ => return Err("unsupported escape in a string".to_owned()),
                    },
                    other => literal.push(other),
                }
            }
            if !closed {
                return Err("unterminated string".to_owned());
            }
            tokens.push(Token::Operand(Operand::Text(literal)));
        } else {
            let mut end = text.len();
            while let Some(&(i, c)) = chars.peek() {
                if c.is_whitespace() || c == '|' || c == '"' {
                    end = i;
                    break;
                }
                chars.next();
            }
            tokens.push(word(&text[start..end])?);
        }
    }
    Ok(tokens)
}

fn word(word: &str) -> Result<Token, String> {
    let field = |prefix: &str| {
        word.strip_prefix(prefix)
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .map(str::to_owned)
    };
    if word == "$value" || word == ".Value" {
        return Ok(Token::Operand(Operand::Value));
    }
    if let Some(name) = field("$labels.").or_else(|| field(".Labels.")) {
        return Ok(Token::Operand(Operand::Label(name)));
    }
    if let Some(name) = field("$externalLabels.").or_else(|| field(".ExternalLabels.")) {
        return Ok(Token::Operand(Operand::ExternalLabel(name)));
    }
    if word.starts_with(['$', '.']) {
        return Err(format!(
            "`{word}` is not supported (use $labels.name, $externalLabels.name or $value)"
        ));
    }
    if let Ok(number) = word.parse::<f64>()
        && word.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
    {
        return Ok(Token::Operand(Operand::Number(number)));
    }
    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(Token::Ident(word.to_owned()));
    }
    Err(format!("`{word}` is not supported"))
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
