//! Fidelity over the real Grafana dashboards of `/work/shared/reference/grafana/*.json`: every one
//! converts, passes Pharos' validation, and keeps the numbers asserted here.

mod common;

use pretty_assertions::assert_eq;
use serde_json::Value;

use common::fidelity::{Fidelity, measure, table};
use common::{REFERENCE, assert_valid, convert, read_json};

fn fidelity_of(file: &str) -> (Fidelity, pharos_migrate::Migration) {
    let grafana = read_json(file);
    let migration = convert(grafana.clone());
    assert_valid(&migration.dashboard, file);
    (measure(&grafana, &migration), migration)
}

fn kind_count(f: &Fidelity, kind: &str) -> usize {
    f.kinds
        .iter()
        .find(|(k, _)| k == kind)
        .map_or(0, |(_, n)| *n)
}

/// (file, Grafana panels, converted, kept as note, Grafana queries, verbatim, variables kept,
/// a panel kind and its count).
type Row = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    (&'static str, usize),
);

const EXPECTED: &[Row] = &[
    (
        "argo-workflows.json",
        14,
        14,
        0,
        17,
        16,
        2,
        ("StatChart", 6),
    ),
    (
        "ingress-nginx-schema16.json",
        14,
        14,
        0,
        21,
        21,
        6,
        ("StatChart", 5),
    ),
    (
        "ingress-nginx-schema39.json",
        14,
        14,
        0,
        21,
        21,
        6,
        ("StatChart", 5),
    ),
    (
        "kserve-llmisvc-epp.json",
        21,
        21,
        0,
        22,
        22,
        1,
        ("GaugeChart", 2),
    ),
    (
        "kube-prometheus-alertmanager-overview.json",
        4,
        4,
        0,
        8,
        8,
        4,
        ("TimeSeriesChart", 4),
    ),
    (
        "kube-prometheus-example-legacy-rows.json",
        1,
        1,
        0,
        1,
        1,
        1,
        ("TimeSeriesChart", 1),
    ),
    (
        "kube-prometheus-k8s-resources-namespace.json",
        18,
        18,
        0,
        43,
        43,
        3,
        ("Table", 4),
    ),
    (
        "kuberay-apiserver.json",
        15,
        15,
        0,
        27,
        27,
        2,
        ("TimeSeriesChart", 11),
    ),
    (
        "kuberay-operator.json",
        14,
        14,
        0,
        17,
        17,
        5,
        ("PieChart", 1),
    ),
    (
        "nvidia-dcgm-exporter.json",
        8,
        8,
        0,
        8,
        8,
        3,
        ("GaugeChart", 2),
    ),
    ("triton-gcp.json", 4, 4, 0, 5, 5, 0, ("HeatMapChart", 1)),
    (
        "vllm-model-metrics.json",
        12,
        12,
        0,
        27,
        27,
        2,
        ("HeatMapChart", 2),
    ),
    (
        "vllm-production-stack.json",
        14,
        14,
        0,
        14,
        14,
        0,
        ("BarChart", 2),
    ),
];

#[test]
fn every_reference_dashboard_converts_with_the_expected_fidelity() {
    let mut files: Vec<String> = std::fs::read_dir(REFERENCE)
        .expect("reference directory")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(
        files, listed,
        "every reference dashboard has expected numbers"
    );
    for &(file, panels, converted, notes, queries, verbatim, variables, (kind, count)) in EXPECTED {
        let (f, _) = fidelity_of(file);
        assert_eq!(
            (
                f.grafana_panels,
                f.converted,
                f.placeholders,
                f.grafana_queries,
                f.verbatim_queries,
                f.variables
            ),
            (panels, converted, notes, queries, verbatim, variables),
            "{file}: {f:?}"
        );
        assert_eq!(kind_count(&f, kind), count, "{file}: {kind}");
        assert_eq!(f.rewritten_queries, 0, "{file}: PromQL is kept verbatim");
    }
}

#[test]
fn schema16_singlestats_and_graphs_convert_like_their_schema39_rewrite() {
    let (old, old_migration) = fidelity_of("ingress-nginx-schema16.json");
    let (new, _) = fidelity_of("ingress-nginx-schema39.json");
    assert_eq!(kind_count(&old, "StatChart"), 5, "singlestat → StatChart");
    assert_eq!(
        kind_count(&old, "TimeSeriesChart"),
        kind_count(&new, "TimeSeriesChart"),
        "graph → TimeSeriesChart"
    );
    assert_eq!(kind_count(&old, "Table"), 2, "table-old → Table");
    // The singlestat's `format: ops` and `valueName: avg`.
    let stat = &old_migration.dashboard["spec"]["panels"]["0"]["spec"]["plugin"];
    assert_eq!(stat["kind"], "StatChart");
    assert_eq!(stat["spec"]["calculation"], "mean");
    assert_eq!(stat["spec"]["format"]["unit"], "ops/sec");
}

