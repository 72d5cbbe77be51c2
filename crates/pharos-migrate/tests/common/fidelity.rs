//! Per-dashboard fidelity numbers: what was converted, kept as a note, rewritten or lost.

use serde_json::Value;

use pharos_migrate::Migration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fidelity {
    /// Grafana panels that are not rows (nested and legacy-row panels included).
    pub grafana_panels: usize,
    /// Perses panels with a chart/table/Markdown-from-text plugin.
    pub converted: usize,
    /// Perses Markdown panels that stand for a Grafana panel that could not be converted.
    pub placeholders: usize,
    /// Perses panels by plugin kind, e.g. `TimeSeriesChart 6`.
    pub kinds: Vec<(String, usize)>,
    /// Visible Grafana targets.
    pub grafana_queries: usize,
    /// Perses queries whose text is exactly a Grafana target expression.
    pub verbatim_queries: usize,
    /// Perses queries whose text was rewritten.
    pub rewritten_queries: usize,
    /// Grafana templating variables.
    pub grafana_variables: usize,
    /// Perses variables (fallback text variables included).
    pub variables: usize,
    /// Entries in the loss report.
    pub losses: usize,
}

fn walk<'v>(panels: &'v [Value], out: &mut Vec<&'v Value>) {
    for panel in panels {
        out.push(panel);
        if let Some(children) = panel.get("panels").and_then(Value::as_array) {
            walk(children, out);
        }
    }
}

pub fn grafana_panels(grafana: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    if let Some(panels) = grafana.get("panels").and_then(Value::as_array) {
        walk(panels, &mut all);
    }
    for row in grafana
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(panels) = row.get("panels").and_then(Value::as_array) {
            walk(panels, &mut all);
        }
    }
    all.into_iter()
        .filter(|p| p.get("type").and_then(Value::as_str) != Some("row"))
        .collect()
}

pub fn measure(grafana: &Value, migration: &Migration) -> Fidelity {
    let panels = grafana_panels(grafana);
    let text_panels = panels
        .iter()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
        .count();
    let mut exprs = Vec::new();
    let mut grafana_queries = 0;
    for panel in &panels {
        for target in panel
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if target.get("hide").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            grafana_queries += 1;
            if let Some(expr) = target.get("expr").and_then(Value::as_str) {
                exprs.push(expr.to_string());
            }
        }
    }
    let spec = &migration.dashboard["spec"];
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut verbatim = 0;
    let mut perses_queries = 0;
    for panel in spec["panels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, p)| p)
    {
        let kind = panel["spec"]["plugin"]["kind"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        *kinds.entry(kind).or_default() += 1;
        for query in panel["spec"]["queries"].as_array().into_iter().flatten() {
            perses_queries += 1;
            let text = query["spec"]["plugin"]["spec"]["query"]
                .as_str()
                .unwrap_or("");
            if exprs.iter().any(|e| e == text) {
                verbatim += 1;
            }
        }
    }
    let markdown = kinds.get("Markdown").copied().unwrap_or(0);
    let total: usize = kinds.values().sum();
    Fidelity {
        grafana_panels: panels.len(),
        converted: total - markdown + text_panels.min(markdown),
        placeholders: markdown.saturating_sub(text_panels),
        kinds: kinds.into_iter().collect(),
        grafana_queries,
        verbatim_queries: verbatim,
        rewritten_queries: perses_queries - verbatim,
        grafana_variables: grafana
            .pointer("/templating/list")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        variables: spec["variables"].as_array().map_or(0, Vec::len),
        losses: migration.losses.len(),
    }
}

/// The Markdown table of `docs/user/grafana-import.md`.
pub fn table(rows: &[(String, Fidelity)]) -> String {
    let mut out = String::from(
        "| dashboard | Grafana panels | converted | kept as note | Perses panel kinds | queries (Grafana → verbatim / rewritten) | variables (Grafana → Perses) | losses |\n\
         | --- | ---: | ---: | ---: | --- | --- | --- | ---: |\n",
    );
    for (name, f) in rows {
        let kinds: Vec<String> = f.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} → {} / {} | {} → {} | {} |\n",
            f.grafana_panels,
            f.converted,
            f.placeholders,
            kinds.join(", "),
            f.grafana_queries,
            f.verbatim_queries,
            f.rewritten_queries,
            f.grafana_variables,
            f.variables,
            f.losses
        ));
    }
    out
}
