//! Rule files: the Prometheus YAML shape, parsed and checked (names, durations, PromQL,
//! templates) so a bad file is refused at load time with the file, group and rule to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use pharos_promql_syntax::SyntaxLimits;
use serde::Deserialize;

use crate::error::LoadError;
use crate::template::Template;

/// One group of rules, evaluated in order on its interval.
#[derive(Debug, Clone)]
pub struct RuleGroup {
    /// The file it came from (or a name for an embedded file).
    pub file: String,
    /// Group name, unique in its file.
    pub name: String,
    /// Own evaluation interval; `None` means the configured `evaluation_interval`.
    pub interval: Option<Duration>,
    /// Most series (recording) or alerts (alerting) one rule may produce; 0 is no limit.
    pub limit: usize,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `record` or `alert` name.
    pub name: String,
    /// Which of the two.
    pub kind: RuleKind,
    /// The PromQL expression (checked by the parser at load time).
    pub expr: String,
    /// How long the condition must hold before an alert fires.
    pub hold: Duration,
    /// How long a firing alert stays firing after the condition cleared.
    pub keep_firing_for: Duration,
    /// Extra labels (templates for alerting rules), as written.
    pub labels: BTreeMap<String, String>,
    /// Annotations (templates), as written; alerting rules only.
    pub annotations: BTreeMap<String, String>,
    pub(crate) label_templates: Vec<(String, Template)>,
    pub(crate) annotation_templates: Vec<(String, Template)>,
}

/// Recording or alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `record:`: the result is stored under the rule's name.
    Recording,
    /// `alert:`: each result series is an alert.
    Alerting,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    groups: Option<Vec<GroupDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    name: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    rules: Option<Vec<RuleDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    expr: Option<Scalar>,
    #[serde(default, rename = "for")]
    hold: Option<String>,
    #[serde(default)]
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    annotations: BTreeMap<String, Scalar>,
}

/// YAML writes `expr: 1` or `severity: 2` without quotes; both are text here.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// Parses and checks the rule file `file` with contents `text`.
pub fn parse_rule_file(file: &str, text: &str) -> Result<Vec<RuleGroup>, LoadError> {
    let doc: FileDoc = serde_saphyr::from_str(text).map_err(|error| LoadError::Syntax {
        file: file.to_owned(),
        message: error.to_string(),
    })?;
    let mut seen = BTreeSet::new();
    let docs = doc.groups.unwrap_or_default();
    let mut groups = Vec::with_capacity(docs.len());
    for group in docs {
        let group_error = |message: String| LoadError::Group {
            file: file.to_owned(),
            group: group.name.clone(),
            message,
        };
        if group.name.trim().is_empty() {
            return Err(group_error("the group needs a `name`".to_owned()));
        }
        if !seen.insert(group.name.clone()) {
            return Err(group_error(
                "a group of this name is already in the file; names must be unique".to_owned(),
            ));
        }
        let interval = match &group.interval {
            Some(text) => {
                Some(positive_duration(text).map_err(|e| group_error(format!("interval: {e}")))?)
            }
            None => None,
        };
        let docs = group.rules.unwrap_or_default();
        let mut rules = Vec::with_capacity(docs.len());
        for (position, doc) in docs.into_iter().enumerate() {
            let rule_name = doc.record.clone().or(doc.alert.clone()).unwrap_or_default();
            let rule = check_rule(doc).map_err(|message| LoadError::Rule {
                file: file.to_owned(),
                group: group.name.clone(),
                rule: rule_name,
                index: position + 1,
                message,
            })?;
            rules.push(rule);
        }
        groups.push(RuleGroup {
            file: file.to_owned(),
            name: group.name,
            interval,
            limit: group.limit.unwrap_or(0),
            rules,
        });
    }
    Ok(groups)
}

