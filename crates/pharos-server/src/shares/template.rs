//! Which queries a share link may run: exactly the dashboard's own queries, with every
//! variable replaced by one rendering of the values the link was shared with. A dashboard query
//! becomes an anchored pattern: its literal text must match byte for byte, each `$var` /
//! `${var}` / `${var:format}` may only be one of the renderings the UI can produce from the
//! shared values (a single value, `(a|b)`, `a|b`, `a,b`, `{a,b}`), and the built-in interval
//! variables (`$__interval`, `$__rate_interval`, `$__range`, ...) only durations or numbers.
//! Nothing else — in particular no PromQL of the viewer's choosing — can match.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use moka::sync::Cache;
use regex::Regex;
use serde_json::Value;

/// A variable's values as shared: one value or several.
pub type SharedValues = BTreeMap<String, Vec<String>>;

/// Shared values that stand for "every value" (`$__all`): the UI expands them at run time
/// from the datasource, so they are matched by a conservative character class that cannot
/// leave a label matcher's quotes or start a new expression.
const ALL_VALUES: &str = "$__all";
const ALL_VALUES_PATTERN: &str = r"[A-Za-z0-9_.:/@\-|()*+]*";

/// Durations (`30s`, `1m30s`) and plain numbers (`$__range_s`), for the built-in variables.
const BUILTIN_PATTERN: &str = r"(?:[0-9]+(?:ms|s|m|h|d|w|y))+|[0-9]+(?:\.[0-9]+)?";

/// The longest query template considered (bounds the pattern size).
const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// One dashboard query, compiled.
#[derive(Debug)]
pub struct QueryTemplate {
    pattern: Regex,
}