#[test]
fn rows_repeats_and_variables_of_real_dashboards() {
    // kuberay-operator: 4 rows (one collapsed), the "Controller Runtime" row repeats over $Controller.
    let (_, operator) = fidelity_of("kuberay-operator.json");
    let layouts = operator.dashboard["spec"]["layouts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(layouts.len(), 4);
    let closed = layouts
        .iter()
        .filter(|l| l["spec"]["display"]["collapse"]["open"] == false)
        .count();
    assert_eq!(closed, 1);
    assert!(
        layouts
            .iter()
            .any(|l| l["spec"]["repeatVariable"] == "Controller")
    );

    // alertmanager-overview: two panels repeat over $integration.
    let (_, alertmanager) = fidelity_of("kube-prometheus-alertmanager-overview.json");
    let repeated = alertmanager.dashboard["spec"]["layouts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["spec"]["items"].as_array().cloned().unwrap_or_default())
        .filter(|item| item["repeatVariable"]["value"] == "integration")
        .count();
    assert_eq!(repeated, 2);

    // kuberay-apiserver: the interval variable is a static list, the object-form query a label-values list.
    let (_, apiserver) = fidelity_of("kuberay-apiserver.json");
    let variables = apiserver.dashboard["spec"]["variables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let plugins: Vec<&str> = variables
        .iter()
        .filter_map(|v| v["spec"]["plugin"]["kind"].as_str())
        .collect();
    assert_eq!(
        plugins,
        ["PrometheusLabelValuesVariable", "StaticListVariable"]
    );
    assert_eq!(variables[0]["spec"]["plugin"]["spec"]["labelName"], "job");

    // The legacy `rows[]` layout gets a computed grid position.
    let (_, legacy) = fidelity_of("kube-prometheus-example-legacy-rows.json");
    let item = &legacy.dashboard["spec"]["layouts"][0]["spec"]["items"][0];
    assert_eq!(
        (item["width"].as_u64(), item["height"].as_u64()),
        (Some(12), Some(7))
    );

    // nvidia-dcgm-exporter: units without a Perses equivalent are reported, not silently dropped.
    let (_, dcgm) = fidelity_of("nvidia-dcgm-exporter.json");
    let units: Vec<&str> = dcgm.losses.iter().map(|l| l.what.as_str()).collect();
    assert_eq!(
        units,
        [
            "unit `celsius`",
            "unit `watt`",
            "unit `hertz`",
            "unit `decmbytes`"
        ]
    );

    // vllm-production-stack: `refresh: auto` is reported; the hard-coded uid is kept as a datasource name.
    let (_, vllm) = fidelity_of("vllm-production-stack.json");
    assert!(vllm.losses.iter().any(|l| l.what == "refresh `auto`"));
    let query =
        &vllm.dashboard["spec"]["panels"]["1_0"]["spec"]["queries"][0]["spec"]["plugin"]["spec"];
    assert_eq!(
        query["datasource"],
        serde_json::json!({"kind": "PrometheusDatasource", "name": "prometheus"})
    );
}

#[test]
fn use_default_datasource_removes_every_datasource_reference() {
    let grafana = read_json("kuberay-operator.json");
    let migration = pharos_migrate::migrate(&pharos_migrate::MigrateRequest {
        grafana_dashboard: grafana,
        use_default_datasource: true,
        ..Default::default()
    })
    .expect("migrates");
    let text = migration.dashboard.to_string();
    assert!(
        !text.contains("\"datasource\":{"),
        "no datasource selector left"
    );
    assert!(text.contains("PrometheusTimeSeriesQuery"));
}

#[test]
fn input_replaces_exported_placeholders() {
    let grafana = read_json("triton-gcp.json");
    let mut input = std::collections::BTreeMap::new();
    input.insert("DS_PROMETHEUS".to_string(), "prod-prom".to_string());
    let migration = pharos_migrate::migrate(&pharos_migrate::MigrateRequest {
        grafana_dashboard: grafana,
        input,
        use_default_datasource: false,
    })
    .expect("migrates");
    assert_valid(&migration.dashboard, "triton with input");
    let queries: Vec<Value> = migration.dashboard["spec"]["panels"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, p)| p["spec"]["queries"].as_array().cloned().unwrap_or_default())
        .collect();
    // Four of the five queries sit in panels whose datasource is `${DS_PROMETHEUS}`; the heatmap
    // panel names no datasource and keeps using the default one.
    let names: Vec<&Value> = queries
        .iter()
        .map(|q| &q["spec"]["plugin"]["spec"]["datasource"]["name"])
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "prod-prom").count(), 4);
    assert_eq!(names.iter().filter(|n| n.is_null()).count(), 1);
}

/// Regenerates the table of `docs/user/grafana-import.md`:
/// `cargo test -p pharos-migrate --test real_dashboards -- --ignored --nocapture`
/// (or `cargo run -p pharos-migrate --example fidelity`).
#[test]
#[ignore = "prints the fidelity table for the docs"]
fn print_fidelity_table() {
    let rows: Vec<(String, Fidelity)> = EXPECTED
        .iter()
        .map(|e| {
            (
                e.0.trim_end_matches(".json").to_string(),
                fidelity_of(e.0).0,
            )
        })
        .collect();
    println!("{}", table(&rows));
}