fn check_rule(doc: RuleDoc) -> Result<Rule, String> {
    let (name, kind) = match (doc.record, doc.alert) {
        (Some(_), Some(_)) => return Err("a rule has either `record` or `alert`, not both".into()),
        (None, None) => {
            return Err("a rule needs `record` (recording) or `alert` (alerting)".into());
        }
        (Some(record), None) => {
            if !is_metric_name(&record) {
                return Err(format!(
                    "record {record:?} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
                ));
            }
            (record, RuleKind::Recording)
        }
        (None, Some(alert)) => {
            if alert.trim().is_empty() {
                return Err("`alert` must not be empty".into());
            }
            (alert, RuleKind::Alerting)
        }
    };
    let expr = doc
        .expr
        .map(Scalar::into_text)
        .filter(|e| !e.trim().is_empty())
        .ok_or("the rule needs an `expr`")?;
    pharos_promql_syntax::parse(&expr, &SyntaxLimits::default())
        .map_err(|e| format!("expr is not valid PromQL: {e}"))?;
    let recording = kind == RuleKind::Recording;
    if recording && (doc.hold.is_some() || doc.keep_firing_for.is_some()) {
        return Err("`for` and `keep_firing_for` belong to alerting rules only".into());
    }
    if recording && !doc.annotations.is_empty() {
        return Err("`annotations` belong to alerting rules only".into());
    }
    let duration = |field: &str, text: Option<String>| match text {
        None => Ok(Duration::ZERO),
        Some(text) => {
            pharos_model::parse_duration(&text).map_err(|e| format!("{field}: {e} (e.g. 5m)"))
        }
    };
    let hold = duration("for", doc.hold)?;
    let keep_firing_for = duration("keep_firing_for", doc.keep_firing_for)?;
    let labels: BTreeMap<String, String> = doc
        .labels
        .into_iter()
        .map(|(k, v)| (k, v.into_text()))
        .collect();
    let annotations: BTreeMap<String, String> = doc
        .annotations
        .into_iter()
        .map(|(k, v)| (k, v.into_text()))
        .collect();
    for name in labels.keys() {
        if !is_label_name(name) || name == "__name__" {
            return Err(format!(
                "label {name:?} is not a usable label name ([a-zA-Z_][a-zA-Z0-9_]*, not __name__)"
            ));
        }
    }
    for name in annotations.keys() {
        if !is_label_name(name) {
            return Err(format!("annotation {name:?} is not a valid name"));
        }
    }
    let compile = |what: &str, entries: &BTreeMap<String, String>| {
        entries
            .iter()
            .map(|(k, v)| {
                Template::compile(v)
                    .map(|t| (k.clone(), t))
                    .map_err(|e| format!("{what} {k:?}: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()
    };
    // Prometheus does not expand the labels of recording rules; they are taken as written.
    let label_templates = if recording {
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Template::literal(v)))
            .collect()
    } else {
        compile("label", &labels)?
    };
    let annotation_templates = compile("annotation", &annotations)?;
    Ok(Rule {
        name,
        kind,
        expr,
        hold,
        keep_firing_for,
        labels,
        annotations,
        label_templates,
        annotation_templates,
    })
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = pharos_model::parse_duration(text).map_err(|e| format!("{e} (e.g. 30s)"))?;
    if duration.is_zero() {
        return Err("must be positive".to_owned());
    }
    Ok(duration)
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Reads every file the `patterns` name. A pattern may have `*` and `?` in its last path
/// component (`/etc/pharos/rules/*.yml`); a pattern matching nothing is an error, so a typo
/// is noticed at startup.
pub fn load_files(patterns: &[String]) -> Result<Vec<RuleGroup>, LoadError> {
    let mut groups = Vec::new();
    for pattern in patterns {
        for path in expand(pattern)? {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Read {
                file: name.clone(),
                message: e.to_string(),
            })?;
            groups.extend(parse_rule_file(&name, &text)?);
        }
    }
    Ok(groups)
}

fn expand(pattern: &str) -> Result<Vec<std::path::PathBuf>, LoadError> {
    let path = Path::new(pattern);
    let file_part = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !file_part.contains(['*', '?']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let read_error = |message: String| LoadError::Read {
        file: pattern.to_owned(),
        message,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.to_str().is_some_and(|d| d.contains(['*', '?'])) {
        return Err(read_error(
            "only the file name may have wildcards (`dir/*.yml`)".to_owned(),
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(e.to_string()))?;
    let mut found: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| wildcard_match(file_part.as_bytes(), n.as_bytes()))
        })
        .collect();
    if found.is_empty() {
        return Err(read_error("no file matches".to_owned()));
    }
    found.sort();
    Ok(found)
}

/// `*` (any run) and `?` (one character) matching, iterative with one backtrack point.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