/// One reference to a variable in a template: its byte range and name.
pub(crate) struct Reference {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The variable.
    pub name: String,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Finds `$name`, `${name}`, `${name:format}` and `[[name]]` references.
pub(crate) fn references(template: &str) -> Vec<Reference> {
    let bytes = template.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            if bytes.get(i + 1) == Some(&b'{')
                && let Some(close) = template[i + 2..].find('}')
            {
                let inner = &template[i + 2..i + 2 + close];
                let name = inner.split(':').next().unwrap_or_default();
                if !name.is_empty() && name.bytes().all(is_name_byte) {
                    found.push(Reference {
                        start: i,
                        end: i + 3 + close,
                        name: name.to_owned(),
                    });
                    i += 3 + close;
                    continue;
                }
            }
            let length = bytes[i + 1..]
                .iter()
                .take_while(|b| is_name_byte(**b))
                .count();
            if length > 0 {
                found.push(Reference {
                    start: i,
                    end: i + 1 + length,
                    name: template[i + 1..i + 1 + length].to_owned(),
                });
                i += 1 + length;
                continue;
            }
        } else if template[i..].starts_with("[[")
            && let Some(close) = template[i + 2..].find("]]")
        {
            let name = &template[i + 2..i + 2 + close];
            if !name.is_empty() && name.bytes().all(is_name_byte) {
                found.push(Reference {
                    start: i,
                    end: i + 4 + close,
                    name: name.to_owned(),
                });
                i += 4 + close;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// Every text the UI may put in place of a variable with these values.
fn renderings(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let [single] = values {
        out.push(single.clone());
        out.push(regex::escape(single));
    }
    if !values.is_empty() {
        let escaped: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
        for parts in [values.to_vec(), escaped] {
            out.push(format!("({})", parts.join("|")));
            out.push(parts.join("|"));
            out.push(parts.join(","));
            out.push(format!("{{{}}}", parts.join(",")));
        }
    }
    out.sort();
    out.dedup();
    out
}

impl QueryTemplate {
    /// Compiles `template` against the shared `values`. `None` when the template uses a
    /// variable that has no shared value (it can then never be run through the link).
    pub fn compile(template: &str, values: &SharedValues) -> Option<Self> {
        if template.len() > MAX_TEMPLATE_BYTES {
            return None;
        }
        let mut pattern = String::from("^");
        let mut last = 0;
        for reference in references(template) {
            pattern.push_str(&regex::escape(&template[last..reference.start]));
            last = reference.end;
            if reference.name.starts_with("__") {
                pattern.push_str(&format!("(?:{BUILTIN_PATTERN})"));
                continue;
            }
            let shared = values.get(&reference.name)?;
            if shared.iter().any(|v| v == ALL_VALUES) {
                pattern.push_str(ALL_VALUES_PATTERN);
                continue;
            }
            let choices: Vec<String> = renderings(shared)
                .iter()
                .map(|r| regex::escape(r))
                .collect();
            if choices.is_empty() {
                return None;
            }
            pattern.push_str(&format!("(?:{})", choices.join("|")));
        }
        pattern.push_str(&regex::escape(&template[last..]));
        pattern.push('$');
        Regex::new(&pattern).ok().map(|pattern| Self { pattern })
    }

    /// Whether `query` is this template with allowed variable values.
    pub fn matches(&self, query: &str) -> bool {
        self.pattern.is_match(query)
    }
}

/// The panel queries of a dashboard with their datasource names (`None`: the default).
fn dashboard_queries(dashboard: &Value) -> Vec<(String, Option<String>)> {
    dashboard
        .pointer("/spec/panels")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|panels| panels.values())
        .filter_map(|panel| panel.pointer("/spec/queries").and_then(Value::as_array))
        .flatten()
        .filter_map(|query| {
            let spec = query.pointer("/spec/plugin/spec")?;
            let text = spec.get("query")?.as_str()?.to_owned();
            let datasource = spec
                .pointer("/datasource/name")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some((text, datasource))
        })
        .collect()
}

/// A dashboard's panel queries compiled against one link's values, with their datasource names.
#[derive(Debug)]
pub struct DashboardTemplates(Vec<(QueryTemplate, Option<String>)>);

impl DashboardTemplates {
    /// Compiles every panel query of `dashboard`; queries that use a variable without a shared
    /// value are left out (they can never run through the link).
    pub fn compile(dashboard: &Value, values: &SharedValues) -> Self {
        Self(
            dashboard_queries(dashboard)
                .into_iter()
                .filter_map(|(text, datasource)| {
                    QueryTemplate::compile(&text, values).map(|t| (t, datasource))
                })
                .collect(),
        )
    }

    /// The datasource name (`None`: the default) of the first dashboard query `query` is an
    /// instance of; `None` when it is none of them.
    pub fn datasource_of(&self, query: &str) -> Option<Option<String>> {
        self.0
            .iter()
            .find(|(template, _)| template.matches(query))
            .map(|(_, datasource)| datasource.clone())
    }
}

/// Compiled templates by link and dashboard version: every panel of a shared view asks on each
/// refresh, and compiling the dashboard's patterns each time would be the link's main cost. A
/// saved dashboard has a new version, so it is compiled again.
#[derive(Debug)]
pub struct TemplateCache {
    entries: Cache<(String, u64), Arc<DashboardTemplates>>,
}

impl Default for TemplateCache {
    fn default() -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(1_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl TemplateCache {
    /// The templates of `dashboard` (at `version`) for the link `link_id` and its `values`.
    pub fn get_or_compile(
        &self,
        link_id: &str,
        version: u64,
        dashboard: &Value,
        values: &SharedValues,
    ) -> Arc<DashboardTemplates> {
        self.entries.get_with((link_id.to_owned(), version), || {
            Arc::new(DashboardTemplates::compile(dashboard, values))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(pairs: &[(&str, &[&str])]) -> SharedValues {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn the_dashboard_query_with_the_shared_values_matches() {
        let values = shared(&[("ns", &["team-a"]), ("gpu", &["0", "1"])]);
        let template = QueryTemplate::compile(
            r#"sum by (gpu) (rate(dcgm_x{namespace="$ns", gpu=~"${gpu:regex}"}[$__rate_interval]))"#,
            &values,
        )
        .unwrap();
        assert!(
            template
                .matches(r#"sum by (gpu) (rate(dcgm_x{namespace="team-a", gpu=~"(0|1)"}[1m0s]))"#)
        );
        assert!(
            template.matches(r#"sum by (gpu) (rate(dcgm_x{namespace="team-a", gpu=~"0|1"}[30s]))"#)
        );
    }

    #[test]
    fn other_values_and_other_queries_do_not() {
        let values = shared(&[("ns", &["team-a"])]);
        let template = QueryTemplate::compile(r#"up{namespace="$ns"}"#, &values).unwrap();
        for hostile in [
            r#"up{namespace="team-b"}"#,
            r#"up{namespace="team-a"} or up"#,
            r#"up{namespace=~".+"}"#,
            r#"up{namespace="team-a"}[5m]"#,
            "secrets_total",
            r#"up{namespace="team-a"}
"#,
        ] {
            assert!(!template.matches(hostile), "{hostile}");
        }
        // Builtins are durations or numbers, never expressions.
        let ranged = QueryTemplate::compile("rate(x[$__range])", &values).unwrap();
        assert!(ranged.matches("rate(x[1h])"));
        assert!(!ranged.matches("rate(x[1h]) or vector(1)"));
        assert!(!ranged.matches("rate(x[1h] offset 1d)"));
    }

    #[test]
    fn unshared_variables_make_a_template_unusable() {
        assert!(QueryTemplate::compile("up{job=\"$job\"}", &SharedValues::new()).is_none());
        assert!(
            QueryTemplate::compile("up", &SharedValues::new())
                .unwrap()
                .matches("up")
        );
    }

    #[test]
    fn every_value_stays_inside_its_matcher() {
        let values = shared(&[("ns", &["$__all"])]);
        let template = QueryTemplate::compile(r#"up{namespace=~"$ns"}"#, &values).unwrap();
        assert!(template.matches(r#"up{namespace=~"(team-a|team-b)"}"#));
        assert!(template.matches(r#"up{namespace=~".*"}"#));
        assert!(!template.matches(r#"up{namespace=~"a"} or x{b=~"c"}"#));
    }

    #[test]
    fn references_are_found_in_every_syntax() {
        let names: Vec<String> = references("a $x ${y} ${z:csv} [[w]] $ {} $1")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["x", "y", "z", "w", "1"]);
    }
}
