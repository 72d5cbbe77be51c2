//! Documents that are not (supported) Grafana dashboards get a typed error that says what to do;
//! nothing panics.

mod common;

use std::collections::BTreeMap;

use pharos_migrate::{
    MAX_DEPTH, MAX_JSON_BYTES, MAX_PANELS, MigrateError, MigrateRequest, migrate,
};
use serde_json::{Value, json};

fn run(document: Value) -> Result<pharos_migrate::Migration, MigrateError> {
    migrate(&MigrateRequest {
        grafana_dashboard: document,
        ..MigrateRequest::default()
    })
}

#[test]
fn non_objects_are_not_dashboards() {
    for document in [json!(null), json!(3), json!("dashboard"), json!(true)] {
        let error = run(document.clone()).expect_err("refused");
        assert!(
            matches!(error, MigrateError::NotADashboard(_)),
            "{document}: {error}"
        );
    }
    let error = run(json!([{"title": "a", "panels": []}])).expect_err("refused");
    assert!(
        error.to_string().contains("JSON array of 1 elements"),
        "{error}"
    );
}

#[test]
fn objects_without_panels_rows_or_title_are_not_dashboards() {
    let error = run(json!({"foo": 1, "bar": {}})).expect_err("refused");
    assert!(
        matches!(&error, MigrateError::NotADashboard(m) if m.contains("keys: foo, bar")),
        "{error}"
    );
    let error = run(json!({})).expect_err("refused");
    assert!(error.to_string().contains("keys: none"), "{error}");
}

#[test]
fn a_grafana_alert_rule_is_recognised() {
    let rule = json!({
        "uid": "abc", "title": "High CPU", "condition": "C", "folderUID": "f", "ruleGroup": "g",
        "data": [{"refId": "A", "model": {"expr": "up"}}], "for": "5m", "noDataState": "NoData"
    });
    let error = run(rule).expect_err("refused");
    assert!(
        matches!(&error, MigrateError::NotADashboard(m) if m.contains("alert rule")),
        "{error}"
    );
    let group = json!({"groups": [{"name": "g", "rules": []}]});
    assert!(
        run(group)
            .expect_err("refused")
            .to_string()
            .contains("alert rule")
    );
}

#[test]
fn grafana_schema_v2_is_unsupported() {
    let v2 = json!({
        "apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
        "metadata": {"name": "x"},
        "spec": {"title": "x", "elements": {"panel-1": {"kind": "Panel", "spec": {}}}, "layout": {"kind": "GridLayout", "spec": {"items": []}}}
    });
    let error = run(v2).expect_err("refused");
    match &error {
        MigrateError::UnsupportedSchema { schema, hint } => {
            assert!(schema.contains("v2beta1"), "{schema}");
            assert!(hint.contains("classic"), "{hint}");
        }
        other => panic!("{other}"),
    }
    // Elements without apiVersion (the bare v2 spec).
    let bare = json!({"title": "x", "elements": {}, "layout": {}});
    assert!(matches!(
        run(bare),
        Err(MigrateError::UnsupportedSchema { .. })
    ));
}

#[test]
fn very_old_schema_versions_are_unsupported() {
    let old = json!({"title": "old", "schemaVersion": 5, "rows": []});
    let error = run(old).expect_err("refused");
    assert!(
        matches!(&error, MigrateError::UnsupportedSchema { schema, .. } if schema == "schemaVersion 5"),
        "{error}"
    );
    // Legacy rows without a schemaVersion are read (see kube-prometheus-example-legacy-rows).
    assert!(run(json!({"title": "rows", "rows": [{"panels": [{"type": "graph", "span": 6, "targets": [{"expr": "up"}]}]}]})).is_ok());
}

#[test]
fn wrong_types_for_panels_are_refused() {
    let error = run(json!({"title": "x", "panels": {"a": 1}})).expect_err("refused");
    assert!(
        error.to_string().contains("`panels` must be an array"),
        "{error}"
    );
}

#[test]
fn a_perses_dashboard_is_not_migrated_again() {
    let perses = json!({"kind": "Dashboard", "metadata": {"name": "d"}, "spec": {"panels": {}, "layouts": []}});
    let error = run(perses).expect_err("refused");
    assert!(
        error.to_string().contains("already a Perses dashboard"),
        "{error}"
    );
}

#[test]
fn api_and_kubernetes_envelopes_are_unwrapped() {
    let inner = json!({"uid": "abc", "title": "Wrapped", "panels": [{"type": "stat", "title": "s", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}, "targets": [{"expr": "up"}]}]});
    let envelope =
        json!({"dashboard": inner.clone(), "meta": {"slug": "wrapped", "folderUid": "f"}});
    let migration = run(envelope).expect("unwrapped");
    assert_eq!(migration.dashboard["metadata"]["name"], "abc");
    assert_eq!(
        migration.dashboard["spec"]["panels"]["0"]["spec"]["plugin"]["kind"],
        "StatChart"
    );
    let k8s = json!({"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard", "metadata": {"name": "abc"}, "spec": inner});
    let migration = run(k8s).expect("unwrapped");
    assert_eq!(migration.dashboard["spec"]["display"]["name"], "Wrapped");
}

