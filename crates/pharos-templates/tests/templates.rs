//! The system templates are valid Perses dashboards once instantiated, describe every panel,
//! and every panel query returns data over the simulator's output with variables resolved
//! the way the UI resolves them (label values of the variable's matchers, chained).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use pharos_model::{Kind, decode_resource};
use pharos_promql::{Engine, EngineOptions, Labels as PromLabels, MemorySource, QueryValue};
use pharos_sim::{SimOptions, Simulator};
use pharos_templates::{
    Category, InstantiateError, Template, TemplateVariable, find, instantiate, system_templates,
    variables_of,
};
use serde_json::{Value, json};

const START_MS: i64 = 1_767_225_600_000;
const STEP_MS: i64 = 15_000;
/// 90 minutes: enough for pipeline runs (every 10 minutes) and hour-long windows.
const TICKS: i64 = 360;

/// Panel plugins the bundled UI loads.
const PANEL_KINDS: [&str; 6] = [
    "TimeSeriesChart",
    "StatChart",
    "GaugeChart",
    "BarChart",
    "Table",
    "Markdown",
];

fn panels(template: &Template) -> &serde_json::Map<String, Value> {
    template.dashboard["spec"]["panels"].as_object().unwrap()
}

#[test]
fn ids_are_unique_and_match_the_dashboards() {
    let ids: BTreeSet<&str> = system_templates().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), system_templates().len());
    assert_eq!(ids.len(), 7);
    for template in system_templates() {
        assert_eq!(template.dashboard["kind"], "Dashboard", "{}", template.id);
        assert_eq!(template.dashboard["metadata"]["name"], template.id.as_str());
        assert!(
            template.dashboard["metadata"].get("project").is_none(),
            "{}",
            template.id
        );
        assert!(!template.title.is_empty() && !template.description.is_empty());
        assert!(std::ptr::eq(find(&template.id).unwrap(), template));
    }
    assert!(find("nope").is_none());
    let categories: BTreeSet<Category> = system_templates().iter().map(|t| t.category).collect();
    assert_eq!(
        categories.len(),
        Category::ALL.len(),
        "every category has a template"
    );
}

#[test]
fn every_panel_has_a_description_a_known_plugin_and_a_place() {
    for template in system_templates() {
        let layout_refs: Vec<&str> = template.dashboard["spec"]["layouts"][0]["spec"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["content"]["$ref"].as_str().unwrap())
            .collect();
        assert_eq!(layout_refs.len(), panels(template).len(), "{}", template.id);
        for (key, panel) in panels(template) {
            let display = &panel["spec"]["display"];
            let description = display["description"].as_str().unwrap_or_default();
            assert!(
                description.len() > 20,
                "{}/{key} needs a description",
                template.id
            );
            assert!(display["name"].as_str().is_some_and(|n| !n.is_empty()));
            let kind = panel["spec"]["plugin"]["kind"].as_str().unwrap();
            assert!(PANEL_KINDS.contains(&kind), "{}/{key}: {kind}", template.id);
            assert!(layout_refs.contains(&format!("#/spec/panels/{key}").as_str()));
            assert!(
                !panel["spec"]["queries"].as_array().unwrap().is_empty(),
                "{}/{key} has no query",
                template.id
            );
        }
    }
}

#[test]
fn queries_and_variables_name_no_datasource() {
    for template in system_templates() {
        let text = template.dashboard.to_string();
        assert!(!text.contains("\"datasource\""), "{}", template.id);
        for variable in template.dashboard["spec"]["variables"].as_array().unwrap() {
            assert_eq!(variable["kind"], "ListVariable");
            assert_eq!(
                variable["spec"]["plugin"]["kind"],
                "PrometheusLabelValuesVariable"
            );
        }
    }
}

