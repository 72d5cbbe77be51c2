//! Line-by-line parsing with the per-format rules for comments, blank lines and `# EOF`.

use super::lexer::{parse_sample_line, unescape_help};
use super::{Format, MetricType, ParseError, ParsedSample, Problem};

/// One meaningful line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A sample.
    Sample(ParsedSample),
    /// `# HELP <family> <text>`.
    Help {
        /// The family the text describes.
        family: String,
        /// The help text, unescaped.
        text: String,
    },
    /// `# TYPE <family> <type>`.
    Type {
        /// The family.
        family: String,
        /// Its declared type.
        metric_type: MetricType,
    },
    /// `# UNIT <family> <unit>` (OpenMetrics).
    Unit {
        /// The family.
        family: String,
        /// Its unit, e.g. `seconds`.
        unit: String,
    },
}

/// Parses an exposition one line at a time, so large inputs need not be held in memory.
/// Feed lines without their newline to [`LineParser::parse_line`], then call
/// [`LineParser::finish`].
#[derive(Debug)]
pub struct LineParser {
    format: Format,
    line: usize,
    seen_eof: bool,
}

impl LineParser {
    /// A parser for `format`.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            line: 0,
            seen_eof: false,
        }
    }

    /// 1-based number of the last line fed in.
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// Parses the next line. `Ok(None)` for lines that carry nothing (comments, blank lines in
    /// the text format, `# EOF`).
    pub fn parse_line(&mut self, line: &str) -> Result<Option<Entry>, ParseError> {
        self.line += 1;
        let at = |problem| ParseError {
            line: self.line,
            problem,
        };
        // Files written on Windows: tolerate the carriage return rather than fail on it.
        let line = line.strip_suffix('\r').unwrap_or(line);
        if self.seen_eof {
            return Err(at(Problem::AfterEof));
        }
        match self.format {
            Format::PrometheusText => {
                let line = line.trim_start_matches([' ', '\t']);
                if line.is_empty() {
                    return Ok(None);
                }
                if let Some(comment) = line.strip_prefix('#') {
                    return self.text_comment(comment).map_err(at);
                }
                parse_sample_line(self.format, line)
                    .map(|sample| Some(Entry::Sample(sample)))
                    .map_err(at)
            }
            Format::OpenMetrics => {
                if line.is_empty() {
                    return Err(at(Problem::EmptyLine));
                }
                if line == "# EOF" {
                    self.seen_eof = true;
                    return Ok(None);
                }
                if let Some(comment) = line.strip_prefix("# ") {
                    return self.openmetrics_comment(comment).map(Some).map_err(at);
                }
                if line.starts_with('#') {
                    return Err(at(Problem::UnknownComment));
                }
                parse_sample_line(self.format, line)
                    .map(|sample| Some(Entry::Sample(sample)))
                    .map_err(at)
            }
        }
    }

    /// Checks the end of input: OpenMetrics must have ended with `# EOF`.
    pub fn finish(&self) -> Result<(), ParseError> {
        if self.format == Format::OpenMetrics && !self.seen_eof {
            return Err(ParseError {
                line: self.line + 1,
                problem: Problem::MissingEof,
            });
        }
        Ok(())
    }

    /// In the text format only `# HELP` and `# TYPE` mean something; other comments are ignored.
    fn text_comment(&self, comment: &str) -> Result<Option<Entry>, Problem> {
        let comment = comment.trim_start_matches([' ', '\t']);
        let (keyword, rest) = split_word(comment);
        match keyword {
            "HELP" | "TYPE" => self.metadata(keyword, rest).map(Some),
            _ => Ok(None),
        }
    }

    fn openmetrics_comment(&self, comment: &str) -> Result<Entry, Problem> {
        let (keyword, rest) = comment.split_once(' ').unwrap_or((comment, ""));
        match keyword {
            "HELP" | "TYPE" | "UNIT" => self.metadata(keyword, rest),
            _ => Err(Problem::UnknownComment),
        }
    }

    fn metadata(&self, keyword: &str, rest: &str) -> Result<Entry, Problem> {
        let keyword_static = match keyword {
            "HELP" => "HELP",
            "TYPE" => "TYPE",
            _ => "UNIT",
        };
        let (family, value) = match self.format {
            Format::PrometheusText => split_word(rest.trim_start_matches([' ', '\t'])),
            Format::OpenMetrics => rest.split_once(' ').unwrap_or((rest, "")),
        };
        if !pharos_tsdb::is_valid_metric_name(family) {
            return Err(Problem::InvalidMetadata(keyword_static));
        }
        let family = family.to_owned();
        Ok(match keyword_static {
            "HELP" => Entry::Help {
                family,
                text: unescape_help(self.format, value),
            },
            "TYPE" => {
                let word = value.trim();
                let metric_type = MetricType::parse(self.format, word).ok_or_else(|| {
                    Problem::UnknownType(word.to_owned(), MetricType::expected(self.format))
                })?;
                Entry::Type {
                    family,
                    metric_type,
                }
            }
            _ => Entry::Unit {
                family,
                unit: value.trim().to_owned(),
            },
        })
    }
}

/// Splits off the first blank-separated word; the rest starts after one run of blanks.
fn split_word(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(end) => (&text[..end], text[end..].trim_start_matches([' ', '\t'])),
        None => (text, ""),
    }
}