#[test]
fn more_than_5_mb_of_json_is_too_large() {
    let big = "x".repeat(MAX_JSON_BYTES);
    let error =
        run(json!({"title": "big", "panels": [], "description": big})).expect_err("refused");
    assert!(
        matches!(
            error,
            MigrateError::TooLarge {
                what: "JSON text (bytes)",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("split it"), "{error}");
}

#[test]
fn input_that_grows_the_document_past_the_limit_is_too_large() {
    let mut input = BTreeMap::new();
    input.insert("X".to_string(), "y".repeat(MAX_JSON_BYTES));
    let error = migrate(&MigrateRequest {
        grafana_dashboard: json!({"title": "$X", "panels": []}),
        input,
        use_default_datasource: false,
    })
    .expect_err("refused");
    assert!(matches!(error, MigrateError::TooLarge { .. }), "{error}");
}

#[test]
fn too_many_panels_is_too_large() {
    let panels: Vec<Value> = (0..=MAX_PANELS)
        .map(|i| json!({"type": "text", "id": i}))
        .collect();
    let error = run(json!({"title": "many", "panels": panels})).expect_err("refused");
    assert!(
        matches!(error, MigrateError::TooLarge { what: "panels", actual, .. } if actual == MAX_PANELS + 1),
        "{error}"
    );
}

#[test]
fn nesting_200_levels_deep_is_too_deep() {
    let mut value = json!("leaf");
    for _ in 0..200 {
        value = json!({"a": value});
    }
    let error = run(json!({"title": "deep", "panels": [], "x": value})).expect_err("refused");
    assert_eq!(error, MigrateError::TooDeep { limit: MAX_DEPTH });
}

#[test]
fn garbage_inside_a_dashboard_is_reported_not_fatal() {
    let document = json!({
        "title": "odd", "uid": "bad uid with spaces",
        "panels": [
            1, null, {"type": "row", "panels": "nope"},
            {"type": 7, "gridPos": {"x": -3, "y": 1e300, "w": "wide", "h": null}},
            {"type": "timeseries", "targets": "none", "fieldConfig": {"defaults": {"unit": 5, "custom": {"lineWidth": 99}}, "overrides": [{"matcher": {"id": "byRegexp", "options": "(("}, "properties": 3}]}},
            {"type": "stat", "options": {"reduceOptions": {"calcs": ["percentile"]}}, "fieldConfig": {"defaults": {"thresholds": {"steps": [{"color": 3, "value": "x"}]}, "mappings": [{"type": "value", "options": {"1": 2}}]}}},
            {"type": "table", "transformations": [{"id": "organize", "options": {"renameByName": {"a": 1}, "indexByName": {"a": "x"}}}], "fieldConfig": {"overrides": [{"matcher": {"id": "byName", "options": "a"}, "properties": [{"id": "links", "value": "x"}]}]}},
            {"type": "graph", "yaxes": [{"min": "abc", "max": -1, "logBase": 3}], "seriesOverrides": [{"alias": "/[/"}], "aliasColors": {"a": 1}},
            {"type": "singlestat", "thresholds": "a,b,,3", "colors": [1, 2], "colorValue": true, "valueMaps": "x"},
            {"type": "piechart", "fieldConfig": {"defaults": {"color": {"mode": "fixed", "fixedColor": "rgb(1,2)"}}}}
        ],
        "templating": {"list": [
            {"type": "query", "name": "q", "query": {"query": "label_values("}},
            {"type": "query", "name": "r", "query": "query_result(", "regex": "/(?<text>.*)/"},
            {"type": "custom", "name": "c", "query": 5},
            {"type": "interval", "name": "__interval"},
            {"type": "adhoc", "name": "filters"},
            {"type": "weird", "name": "w", "current": {"value": ["a", "b"]}},
            "not a variable"
        ]},
        "time": {"from": "2024-01-01T00:00:00Z", "to": "now-5m"},
        "refresh": 30,
        "links": [{"type": "dashboards", "tags": ["x"]}, {"url": 5}]
    });
    let migration = run(document).expect("converted with losses");
    common::assert_valid(&migration.dashboard, "garbage");
    assert_eq!(
        migration.dashboard["metadata"]["name"],
        "bad-uid-with-spaces"
    );
    assert!(migration.losses.len() >= 10, "{:#?}", migration.losses);
}

#[test]
fn every_reference_file_runs_without_panic_and_validates() {
    let mut files = Vec::new();
    for directory in ["", "perses-migrate"] {
        let root = common::reference(directory);
        for entry in std::fs::read_dir(&root)
            .expect("reference directory")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let plugins = common::reference("perses-plugins-migrate");
    let mut stack = vec![plugins];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("directory")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 140, "{} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let document: Value = serde_json::from_str(&text).expect("JSON");
        // Whole dashboards convert; single panels/targets/variables are refused or converted,
        // never a panic. Wrapped as a panel, every plugin input converts too.
        match run(document.clone()) {
            Ok(migration) => {
                common::assert_valid(&migration.dashboard, &path.display().to_string())
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
        let wrapped = json!({"title": "w", "panels": [document.clone(), {"type": "timeseries", "targets": [document.clone()]}], "templating": {"list": [document]}});
        if let Ok(migration) = run(wrapped) {
            common::assert_valid(
                &migration.dashboard,
                &format!("{} (wrapped)", path.display()),
            );
        }
    }
}