#[test]
fn template_variables_come_from_the_dashboard() {
    for template in system_templates() {
        assert_eq!(
            template
                .variables
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            variables_of(&template.dashboard)
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
        );
        let cluster = &template.variables[0];
        assert_eq!(cluster.name, "cluster");
        assert!(!cluster.required);
        assert_eq!(cluster.default.as_deref(), Some("$__all"));
        for variable in &template.variables {
            assert!(!variable.description.is_empty());
        }
        if template.category != Category::Gpu {
            assert!(!template.workload_kinds.is_empty());
            let required: Vec<&str> = template
                .variables
                .iter()
                .filter(|v| v.required)
                .map(|v| v.name.as_str())
                .collect();
            assert_eq!(required.len(), 2, "{}: {required:?}", template.id);
            assert_eq!(required[0], "namespace");
        }
    }
}

#[test]
fn metadata_serialises_with_kebab_case_categories() {
    let template = find("llm-serving-vllm").unwrap();
    let value = serde_json::to_value(template).unwrap();
    assert_eq!(value["category"], "llm-serving");
    assert_eq!(value["version"], 1);
    assert_eq!(
        value["workloadKinds"],
        Value::Null,
        "field names are snake_case"
    );
    assert!(value["workload_kinds"].is_array());
    assert_eq!(value["variables"][2]["name"], "model");
    assert_eq!(value["variables"][2]["required"], true);
}

// ----------------------------------------------------------------------------------------
// Evaluation over the simulator's output.

struct Data {
    source: MemorySource,
    engine: Engine,
    end_ms: i64,
}

fn simulate() -> Data {
    let mut simulator = Simulator::new(SimOptions::default());
    let mut source = MemorySource::new();
    for i in 0..TICKS {
        let t = START_MS + i * STEP_MS;
        simulator.tick_with(t, |labels, value| {
            let pairs = labels.iter().map(|l| (l.name.as_str(), l.value.as_str()));
            source.add_sample(PromLabels::from_pairs(pairs), t, value);
        });
    }
    Data {
        source,
        engine: Engine::new(EngineOptions::default()),
        end_ms: START_MS + (TICKS - 1) * STEP_MS,
    }
}

