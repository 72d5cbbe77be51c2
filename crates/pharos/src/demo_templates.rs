//! The system templates, instantiated in the `demo` project once the simulator's history is
//! written, so a fresh installation shows every template with data. Each required variable gets
//! the first value its own label-values lookup finds in the embedded store (what the UI would
//! offer first). A copy Pharos made is upgraded in place when a newer Pharos ships a newer
//! template version, unless someone has edited it since: `<data-dir>/demo-templates.json`
//! remembers, per template, the template version and the dashboard version Pharos wrote.

use std::{collections::BTreeMap, path::Path};

use pharos_model::Kind;
use pharos_server::{AppState, identity::Caller};
use pharos_sim::DEMO_PROJECT;
use pharos_templates::Template;
use serde_json::Value;

/// The marker file in the data directory.
const SEEDED_FILE: &str = "demo-templates.json";
/// How far back the variable lookups look.
const LOOKBACK_MS: i64 = 3_600_000;

/// What Pharos wrote for one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Seeded {
    template_version: u32,
    dashboard_version: u64,
}

type SeededFile = BTreeMap<String, Seeded>;

/// Creates or upgrades the demo project's copy of every system template. Failures are logged:
/// the server works without them.
pub async fn seed(state: &AppState, data_dir: &Path) {
    let path = data_dir.join(SEEDED_FILE);
    let mut seeded: SeededFile = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    for template in pharos_templates::system_templates() {
        match seed_one(state, template, seeded.get(&template.id).copied()).await {
            Ok(Some(written)) => {
                tracing::info!(project = DEMO_PROJECT, template = %template.id, "demo dashboard from template written");
                seeded.insert(template.id.clone(), written);
            }
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(template = %template.id, %why, "cannot add the template to the demo project")
            }
        }
    }
    match serde_json::to_vec_pretty(&seeded) {
        Ok(bytes) => {
            if let Err(err) = std::fs::write(&path, bytes) {
                tracing::warn!(%err, path = %path.display(), "cannot remember the demo templates");
            }
        }
        Err(err) => tracing::warn!(%err, "cannot remember the demo templates"),
    }
}

/// Writes the template's copy when it is missing, or outdated and untouched; returns what was
/// written.
async fn seed_one(
    state: &AppState,
    template: &Template,
    before: Option<Seeded>,
) -> Result<Option<Seeded>, String> {
    let system = Caller::system();
    let stored = state
        .resources
        .load_raw(Kind::Dashboard, Some(DEMO_PROJECT), &template.id)
        .await
        .map_err(|e| e.to_string())?;
    let upgrade = match (&stored, before) {
        (None, _) => None,
        (Some(row), Some(seeded)) => {
            let untouched = row.version == seeded.dashboard_version;
            if !(untouched && seeded.template_version < template.version) {
                return Ok(None);
            }
            Some(seeded.dashboard_version)
        }
        // Someone made a dashboard of that name: theirs.
        (Some(_), None) => return Ok(None),
    };
    let given = demo_values(state, template).await?;
    let document = pharos_templates::instantiate(
        &template.dashboard,
        &template.variables,
        DEMO_PROJECT,
        &template.id,
        &given,
    )
    .map_err(|e| e.to_string())?;
    let written = if let Some(version) = upgrade {
        // Only the version Pharos wrote: an edit made meanwhile wins.
        state
            .resources
            .update(
                &system,
                Kind::Dashboard,
                Some(DEMO_PROJECT),
                &template.id,
                document,
                pharos_server::IfMatch::Version(version),
            )
            .await
            .map(|versioned| versioned.document)
    } else {
        state
            .resources
            .create(&system, Kind::Dashboard, Some(DEMO_PROJECT), document)
            .await
    }
    .map_err(|e| e.to_string())?;
    let dashboard_version = written
        .pointer("/metadata/version")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    Ok(Some(Seeded {
        template_version: template.version,
        dashboard_version,
    }))
}

/// A value for every required variable: the first its label-values lookup finds, with the
/// variables before it filled in (unset ones match anything).
async fn demo_values(
    state: &AppState,
    template: &Template,
) -> Result<BTreeMap<String, Value>, String> {
    let Some(metrics) = state.metrics.clone() else {
        return Err("no embedded store".to_owned());
    };
    let end = pharos_query::now_ms();
    let mut given: BTreeMap<String, Value> = BTreeMap::new();
    let variables = template
        .dashboard
        .pointer("/spec/variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for variable in &variables {
        let Some(name) = variable.pointer("/spec/name").and_then(Value::as_str) else {
            continue;
        };
        if !template
            .variables
            .iter()
            .any(|v| v.name == name && v.required)
        {
            continue;
        }
        let plugin = variable.pointer("/spec/plugin/spec");
        let label = plugin
            .and_then(|p| p.get("labelName"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("variable {name} is not a label-values lookup"))?;
        let selectors: Vec<String> = plugin
            .and_then(|p| p.get("matchers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|m| fill(m, &given))
            .collect();
        let values = metrics
            .label_values(label, &selectors, end - LOOKBACK_MS, end)
            .await
            .map_err(|e| format!("looking up {name}: {e}"))?;
        let first = values
            .into_iter()
            .next()
            .ok_or_else(|| format!("no value of {label} for variable {name} in the store"))?;
        given.insert(name.to_owned(), Value::from(first));
    }
    Ok(given)
}

/// `matcher` with `$name` / `${name}` replaced by the given values, and any other variable by
/// `.*` (the templates use those only with `=~`).
fn fill(matcher: &str, given: &BTreeMap<String, Value>) -> String {
    let mut out = String::with_capacity(matcher.len());
    let mut rest = matcher;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        match given.get(name).and_then(Value::as_str) {
            Some(value) => out.push_str(value),
            None => out.push_str(".*"),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_filled_with_given_values_and_unset_ones_match_anything() {
        let given = BTreeMap::from([("namespace".to_owned(), Value::from("ml-serving"))]);
        assert_eq!(
            fill(
                "vllm:num_requests_running{cluster=~\"$cluster\", namespace=\"${namespace}\"}",
                &given
            ),
            "vllm:num_requests_running{cluster=~\".*\", namespace=\"ml-serving\"}"
        );
        assert_eq!(fill("up{a=\"$\"}", &given), "up{a=\"$\"}");
    }
}
