//! The demo dashboard is a valid Perses dashboard, and every panel's query returns data when
//! evaluated over the simulator's output.

#![allow(clippy::unwrap_used)]

use pharos_model::{Kind, decode_resource};
use pharos_promql::{Engine, EngineOptions, Labels as PromLabels, MemorySource, QueryValue};
use pharos_sim::{DEMO_DATASOURCE, DEMO_PROJECT, SimOptions, Simulator, demo_dashboard};
use serde_json::Value;

const START_MS: i64 = 1_767_225_600_000;

fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (key, panel) in dashboard["spec"]["panels"].as_object().unwrap() {
        for query in panel["spec"]["queries"].as_array().unwrap() {
            let spec = &query["spec"]["plugin"]["spec"];
            assert_eq!(spec["datasource"]["kind"], "PrometheusDatasource");
            assert_eq!(spec["datasource"]["name"], DEMO_DATASOURCE);
            found.push((key.clone(), spec["query"].as_str().unwrap().to_owned()));
        }
    }
    found
}

#[test]
fn demo_dashboard_passes_perses_validation() {
    let dashboard = demo_dashboard();
    let resource =
        decode_resource(Kind::Dashboard, &dashboard).unwrap_or_else(|errors| panic!("{errors:?}"));
    assert_eq!(resource.metadata.project.as_deref(), Some(DEMO_PROJECT));
    let panels = dashboard["spec"]["panels"].as_object().unwrap();
    assert!(panels.len() >= 8);
    let referenced: Vec<&str> = dashboard["spec"]["layouts"][0]["spec"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["content"]["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(referenced.len(), panels.len(), "every panel is placed once");
    let text = dashboard.to_string();
    assert!(text.contains("histogram_quantile(0.95"));
    assert!(text.contains("DCGM_FI_DEV_GPU_UTIL"));
}

#[test]
fn every_panel_shows_simulated_data() {
    let mut simulator = Simulator::new(SimOptions::default());
    let mut source = MemorySource::new();
    let ticks = 40;
    for i in 0..ticks {
        let t = START_MS + i * 15_000;
        for (labels, value) in simulator.tick(t) {
            let pairs = labels.iter().map(|l| (l.name.as_str(), l.value.as_str()));
            source.add_sample(PromLabels::from_pairs(pairs), t, value);
        }
    }
    let engine = Engine::new(EngineOptions::default());
    let end = START_MS + (ticks - 1) * 15_000;
    for (panel, query) in queries(&demo_dashboard()) {
        // What the UI sends when "All" clusters are selected.
        let query = query.replace("$cluster", ".*");
        let result = engine
            .instant(&source, &query, end)
            .unwrap_or_else(|e| panic!("{panel}: {query}: {e}"));
        let returned = match &result.value {
            QueryValue::Vector(samples) => samples.len(),
            QueryValue::Matrix(series) => series.len(),
            _ => 1,
        };
        assert!(returned > 0, "{panel}: {query} returned nothing");
    }
}