/// Replaces `$name` and `${name}` with the chosen values, and Perses' built-ins with what
/// the UI would send for a 90-minute range at a 15 s step.
fn interpolate(text: &str, values: &[(String, String)]) -> String {
    let mut out = text
        .replace("$__rate_interval", "1m")
        .replace("${__rate_interval}", "1m")
        .replace("$__interval", "15s")
        .replace("${__interval}", "15s")
        .replace("$__range", "90m");
    // Longest names first, so `$node` does not eat the start of `$nodes`.
    let mut sorted: Vec<&(String, String)> = values.iter().collect();
    sorted.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in sorted {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

fn evaluate(data: &Data, query: &str) -> Vec<(PromLabels, f64)> {
    let result = data
        .engine
        .instant(&data.source, query, data.end_ms)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    match result.value {
        QueryValue::Vector(samples) => samples.into_iter().map(|s| (s.metric, s.value)).collect(),
        QueryValue::Scalar { value, .. } => vec![(
            PromLabels::from_pairs(std::iter::empty::<(&str, &str)>()),
            value,
        )],
        other => panic!("{query}: unexpected {other:?}"),
    }
}

/// Resolves the dashboard's variables in order as the UI does: the label values of each
/// variable's matchers (with the previous variables filled in), sorted; "All" (the
/// `customAllValue`) when that is the default, else the first value.
fn resolve(data: &Data, dashboard: &Value) -> Vec<(String, String)> {
    let mut chosen: Vec<(String, String)> = Vec::new();
    for variable in dashboard["spec"]["variables"].as_array().unwrap() {
        let spec = &variable["spec"];
        let name = spec["name"].as_str().unwrap().to_owned();
        let plugin = &spec["plugin"]["spec"];
        let label = plugin["labelName"].as_str().unwrap();
        let mut found = BTreeSet::new();
        for matcher in plugin["matchers"].as_array().unwrap() {
            let selector = interpolate(matcher.as_str().unwrap(), &chosen);
            for (labels, _) in evaluate(data, &selector) {
                if let Some(value) = labels.get(label) {
                    found.insert(value.to_owned());
                }
            }
        }
        let value = if spec["defaultValue"] == "$__all" {
            spec["customAllValue"].as_str().unwrap().to_owned()
        } else {
            found
                .iter()
                .next()
                .unwrap_or_else(|| panic!("variable {name} found no values"))
                .clone()
        };
        chosen.push((name, value));
    }
    chosen
}

#[test]
fn every_panel_query_returns_simulated_data() {
    let data = simulate();
    for template in system_templates() {
        let values = resolve(&data, &template.dashboard);
        // Instantiate with the values the UI would pick for the required variables.
        let given: BTreeMap<String, Value> = template
            .variables
            .iter()
            .filter(|v| v.required)
            .map(|v| {
                let value = &values.iter().find(|(n, _)| *n == v.name).unwrap().1;
                (v.name.clone(), Value::String(value.clone()))
            })
            .collect();
        let dashboard = instantiate(
            &template.dashboard,
            &template.variables,
            "demo",
            &template.id,
            &given,
        )
        .unwrap();
        assert_eq!(resolve(&data, &dashboard), values, "{}", template.id);
        for (key, panel) in dashboard["spec"]["panels"].as_object().unwrap() {
            for query in panel["spec"]["queries"].as_array().unwrap() {
                let text = query["spec"]["plugin"]["spec"]["query"].as_str().unwrap();
                let promql = interpolate(text, &values);
                assert!(!promql.contains('$'), "{}/{key}: {promql}", template.id);
                let result = evaluate(&data, &promql);
                assert!(
                    result.iter().any(|(_, v)| v.is_finite()),
                    "{}/{key} with {values:?}: {promql} returned {result:?}",
                    template.id
                );
            }
        }
    }
}

#[test]
fn every_workload_value_has_data_in_the_main_panel() {
    // Not just the first value: every model, job, notebook and pipeline the variables list
    // shows something in the template's first panel (a pending training job excepted: its
    // pods run nothing yet).
    let data = simulate();
    for template in system_templates()
        .iter()
        .filter(|t| t.category != Category::Gpu)
    {
        let mut values = resolve(&data, &template.dashboard);
        let workload = template.variables[2].name.clone();
        let spec = &template.dashboard["spec"]["variables"][2]["spec"]["plugin"]["spec"];
        let selector = interpolate(spec["matchers"][0].as_str().unwrap(), &values);
        let label = spec["labelName"].as_str().unwrap();
        let all: BTreeSet<String> = evaluate(&data, &selector)
            .into_iter()
            .filter_map(|(l, _)| l.get(label).map(str::to_owned))
            .collect();
        assert!(!all.is_empty(), "{}: {all:?}", template.id);
        let (_, first_panel) = template.dashboard["spec"]["panels"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(key, _)| {
                template.dashboard["spec"]["layouts"][0]["spec"]["items"][0]["content"]["$ref"]
                    == format!("#/spec/panels/{key}").as_str()
            })
            .unwrap();
        for value in all {
            if value.starts_with("hparam-sweep") {
                continue;
            }
            values[2].1 = value.clone();
            for query in first_panel["spec"]["queries"].as_array().unwrap() {
                let promql = interpolate(
                    query["spec"]["plugin"]["spec"]["query"].as_str().unwrap(),
                    &values,
                );
                assert!(
                    evaluate(&data, &promql).iter().any(|(_, v)| v.is_finite()),
                    "{} {workload}={value}: {promql}",
                    template.id
                );
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Instantiation.

fn given(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

#[test]
fn every_template_instantiates_into_a_valid_dashboard() {
    for template in system_templates() {
        let values: Vec<(&str, Value)> = template
            .variables
            .iter()
            .filter(|v| v.required)
            .map(|v| (v.name.as_str(), json!("some-value")))
            .collect();
        let dashboard = instantiate(
            &template.dashboard,
            &template.variables,
            "demo",
            &format!("my-{}", template.id),
            &given(&values),
        )
        .unwrap();
        let resource = decode_resource(Kind::Dashboard, &dashboard)
            .unwrap_or_else(|errors| panic!("{}: {errors:?}", template.id));
        assert_eq!(resource.metadata.project.as_deref(), Some("demo"));
        assert_eq!(resource.metadata.name, format!("my-{}", template.id));
        assert_eq!(
            dashboard["metadata"].as_object().unwrap().len(),
            2,
            "only name and project"
        );
        let title = dashboard["spec"]["display"]["name"].as_str().unwrap();
        assert!(title.starts_with(&template.title), "{title}");
        for variable in dashboard["spec"]["variables"].as_array().unwrap() {
            let name = variable["spec"]["name"].as_str().unwrap();
            if template
                .variables
                .iter()
                .any(|v| v.name == name && v.required)
            {
                assert_eq!(variable["spec"]["defaultValue"], "some-value");
            }
        }
    }
}

#[test]
fn instantiate_sets_defaults_and_names_the_dashboard() {
    let template = find("llm-serving-vllm").unwrap();
    let dashboard = instantiate(
        &template.dashboard,
        &template.variables,
        "team-a",
        "chat-latency",
        &given(&[
            ("namespace", json!("ml-serving")),
            ("model", json!("llm-chat")),
            ("cluster", json!(["prod-eu-1", "prod-us-1"])),
        ]),
    )
    .unwrap();
    assert_eq!(
        dashboard["metadata"],
        json!({"name": "chat-latency", "project": "team-a"})
    );
    assert_eq!(
        dashboard["spec"]["display"]["name"],
        "LLM serving: vLLM — ml-serving / llm-chat"
    );
    let variables = dashboard["spec"]["variables"].as_array().unwrap();
    assert_eq!(
        variables[0]["spec"]["defaultValue"],
        json!(["prod-eu-1", "prod-us-1"])
    );
    assert_eq!(variables[2]["spec"]["defaultValue"], "llm-chat");
    // The template itself is untouched.
    assert!(template.dashboard["spec"]["variables"][2]["spec"]["defaultValue"].is_null());
    // Without required variables (the GPU fleet) the title stays the template's.
    let fleet = find("gpu-fleet").unwrap();
    let dashboard = instantiate(
        &fleet.dashboard,
        &fleet.variables,
        "ops",
        "gpus",
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(dashboard["spec"]["display"]["name"], "GPU fleet");
    assert_eq!(
        dashboard["spec"]["variables"][0]["spec"]["defaultValue"],
        "$__all"
    );
}

#[test]
fn a_missing_required_variable_is_refused() {
    let template = find("training-job").unwrap();
    let error = instantiate(
        &template.dashboard,
        &template.variables,
        "demo",
        "x",
        &given(&[("namespace", json!("ml-training"))]),
    )
    .unwrap_err();
    assert_eq!(error, InstantiateError::MissingVariable("job".to_owned()));
    assert!(error.to_string().contains("\"job\" is required"), "{error}");
}

#[test]
fn an_unknown_variable_is_refused_with_the_known_ones() {
    let template = find("notebook-server").unwrap();
    let error = instantiate(
        &template.dashboard,
        &template.variables,
        "demo",
        "x",
        &given(&[
            ("namespace", json!("team-a")),
            ("notebook", json!("jupyter-alice")),
            ("pod", json!("jupyter-alice-0")),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        error,
        InstantiateError::UnknownVariable(
            "pod".to_owned(),
            vec![
                "cluster".to_owned(),
                "namespace".to_owned(),
                "notebook".to_owned()
            ]
        )
    );
    assert_eq!(
        error.to_string(),
        "the template has no variable \"pod\": use one of cluster, namespace, notebook"
    );
}

#[test]
fn values_of_the_wrong_type_are_refused() {
    let template = find("model-serving-kserve").unwrap();
    let base = [("namespace", json!("ml-serving"))];
    for (value, expected) in [
        (json!(3), "a string (the variable takes one value)"),
        (json!({"a": 1}), "a string (the variable takes one value)"),
        (json!(true), "a string (the variable takes one value)"),
        (
            json!(["reranker", "fraud-detector"]),
            "a string (the variable takes one value)",
        ),
    ] {
        let mut values = base.to_vec();
        values.push(("model", value.clone()));
        let error = instantiate(
            &template.dashboard,
            &template.variables,
            "demo",
            "x",
            &given(&values),
        )
        .unwrap_err();
        assert_eq!(
            error,
            InstantiateError::WrongType {
                name: "model".to_owned(),
                expected: expected.to_owned()
            },
            "{value}"
        );
    }
    // A multi-value variable takes arrays of strings, nothing else.
    let fleet = find("gpu-fleet").unwrap();
    let error = instantiate(
        &fleet.dashboard,
        &fleet.variables,
        "demo",
        "x",
        &given(&[("node", json!(["gpu-node-1", 2]))]),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "variable \"node\" must be a string or an array of strings"
    );
    assert!(
        instantiate(
            &fleet.dashboard,
            &fleet.variables,
            "demo",
            "x",
            &given(&[("node", json!(["gpu-node-1", "gpu-node-2"]))]),
        )
        .is_ok()
    );
}

#[test]
fn user_dashboards_get_the_same_treatment() {
    let dashboard = json!({
        "kind": "Dashboard",
        "metadata": {"name": "mine", "project": "old"},
        "spec": {
            "display": {"name": "Mine"},
            "variables": [
                {"kind": "ListVariable", "spec": {
                    "name": "env", "display": {"name": "Environment"},
                    "defaultValue": ["a", "b"], "allowMultiple": true,
                    "plugin": {"kind": "StaticListVariable", "spec": {"values": ["a", "b", "c"]}}}},
                {"kind": "TextVariable", "spec": {"name": "prefix", "value": "api"}},
            ],
            "panels": {},
            "layouts": [],
        }
    });
    let variables = variables_of(&dashboard);
    assert_eq!(
        variables,
        vec![
            TemplateVariable {
                name: "env".to_owned(),
                description: "Environment".to_owned(),
                required: false,
                default: Some("a,b".to_owned()),
            },
            TemplateVariable {
                name: "prefix".to_owned(),
                description: String::new(),
                required: false,
                default: Some("api".to_owned()),
            },
        ]
    );
    let copy = instantiate(
        &dashboard,
        &variables,
        "new",
        "mine-copy",
        &given(&[("prefix", json!("web")), ("env", json!("c"))]),
    )
    .unwrap();
    assert_eq!(
        copy["metadata"],
        json!({"name": "mine-copy", "project": "new"})
    );
    assert_eq!(copy["spec"]["display"]["name"], "Mine");
    assert_eq!(copy["spec"]["variables"][0]["spec"]["defaultValue"], "c");
    assert_eq!(copy["spec"]["variables"][1]["spec"]["value"], "web");
    assert_eq!(
        instantiate(
            &dashboard,
            &variables,
            "new",
            "x",
            &given(&[("prefix", json!(["a"]))])
        )
        .unwrap_err(),
        InstantiateError::WrongType {
            name: "prefix".to_owned(),
            expected: "a string".to_owned()
        }
    );
    assert!(matches!(
        instantiate(
            &json!({"kind": "Dashboard"}),
            &[],
            "p",
            "n",
            &BTreeMap::new()
        ),
        Err(InstantiateError::InvalidTemplate(_))
    ));
}
